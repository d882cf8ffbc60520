// tests/interop/sealed_peer.mjs — a second, independent implementation of OpenPCC's sealed request
// and sealed response (DESIGN.md §2.2), written from the design text alone (not from the C++ code),
// for tests/sealed_interop_test.cc and tests/sealed_vectors_test.cc. HPKE (RFC 9180, base mode) is
// @hpke/core 1.9.0 with @hpke/dhkem-x25519 and @hpke/chacha20poly1305; SHA-256, HKDF and the chunk
// AEADs are Node's own crypto module.
//
// Contract (see tests/support/node.h): one JSON job on stdin, one JSON result on stdout. All binary
// values are lower-case hex. Malformed jobs (bad hex, unknown op, a private key that does not match
// its key_config, ...) make the script exit non-zero with a message on stderr; a request or response
// that the protocol refuses is a normal result: {"error": NAME, "detail": text}. Jobs:
//
//   {"op": "batch", "jobs": [job, ...]}
//       -> {"results": [result, ...]}   (one Node start for many jobs; jobs are independent)
//
//   {"op": "reproduce", "vectors": <"vectors" of docs/vectors/sealed-request-v1.json>}
//       -> {"results": [{name, sealed_request, request_digest, sealed_response,
//                        opened_request:  {plaintext, request_digest, node_id} | {error, detail},
//                        opened_response: {plaintext, node_id} | {error, detail}}]}
//       Rebuilds each vector from its fixed values (DEK, body_nonce, ephemeral private keys,
//       response_nonce; plaintext chunks, the last one final), then, independently of that, opens
//       the vector's own sealed_request as the responder node and the vector's own sealed_response
//       as the client (the client's secrets come from the ephemeral keys and the digest of the
//       vector's sealed_request).
//
//   {"op": "seal", "candidates": [{"key_config", "kdf_id", "aead_id"}], "body_aead_id",
//    "request_chunks": [hex, ...]}          (last chunk is the final one; fresh randomness)
//    A non-final chunk must not be empty; "allow_empty_chunks": true builds such a
//    (non-conforming) request anyway, to test receivers.
//       -> {"sealed_request", "request_digest", "client_state"} | {error, detail}
//       client_state is what a client keeps to read the answer, per candidate:
//       {"candidates": [{"node_id", "kem_id", "kdf_id", "aead_id", "enc", "secret"}]} where
//       secret = ctx.Export("openpcc sealed response v1" || 0x00 || node_id || request_digest,
//       max(Nn, Nk)). Pass it back unchanged to "open_response".
//
//   {"op": "open_response", "client_state": {...}, "sealed_response": hex}
//       -> {"plaintext", "plaintext_chunks": [hex...], "node_id"} | {error, detail}
//
//   {"op": "open_request", "node_private_key", "key_config", "sealed_request",
//    "response_chunks": [hex, ...], optional "response_nonce",
//    optional "extra_keys": [{"node_private_key", "key_config"}]  (further current/grace keys)}
//       -> {"plaintext", "plaintext_chunks", "request_digest", "node_id", "sealed_response"}
//          | {error, detail}
//       Opens as that node, performing the node checks of §2.2 in order; the error NAME is the
//       first check that failed. Without "response_chunks" no response is written;
//       "allow_empty_chunks": true lets empty non-final response chunks through (non-conforming).
//
// Error names (node side): "malformed" (truncated header or candidates, unknown KEM, KDF or AEAD
// in any candidate), "unknown version", "body aead", "candidate count", "duplicate node_id",
// "not a candidate", "more than one own candidate", "suite not listed", "wrapped_dek",
// "chunk size", "chunk auth", "missing final chunk", "too large". Client side (open_response):
// "malformed", "not a candidate", "chunk size", "chunk auth", "missing final chunk".
// Chunk rules are those of draft-ietf-ohai-chunked-ohttp: varint lengths in any encoding (the
// choice is not authenticated, and request_digest frames chunks with encode(8, len) instead), a
// non-final chunk never empty (receiving one is a decryption error, "chunk auth"), the final
// chunk marked by length 0 and AAD "final", extending to the end of the stream.
// The replay table and the inner Date check of §2.2 are the node service's, not this format's,
// and are not modelled here.
import crypto from "node:crypto";
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256, HkdfSha384,
         HkdfSha512 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";

