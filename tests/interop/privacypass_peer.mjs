// tests/interop/privacypass_peer.mjs — Privacy Pass / blind RSA peer for
// tests/privacypass_interop_test.cc, built on @cloudflare/privacypass-ts 0.8.1 and
// @cloudflare/blindrsa-ts 0.4.3 (independent TypeScript implementations over WebCrypto).
//
// Reads one JSON document on stdin: { "jobs": [job, ...] }; binary values are lower-case hex.
// Jobs:
//  { op: "fetch-tokens", issuer: {command: [exe, args...]} | {url, api_key}, challenge, token_key,
//    count, batch: bool }
//      privacypass-ts is the client: it builds `count` TokenRequests for the TokenChallenge
//      `challenge` and the issuer key `token_key` (RFC 9578 SPKI), sends them to the issuer — a
//      harness process speaking the line protocol of tests/interop/tokens_issuer_harness.cc, or an
//      issuer URL (POST, Authorization: Bearer api_key) — singly or as one generic batch,
//      finalizes the tokens and checks them with its own Origin.verify.
//      -> { tokens: [hex], self_verified: bool }
//  { op: "fetch-tokens-http", issuer_url, api_key, count, batch }
//      The same against a running `openpcc issuer`, configured only by its origin: the peer GETs
//      /.well-known/private-token-issuer-directory, takes the first (newest) token key and the
//      published challenge (openpcc-token-challenge), and POSTs to the directory's
//      issuer-request-uri. -> { tokens: [hex], self_verified, token_key, challenge }
//  { op: "verify-tokens", token_key, challenge, tokens: [hex], authorization: [header] }
//      -> { results: [bool], authorization_tokens: [hex] }   (Origin.verify; header parsing)
//  { op: "format-authorization", tokens: [hex] }
//      -> { headers: [new AuthorizationHeader(token).toString()], quoted: [....toString(true)] }
//  { op: "www-authenticate", header } -> { challenges: [{challenge, token_key, max_age}] }
//  { op: "format-www-authenticate", challenge, token_key, max_age } -> { header }
//  { op: "blindrsa-client", variant, public_key_spki (rsaEncryption), msg, issuer: {command} }
//      blindrsa-ts is the client, our harness signs: prepare, blind, BlindSign via the harness,
//      finalize, verify. -> { prepared, sig }
//  { op: "blindrsa-sign", variant, private_key_pkcs8, blinded: [hex] } -> { blind_sigs: [hex] }
//  { op: "blindrsa-verify", variant, public_key_spki, prepared, sig } -> { valid: bool }
// Writes { results: [result, ...] } in job order.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { RSABSSA } from "@cloudflare/blindrsa-ts";
import { AuthorizationHeader, TOKEN_TYPES, Token, TokenChallenge, WWWAuthenticateHeader,
         genericBatched, publicVerif, sendTokenRequest, util } from "@cloudflare/privacypass-ts";

const { BlindRSAMode, Client, Origin, TokenResponse } = publicVerif;

function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`privacypass_peer: not a hex string: ${JSON.stringify(hex)}`);
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}
const toHex = (bytes) => Buffer.from(bytes).toString("hex");

