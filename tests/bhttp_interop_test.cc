// Interoperability of our Binary HTTP (RFC 9292) with bhttp-js 0.2.1, an independent TypeScript
// implementation, run as a Node.js peer (tests/interop/bhttp_peer.mjs).
//
// Both directions:
//   - bhttp-js encodes requests and responses (headers, binary content of 0, 300 and 70000 bytes,
//     so lengths of one, two and four bytes); we decode each to the message we expect, and our
//     encoder reproduces bhttp-js's bytes exactly.
//   - we encode requests and responses in both framings, with informational responses, trailers,
//     padding, truncation and streamed chunks; bhttp-js decodes them and returns what it can.
// What bhttp-js 0.2.1 lacks, so what is not compared (see the peer's header comment): it encodes
// only the known-length form, without informational responses, trailers or padding; when decoding
// it parses informational responses and trailers (a wrong length there would make its padding
// check fail, so they are exercised) but does not return them; it drops the content of GET
// requests and the query of a URL; it cannot decode a 204, 205 or 304 response (the Fetch Response
// constructor refuses the empty body it always passes); it returns headers lower-cased and sorted
// by name. The cases below therefore use lower-case, distinct header names.
//
// Node.js starts slowly, so each test sends all its cases to one peer invocation.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/wire/bhttp.h"
#include "support/node.h"
#include "support/vectors.h"

namespace openpcc::wire::bhttp {
namespace {

namespace json = boost::json;
using openpcc::testing::Hex;
using openpcc::testing::RunNodePeer;

constexpr char kPeer[] = "bhttp_peer.mjs";

json::array HeadersToJson(const Fields& fields) {
  json::array out;
  for (const Field& f : fields) {
    out.push_back(json::array{json::string(std::string_view(f.name)),
                              json::string(std::string_view(f.value))});
  }
  return out;
}

Fields HeadersFromJson(const json::value& value) {
  Fields out;
  for (const json::value& pair : value.as_array()) {
    const json::array& p = pair.as_array();
    out.push_back({Text(std::string_view(p.at(0).as_string())),
                   Text(std::string_view(p.at(1).as_string()))});
  }
  return out;
}

// The Fetch Headers view of `fields`: sorted by name (names here are lower-case and distinct).
Fields Sorted(Fields fields) {
  std::stable_sort(fields.begin(), fields.end(),
                   [](const Field& a, const Field& b) { return a.name < b.name; });
  return fields;
}

Content Pattern(size_t size, uint8_t seed) {
  Content out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  return out;
}

void AppendTo(crypto::SecretVector& out, ByteView bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// Checks the peer answered every job and returns its results in order.
json::array Results(const json::value& reply, size_t jobs) {
  if (reply.is_null()) return {};
  json::array results = reply.at("results").as_array();
  EXPECT_EQ(results.size(), jobs);
  return results;
}

const json::object* Ok(const json::array& results, size_t i) {
  if (i >= results.size()) return nullptr;
  const json::object& r = results[i].as_object();
  if (const auto* error = r.if_contains("error")) {
    ADD_FAILURE() << "peer job " << i << " failed: " << error->as_string();
    return nullptr;
  }
  return &r;
}

TEST(BhttpInteropTest, DecodesRequestsBhttpJsEncodes) {
  struct Case {
    std::string url;
    Request expected;
  };
  std::vector<Case> cases;
  {
    Request r;
    r.method = "GET";
    r.scheme = "https";
    r.authority = "www.example.com";
    r.path = "/hello.txt";
    r.headers = {{"accept-language", "en, mi"},
                 {"user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"}};
    cases.push_back({"https://www.example.com/hello.txt", r});
  }
  {
    Request r;
    r.method = "POST";
    r.scheme = "https";
    r.authority = "api.example.com:8443";
    r.path = "/v1/infer";
    r.headers = {{"authorization", "PrivateToken token=\"AAIA\""},
                 {"content-type", "application/openpcc-sealed-request"},
                 {"date", "Tue, 25 Nov 2025 21:55:00 GMT"}};
    r.content = Pattern(300, 7);
    cases.push_back({"https://api.example.com:8443/v1/infer", r});
  }
  {
    Request r;
    r.method = "PUT";
    r.scheme = "http";
    r.authority = "localhost:8080";
    r.path = "/upload/a%20b";
    r.headers = {{"x-long", Text(100, 'v')}};
    r.content = Pattern(70000, 1);
    cases.push_back({"http://localhost:8080/upload/a%20b", r});
  }
  json::array jobs;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Request& r = cases[i].expected;
    jobs.push_back(json::object{{"id", i},
                                {"op", "encode_request"},
                                {"method", std::string_view(r.method)},
                                {"url", cases[i].url},
                                {"headers", HeadersToJson(r.headers)},
                                {"body", HexEncode(r.content)}});
  }
  const json::array results = Results(RunNodePeer(kPeer, json::object{{"jobs", jobs}}), jobs.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].url);
    const json::object* r = Ok(results, i);
    if (r == nullptr) continue;
    const Bytes message = Hex(std::string(r->at("message").as_string()));
    EncodeOptions layout;
    auto decoded = DecodeRequest(message, {}, &layout);
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_EQ(*decoded, cases[i].expected);
    EXPECT_EQ(layout, EncodeOptions{});
    auto ours = EncodeRequest(cases[i].expected);
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(HexEncode(*ours), HexEncode(message));
  }
}

