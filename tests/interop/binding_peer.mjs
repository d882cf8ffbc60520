// tests/interop/binding_peer.mjs — an independent implementation of the evidence binding of
// DESIGN.md §2.4 (preimage, REPORT_DATA, TPM qualifying data, GPU digest, GPU nonce) and of RFC 8785
// canonical JSON, written from the design text with Node's own crypto, for
// tests/binding_interop_test.cc.
//
// Contract (tests/support/node.h): one JSON job on stdin, one JSON result on stdout; binary values
// are lower-case hex.
//   {"op": "batch", "jobs": [job, ...]} -> {"results": [result, ...]}
//   {"op": "bind", "key_config", "freshness_kind", "freshness_value",
//    "claims": <any JSON value, canonicalised here> | "claims_canonical": hex,
//    "gpus": [{"type", "report", "chain": [der hex, ...]}]}
//     -> {"claims_canonical", "gpu_digest", "preimage", "report_data", "tpm_qualifying_data",
//         "gpu_nonce"}  or {"error": text} when a field does not fit its length prefix.
//   {"op": "bundle", "bundle": "<the evidence bundle's JSON text>"}
//     -> the same result, recomputed from a whole bundle as DESIGN §2.4 describes it (binary
//        fields base64url without padding; claims canonicalised here; GPU chains in bundle order).
import { createHash } from 'node:crypto';

const hex = (buf) => Buffer.from(buf).toString('hex');
const unhex = (text) => Buffer.from(text, 'hex');

// RFC 8785: object members sorted by their UTF-16 code units (JavaScript's default string order),
// strings and numbers as ECMAScript's JSON.stringify writes them.
function canonical(value) {
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonical(value[k])).join(',') + '}';
  }
  return JSON.stringify(value);
}

function lp(bytes, width, field) {
  const max = width === 2 ? 0xffff : 0xffffffff;
  if (bytes.length > max) throw new Error(`${field} does not fit`);
  const prefix = Buffer.alloc(width);
  if (width === 2) prefix.writeUInt16BE(bytes.length); else prefix.writeUInt32BE(bytes.length);
  return Buffer.concat([prefix, bytes]);
}

function bind(job) {
  try {
    const keyConfig = unhex(job.key_config);
    const freshness = Buffer.concat([Buffer.from([job.freshness_kind]), unhex(job.freshness_value)]);
    const claims = job.claims_canonical !== undefined
      ? unhex(job.claims_canonical) : Buffer.from(canonical(job.claims), 'utf8');
    let gpuDigest = Buffer.alloc(0);
    if (job.gpus.length > 0) {
      if (job.gpus.length > 255) throw new Error('too many gpus');
      const parts = [Buffer.from([job.gpus.length])];
      for (const gpu of job.gpus) {
        parts.push(lp(Buffer.from(gpu.type, 'utf8'), 2, 'type'));
        parts.push(lp(unhex(gpu.report), 4, 'report'));
        parts.push(lp(Buffer.concat(gpu.chain.map(unhex)), 4, 'chain'));
      }
      gpuDigest = createHash('sha384').update(Buffer.concat(parts)).digest();
    }
    const preimage = Buffer.concat([
      Buffer.from('openpcc evidence v1', 'ascii'), Buffer.from([0]),
      lp(keyConfig, 2, 'key_config'), lp(gpuDigest, 2, 'gpu_digest'), lp(freshness, 2, 'freshness'),
      lp(claims, 4, 'claims'),
    ]);
    const gpuNonce = createHash('sha256').update(Buffer.concat([
      Buffer.from('openpcc gpu nonce v1', 'ascii'), lp(keyConfig, 2, 'key_config'),
      lp(freshness, 2, 'freshness')])).digest();
    return {
      claims_canonical: hex(claims),
      gpu_digest: hex(gpuDigest),
      preimage: hex(preimage),
      report_data: hex(createHash('sha512').update(preimage).digest()),
      tpm_qualifying_data: hex(createHash('sha256').update(preimage).digest()),
      gpu_nonce: hex(gpuNonce),
    };
  } catch (e) {
    return { error: e.message };
  }
}

function unb64url(text, field) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Error(`${field} is not base64url`);
  return Buffer.from(text, 'base64url');
}

// Only what the binding covers is read from the bundle; parsing it strictly is the C++ side's job.
function fromBundle(job) {
  const bundle = JSON.parse(job.bundle);
  const freshness = bundle.freshness;
  return bind({
    key_config: hex(unb64url(bundle.key_config, 'key_config')),
    freshness_kind: freshness.kind,
    freshness_value: hex(unb64url(freshness.value, 'freshness.value')),
    claims: bundle.claims,
    gpus: bundle.gpu_evidence.map((gpu, i) => ({
      type: gpu.type,
      report: hex(unb64url(gpu.report, `gpu_evidence[${i}].report`)),
      chain: gpu.cert_chain.map((c, j) => hex(unb64url(c, `gpu_evidence[${i}].cert_chain[${j}]`))),
    })),
  });
}

function run(job) {
  if (job.op === 'batch') return { results: job.jobs.map(run) };
  if (job.op === 'bind') return bind(job);
  if (job.op === 'bundle') return fromBundle(job);
  throw new Error(`unknown op ${job.op}`);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => { process.stdout.write(JSON.stringify(run(JSON.parse(input)))); });
