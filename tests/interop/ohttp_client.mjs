// tests/interop/ohttp_client.mjs — an Oblivious HTTP client (RFC 9458) for
// tests/relay_interop_test.cc, built on @hpke/core + @hpke/dhkem-x25519 (HPKE), WebCrypto (HKDF and
// AES-GCM of the response) and bhttp-js (Binary HTTP) — none of it OpenPCC code.
//
// Reads { "relay": "http://127.0.0.1:PORT", "requests": [job, ...] } on stdin. It fetches the
// gateway's key configurations through the relay (GET /ohttp-keys, application/ohttp-keys), picks
// the first X25519 config offering HKDF-SHA256 + AES-128-GCM, and for each job
//   { "method", "url", "body"? (text), "tamper"? (flip one ciphertext byte) }
// encapsulates a BHTTP request, POSTs it to the relay as message/ohttp-req, and decapsulates the
// message/ohttp-res answer. Writes { "key_id", "results": [result, ...] }, each result
//   { "outer_status", "outer_type", "status", "body" (text) }   decrypted, or
//   { "outer_status", "outer_type", "outer_body" }              when the outer status is not 200.
// Any failure to decrypt or parse exits non-zero with the reason on stderr.
import { Aes128Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { BHttpDecoder, BHttpEncoder } from "bhttp-js";

const KEM_X25519 = 0x0020, KDF_HKDF_SHA256 = 0x0001, AEAD_AES_128_GCM = 0x0001;
const NK = 16, NN = 12;

const readStdin = async () => {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
};

const u16 = (bytes, at) => (bytes[at] << 8) | bytes[at + 1];
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

// application/ohttp-keys: { u16 length, KeyConfig }*; KeyConfig = key_id(1) kem_id(2) pk(Npk)
// u16 suites_length { kdf_id(2) aead_id(2) }*. X25519 public keys are 32 bytes.
function pickConfig(list) {
  let at = 0;
  while (at + 2 <= list.length) {
    const length = u16(list, at);
    const config = list.subarray(at + 2, at + 2 + length);
    at += 2 + length;
    if (config.length !== length) throw new Error("ohttp-keys: truncated config");
    const keyId = config[0], kem = u16(config, 1);
    if (kem !== KEM_X25519) continue;
    const publicKey = config.subarray(3, 35);
    const suitesLength = u16(config, 35);
    for (let s = 37; s + 4 <= 37 + suitesLength; s += 4) {
      if (u16(config, s) === KDF_HKDF_SHA256 && u16(config, s + 2) === AEAD_AES_128_GCM) {
        return { keyId, publicKey };
      }
    }
  }
  throw new Error("ohttp-keys: no X25519 / HKDF-SHA256 / AES-128-GCM config");
}

async function hkdf(secret, salt, info, length) {
  const key = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt, info: new TextEncoder().encode(info) }, key, length * 8);
  return new Uint8Array(bits);
}

async function exchange(relay, suite, config, job) {
  const init = { method: job.method };
  if (job.body !== undefined) init.body = job.body;
  const bhttp = await new BHttpEncoder().encodeRequest(new Request(job.url, init));

  // RFC 9458 §4.3: hdr = key_id kem_id kdf_id aead_id; info = "message/bhttp request" 0x00 hdr.
  const hdr = Uint8Array.from([config.keyId, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01]);
  const info = concat(new TextEncoder().encode("message/bhttp request"), Uint8Array.of(0), hdr);
  const recipientPublicKey = await suite.kem.deserializePublicKey(config.publicKey);
  const sender = await suite.createSenderContext({ recipientPublicKey, info });
  const ct = new Uint8Array(await sender.seal(bhttp));
  const enc = new Uint8Array(sender.enc);
  if (job.tamper) ct[ct.length - 1] ^= 0x01;

  const answer = await fetch(`${relay}/`, {
    method: "POST", headers: { "content-type": "message/ohttp-req" }, body: concat(hdr, enc, ct) });
  const body = new Uint8Array(await answer.arrayBuffer());
  const outerType = answer.headers.get("content-type");
  if (answer.status !== 200) {
    return { outer_status: answer.status, outer_type: outerType,
             outer_body: Buffer.from(body).toString("utf8") };
  }
  if (outerType !== "message/ohttp-res") throw new Error(`unexpected outer type ${outerType}`);

  // RFC 9458 §4.4: secret = Export("message/bhttp response", max(Nn, Nk)); the response starts
  // with a nonce of that length; salt = enc || nonce; key and nonce by HKDF.
  const secret = new Uint8Array(
      await sender.export(new TextEncoder().encode("message/bhttp response"), Math.max(NN, NK)));
  const responseNonce = body.subarray(0, Math.max(NN, NK));
  const salt = concat(enc, responseNonce);
  const aeadKey = await hkdf(secret, salt, "key", NK);
  const aeadNonce = await hkdf(secret, salt, "nonce", NN);
  const key = await crypto.subtle.importKey("raw", aeadKey, "AES-GCM", false, ["decrypt"]);
  const plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: aeadNonce }, key, body.subarray(Math.max(NN, NK))));
  const response = new BHttpDecoder().decodeResponse(plain);
  return { outer_status: answer.status, outer_type: outerType, status: response.status,
           body: await response.text() };
}

async function main() {
  const input = JSON.parse(await readStdin());
  const keys = await fetch(`${input.relay}/ohttp-keys`);
  if (keys.status !== 200 || keys.headers.get("content-type") !== "application/ohttp-keys") {
    throw new Error(`GET /ohttp-keys through the relay: ${keys.status} ${keys.headers.get("content-type")}`);
  }
  const config = pickConfig(new Uint8Array(await keys.arrayBuffer()));
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(),
                                  aead: new Aes128Gcm() });
  const results = [];
  for (const job of input.requests) results.push(await exchange(input.relay, suite, config, job));
  process.stdout.write(JSON.stringify({ key_id: config.keyId, results }));
}

main().catch((e) => {
  process.stderr.write(`ohttp_client: ${e?.stack ?? e}\n`);
  process.exit(1);
});