// ---- parameters --------------------------------------------------------------------------------

const KEMS = {
  0x0010: { make: () => new DhkemP256HkdfSha256(), nenc: 65, npk: 65, nsk: 32 },
  0x0020: { make: () => new DhkemX25519HkdfSha256(), nenc: 32, npk: 32, nsk: 32 },
};
const KDFS = {
  0x0001: { make: () => new HkdfSha256(), hash: "sha256" },
  0x0002: { make: () => new HkdfSha384(), hash: "sha384" },
  0x0003: { make: () => new HkdfSha512(), hash: "sha512" },
};
// Export-only (0xFFFF) is deliberately absent: §2.2 does not allow it anywhere.
const AEADS = {
  0x0001: { make: () => new Aes128Gcm(), node: "aes-128-gcm", nk: 16, nn: 12, nt: 16 },
  0x0002: { make: () => new Aes256Gcm(), node: "aes-256-gcm", nk: 32, nn: 12, nt: 16 },
  0x0003: { make: () => new Chacha20Poly1305(), node: "chacha20-poly1305", nk: 32, nn: 12, nt: 16 },
};

const VERSION = 0x01;
const MAX_CANDIDATES = 8;
const NODE_ID_LEN = 32;
const MAX_CHUNK_PLAINTEXT = 64 * 1024;  // each chunk: Nt <= len <= 64 KiB + Nt
const MAX_REQUEST = 1024 * 1024;        // "the total request is bounded (default 1 MiB)"
const INFO_LABEL = Buffer.from("openpcc sealed request v1", "latin1");
const DEK_LABEL = Buffer.from("openpcc dek", "latin1");
const RESPONSE_LABEL = Buffer.from("openpcc sealed response v1", "latin1");
const FINAL_AAD = Buffer.from("final", "latin1");
const EMPTY = Buffer.alloc(0);

// A refusal by the protocol: reported as {error: name, detail}.
class Refusal extends Error {
  constructor(name, detail) {
    super(detail ?? name);
    this.refusal = name;
  }
}
const refuse = (name, detail) => { throw new Refusal(name, detail); };
// A bug in the job: fails the run.
const bad = (message) => { throw new TypeError(`sealed_peer: ${message}`); };

// ---- bytes -------------------------------------------------------------------------------------

function fromHex(hex, what = "value") {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    bad(`${what} is not a hex string: ${JSON.stringify(hex)?.slice(0, 80)}`);
  }
  return Buffer.from(hex, "hex");
}
const toHex = (bytes) => Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes)
  .toString("hex");
const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
const sha256 = (...parts) => {
  const h = crypto.createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

// QUIC variable-length integer (RFC 9000 §16).
function encodeVarint(v) {
  if (v < 0x40) return Buffer.from([v]);
  if (v < 0x4000) { const b = Buffer.alloc(2); b.writeUInt16BE(v | 0x4000); return b; }
  if (v < 0x40000000) { const b = Buffer.alloc(4); b.writeUInt32BE((v | 0x80000000) >>> 0); return b; }
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v) | (0xc0n << 56n));
  return b;
}
// Returns {value, size} or null when `buf` ends before the varint does. Values are returned as
// Numbers (anything above 2^53 is far beyond every length limit anyway). Non-minimal encodings are
// accepted, as RFC 9000 §16 allows.
function decodeVarint(buf, pos) {
  if (pos >= buf.length) return null;
  const size = 1 << (buf[pos] >> 6);
  if (pos + size > buf.length) return null;
  let value = BigInt(buf[pos] & 0x3f);
  for (let i = 1; i < size; ++i) value = (value << 8n) | BigInt(buf[pos + i]);
  return { value: Number(value), size };
}

// nonce XOR encode(Nn, counter)
function chunkNonce(base, counter) {
  const nonce = Buffer.from(base);
  let c = BigInt(counter);
  for (let i = nonce.length - 1; i >= 0 && c > 0n; --i) {
    nonce[i] ^= Number(c & 0xffn);
    c >>= 8n;
  }
  return nonce;
}

