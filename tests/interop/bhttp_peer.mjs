// tests/interop/bhttp_peer.mjs — Binary HTTP (RFC 9292) peer for tests/bhttp_interop_test.cc, built
// on bhttp-js 0.2.1, an independent TypeScript implementation over the Fetch API's Request and
// Response.
//
// Reads one JSON document on stdin: { "jobs": [job, ...] }. Binary values are lower-case hex;
// headers are [[name, value], ...]. A job is one of
//   { "op": "encode_request", "method", "url", "headers", "body" }
//   { "op": "encode_response", "status", "headers", "body" }
//   { "op": "decode_request", "message" }
//   { "op": "decode_response", "message" }
// Writes { "results": [result, ...] }, one per job, in order, with the job's "id":
//   encode_*         { id, message }
//   decode_request   { id, method, url, headers, body }
//   decode_response  { id, status, headers, body }
// or { id, error } when bhttp-js throws. Only malformed input makes the script exit non-zero.
//
// What bhttp-js 0.2.1 covers, and so what the caller can compare:
//   - it encodes only the known-length form (framing 0 and 1), without informational responses,
//     trailers or padding, and takes the path from URL.pathname (a query string is dropped);
//   - it decodes both framings, informational responses, trailers and padding, but its Fetch
//     Request/Response results carry neither informational responses nor trailers, so only the
//     head, the final status and the content come back; a GET or HEAD request loses its content;
//   - headers go through the Fetch Headers class: names come back lower-cased and sorted, and
//     repeated names are combined.
import { BHttpDecoder, BHttpEncoder } from "bhttp-js";

function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`bhttp_peer: not a hex string: ${JSON.stringify(hex)}`);
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}
const toHex = (bytes) => Buffer.from(new Uint8Array(bytes)).toString("hex");
const describe = (e) => `${e?.name ?? "Error"}: ${e?.message ?? String(e)}`;
const headerList = (headers) => [...headers];

async function runJob(job) {
  switch (job.op) {
    case "encode_request": {
      const init = { method: job.method, headers: job.headers };
      if (job.body !== undefined && job.body !== "") init.body = fromHex(job.body);
      const message = await new BHttpEncoder().encodeRequest(new Request(job.url, init));
      return { message: toHex(message) };
    }
    case "encode_response": {
      const body = job.body === undefined || job.body === "" ? null : fromHex(job.body);
      const response = new Response(body, { status: job.status, headers: job.headers });
      return { message: toHex(await new BHttpEncoder().encodeResponse(response)) };
    }
    case "decode_request": {
      const request = new BHttpDecoder().decodeRequest(fromHex(job.message));
      return { method: request.method, url: request.url, headers: headerList(request.headers),
               body: toHex(await request.arrayBuffer()) };
    }
    case "decode_response": {
      const response = new BHttpDecoder().decodeResponse(fromHex(job.message));
      return { status: response.status, headers: headerList(response.headers),
               body: toHex(await response.arrayBuffer()) };
    }
    default:
      throw new TypeError(`bhttp_peer: unknown op ${JSON.stringify(job.op)}`);
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { jobs } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
if (!Array.isArray(jobs)) throw new TypeError("bhttp_peer: input has no jobs array");
const results = [];
for (const job of jobs) {
  let result;
  try {
    result = await runJob(job);
  } catch (e) {
    if (e instanceof TypeError && e.message.startsWith("bhttp_peer:")) throw e;
    result = { error: describe(e) };
  }
  results.push({ id: job.id, ...result });
}
process.stdout.write(JSON.stringify({ results }));