TEST(BhttpInteropTest, DecodesResponsesBhttpJsEncodes) {
  std::vector<Response> cases;
  {
    Response r;
    r.status = 200;
    r.headers = {{"cache-control", "no-store"}, {"content-type", "application/octet-stream"}};
    r.content = Pattern(300, 3);
    cases.push_back(r);
  }
  {
    Response r;
    r.status = 404;
    cases.push_back(r);
  }
  {
    Response r;
    r.status = 503;
    r.headers = {{"retry-after", "5"}, {"x-long", Text(200, 'w')}};
    r.content = Pattern(70000, 9);
    cases.push_back(r);
  }
  json::array jobs;
  for (size_t i = 0; i < cases.size(); ++i) {
    jobs.push_back(json::object{{"id", i},
                                {"op", "encode_response"},
                                {"status", cases[i].status},
                                {"headers", HeadersToJson(cases[i].headers)},
                                {"body", HexEncode(cases[i].content)}});
  }
  const json::array results = Results(RunNodePeer(kPeer, json::object{{"jobs", jobs}}), jobs.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("status " + std::to_string(cases[i].status));
    const json::object* r = Ok(results, i);
    if (r == nullptr) continue;
    const Bytes message = Hex(std::string(r->at("message").as_string()));
    auto decoded = DecodeResponse(message);
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_EQ(*decoded, cases[i]);
    auto ours = EncodeResponse(cases[i]);
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(HexEncode(*ours), HexEncode(message));
  }
}

TEST(BhttpInteropTest, BhttpJsDecodesRequestsWeEncode) {
  struct Case {
    std::string name;
    Request request;
    crypto::SecretVector message;
    std::string url;  // what bhttp-js makes of scheme, authority (or Host) and path
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, const Request& r, const EncodeOptions& options, std::string url) {
    auto encoded = EncodeRequest(r, options);
    ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
    cases.push_back({std::move(name), r, std::move(encoded).value(), std::move(url)});
  };
  Request get;
  get.method = "GET";
  get.scheme = "https";
  get.authority = "www.example.com";
  get.path = "/hello.txt";
  get.headers = {{"user-agent", "openpcc"}, {"accept", "*/*"}};
  add("known-length GET", get, {}, "https://www.example.com/hello.txt");
  add("GET ending after its header section", get, {.truncation = Truncation::kBeforeContent},
      "https://www.example.com/hello.txt");

  Request host = get;  // RFC 9292 §5: the authority left empty, the target in Host
  host.authority = "";
  host.headers.push_back({"host", "www.example.com"});
  add("Host instead of authority", host, {.framing = Framing::kIndeterminateLength},
      "https://www.example.com/hello.txt");

  Request post;
  post.method = "POST";
  post.scheme = "https";
  post.authority = "gateway.example";
  post.path = "/v1/infer";
  post.headers = {{"content-type", "application/json"}, {"date", "Tue, 25 Nov 2025 21:55:00 GMT"}};
  post.content = Pattern(5000, 5);
  post.trailers = {{"x-trailer", "1"}};
  for (Framing framing : {Framing::kKnownLength, Framing::kIndeterminateLength}) {
    add(std::string("POST with trailers, padded to 1 KiB, ") +
            (framing == Framing::kKnownLength ? "known-length" : "indeterminate-length"),
        post, {framing, Truncation::kNone, {.to_multiple = kPaddingMultiple}},
        "https://gateway.example/v1/infer");
  }
  {
    StreamEncoder encoder;
    crypto::SecretVector message;
    AppendTo(message, *encoder.BeginRequest(post));
    const ByteView content = post.content;
    for (size_t at = 0; at < content.size(); at += 999) {
      const size_t piece = std::min<size_t>(999, content.size() - at);
      AppendTo(message, *encoder.Content(content.subspan(at, piece)));
    }
    AppendTo(message, *encoder.End(post.trailers, {.bytes = 17}));
    cases.push_back({"POST streamed in chunks", post, message, "https://gateway.example/v1/infer"});
  }

  json::array jobs;
  for (size_t i = 0; i < cases.size(); ++i) {
    jobs.push_back(json::object{{"id", i}, {"op", "decode_request"}, {"message", HexEncode(cases[i].message)}});
  }
  const json::array results = Results(RunNodePeer(kPeer, json::object{{"jobs", jobs}}), jobs.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    const json::object* r = Ok(results, i);
    if (r == nullptr) continue;
    const Request& expected = cases[i].request;
    EXPECT_EQ(r->at("method").as_string(), std::string_view(expected.method));
    EXPECT_EQ(r->at("url").as_string(), cases[i].url);
    EXPECT_EQ(HeadersFromJson(r->at("headers")), Sorted(expected.headers));
    EXPECT_EQ(r->at("body").as_string(), HexEncode(expected.content));
  }
}

