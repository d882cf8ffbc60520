// tests/interop/hpke_peer.mjs — HPKE (RFC 9180) peer for tests/hpke_interop_test.cc, built on the
// independent @hpke/core implementation (P-256, HKDF and AES-GCM over WebCrypto) with
// @hpke/dhkem-x25519 and @hpke/chacha20poly1305 (pure JavaScript).
//
// Reads one JSON document on stdin: { "jobs": [job, ...] }. All binary values are lower-case hex.
// A job names a suite ("kem", "kdf", "aead" as RFC 9180 numeric ids) and keys, and either
//   "op": "open" — recipient: set up with "sk_r" (SerializePrivateKey), "enc", optional "psk" and
//         "psk_id", optional "pk_s" (auth modes), "info"; then open "messages" [{aad, ct}] in order
//         on one context;
//   "op": "seal" — sender: set up with "pk_r", optional "sk_s" (auth modes), "psk", "psk_id",
//         "info"; then seal "messages" [{aad, pt}] in order on one context.
// Either way it then exports every {"context", "length"} of "exports".
// Every job also carries "ikm_r" (and "ikm_s" in auth modes): the peer runs its own DeriveKeyPair
// on them and returns the serialized public keys it got, so the caller can check that both
// implementations derive the same key pairs.
//
// Writes { "results": [result, ...] }, one result per job, in order, with the job's "id". A result
// is { id, pk_r, pk_s?, enc? (seal), messages: [{pt} | {ct} | {error}], exports: [hex] }, or
// { id, error } when the job could not be set up. A message that fails to open is reported as
// {error: "<ErrorClass>: <message>"} and the context carries on (a failed Open does not consume a
// sequence number, RFC 9180 §5.2), so callers can check both rejection and recovery. Only
// malformed input makes the script exit non-zero.
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, ExportOnly, HkdfSha256,
         HkdfSha384, HkdfSha512 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";

// Fresh algorithm objects per suite: CipherSuite binds its KDF object to the suite id.
const KEMS = { 0x0010: () => new DhkemP256HkdfSha256(), 0x0020: () => new DhkemX25519HkdfSha256() };
const KDFS = { 0x0001: () => new HkdfSha256(), 0x0002: () => new HkdfSha384(),
               0x0003: () => new HkdfSha512() };
const AEADS = { 0x0001: () => new Aes128Gcm(), 0x0002: () => new Aes256Gcm(),
                0x0003: () => new Chacha20Poly1305(), 0xffff: () => new ExportOnly() };

function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`hpke_peer: not a hex string: ${JSON.stringify(hex)}`);
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}
const toHex = (bytes) => Buffer.from(new Uint8Array(bytes)).toString("hex");
const describe = (e) => `${e?.name ?? "Error"}: ${e?.message ?? String(e)}`;

function makeSuite(job) {
  const kem = KEMS[job.kem], kdf = KDFS[job.kdf], aead = AEADS[job.aead];
  if (!kem || !kdf || !aead) {
    throw new TypeError(`hpke_peer: unknown suite ${job.kem}/${job.kdf}/${job.aead}`);
  }
  return new CipherSuite({ kem: kem(), kdf: kdf(), aead: aead() });
}

// The fields a setup needs, common to both roles.
function scheduleParams(job) {
  const params = { info: fromHex(job.info ?? "") };
  if (job.psk !== undefined) params.psk = { key: fromHex(job.psk), id: fromHex(job.psk_id) };
  return params;
}

async function runJob(suite, job) {
  const result = { id: job.id };
  const derivedR = await suite.kem.deriveKeyPair(fromHex(job.ikm_r));
  result.pk_r = toHex(await suite.kem.serializePublicKey(derivedR.publicKey));
  if (job.ikm_s !== undefined) {
    const derivedS = await suite.kem.deriveKeyPair(fromHex(job.ikm_s));
    result.pk_s = toHex(await suite.kem.serializePublicKey(derivedS.publicKey));
  }

  let context;
  if (job.op === "open") {
    const params = scheduleParams(job);
    params.recipientKey = await suite.kem.deserializePrivateKey(fromHex(job.sk_r));
    params.enc = fromHex(job.enc);
    if (job.pk_s !== undefined) {
      params.senderPublicKey = await suite.kem.deserializePublicKey(fromHex(job.pk_s));
    }
    context = await suite.createRecipientContext(params);
    result.messages = [];
    for (const m of job.messages) {
      try {
        result.messages.push({ pt: toHex(await context.open(fromHex(m.ct), fromHex(m.aad))) });
      } catch (e) {
        result.messages.push({ error: describe(e) });
      }
    }
  } else if (job.op === "seal") {
    const params = scheduleParams(job);
    params.recipientPublicKey = await suite.kem.deserializePublicKey(fromHex(job.pk_r));
    if (job.sk_s !== undefined) {
      params.senderKey = await suite.kem.deserializePrivateKey(fromHex(job.sk_s));
    }
    context = await suite.createSenderContext(params);
    result.enc = toHex(context.enc);
    result.messages = [];
    for (const m of job.messages) {
      result.messages.push({ ct: toHex(await context.seal(fromHex(m.pt), fromHex(m.aad))) });
    }
  } else {
    throw new TypeError(`hpke_peer: unknown op ${JSON.stringify(job.op)}`);
  }

  result.exports = [];
  for (const x of job.exports ?? []) {
    result.exports.push(toHex(await context.export(fromHex(x.context), x.length)));
  }
  return result;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  if (!Array.isArray(input.jobs)) throw new TypeError("hpke_peer: input has no \"jobs\" array");
  const results = [];
  for (const job of input.jobs) {
    // An unknown suite or op is a bug in the caller: let it fail the run.
    const suite = makeSuite(job);
    try {
      results.push(await runJob(suite, job));
    } catch (e) {
      if (e instanceof TypeError && e.message.startsWith("hpke_peer:")) throw e;
      results.push({ id: job.id, error: describe(e) });
    }
  }
  process.stdout.write(JSON.stringify({ results }));
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