// A harness process: one line out, one line back.
class Harness {
  constructor(command) {
    this.child = spawn(command[0], command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  async next() {
    const { value, done } = await this.lines.next();
    if (done) throw new Error("harness exited");
    return value;
  }
  async call(line) {
    this.child.stdin.write(line + "\n");
    const answer = await this.next();
    const [status, media, hex] = answer.split(" ", 3);
    if (status !== "ok") throw new Error(`issuer refused: ${answer}`);
    return { media, body: fromHex(hex) };
  }
  close() { this.child.stdin.end(); }
}

// The issuer as the peer sees it: a harness, or an HTTP issuer (`openpcc issuer`).
async function makeIssuer(spec) {
  if (spec.url) {
    return {
      async post(media, body) {
        if (media === "application/private-token-request") {
          // privacypass-ts's own issuance request (it checks the response's Content-Type too).
          return sendTokenRequest(body, spec.url,
                                  new Headers({ authorization: `Bearer ${spec.api_key}` }));
        }
        const res = await fetch(spec.url, { method: "POST", body,
          headers: { "content-type": media, accept: "*/*", authorization: `Bearer ${spec.api_key}` } });
        if (!res.ok) throw new Error(`issuer refused: HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
      close() {},
    };
  }
  const harness = new Harness(spec.command);
  const first = await harness.next();
  const apiKey = first.split(" ")[1];
  return {
    async post(media, body) {
      return (await harness.call(`token-request ${apiKey} ${media} ${toHex(body)}`)).body;
    },
    harness,
    close() { harness.close(); },
  };
}

async function issuerCryptoKey(tokenKey) {
  return crypto.subtle.importKey("spki", util.convertRSASSAPSSToEnc(tokenKey),
                                 TOKEN_TYPES.BLIND_RSA.rsaParams, true, ["verify"]);
}

async function fetchTokens(job) {
  const challenge = TokenChallenge.deserialize(fromHex(job.challenge));
  const tokenKey = fromHex(job.token_key);
  const issuer = await makeIssuer(job.issuer);
  const clients = [];
  const requests = [];
  for (let i = 0; i < job.count; i++) {
    const client = new Client(BlindRSAMode.PSS);
    requests.push(await client.createTokenRequest(challenge, tokenKey));
    clients.push(client);
  }
  const tokens = [];
  try {
    if (job.batch) {
      const batch = new genericBatched.BatchedTokenRequest(
        requests.map((r) => new genericBatched.TokenRequest(r)));
      const body = await issuer.post("application/private-token-generic-batch-request",
                                     batch.serialize());
      const responses = genericBatched.GenericBatchTokenResponse.deserialize(body);
      let i = 0;
      for (const optional of responses) {
        if (optional.tokenResponse === null) throw new Error(`token ${i} absent`);
        tokens.push(await clients[i].finalize(optional.tokenResponse));
        i++;
      }
    } else {
      for (let i = 0; i < requests.length; i++) {
        const body = await issuer.post("application/private-token-request", requests[i].serialize());
        tokens.push(await clients[i].finalize(TokenResponse.deserialize(body)));
      }
    }
  } finally {
    issuer.close();
  }
  const origin = new Origin(BlindRSAMode.PSS);
  const key = await issuerCryptoKey(tokenKey);
  let selfVerified = tokens.length === job.count;
  for (const t of tokens) selfVerified = selfVerified && (await origin.verify(t, key));
  return { tokens: tokens.map((t) => toHex(t.serialize())), self_verified: selfVerified };
}

const fromBase64Url = (text) => Uint8Array.from(Buffer.from(text, "base64url"));

async function fetchTokensHttp(job) {
  const res = await fetch(`${job.issuer_url}/.well-known/private-token-issuer-directory`);
  if (!res.ok) throw new Error(`directory: HTTP ${res.status}`);
  if (res.headers.get("content-type") !== "application/private-token-issuer-directory") {
    throw new Error(`directory: content-type ${res.headers.get("content-type")}`);
  }
  const dir = await res.json();
  const key = dir["token-keys"].find((k) => k["token-type"] === TOKEN_TYPES.BLIND_RSA.value);
  if (!key) throw new Error("directory: no type 2 key");
  const tokenKey = toHex(fromBase64Url(key["token-key"]));
  const challenge = toHex(fromBase64Url(dir["openpcc-token-challenge"]));
  const out = await fetchTokens({ challenge, token_key: tokenKey, count: job.count, batch: job.batch,
                                  issuer: { url: dir["issuer-request-uri"], api_key: job.api_key } });
  return { ...out, token_key: tokenKey, challenge };
}

async function verifyTokens(job) {
  const origin = new Origin(BlindRSAMode.PSS);
  const key = await issuerCryptoKey(fromHex(job.token_key));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", fromHex(job.challenge)));
  const results = [];
  for (const hex of job.tokens) {
    const token = Token.deserialize(TOKEN_TYPES.BLIND_RSA, fromHex(hex));
    const digestOk = toHex(token.authInput.challengeDigest) === toHex(digest);
    results.push(digestOk && (await origin.verify(token, key)));
  }
  const authorizationTokens = [];
  for (const header of job.authorization ?? []) {
    for (const parsed of AuthorizationHeader.parse(TOKEN_TYPES.BLIND_RSA, header)) {
      authorizationTokens.push(toHex(parsed.token.serialize()));
    }
  }
  return { results, authorization_tokens: authorizationTokens };
}

const VARIANTS = {
  "RSABSSA-SHA384-PSS-Randomized": () => RSABSSA.SHA384.PSS.Randomized(),
  "RSABSSA-SHA384-PSSZERO-Randomized": () => RSABSSA.SHA384.PSSZero.Randomized(),
  "RSABSSA-SHA384-PSS-Deterministic": () => RSABSSA.SHA384.PSS.Deterministic(),
  "RSABSSA-SHA384-PSSZERO-Deterministic": () => RSABSSA.SHA384.PSSZero.Deterministic(),
};
const RSA_PSS = { name: "RSA-PSS", hash: "SHA-384" };

async function blindrsaClient(job) {
  const suite = VARIANTS[job.variant]();
  const pk = await crypto.subtle.importKey("spki", fromHex(job.public_key_spki), RSA_PSS, true,
                                           ["verify"]);
  const prepared = suite.prepare(fromHex(job.msg));
  const { blindedMsg, inv } = await suite.blind(pk, prepared);
  const harness = new Harness(job.issuer.command);
  try {
    await harness.next();  // the api key line
    const { body } = await harness.call(`blind-sign ${toHex(blindedMsg)}`);
    const sig = await suite.finalize(pk, prepared, body, inv);
    return { prepared: toHex(prepared), sig: toHex(sig) };
  } finally {
    harness.close();
  }
}

async function blindrsaSign(job) {
  const suite = VARIANTS[job.variant]();
  const sk = await crypto.subtle.importKey("pkcs8", fromHex(job.private_key_pkcs8), RSA_PSS, true,
                                           ["sign"]);
  const out = [];
  for (const hex of job.blinded) out.push(toHex(await suite.blindSign(sk, fromHex(hex))));
  return { blind_sigs: out };
}

async function blindrsaVerify(job) {
  const suite = VARIANTS[job.variant]();
  const pk = await crypto.subtle.importKey("spki", fromHex(job.public_key_spki), RSA_PSS, true,
                                           ["verify"]);
  return { valid: await suite.verify(pk, fromHex(job.sig), fromHex(job.prepared)) };
}

async function run(job) {
  switch (job.op) {
    case "fetch-tokens": return fetchTokens(job);
    case "fetch-tokens-http": return fetchTokensHttp(job);
    case "verify-tokens": return verifyTokens(job);
    case "www-authenticate":
      return { challenges: WWWAuthenticateHeader.parse(job.header).map((h) => ({
        challenge: toHex(h.challenge.serialize()), token_key: toHex(h.tokenKey),
        max_age: h.maxAge ?? null })) };
    case "format-www-authenticate": {
      const h = new WWWAuthenticateHeader(TokenChallenge.deserialize(fromHex(job.challenge)),
                                          fromHex(job.token_key), job.max_age);
      return { header: h.toString(true) };
    }
    case "format-authorization": {
      const tokens = job.tokens.map((hex) => Token.deserialize(TOKEN_TYPES.BLIND_RSA, fromHex(hex)));
      return { headers: tokens.map((t) => new AuthorizationHeader(t).toString()),
               quoted: tokens.map((t) => new AuthorizationHeader(t).toString(true)) };
    }
    case "blindrsa-client": return blindrsaClient(job);
    case "blindrsa-sign": return blindrsaSign(job);
    case "blindrsa-verify": return blindrsaVerify(job);
    default: throw new Error(`unknown op ${job.op}`);
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { jobs } = JSON.parse(input);
const results = [];
for (const job of jobs) results.push(await run(job));
process.stdout.write(JSON.stringify({ results }));