// ---- AEAD (Node crypto) ------------------------------------------------------------------------

function aeadSeal(aead, key, nonce, aad, plaintext) {
  const cipher = crypto.createCipheriv(aead.node, key, nonce, { authTagLength: aead.nt });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}
// Returns the plaintext, or null when the ciphertext does not authenticate.
function aeadOpen(aead, key, nonce, aad, ciphertext) {
  if (ciphertext.length < aead.nt) return null;
  const body = ciphertext.subarray(0, ciphertext.length - aead.nt);
  const decipher = crypto.createDecipheriv(aead.node, key, nonce, { authTagLength: aead.nt });
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - aead.nt));
  decipher.setAAD(aad, { plaintextLength: body.length });
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}

// ---- chunks (the chunk rules of chunked OHTTP) -------------------------------------------------

// Encrypts plaintext chunks (the last is final) as `{ varint(len) ct }* varint(0) final_ct`.
// Returns {wire, ciphertexts}. A non-final chunk must not be empty (chunked OHTTP, "Encapsulation
// of Chunks"); `allowEmpty` lifts that rule to build non-conforming input for receiver tests.
function sealChunks(aead, key, baseNonce, plaintexts, allowEmpty = false) {
  if (plaintexts.length === 0) bad("a chunk list needs at least the final chunk");
  const parts = [], ciphertexts = [];
  plaintexts.forEach((pt, counter) => {
    if (pt.length > MAX_CHUNK_PLAINTEXT) bad(`chunk ${counter} exceeds 64 KiB`);
    const final = counter === plaintexts.length - 1;
    if (!final && pt.length === 0 && !allowEmpty) bad(`non-final chunk ${counter} is empty`);
    const ct = aeadSeal(aead, key, chunkNonce(baseNonce, counter), final ? FINAL_AAD : EMPTY, pt);
    ciphertexts.push(ct);
    parts.push(encodeVarint(final ? 0 : ct.length), ct);
  });
  return { wire: Buffer.concat(parts), ciphertexts };
}

// Splits and opens `buf[pos..]`. Returns {plaintexts, ciphertexts}; refuses on the first problem.
// A stream that ends before its final chunk (including inside a chunk or a length) is truncated.
function openChunks(aead, key, baseNonce, buf, pos) {
  const plaintexts = [], ciphertexts = [];
  const maxLen = MAX_CHUNK_PLAINTEXT + aead.nt;
  for (let counter = 0; ; ++counter) {
    const v = decodeVarint(buf, pos);
    if (v === null) refuse("missing final chunk", `stream ends before chunk ${counter}`);
    pos += v.size;
    const final = v.value === 0;
    const len = final ? buf.length - pos : v.value;
    if (len < aead.nt || len > maxLen) {
      // A non-final chunk shorter than Nt cannot authenticate; a final one at the end of a
      // stream shorter than Nt is a truncated stream.
      refuse("chunk size", `chunk ${counter} has ${len} bytes, outside [${aead.nt}, ${maxLen}]`);
    }
    if (!final && pos + len > buf.length) {
      refuse("missing final chunk", `stream ends inside chunk ${counter}`);
    }
    const ct = buf.subarray(pos, pos + len);
    pos += len;
    // "A receiver MUST treat the receipt of a chunk that contains no data as equivalent to a
    // decryption error, unless that chunk is the final chunk."
    if (!final && len === aead.nt) refuse("chunk auth", `non-final chunk ${counter} is empty`);
    const pt = aeadOpen(aead, key, chunkNonce(baseNonce, counter), final ? FINAL_AAD : EMPTY, ct);
    if (pt === null) refuse("chunk auth", `chunk ${counter}${final ? " (final)" : ""} does not open`);
    plaintexts.push(pt);
    ciphertexts.push(ct);
    if (final) return { plaintexts, ciphertexts };
  }
}

// ---- key configurations ------------------------------------------------------------------------