TEST(BhttpInteropTest, BhttpJsDecodesResponsesWeEncode) {
  Response response;
  response.informational = {{102, {{"running", "\"sleep 15\""}}},
                            {103, {{"link", "</style.css>; rel=preload; as=style"}}}};
  response.status = 200;
  response.headers = {{"content-type", "text/event-stream"}, {"server", "openpcc-node"}};
  response.content = Pattern(2000, 11);
  response.trailers = {{"x-tokens", "512"}};

  // Not 204: bhttp-js always hands the Fetch Response constructor a body, which it refuses for the
  // null-body statuses 204, 205 and 304.
  Response empty;
  empty.status = 202;

  struct Case {
    std::string name;
    Response response;
    crypto::SecretVector message;
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, const Response& r, const EncodeOptions& options) {
    auto encoded = EncodeResponse(r, options);
    ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
    cases.push_back({std::move(name), r, std::move(encoded).value()});
  };
  add("known-length with informational responses and trailers", response, {});
  add("indeterminate-length, padded to 1 KiB", response,
      {Framing::kIndeterminateLength, Truncation::kNone, {.to_multiple = kPaddingMultiple}});
  add("known-length, padded by 100 bytes", response, {.padding = {.bytes = 100}});
  add("without trailer section", empty, {.truncation = Truncation::kBeforeTrailers});
  add("indeterminate-length, empty", empty, {.framing = Framing::kIndeterminateLength});
  {
    StreamEncoder encoder;
    crypto::SecretVector message;
    AppendTo(message, *encoder.BeginResponse(response));
    const ByteView content = response.content;
    AppendTo(message, *encoder.Content(content.first(1)));
    AppendTo(message, *encoder.Content(content.subspan(1, 1000)));
    AppendTo(message, *encoder.Content(content.subspan(1001)));
    AppendTo(message, *encoder.End(response.trailers, {.to_multiple = kPaddingMultiple}));
    cases.push_back({"streamed in three chunks", response, message});
  }

  json::array jobs;
  for (size_t i = 0; i < cases.size(); ++i) {
    jobs.push_back(json::object{{"id", i}, {"op", "decode_response"}, {"message", HexEncode(cases[i].message)}});
  }
  const json::array results = Results(RunNodePeer(kPeer, json::object{{"jobs", jobs}}), jobs.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    const json::object* r = Ok(results, i);
    if (r == nullptr) continue;
    const Response& expected = cases[i].response;
    EXPECT_EQ(r->at("status").as_int64(), expected.status);
    EXPECT_EQ(HeadersFromJson(r->at("headers")), Sorted(expected.headers));
    EXPECT_EQ(r->at("body").as_string(), HexEncode(expected.content));
  }
}

TEST(BhttpInteropTest, BothSidesAgreeOnTheRfc9292Examples) {
  // The peer decodes the RFC's examples as we do (head, final status and content).
  const json::object vectors =
      json::parse(openpcc::testing::ReadVectorFile("protocols/bhttp-rfc9292/rfc9292-examples.json"))
          .as_object();
  const std::vector<std::string> responses = {"ex-bini-response", "ex-bink-chunked",
                                              "martinthomson_chunked_indeterminate", "tiny_response_200"};
  json::array jobs;
  for (size_t i = 0; i < responses.size(); ++i) {
    jobs.push_back(json::object{{"id", i}, {"op", "decode_response"}, {"message", vectors.at(responses[i])}});
  }
  const json::array results = Results(RunNodePeer(kPeer, json::object{{"jobs", jobs}}), jobs.size());
  for (size_t i = 0; i < responses.size(); ++i) {
    SCOPED_TRACE(responses[i]);
    const json::object* r = Ok(results, i);
    if (r == nullptr) continue;
    auto ours = DecodeResponse(Hex(std::string(vectors.at(responses[i]).as_string())));
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(r->at("status").as_int64(), ours->status);
    EXPECT_EQ(HeadersFromJson(r->at("headers")), Sorted(ours->headers));
    EXPECT_EQ(r->at("body").as_string(), HexEncode(ours->content));
  }
}

}  // namespace
}  // namespace openpcc::wire::bhttp