// RFC 9458 KeyConfig: key_id(1) kem_id(2) public_key(Npk) suites_len(2) {kdf_id(2) aead_id(2)}*.
function parseKeyConfig(bytes) {
  if (bytes.length < 3) bad("key_config too short");
  const kemId = bytes.readUInt16BE(1);
  const kem = KEMS[kemId] ?? bad(`key_config has unknown KEM 0x${kemId.toString(16)}`);
  let pos = 3;
  const publicKey = bytes.subarray(pos, pos + kem.npk);
  pos += kem.npk;
  if (pos + 2 > bytes.length) bad("key_config truncated");
  const suitesLen = bytes.readUInt16BE(pos);
  pos += 2;
  if (suitesLen % 4 !== 0 || pos + suitesLen !== bytes.length) bad("key_config suites malformed");
  const suites = [];
  for (; pos < bytes.length; pos += 4) {
    suites.push({ kdfId: bytes.readUInt16BE(pos), aeadId: bytes.readUInt16BE(pos + 2) });
  }
  return { keyId: bytes[0], kemId, publicKey, suites, nodeId: sha256(bytes), bytes };
}
const listsSuite = (config, kemId, kdfId, aeadId) => config.kemId === kemId &&
  config.suites.some((s) => s.kdfId === kdfId && s.aeadId === aeadId);

// The public key of a serialized private key, computed with Node crypto (not @hpke), so that the
// fixed ephemeral key pair can be handed to @hpke/core's `ekm` (a CryptoKeyPair).
function publicKeyOf(kemId, sk) {
  if (kemId === 0x0020) {
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), sk]);
    const priv = crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    return Buffer.from(crypto.createPublicKey(priv).export({ format: "jwk" }).x, "base64url");
  }
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.setPrivateKey(sk);
  return ecdh.getPublicKey(null, "uncompressed");
}

function makeSuite(kemId, kdfId, aeadId) {
  return new CipherSuite({ kem: KEMS[kemId].make(), kdf: KDFS[kdfId].make(), aead: AEADS[aeadId].make() });
}

// info = "openpcc sealed request v1" || 0x00 || node_id || kem_id || kdf_id || aead_id
const requestInfo = (nodeId, kemId, kdfId, aeadId) =>
  Buffer.concat([INFO_LABEL, Buffer.from([0]), nodeId, u16(kemId), u16(kdfId), u16(aeadId)]);
// Export context for the response secret.
const responseContext = (nodeId, digest) =>
  Buffer.concat([RESPONSE_LABEL, Buffer.from([0]), nodeId, digest]);
const dekAad = (header) => Buffer.concat([DEK_LABEL, sha256(header)]);

// request_digest = SHA-256(header || Candidate[] || for each chunk: encode(8, len) || c)
function requestDigest(prelude, ciphertexts) {
  const h = crypto.createHash("sha256");
  h.update(prelude);
  for (const c of ciphertexts) { h.update(u64(c.length)); h.update(c); }
  return h.digest();
}

// RFC 9458 §4.4 with the sealed-response secret: salt = enc || response_nonce.
function responseKeys(kdfId, aead, secret, enc, responseNonce) {
  const salt = Buffer.concat([enc, responseNonce]);
  const hash = KDFS[kdfId].hash;
  return {
    key: Buffer.from(crypto.hkdfSync(hash, secret, salt, Buffer.from("key"), aead.nk)),
    nonce: Buffer.from(crypto.hkdfSync(hash, secret, salt, Buffer.from("nonce"), aead.nn)),
  };
}

// ---- client: seal ------------------------------------------------------------------------------

// `fixed` (vectors only): {dek, bodyNonce, ephemeralKeys: [sk...]}.
async function seal(candidateSpecs, bodyAeadId, chunks, fixed = null, allowEmpty = false) {
  const body = AEADS[bodyAeadId] ?? bad(`unsupported body_aead_id ${bodyAeadId}`);
  if (candidateSpecs.length < 1 || candidateSpecs.length > MAX_CANDIDATES) {
    bad(`candidate count ${candidateSpecs.length}`);
  }
  const candidates = candidateSpecs.map((c) => {
    const config = parseKeyConfig(fromHex(c.key_config, "key_config"));
    if (!KDFS[c.kdf_id] || !AEADS[c.aead_id] || !listsSuite(config, config.kemId, c.kdf_id, c.aead_id)) {
      bad(`suite ${c.kdf_id}/${c.aead_id} is not usable with its key_config`);
    }
    return { config, kdfId: c.kdf_id, aeadId: c.aead_id };
  });
  const ids = new Set(candidates.map((c) => toHex(c.config.nodeId)));
  if (ids.size !== candidates.length) bad("the same node appears twice among the candidates");

  const dek = fixed ? fixed.dek : crypto.randomBytes(body.nk);
  const bodyNonce = fixed ? fixed.bodyNonce : crypto.randomBytes(body.nn);
  if (dek.length !== body.nk || bodyNonce.length !== body.nn) bad("fixed dek/body_nonce have wrong sizes");

  const header = Buffer.concat([Buffer.from([VERSION]), u16(bodyAeadId), Buffer.from([candidates.length]),
                                ...candidates.map((c) => c.config.nodeId), bodyNonce]);
  const aad = dekAad(header);
  const entries = [], contexts = [];
  for (const [i, c] of candidates.entries()) {
    const suite = makeSuite(c.config.kemId, c.kdfId, c.aeadId);
    const params = {
      recipientPublicKey: await suite.kem.deserializePublicKey(c.config.publicKey),
      info: requestInfo(c.config.nodeId, c.config.kemId, c.kdfId, c.aeadId),
    };
    if (fixed) {
      const sk = fixed.ephemeralKeys[i];
      params.ekm = { privateKey: await suite.kem.deserializePrivateKey(sk),
                     publicKey: await suite.kem.deserializePublicKey(publicKeyOf(c.config.kemId, sk)) };
    }
    const ctx = await suite.createSenderContext(params);
    const enc = Buffer.from(ctx.enc);
    const wrapped = Buffer.from(await ctx.seal(dek, aad));
    if (wrapped.length !== body.nk + AEADS[c.aeadId].nt) bad("wrapped_dek has an unexpected size");
    entries.push(u16(c.config.kemId), u16(c.kdfId), u16(c.aeadId), enc, wrapped);
    contexts.push({ c, ctx, enc });
  }
  const prelude = Buffer.concat([header, ...entries]);
  const { wire, ciphertexts } = sealChunks(body, dek, bodyNonce, chunks, allowEmpty);
  const sealed = Buffer.concat([prelude, wire]);
  const digest = requestDigest(prelude, ciphertexts);

  const state = [];
  for (const { c, ctx, enc } of contexts) {
    const a = AEADS[c.aeadId];
    const secret = Buffer.from(await ctx.export(responseContext(c.config.nodeId, digest), Math.max(a.nn, a.nk)));
    state.push({ node_id: toHex(c.config.nodeId), kem_id: c.config.kemId, kdf_id: c.kdfId,
                 aead_id: c.aeadId, enc: toHex(enc), secret: toHex(secret) });
  }
  return { sealed_request: toHex(sealed), request_digest: toHex(digest), client_state: { candidates: state } };
}

// ---- client: open the response -----------------------------------------------------------------

function openResponse(clientState, sealedResponse) {
  const buf = sealedResponse;
  if (buf.length < NODE_ID_LEN) refuse("malformed", "response shorter than a node_id");
  const nodeId = toHex(buf.subarray(0, NODE_ID_LEN));
  const c = clientState.candidates.find((x) => x.node_id === nodeId);
  if (!c) refuse("not a candidate", `response from ${nodeId}, not one of our candidates`);
  const aead = AEADS[c.aead_id];
  const nonceLen = Math.max(aead.nn, aead.nk);
  if (buf.length < NODE_ID_LEN + nonceLen) refuse("malformed", "response ends inside response_nonce");
  const responseNonce = buf.subarray(NODE_ID_LEN, NODE_ID_LEN + nonceLen);
  const { key, nonce } = responseKeys(c.kdf_id, aead, fromHex(c.secret), fromHex(c.enc), responseNonce);
  const { plaintexts } = openChunks(aead, key, nonce, buf, NODE_ID_LEN + nonceLen);
  return { plaintext: toHex(Buffer.concat(plaintexts)), plaintext_chunks: plaintexts.map(toHex), node_id: nodeId };
}

// ---- node: open the request and answer ---------------------------------------------------------

async function loadNodeKey(skHex, configHex) {
  const config = parseKeyConfig(fromHex(configHex, "key_config"));
  const sk = fromHex(skHex, "node_private_key");
  if (!publicKeyOf(config.kemId, sk).equals(config.publicKey)) bad("node_private_key does not match key_config");
  return { config, sk };
}

// `keys`: this node's keys (current and grace-period). Returns the opened request and what the
// node needs to answer.
async function openRequest(keys, buf) {
  if (buf.length > MAX_REQUEST) refuse("too large", `${buf.length} bytes`);
  // header = version(1) body_aead_id(2) count(1) node_id[count](32) body_nonce(Nn)
  if (buf.length < 1) refuse("malformed", "empty request");
  if (buf[0] !== VERSION) refuse("unknown version", `version ${buf[0]}`);
  if (buf.length < 4) refuse("malformed", "header truncated");
  const bodyAeadId = buf.readUInt16BE(1);
  const body = AEADS[bodyAeadId] ?? refuse("body aead", `body_aead_id 0x${bodyAeadId.toString(16)}`);
  const count = buf[3];
  if (count < 1 || count > MAX_CANDIDATES) refuse("candidate count", `count ${count}`);
  const headerLen = 4 + NODE_ID_LEN * count + body.nn;
  if (buf.length < headerLen) refuse("malformed", "header truncated");
  const nodeIds = [];
  for (let i = 0; i < count; ++i) nodeIds.push(buf.subarray(4 + NODE_ID_LEN * i, 4 + NODE_ID_LEN * (i + 1)));
  const seen = new Set();
  for (const id of nodeIds) {
    if (seen.has(toHex(id))) refuse("duplicate node_id", toHex(id));
    seen.add(toHex(id));
  }
  const header = buf.subarray(0, headerLen);
  const bodyNonce = buf.subarray(headerLen - body.nn, headerLen);

  const own = [];
  nodeIds.forEach((id, index) => {
    const key = keys.find((k) => k.config.nodeId.equals(id));
    if (key) own.push({ index, key });
  });
  if (own.length === 0) refuse("not a candidate", "no node_id is this node's");
  if (own.length > 1) refuse("more than one own candidate", `${own.length} node_ids are this node's`);
  const { index: mine, key } = own[0];

  // Candidate = kem_id(2) kdf_id(2) aead_id(2) enc(Nenc) wrapped_dek(Nk(body) + Nt(aead_id))
  let pos = headerLen, entry = null;
  for (let i = 0; i < count; ++i) {
    if (pos + 6 > buf.length) refuse("malformed", `candidate ${i} truncated`);
    const kemId = buf.readUInt16BE(pos), kdfId = buf.readUInt16BE(pos + 2), aeadId = buf.readUInt16BE(pos + 4);
    const kem = KEMS[kemId] ?? refuse("malformed", `candidate ${i} has unknown kem_id 0x${kemId.toString(16)}`);
    const aead = AEADS[aeadId] ?? refuse("malformed", `candidate ${i} has unknown aead_id 0x${aeadId.toString(16)}`);
    // §2.2 does not say whether a node looks at other candidates' KDFs (they change no length);
    // this peer parses strictly: every candidate must name a KEM, KDF and AEAD the format allows.
    if (!KDFS[kdfId]) refuse("malformed", `candidate ${i} has unknown kdf_id 0x${kdfId.toString(16)}`);
    const start = pos + 6, size = kem.nenc + body.nk + aead.nt;
    if (start + size > buf.length) refuse("malformed", `candidate ${i} truncated`);
    if (i === mine) {
      entry = { kemId, kdfId, aeadId, enc: buf.subarray(start, start + kem.nenc),
                wrapped: buf.subarray(start + kem.nenc, start + size) };
    }
    pos = start + size;
  }
  const prelude = buf.subarray(0, pos);

  if (!KDFS[entry.kdfId] || !listsSuite(key.config, entry.kemId, entry.kdfId, entry.aeadId)) {
    refuse("suite not listed", `${entry.kemId}/${entry.kdfId}/${entry.aeadId}`);
  }
  const suite = makeSuite(entry.kemId, entry.kdfId, entry.aeadId);
  let ctx, dek;
  try {
    ctx = await suite.createRecipientContext({
      recipientKey: await suite.kem.deserializePrivateKey(key.sk),
      enc: entry.enc,
      info: requestInfo(key.config.nodeId, entry.kemId, entry.kdfId, entry.aeadId),
    });
    dek = Buffer.from(await ctx.open(entry.wrapped, dekAad(header)));
  } catch (e) {
    refuse("wrapped_dek", `${e?.name ?? "Error"}: ${e?.message ?? e}`);
  }
  if (dek.length !== body.nk) refuse("wrapped_dek", "DEK has the wrong length");

  const { plaintexts, ciphertexts } = openChunks(body, dek, bodyNonce, buf, pos);
  const digest = requestDigest(prelude, ciphertexts);
  return { plaintexts, digest, nodeId: key.config.nodeId, ctx, enc: entry.enc, kdfId: entry.kdfId,
           aead: AEADS[entry.aeadId] };
}

// SealedResponse = node_id(32) response_nonce(max(Nn, Nk)) Chunks
async function sealResponse(opened, chunks, fixedNonce = null, allowEmpty = false) {
  const { aead } = opened;
  const secret = Buffer.from(await opened.ctx.export(responseContext(opened.nodeId, opened.digest),
                                                     Math.max(aead.nn, aead.nk)));
  const responseNonce = fixedNonce ?? crypto.randomBytes(Math.max(aead.nn, aead.nk));
  if (responseNonce.length !== Math.max(aead.nn, aead.nk)) bad("response_nonce has the wrong size");
  const { key, nonce } = responseKeys(opened.kdfId, aead, secret, opened.enc, responseNonce);
  return Buffer.concat([opened.nodeId, responseNonce, sealChunks(aead, key, nonce, chunks, allowEmpty).wire]);
}

// ---- jobs --------------------------------------------------------------------------------------

const hexList = (list, what) => (Array.isArray(list) ? list : bad(`${what} is not an array`))
  .map((h) => fromHex(h, what));

async function refusable(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Refusal) return { error: e.refusal, detail: e.message };
    throw e;
  }
}

async function jobOpenRequest(job) {
  const keys = [await loadNodeKey(job.node_private_key, job.key_config)];
  for (const k of job.extra_keys ?? []) keys.push(await loadNodeKey(k.node_private_key, k.key_config));
  const request = fromHex(job.sealed_request, "sealed_request");
  return refusable(async () => {
    const opened = await openRequest(keys, request);
    const result = { plaintext: toHex(Buffer.concat(opened.plaintexts)),
                     plaintext_chunks: opened.plaintexts.map(toHex),
                     request_digest: toHex(opened.digest), node_id: toHex(opened.nodeId) };
    if (job.response_chunks !== undefined) {
      const fixed = job.response_nonce !== undefined ? fromHex(job.response_nonce, "response_nonce") : null;
      result.sealed_response = toHex(await sealResponse(opened, hexList(job.response_chunks, "response_chunks"), fixed,
                                                         job.allow_empty_chunks === true));
    }
    return result;
  });
}

async function jobReproduce(job) {
  const results = [];
  for (const v of job.vectors) {
    const fixed = { dek: fromHex(v.dek, "dek"), bodyNonce: fromHex(v.body_nonce, "body_nonce"),
                    ephemeralKeys: v.candidates.map((c) => fromHex(c.ephemeral_private_key, "ephemeral")) };
    const specs = v.candidates.map((c) => ({ key_config: c.key_config, kdf_id: c.kdf_id, aead_id: c.aead_id }));
    const requestChunks = hexList(v.request_chunks, "request_chunks");
    const responseChunks = hexList(v.response_chunks, "response_chunks");
    const responder = v.candidates[v.responder];
    const key = await loadNodeKey(responder.node_private_key, responder.key_config);
    for (const c of v.candidates) {
      if (toHex(parseKeyConfig(fromHex(c.key_config)).nodeId) !== c.node_id) bad("vector node_id != SHA-256(key_config)");
    }

    // 1. Rebuild everything from the fixed values.
    const sealed = await seal(specs, v.body_aead_id, requestChunks, fixed);
    const rebuilt = await openRequest([key], fromHex(sealed.sealed_request));
    const response = await sealResponse(rebuilt, responseChunks, fromHex(v.response_nonce, "response_nonce"));
    const result = { name: v.name, sealed_request: sealed.sealed_request, request_digest: sealed.request_digest,
                     sealed_response: toHex(response) };

    // 2. Open the committed request as the responder node.
    result.opened_request = await refusable(async () => {
      const opened = await openRequest([key], fromHex(v.sealed_request, "sealed_request"));
      return { plaintext: toHex(Buffer.concat(opened.plaintexts)), request_digest: toHex(opened.digest),
               node_id: toHex(opened.nodeId) };
    });

    // 3. Open the committed response as the client: the client's contexts come from the fixed
    // ephemeral keys, the digest from the committed request's bytes.
    result.opened_response = await refusable(async () => {
      const state = [];
      for (const [i, c] of v.candidates.entries()) {
        const config = parseKeyConfig(fromHex(c.key_config));
        const suite = makeSuite(config.kemId, c.kdf_id, c.aead_id);
        const sk = fixed.ephemeralKeys[i];
        const ctx = await suite.createSenderContext({
          recipientPublicKey: await suite.kem.deserializePublicKey(config.publicKey),
          info: requestInfo(config.nodeId, config.kemId, c.kdf_id, c.aead_id),
          ekm: { privateKey: await suite.kem.deserializePrivateKey(sk),
                 publicKey: await suite.kem.deserializePublicKey(publicKeyOf(config.kemId, sk)) },
        });
        state.push({ node_id: toHex(config.nodeId), kdf_id: c.kdf_id, aead_id: c.aead_id, enc: toHex(ctx.enc),
                     ctx });
      }
      const digest = committedDigest(fromHex(v.sealed_request), v.body_aead_id, state);
      for (const s of state) {
        const a = AEADS[s.aead_id];
        s.secret = toHex(await s.ctx.export(responseContext(fromHex(s.node_id), digest), Math.max(a.nn, a.nk)));
        delete s.ctx;
      }
      const opened = openResponse({ candidates: state }, fromHex(v.sealed_response, "sealed_response"));
      return { plaintext: opened.plaintext, node_id: opened.node_id };
    });
    results.push(result);
  }
  return { results };
}

// The request digest of a committed request, computed by the client from the bytes alone (it
// knows the sizes of its own candidates), without decrypting: the body chunks are only framed.
function committedDigest(buf, bodyAeadId, state) {
  const body = AEADS[bodyAeadId];
  let pos = 4 + NODE_ID_LEN * state.length + body.nn;
  for (const s of state) pos += 6 + fromHex(s.enc).length + body.nk + AEADS[s.aead_id].nt;
  const prelude = buf.subarray(0, pos);
  const ciphertexts = [];
  for (;;) {
    const v = decodeVarint(buf, pos) ?? bad("committed request truncated");
    pos += v.size;
    if (v.value === 0) { ciphertexts.push(buf.subarray(pos)); break; }
    ciphertexts.push(buf.subarray(pos, pos + v.value));
    pos += v.value;
  }
  return requestDigest(prelude, ciphertexts);
}

async function runJob(job) {
  switch (job?.op) {
    case "batch": {
      if (!Array.isArray(job.jobs)) bad("batch has no jobs array");
      const results = [];
      for (const j of job.jobs) results.push(await runJob(j));
      return { results };
    }
    case "reproduce":
      return jobReproduce(job);
    case "seal":
      return refusable(() => seal(job.candidates, job.body_aead_id, hexList(job.request_chunks, "request_chunks"),
                                  null, job.allow_empty_chunks === true));
    case "open_response":
      return refusable(() => openResponse(job.client_state, fromHex(job.sealed_response, "sealed_response")));
    case "open_request":
      return jobOpenRequest(job);
    default:
      return bad(`unknown op ${JSON.stringify(job?.op)}`);
  }
}

async function main() {
  const input = [];
  for await (const chunk of process.stdin) input.push(chunk);
  const job = JSON.parse(Buffer.concat(input).toString("utf8"));
  process.stdout.write(JSON.stringify(await runJob(job)));
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
