// Binary HTTP (RFC 9292): the examples of RFC 9292 §5 and RFC 9458 Appendix A, truncation and
// padding (§3.8), streaming in every split, and one test per rejection rule, each asserting the
// error code and the part of the message that names the failed check.
#include "openpcc/wire/bhttp.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/wire/byte_writer.h"
#include "support/vectors.h"

namespace openpcc::wire::bhttp {
namespace {

namespace json = boost::json;
using openpcc::testing::Hex;

// ---- Helpers -------------------------------------------------------------------------------------

constexpr char kVectorFile[] = "protocols/bhttp-rfc9292/rfc9292-examples.json";
constexpr char kVectorText[] = "protocols/bhttp-rfc9292/rfc9292-section5-examples.md";

const json::object& Vectors() {
  static const json::object vectors =
      json::parse(openpcc::testing::ReadVectorFile(kVectorFile)).as_object();
  return vectors;
}

Bytes Vector(std::string_view name) { return Hex(std::string(Vectors().at(name).as_string())); }
std::string VectorString(std::string_view name) {
  return std::string(Vectors().at(name).as_string());
}

template <typename R>
::testing::AssertionResult Fails(const R& result, ErrorCode code, std::string_view substring) {
  if (result.ok()) {
    return ::testing::AssertionFailure() << "succeeded; expected " << ErrorCodeName(code)
                                         << " containing \"" << substring << "\"";
  }
  if (result.error().code() != code ||
      result.error().message().find(substring) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "got \"" << result.error().ToString() << "\"; expected " << ErrorCodeName(code)
           << " containing \"" << substring << "\"";
  }
  return ::testing::AssertionSuccess();
}

Content ToContent(std::string_view s) { return Content(s.begin(), s.end()); }
void AppendContent(Content& out, ByteView piece) { out.insert(out.end(), piece.begin(), piece.end()); }

// The RFC 9292 §5 request (Figure 6): Host stays a header field, :authority is empty.
Request ExampleRequest() {
  Request r;
  r.method = "GET";
  r.scheme = "https";
  r.path = "/hello.txt";
  r.headers = {{"user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"},
               {"host", "www.example.com"},
               {"accept-language", "en, mi"}};
  return r;
}

// The RFC 9292 §5 response with informational responses (Figure 8).
Response ExampleResponse() {
  Response r;
  r.informational = {{102, {{"running", "\"sleep 15\""}}},
                     {103,
                      {{"link", "</style.css>; rel=preload; as=style"},
                       {"link", "</script.js>; rel=preload; as=script"}}}};
  r.status = 200;
  r.headers = {{"date", "Mon, 27 Jul 2009 12:28:53 GMT"},
               {"server", "Apache"},
               {"last-modified", "Wed, 22 Jul 2009 19:15:56 GMT"},
               {"etag", "\"34aa387-d-1568eb00\""},
               {"accept-ranges", "bytes"},
               {"content-length", "51"},
               {"vary", "Accept-Encoding"},
               {"content-type", "text/plain"}};
  r.content = ToContent("Hello World! My content includes a trailing CRLF.\r\n");
  return r;
}

// The RFC 9292 §5 chunked response (Figure 10): chunks joined, Transfer-Encoding removed.
Response ExampleChunkedResponse() {
  Response r;
  r.status = 200;
  r.content = ToContent("This content contains CRLF.\r\n");
  r.trailers = {{"trailer", "text"}};
  return r;
}

// Every field of `fields` appears as a "Name: value" line of the HTTP/1.1 text of the example.
void ExpectFieldsInHttpText(const Fields& fields, const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const Field& f : fields) {
    const std::string name(f.name);
    std::string value_lower(f.value);
    std::transform(value_lower.begin(), value_lower.end(), value_lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    EXPECT_NE(lower.find("\n" + name + ": " + value_lower + "\n"), std::string::npos) << name;
  }
}

// Records what a StreamDecoder delivers, in order.
class Collector : public StreamVisitor {
 public:
  Status OnRequestHead(RequestHead head) override {
    events.push_back("head");
    static_cast<RequestHead&>(request) = std::move(head);
    return OkStatus();
  }
  Status OnResponseHead(ResponseHead head) override {
    events.push_back("head");
    static_cast<ResponseHead&>(response) = std::move(head);
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    EXPECT_FALSE(piece.empty());
    if (events.empty() || events.back() != "content") events.push_back("content");
    AppendContent(request.content, piece);
    AppendContent(response.content, piece);
    ++content_calls;
    return OkStatus();
  }
  Status OnTrailers(Fields trailers) override {
    events.push_back("trailers");
    request.trailers = trailers;
    response.trailers = std::move(trailers);
    return OkStatus();
  }

  Request request;
  Response response;
  std::vector<std::string> events;
  size_t content_calls = 0;
};

struct Streamed {
  Status status;
  Collector collector;
  EncodeOptions layout;
};

// Decodes `message` with one StreamDecoder, pushing the pieces between consecutive `cuts`.
Streamed StreamDecode(MessageKind kind, ByteView message, std::vector<size_t> cuts,
                      const DecodeLimits& limits = {}) {
  Streamed out;
  StreamDecoder decoder(kind, limits);
  cuts.push_back(message.size());
  size_t from = 0;
  for (size_t cut : cuts) {
    out.status = decoder.Push(message.subspan(from, cut - from), out.collector);
    if (!out.status.ok()) return out;
    from = cut;
  }
  out.status = decoder.Finish(out.collector);
  out.layout = decoder.layout();
  return out;
}

std::vector<size_t> EveryByte(size_t size) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < size; ++i) cuts.push_back(i);
  return cuts;
}

// True if whole and streamed decoding agree: both fail with the same error, or both give `whole`.
template <typename Message>
::testing::AssertionResult Agree(const Result<Message>& whole, const EncodeOptions& whole_layout,
                                 const Streamed& streamed) {
  if (whole.ok() != streamed.status.ok()) {
    return ::testing::AssertionFailure()
           << "whole " << (whole.ok() ? "ok" : whole.error().ToString()) << " vs streamed "
           << (streamed.status.ok() ? "ok" : streamed.status.error().ToString());
  }
  if (!whole.ok()) {
    if (whole.error().code() != streamed.status.error().code() ||
        whole.error().message() != streamed.status.error().message()) {
      return ::testing::AssertionFailure() << whole.error().ToString() << " vs "
                                           << streamed.status.error().ToString();
    }
    return ::testing::AssertionSuccess();
  }
  bool same_message;
  if constexpr (std::is_same_v<Message, Request>) {
    same_message = *whole == streamed.collector.request;
  } else {
    same_message = *whole == streamed.collector.response;
  }
  if (!same_message) return ::testing::AssertionFailure() << "messages differ";
  if (!(whole_layout == streamed.layout)) return ::testing::AssertionFailure() << "layouts differ";
  return ::testing::AssertionSuccess();
}

// Builds messages byte by byte, without the encoder's checks, for negative tests.
class Raw {
 public:
  Raw& U8(uint8_t v) { w_.WriteU8(v); return *this; }
  Raw& Varint(uint64_t v) { EXPECT_TRUE(w_.WriteVarint(v)); return *this; }
  Raw& Str(std::string_view s) { EXPECT_TRUE(w_.WriteVarintPrefixed(AsBytes(s))); return *this; }
  Raw& Line(std::string_view name, std::string_view value) { return Str(name).Str(value); }
  Raw& Put(ByteView b) { w_.WriteBytes(b); return *this; }
  Raw& Prefixed(ByteView b) { EXPECT_TRUE(w_.WriteVarintPrefixed(b)); return *this; }
  // Framing indicator 0 or 2 and the control data of GET https://example.com/.
  Raw& RequestStart(Framing framing) {
    return U8(framing == Framing::kKnownLength ? 0 : 2).Str("GET").Str("https").Str("example.com").Str("/");
  }
  openpcc::Bytes Take() { return w_.Take(); }
  ByteView view() const { return w_.view(); }

 private:
  ByteWriter w_;
};

// Known-length GET request whose header section holds `lines` (raw field lines), then empty
// content and trailers.
Bytes KnownRequestWithHeaderLines(const Bytes& lines) {
  return Raw().RequestStart(Framing::kKnownLength).Prefixed(lines).U8(0).U8(0).Take();
}
Bytes Lines(std::initializer_list<std::pair<std::string_view, std::string_view>> lines) {
  Raw raw;
  for (const auto& [name, value] : lines) raw.Line(name, value);
  return raw.Take();
}

// ---- RFC 9292 §5 and RFC 9458 Appendix A -----------------------------------------------------------

TEST(BhttpTest, DecodesRfc9292KnownLengthRequest) {
  EncodeOptions layout;
  auto request = DecodeRequest(Vector("ex-bink-request"), {}, &layout);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(*request, ExampleRequest());
  EXPECT_EQ(request->authority, "");  // Host is not copied to :authority (RFC 9292 §5)
  EXPECT_EQ(layout, (EncodeOptions{Framing::kKnownLength, Truncation::kNone, {}}));
  ExpectFieldsInHttpText(request->headers, VectorString("ex-request_http_text_LF"));
}

TEST(BhttpTest, DecodesRfc9292IndeterminateLengthRequestWithTenBytesOfPadding) {
  EncodeOptions layout;
  auto request = DecodeRequest(Vector("ex-bini-request"), {}, &layout);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(*request, ExampleRequest());
  EXPECT_EQ(layout, (EncodeOptions{Framing::kIndeterminateLength, Truncation::kNone, {10, 0}}));
}

TEST(BhttpTest, DecodesRfc9292ResponseWithInformationalResponses) {
  EncodeOptions layout;
  auto response = DecodeResponse(Vector("ex-bini-response"), {}, &layout);
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(*response, ExampleResponse());
  EXPECT_EQ(layout, (EncodeOptions{Framing::kIndeterminateLength, Truncation::kNone, {}}));
  const std::string text = VectorString("ex-response_http_text_LF");
  ExpectFieldsInHttpText(response->headers, text);
  for (const auto& info : response->informational) ExpectFieldsInHttpText(info.headers, text);
}

TEST(BhttpTest, DecodesRfc9292KnownLengthResponseWithTrailers) {
  for (const char* name : {"ex-bink-chunked", "martinthomson_chunked_known"}) {
    SCOPED_TRACE(name);
    EncodeOptions layout;
    auto response = DecodeResponse(Vector(name), {}, &layout);
    ASSERT_TRUE(response.ok()) << response.error().ToString();
    EXPECT_EQ(*response, ExampleChunkedResponse());
    EXPECT_EQ(layout.framing, Framing::kKnownLength);
  }
}

TEST(BhttpTest, DecodesIndeterminateLengthResponseWithTrailers) {
  EncodeOptions layout;
  auto response = DecodeResponse(Vector("martinthomson_chunked_indeterminate"), {}, &layout);
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(*response, ExampleChunkedResponse());
  EXPECT_EQ(layout.framing, Framing::kIndeterminateLength);
}

TEST(BhttpTest, DecodesRfc9458MessagesThatEndAfterTheControlData) {
  EncodeOptions layout;
  auto request = DecodeRequest(Vector("tiny_request_from_ohttp_rfc9458"), {}, &layout);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  Request expected;
  expected.method = "GET";
  expected.scheme = "https";
  expected.authority = "example.com";
  expected.path = "/";
  EXPECT_EQ(*request, expected);
  EXPECT_EQ(layout.truncation, Truncation::kBeforeHeaders);

  auto response = DecodeResponse(Vector("tiny_response_200"), {}, &layout);
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(*response, Response{});
  EXPECT_EQ(layout.truncation, Truncation::kBeforeHeaders);
}

const std::vector<std::string>& RequestVectors() {
  static const std::vector<std::string> names = {"ex-bink-request", "ex-bini-request",
                                                 "tiny_request_from_ohttp_rfc9458"};
  return names;
}
const std::vector<std::string>& ResponseVectors() {
  static const std::vector<std::string> names = {
      "ex-bini-response", "ex-bink-chunked", "martinthomson_chunked_known",
      "martinthomson_chunked_indeterminate", "tiny_response_200"};
  return names;
}

TEST(BhttpTest, ReencodesEveryExampleByteIdentically) {
  for (const std::string& name : RequestVectors()) {
    SCOPED_TRACE(name);
    EncodeOptions layout;
    auto request = DecodeRequest(Vector(name), {}, &layout);
    ASSERT_TRUE(request.ok()) << request.error().ToString();
    auto encoded = EncodeRequest(*request, layout);
    ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
    EXPECT_EQ(HexEncode(*encoded), HexEncode(Vector(name)));
  }
  for (const std::string& name : ResponseVectors()) {
    SCOPED_TRACE(name);
    EncodeOptions layout;
    auto response = DecodeResponse(Vector(name), {}, &layout);
    ASSERT_TRUE(response.ok()) << response.error().ToString();
    auto encoded = EncodeResponse(*response, layout);
    ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
    EXPECT_EQ(HexEncode(*encoded), HexEncode(Vector(name)));
  }
}

TEST(BhttpTest, VectorTextIsTheRfcExamples) {
  // The hex in the .json was transcribed from the hex dumps of the .md beside it.
  const std::string text = openpcc::testing::ReadVectorFile(kVectorText);
  EXPECT_NE(text.find("00034745 54056874 74707300 0a2f6865"), std::string::npos);
  EXPECT_NE(text.find("0140c800 1d546869 7320636f 6e74656e"), std::string::npos);
  EXPECT_NE(text.find("contains 10 bytes of padding"), std::string::npos);
}

// ---- Streaming decoding agrees with whole-message decoding for every split -------------------------

TEST(BhttpTest, StreamingDecoderMatchesWholeDecodeForEverySplit) {
  std::mt19937 rng(9292);
  auto check = [&](MessageKind kind, const Bytes& message, auto decode_whole) {
    EncodeOptions layout;
    auto whole = decode_whole(message, layout);
    ASSERT_TRUE(whole.ok()) << whole.error().ToString();
    EXPECT_TRUE(Agree(whole, layout, StreamDecode(kind, message, {}))) << "one push";
    EXPECT_TRUE(Agree(whole, layout, StreamDecode(kind, message, EveryByte(message.size()))))
        << "byte by byte";
    for (size_t cut = 0; cut <= message.size(); ++cut) {
      EXPECT_TRUE(Agree(whole, layout, StreamDecode(kind, message, {cut}))) << "cut at " << cut;
    }
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<size_t> cuts;
      for (size_t at = 0;;) {
        at += std::uniform_int_distribution<size_t>(0, 9)(rng);  // empty pushes included
        if (at >= message.size()) break;
        cuts.push_back(at);
      }
      EXPECT_TRUE(Agree(whole, layout, StreamDecode(kind, message, cuts))) << "trial " << trial;
    }
  };
  for (const std::string& name : RequestVectors()) {
    SCOPED_TRACE(name);
    check(MessageKind::kRequest, Vector(name),
          [](const Bytes& b, EncodeOptions& l) { return DecodeRequest(b, {}, &l); });
  }
  for (const std::string& name : ResponseVectors()) {
    SCOPED_TRACE(name);
    check(MessageKind::kResponse, Vector(name),
          [](const Bytes& b, EncodeOptions& l) { return DecodeResponse(b, {}, &l); });
  }
}

TEST(BhttpTest, StreamingDecoderReportsPartsInOrder) {
  const Bytes message = Vector("ex-bini-response");
  Streamed streamed = StreamDecode(MessageKind::kResponse, message, EveryByte(message.size()));
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error().ToString();
  EXPECT_EQ(streamed.collector.events, (std::vector<std::string>{"head", "content", "trailers"}));
  EXPECT_EQ(streamed.collector.content_calls, 51u);  // one piece per pushed content byte
  EXPECT_EQ(streamed.collector.response, ExampleResponse());
}

TEST(BhttpTest, StreamingDecoderDeliversHeadAndContentBeforeTheMessageEnds) {
  Request request = ExampleRequest();
  request.method = "POST";
  request.content = Content(1 << 20, 0x5a);
  request.trailers = {{"digest", "sha-256=:x:"}};
  for (Framing framing : {Framing::kKnownLength, Framing::kIndeterminateLength}) {
    auto encoded = EncodeRequest(request, {framing, Truncation::kNone, {}});
    ASSERT_TRUE(encoded.ok());
    StreamDecoder decoder(MessageKind::kRequest);
    Collector collector;
    const ByteView all = *encoded;
    const size_t half = all.size() / 2;
    ASSERT_TRUE(decoder.Push(all.first(half), collector).ok());
    // Half of the message in: the head and about half of the content are already out.
    EXPECT_EQ(collector.events, (std::vector<std::string>{"head", "content"}));
    EXPECT_EQ(static_cast<RequestHead>(collector.request), static_cast<RequestHead>(request));
    EXPECT_GT(collector.request.content.size(), (1u << 20) / 2 - 200);
    for (size_t at = half; at < all.size(); at += 4096) {
      ASSERT_TRUE(decoder.Push(all.subspan(at, std::min<size_t>(4096, all.size() - at)), collector).ok());
    }
    ASSERT_TRUE(decoder.Finish(collector).ok());
    EXPECT_EQ(collector.request, request);
    EXPECT_EQ(collector.events, (std::vector<std::string>{"head", "content", "trailers"}));
  }
}

// ---- Truncation (RFC 9292 §3.8) ------------------------------------------------------------------------

TEST(BhttpTest, AcceptsTheLastTwoBytesOfTheKnownLengthExampleRemoved) {
  // RFC 9292 §5: "the last two bytes -- corresponding to content and a trailer section -- can each
  // be removed without altering the semantics of the message."
  const Bytes full = Vector("ex-bink-request");
  for (size_t removed : {1u, 2u}) {
    EncodeOptions layout;
    auto request = DecodeRequest(ByteView(full).first(full.size() - removed), {}, &layout);
    ASSERT_TRUE(request.ok()) << request.error().ToString();
    EXPECT_EQ(*request, ExampleRequest());
    EXPECT_EQ(layout.truncation,
              removed == 1 ? Truncation::kBeforeTrailers : Truncation::kBeforeContent);
  }
  EXPECT_TRUE(Fails(DecodeRequest(ByteView(full).first(full.size() - 3)), ErrorCode::kTruncated,
                    "bhttp: header section is truncated (shorter than its length)"));
}

TEST(BhttpTest, AcceptsUpToTwelveBytesOfTheIndeterminateExampleRemoved) {
  // RFC 9292 §5: "anything up to 12 bytes can be removed from this message".
  const Bytes full = Vector("ex-bini-request");
  for (size_t removed = 0; removed <= 12; ++removed) {
    SCOPED_TRACE(removed);
    auto request = DecodeRequest(ByteView(full).first(full.size() - removed));
    ASSERT_TRUE(request.ok()) << request.error().ToString();
    EXPECT_EQ(*request, ExampleRequest());
  }
  EXPECT_TRUE(Fails(DecodeRequest(ByteView(full).first(full.size() - 13)), ErrorCode::kTruncated,
                    "bhttp: header section is truncated: no terminator after 3 field lines"));
}

// Prefix lengths of `message` that RFC 9292 §3.8 lets a decoder accept: the whole message with any
// part of its padding, and each point where a header section, the content or the trailer section
// would start. The latter are found by encoding the message without those parts.
template <typename Message, typename Encode>
std::set<size_t> ValidPrefixLengths(const Message& message, const EncodeOptions& layout,
                                    size_t size, Encode encode) {
  std::set<size_t> valid;
  for (size_t n = size - layout.padding.bytes; n <= size; ++n) valid.insert(n);
  Message stripped = message;
  for (Truncation t : {Truncation::kBeforeTrailers, Truncation::kBeforeContent,
                       Truncation::kBeforeHeaders}) {
    if (t >= Truncation::kBeforeTrailers) stripped.trailers.clear();
    if (t >= Truncation::kBeforeContent) stripped.content.clear();
    if (t >= Truncation::kBeforeHeaders) stripped.headers.clear();
    if (t < layout.truncation) continue;
    auto encoded = encode(stripped, EncodeOptions{layout.framing, t, {}});
    EXPECT_TRUE(encoded.ok());
    valid.insert(encoded->size());
  }
  return valid;
}

TEST(BhttpTest, RejectsTruncationAtEveryOffsetTheRfcForbids) {
  auto check = [](MessageKind kind, const std::string& name, auto decode, auto encode) {
    SCOPED_TRACE(name);
    const Bytes full = Vector(name);
    EncodeOptions layout;
    auto message = decode(full, layout);
    ASSERT_TRUE(message.ok());
    const std::set<size_t> valid = ValidPrefixLengths(*message, layout, full.size(), encode);
    size_t rejected = 0;
    for (size_t n = 0; n <= full.size(); ++n) {
      SCOPED_TRACE("prefix " + std::to_string(n));
      const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      EncodeOptions prefix_layout;
      auto decoded = decode(prefix, prefix_layout);
      if (valid.count(n) != 0) {
        EXPECT_TRUE(decoded.ok()) << decoded.error().ToString();
      } else {
        EXPECT_TRUE(Fails(decoded, ErrorCode::kTruncated, "bhttp: "));
        ++rejected;
      }
      EXPECT_TRUE(Agree(decoded, prefix_layout, StreamDecode(kind, prefix, EveryByte(n))));
    }
    EXPECT_GT(rejected, full.size() / 2);
  };
  auto decode_request = [](const Bytes& b, EncodeOptions& l) { return DecodeRequest(b, {}, &l); };
  auto decode_response = [](const Bytes& b, EncodeOptions& l) { return DecodeResponse(b, {}, &l); };
  auto encode_request = [](const Request& m, const EncodeOptions& o) { return EncodeRequest(m, o); };
  auto encode_response = [](const Response& m, const EncodeOptions& o) { return EncodeResponse(m, o); };
  for (const std::string& name : RequestVectors()) {
    check(MessageKind::kRequest, name, decode_request, encode_request);
  }
  for (const std::string& name : ResponseVectors()) {
    check(MessageKind::kResponse, name, decode_response, encode_response);
  }
}

TEST(BhttpTest, TruncationErrorsNameTheMissingPart) {
  struct Case {
    Bytes message;
    const char* error;
  };
  const Bytes bink = Vector("ex-bink-request");
  const Bytes response = Vector("ex-bini-response");
  const std::vector<Case> cases = {
      {{}, "bhttp: message is empty (no framing indicator)"},
      {Hex("40"), "bhttp: framing indicator is truncated"},
      {Hex("00"), "bhttp: request control data: method length is truncated"},
      {Hex("0003"), "bhttp: request control data: method is truncated"},
      {Hex("000347"), "bhttp: request control data: method is truncated"},
      {Hex("0003474554"), "bhttp: request control data: scheme length is truncated"},
      {Hex("000347455405"), "bhttp: request control data: scheme is truncated"},
      {Hex("00034745540568747470730b6578"), "bhttp: request control data: authority is truncated"},
      {Hex("00034745540568747470730b6578616d706c652e636f6d"),
       "bhttp: request control data: path length is truncated"},
      {Hex("00034745540568747470730b6578616d706c652e636f6d012f40"),
       "bhttp: header section: length is truncated"},
      {Hex("01"), "bhttp: response control data: status code is truncated"},
      {Hex("0140"), "bhttp: response control data: status code is truncated"},
      {Hex("014066"), "bhttp: informational response 1: header section: length is truncated"},
      {Hex("01406600"),
       "bhttp: response: input ends after informational response 1, before the final status code"},
      {Hex("0140c8001d54"), "bhttp: content is truncated: 28 more bytes were announced"},
      {Hex("0140c80040"), "bhttp: content length is truncated"},
      {Hex("0140c8000040"), "bhttp: trailer section: length is truncated"},
      {Hex("0340c805"), "bhttp: header section: field 1: name is truncated"},
      {Hex("0340c80161"), "bhttp: header section: field 1: value length is truncated"},
      {Hex("0340c8016103"), "bhttp: header section: field 1: value is truncated"},
      {Hex("0340c80161016240"), "bhttp: header section: field 2: name length is truncated"},
      {Hex("0340c801610162"), "bhttp: header section is truncated: no terminator after 1 field lines"},
      {Hex("034066"), "bhttp: informational response 1: header section is truncated: no terminator after 0 field lines"},
      {Hex("0340c8000361"), "bhttp: content: chunk is truncated: 2 more bytes were announced"},
      {Hex("0340c800016140"), "bhttp: content: chunk length is truncated"},
      {Hex("0340c80001610161"),
       "bhttp: content is truncated: no content terminator after the last chunk"},
      {Hex("0340c8000001610162"), "bhttp: trailer section is truncated: no terminator after 1 field lines"},
      {Hex("0140c8000004"), "bhttp: trailer section is truncated (shorter than its length)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(HexEncode(c.message));
    const bool is_request = !c.message.empty() && (c.message[0] == 0 || c.message[0] == 2);
    const MessageKind kind = is_request ? MessageKind::kRequest : MessageKind::kResponse;
    if (is_request) {
      EXPECT_TRUE(Fails(DecodeRequest(c.message), ErrorCode::kTruncated, c.error));
    } else {
      EXPECT_TRUE(Fails(DecodeResponse(c.message), ErrorCode::kTruncated, c.error));
    }
    // Streamed byte by byte, Finish reports the same part.
    const Streamed streamed = StreamDecode(kind, c.message, EveryByte(c.message.size()));
    EXPECT_TRUE(Fails(streamed.status, ErrorCode::kTruncated, c.error));
  }
}

// ---- Framing indicator, padding, varints ----------------------------------------------------------------

TEST(BhttpTest, RejectsUnknownFramingIndicator) {
  EXPECT_TRUE(Fails(DecodeRequest(Hex("04")), ErrorCode::kUnsupported,
                    "bhttp: unknown framing indicator 4"));
  EXPECT_TRUE(Fails(DecodeResponse(Hex("3f")), ErrorCode::kUnsupported,
                    "bhttp: unknown framing indicator 63"));
  EXPECT_TRUE(Fails(DecodeRequest(Hex("c000000000000004")), ErrorCode::kUnsupported,
                    "bhttp: unknown framing indicator 4"));
}

TEST(BhttpTest, RejectsAResponseWhereARequestIsExpectedAndTheReverse) {
  EXPECT_TRUE(Fails(DecodeRequest(Vector("tiny_response_200")), ErrorCode::kMalformed,
                    "bhttp: framing indicator 1 starts a response, but a request was expected"));
  EXPECT_TRUE(Fails(DecodeResponse(Vector("ex-bini-request")), ErrorCode::kMalformed,
                    "bhttp: framing indicator 2 starts a request, but a response was expected"));
}

TEST(BhttpTest, RejectsNonZeroPadding) {
  Bytes padded = Vector("ex-bini-request");
  padded.back() = 0x01;
  EXPECT_TRUE(Fails(DecodeRequest(padded), ErrorCode::kMalformed,
                    "bhttp: padding contains a non-zero byte at offset " +
                        std::to_string(padded.size() - 1) + " (trailing bytes after the message)"));
  Bytes trailing = Vector("martinthomson_chunked_known");
  trailing.push_back(0x00);
  trailing.push_back(0x41);
  const std::string error = "bhttp: padding contains a non-zero byte at offset " +
                            std::to_string(trailing.size() - 1) +
                            " (trailing bytes after the message)";
  EXPECT_TRUE(Fails(DecodeResponse(trailing), ErrorCode::kMalformed, error));
  const Streamed streamed =
      StreamDecode(MessageKind::kResponse, trailing, EveryByte(trailing.size()));
  EXPECT_TRUE(Fails(streamed.status, ErrorCode::kMalformed, error));
}

TEST(BhttpTest, AcceptsNonMinimalVarints) {
  // RFC 9292 §3: "Integer values do not need to be encoded on the minimum number of bytes".
  ByteWriter w;
  auto varint8 = [&](uint64_t v) { ASSERT_TRUE(w.WriteUint(8, v | (uint64_t{3} << 62))); };
  auto varint2 = [&](uint64_t v) { w.WriteU16(static_cast<uint16_t>(v | 0x4000)); };
  auto varint4 = [&](uint64_t v) { w.WriteU32(static_cast<uint32_t>(v | 0x80000000u)); };
  varint2(1);  // framing indicator 1
  varint4(103);
  varint8(0);  // empty informational header section
  varint8(201);
  varint2(8);  // header section
  varint4(1); w.WriteBytes(AsBytes("a")); varint2(1); w.WriteBytes(AsBytes("b"));
  varint8(3); w.WriteBytes(AsBytes("xyz"));
  varint4(0);
  auto response = DecodeResponse(w.view());
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  Response expected;
  expected.informational = {{103, {}}};
  expected.status = 201;
  expected.headers = {{"a", "b"}};
  expected.content = ToContent("xyz");
  EXPECT_EQ(*response, expected);
}

// ---- Lengths beyond the input, field lines, control data, status codes -----------------------------------

TEST(BhttpTest, RejectsLengthsBeyondTheInput) {
  EXPECT_TRUE(Fails(DecodeRequest(Hex("003f474554")), ErrorCode::kTruncated,
                    "bhttp: request control data: method is truncated"));
  // Known-length section and content lengths one byte past the end.
  Bytes header = Raw().RequestStart(Framing::kKnownLength).Varint(5).Line("a", "b").Take();
  EXPECT_TRUE(Fails(DecodeRequest(header), ErrorCode::kTruncated,
                    "bhttp: header section is truncated (shorter than its length)"));
  Bytes content = Raw().RequestStart(Framing::kKnownLength).U8(0).Varint(6).Str("abcd").Take();
  EXPECT_TRUE(Fails(DecodeRequest(content), ErrorCode::kTruncated,
                    "bhttp: content is truncated: 1 more bytes were announced"));
  Bytes chunk = Raw().RequestStart(Framing::kIndeterminateLength).U8(0).Varint(1000).Str("x").Take();
  EXPECT_TRUE(Fails(DecodeRequest(chunk), ErrorCode::kTruncated,
                    "bhttp: content: chunk is truncated: 998 more bytes were announced"));
  Bytes huge = Raw().RequestStart(Framing::kKnownLength).U8(0).Varint(kMaxVarint).Take();
  EXPECT_TRUE(Fails(DecodeRequest(huge, {.max_content_bytes = kMaxVarint}), ErrorCode::kTruncated,
                    "bhttp: content is truncated: 4611686018427387903 more bytes"));
}

TEST(BhttpTest, RejectsFieldLinesRunningPastTheirKnownLengthSection) {
  // Section length 3 but the field line inside needs 4 bytes.
  Bytes message = Raw().RequestStart(Framing::kKnownLength).Varint(3).Line("a", "b").U8(0).U8(0).Take();
  EXPECT_TRUE(Fails(DecodeRequest(message), ErrorCode::kMalformed,
                    "bhttp: header section: field 1: value runs past the end of the section"));
  Bytes name = KnownRequestWithHeaderLines(Hex("0561"));
  EXPECT_TRUE(Fails(DecodeRequest(name), ErrorCode::kMalformed,
                    "bhttp: header section: field 1: name runs past the end of the section"));
  Bytes second = KnownRequestWithHeaderLines(Hex("0161016240"));
  EXPECT_TRUE(Fails(DecodeRequest(second), ErrorCode::kMalformed,
                    "bhttp: header section: field 2: name runs past the end of the section"));
}

TEST(BhttpTest, RejectsEmptyFieldName) {
  // Possible only in known-length sections: in the indeterminate form a zero name length ends it.
  EXPECT_TRUE(Fails(DecodeRequest(KnownRequestWithHeaderLines(Lines({{"", "v"}}))),
                    ErrorCode::kMalformed, "bhttp: header section: field 1 at offset 26: name is empty"));
  Request request = ExampleRequest();
  request.trailers = {{"", "v"}};
  EXPECT_TRUE(Fails(EncodeRequest(request), ErrorCode::kInvalidArgument,
                    "bhttp: trailer section: field 1: name is empty"));
}

TEST(BhttpTest, RejectsFieldsThatRfc9292MakesInvalid) {
  // Errors name the field line by its number and the offset where it starts, never by its bytes.
  struct Case {
    Bytes lines;
    size_t field;        // the rejected line, from 1
    size_t line_offset;  // where it starts in `lines`
    const char* error;
  };
  const std::vector<Case> cases = {
      {Lines({{"a b", "v"}}), 1, 0, "name contains a byte that is not a token character"},
      {Lines({{"ok", "v"}, {"a\x7f", "v"}}), 2, 5, "name contains a byte that is not a token character"},
      {Lines({{"x", "a\r\nb"}}), 1, 0, "value contains NUL, CR or LF"},
      {Lines({{"x", "a\nb"}}), 1, 0, "value contains NUL, CR or LF"},
      {Lines({{"x", std::string_view("a\0b", 3)}}), 1, 0, "value contains NUL, CR or LF"},
      {Lines({{"x", " a"}}), 1, 0, "value starts with whitespace"},
      {Lines({{"x", "a\t"}}), 1, 0, "value ends with whitespace"},
      {Lines({{":path", "/"}}), 1, 0, "name :path is control data, not a field"},
      {Lines({{":status", "200"}}), 1, 0, "name :status is control data, not a field"},
      {Lines({{"a", "b"}, {":protocol", "x"}}), 2, 4, "pseudo-field after a regular field"},
      {Lines({{":", "x"}}), 1, 0, "pseudo-field name is empty"},
      {Lines({{":a b", "x"}}), 1, 0, "pseudo-field name contains a byte that is not a token character"},
  };
  // RequestStart takes 25 bytes; a known-length header section then has a 1-byte length.
  auto expected = [](const Case& c, size_t section_start) {
    return "bhttp: header section: field " + std::to_string(c.field) + " at offset " +
           std::to_string(section_start + c.line_offset) + ": " + c.error;
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    const Bytes known = KnownRequestWithHeaderLines(c.lines);
    EXPECT_TRUE(Fails(DecodeRequest(known), ErrorCode::kMalformed, expected(c, 26)));
    // The same lines in an indeterminate-length section.
    const Bytes indeterminate =
        Raw().RequestStart(Framing::kIndeterminateLength).Put(c.lines).U8(0).U8(0).U8(0).Take();
    EXPECT_TRUE(Fails(DecodeRequest(indeterminate), ErrorCode::kMalformed, expected(c, 25)));
    // Offsets do not depend on how the input was split.
    EXPECT_TRUE(Fails(StreamDecode(MessageKind::kRequest, known, EveryByte(known.size())).status,
                      ErrorCode::kMalformed, expected(c, 26)));
    EXPECT_TRUE(Fails(StreamDecode(MessageKind::kRequest, indeterminate,
                                   EveryByte(indeterminate.size())).status,
                      ErrorCode::kMalformed, expected(c, 25)));
  }
  // Pseudo-fields never appear in trailers.
  Bytes trailers = Raw().RequestStart(Framing::kKnownLength).U8(0).U8(0).Prefixed(Lines({{":x", "1"}})).Take();
  EXPECT_TRUE(Fails(DecodeRequest(trailers), ErrorCode::kMalformed,
                    "bhttp: trailer section: field 1 at offset 28: pseudo-field in a trailer section"));
}

TEST(BhttpTest, EncoderRefusesWhatTheDecoderRejects) {
  Response response = ExampleResponse();
  response.headers.push_back({"bad name", "v"});
  EXPECT_TRUE(Fails(EncodeResponse(response), ErrorCode::kInvalidArgument,
                    "bhttp: header section: field 9: name contains a byte that is not a token character"));
  response = ExampleResponse();
  response.informational[1].headers.push_back({"x", "a\nb"});
  EXPECT_TRUE(Fails(EncodeResponse(response), ErrorCode::kInvalidArgument,
                    "bhttp: informational response 2: header section: field 3: value contains NUL, CR or LF"));
  Request request = ExampleRequest();
  request.path = "/a b";
  const char* path_error =
      "bhttp: request control data: path contains a byte that is not visible ASCII (0x21..0x7e)";
  EXPECT_TRUE(Fails(EncodeRequest(request), ErrorCode::kInvalidArgument, path_error));
  StreamEncoder encoder;
  EXPECT_TRUE(Fails(encoder.BeginRequest(request), ErrorCode::kInvalidArgument, path_error));
}

TEST(BhttpTest, ErrorsNeverQuoteMessageBytes) {
  // DESIGN §6: errors reach node logs, so they carry no plaintext — neither the rejected value nor
  // the byte that made it invalid.
  const std::string secret = "PrivateToken token=c2VjcmV0";
  auto expect_clean = [&](const Status& status, std::string_view offending_byte) {
    ASSERT_FALSE(status.ok());
    const std::string& message = status.error().message();
    EXPECT_EQ(message.find("c2VjcmV0"), std::string::npos) << message;
    EXPECT_EQ(message.find(offending_byte), std::string::npos) << message;
  };
  auto decode = [](const Bytes& message) -> Status {
    auto request = DecodeRequest(message);
    if (request.ok()) return OkStatus();
    return std::move(request).error();
  };
  auto encode = [](const Request& request) -> Status {
    auto encoded = EncodeRequest(request);
    if (encoded.ok()) return OkStatus();
    return std::move(encoded).error();
  };
  // A bad byte in a field value, a field name, a pseudo-field name, and each control data string.
  expect_clean(decode(KnownRequestWithHeaderLines(Lines({{"authorization", secret + "\r"}}))), "0x0d");
  expect_clean(decode(KnownRequestWithHeaderLines(Lines({{secret, "v"}}))), "0x20");
  expect_clean(decode(KnownRequestWithHeaderLines(Lines({{":" + secret, "v"}}))), "0x20");
  expect_clean(decode(Raw().U8(0).Str(secret).Str("https").Str("a").Str("/").Take()), "0x20");
  expect_clean(decode(Raw().U8(0).Str("GET").Str(secret).Str("a").Str("/").Take()), "0x20");
  expect_clean(decode(Raw().U8(0).Str("GET").Str("https").Str(secret).Str("/").Take()), "0x20");
  expect_clean(decode(Raw().U8(0).Str("GET").Str("https").Str("a").Str("/" + secret).Take()), "0x20");
  // A padding byte that is not zero: the bytes after the message may be anything.
  expect_clean(decode(Raw().RequestStart(Framing::kKnownLength).U8(0).U8(0).U8(0).Str("x").Take()),
               "0x01");
  // The encoders refuse the same values without quoting them either.
  Request request = ExampleRequest();
  request.headers.push_back({"authorization", Text(secret + "\n")});
  expect_clean(encode(request), "0x0a");
  request = ExampleRequest();
  request.trailers.push_back({Text(secret), "v"});
  expect_clean(encode(request), "0x20");
  request = ExampleRequest();
  request.path = Text("/" + secret + "\x7f");
  expect_clean(encode(request), "0x7f");
}

TEST(BhttpTest, AcceptsExtensionPseudoFieldsFirstInTheHeaderSection) {
  Request request = ExampleRequest();
  request.method = "CONNECT";
  request.headers.insert(request.headers.begin(), {":protocol", "websocket"});
  for (Framing framing : {Framing::kKnownLength, Framing::kIndeterminateLength}) {
    auto encoded = EncodeRequest(request, {framing, Truncation::kNone, {}});
    ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
    auto decoded = DecodeRequest(*encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_EQ(*decoded, request);
  }
}

TEST(BhttpTest, RejectsInvalidRequestControlData) {
  struct Case {
    std::string_view method, scheme, authority, path;
    const char* part;  // the rejected string
    size_t offset;     // where it starts in the message (its length)
    const char* error;
  };
  const std::vector<Case> cases = {
      {"", "https", "a", "/", "method", 1, "is empty"},
      {"G T", "https", "a", "/", "method", 1, "contains a byte that is not a token character"},
      {"GET", "1https", "a", "/", "scheme", 5,
       "is not an RFC 3986 scheme (a letter, then letters, digits, '+', '-' or '.')"},
      {"GET", "ht tp", "a", "/", "scheme", 5,
       "is not an RFC 3986 scheme (a letter, then letters, digits, '+', '-' or '.')"},
      {"GET", "https", "a\r\nb", "/", "authority", 11,
       "contains a byte that is not visible ASCII (0x21..0x7e)"},
      {"GET", "https", "a", "/\x80", "path", 13,
       "contains a byte that is not visible ASCII (0x21..0x7e)"},
      {"GET", "https", "a", "/ HTTP/1.1", "path", 13,
       "contains a byte that is not visible ASCII (0x21..0x7e)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    Bytes message = Raw().U8(0).Str(c.method).Str(c.scheme).Str(c.authority).Str(c.path).Take();
    EXPECT_TRUE(Fails(DecodeRequest(message), ErrorCode::kMalformed,
                      "bhttp: request control data: " + std::string(c.part) + " at offset " +
                          std::to_string(c.offset) + " " + c.error));
    Request request;
    request.method = c.method;
    request.scheme = c.scheme;
    request.authority = c.authority;
    request.path = c.path;
    EXPECT_TRUE(Fails(EncodeRequest(request), ErrorCode::kInvalidArgument,
                      "bhttp: request control data: " + std::string(c.part) + " " + c.error));
  }
  // CONNECT-style control data: empty scheme and path are allowed.
  Request connect;
  connect.method = "CONNECT";
  connect.authority = "example.com:443";
  auto encoded = EncodeRequest(connect);
  ASSERT_TRUE(encoded.ok());
  auto decoded = DecodeRequest(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, connect);
}

TEST(BhttpTest, RejectsStatusCodesOutOfRange) {
  EXPECT_TRUE(Fails(DecodeResponse(Hex("014063")), ErrorCode::kMalformed,
                    "bhttp: response control data: status code 99 is not in 100..599"));
  EXPECT_TRUE(Fails(DecodeResponse(Hex("014258")), ErrorCode::kMalformed,
                    "bhttp: response control data: status code 600 is not in 100..599"));
  EXPECT_TRUE(Fails(DecodeResponse(Hex("034066000000")), ErrorCode::kMalformed,
                    "bhttp: response control data: status code 0 is not in 100..599"));
  EXPECT_TRUE(Fails(DecodeResponse(Hex("01ffffffffffffffff")), ErrorCode::kMalformed,
                    "status code 4611686018427387903 is not in 100..599"));

  Response response;
  response.informational = {{103, {}}, {200, {}}};
  EXPECT_TRUE(Fails(EncodeResponse(response), ErrorCode::kInvalidArgument,
                    "bhttp: informational response 2: status 200 is not in 100..199"));
  response.informational = {{99, {}}};
  EXPECT_TRUE(Fails(EncodeResponse(response), ErrorCode::kInvalidArgument,
                    "bhttp: informational response 1: status 99 is not in 100..199"));
  response.informational.clear();
  for (uint16_t status : {0, 199, 600}) {
    response.status = status;
    EXPECT_TRUE(Fails(EncodeResponse(response), ErrorCode::kInvalidArgument,
                      "bhttp: response control data: final status " + std::to_string(status) +
                          " is not in 200..599"));
  }
  response.status = 599;
  EXPECT_TRUE(EncodeResponse(response).ok());
}

// ---- Limits --------------------------------------------------------------------------------------------

TEST(BhttpTest, EnforcesMaxFieldSectionBytes) {
  const DecodeLimits limits{.max_field_section_bytes = 8};
  // Known-length: the section's length is compared with the limit.
  const Bytes lines7 = Lines({{"ab", "c"}, {"e", ""}});   // (1+2 + 1+1) + (1+1 + 1) = 8 bytes
  const Bytes lines8 = Lines({{"ab", "cd"}, {"e", ""}});  // 9 bytes
  ASSERT_EQ(lines7.size(), 8u);
  ASSERT_EQ(lines8.size(), 9u);
  EXPECT_TRUE(DecodeRequest(KnownRequestWithHeaderLines(lines7), limits).ok());
  EXPECT_TRUE(Fails(DecodeRequest(KnownRequestWithHeaderLines(lines8), limits),
                    ErrorCode::kOutOfRange,
                    "bhttp: header section: length 9 exceeds max_field_section_bytes (8)"));
  // Indeterminate-length: the encoded field lines are added up as they arrive.
  auto indeterminate = [](const Bytes& lines) {
    return Raw().RequestStart(Framing::kIndeterminateLength).Put(lines).U8(0).U8(0).U8(0).Take();
  };
  EXPECT_TRUE(DecodeRequest(indeterminate(lines7), limits).ok());
  EXPECT_TRUE(Fails(DecodeRequest(indeterminate(lines8), limits), ErrorCode::kOutOfRange,
                    "bhttp: header section: field 2 takes the section past max_field_section_bytes (8)"));
  // Trailers and informational responses have the same limit.
  Bytes trailers = Raw().RequestStart(Framing::kKnownLength).U8(0).U8(0).Prefixed(lines8).Take();
  EXPECT_TRUE(Fails(DecodeRequest(trailers, limits), ErrorCode::kOutOfRange,
                    "bhttp: trailer section: length 9 exceeds max_field_section_bytes (8)"));
  Bytes info = Raw().U8(3).Varint(103).Put(lines8).U8(0).Take();
  EXPECT_TRUE(Fails(DecodeResponse(info, limits), ErrorCode::kOutOfRange,
                    "bhttp: informational response 1: header section: field 2 takes the section past max_field_section_bytes (8)"));
}

TEST(BhttpTest, EnforcesMaxContentBytes) {
  const DecodeLimits limits{.max_content_bytes = 5};
  Request request = ExampleRequest();
  request.content = ToContent("12345");
  for (Framing framing : {Framing::kKnownLength, Framing::kIndeterminateLength}) {
    auto encoded = EncodeRequest(request, {framing, Truncation::kNone, {}});
    ASSERT_TRUE(encoded.ok());
    EXPECT_TRUE(DecodeRequest(*encoded, limits).ok());
  }
  request.content = ToContent("123456");
  auto known = EncodeRequest(request);
  ASSERT_TRUE(known.ok());
  EXPECT_TRUE(Fails(DecodeRequest(*known, limits), ErrorCode::kOutOfRange,
                    "bhttp: content length 6 exceeds max_content_bytes (5)"));
  // Indeterminate-length: the chunks together count.
  StreamEncoder encoder;
  Bytes chunked;
  Append(chunked, *encoder.BeginRequest(request));
  Append(chunked, *encoder.Content(AsBytes("123")));
  Append(chunked, *encoder.Content(AsBytes("456")));
  Append(chunked, *encoder.End({}));
  EXPECT_TRUE(Fails(DecodeRequest(chunked, limits), ErrorCode::kOutOfRange,
                    "bhttp: content: chunk of 3 bytes takes the content past max_content_bytes (5)"));
}

TEST(BhttpTest, EnforcesMaxInformationalResponses) {
  Response response;
  for (uint16_t i = 0; i < 3; ++i) response.informational.push_back({103, {{"link", "</a>"}}});
  auto encoded = EncodeResponse(response);
  ASSERT_TRUE(encoded.ok());
  EXPECT_TRUE(DecodeResponse(*encoded, {.max_informational_responses = 3}).ok());
  EXPECT_TRUE(Fails(DecodeResponse(*encoded, {.max_informational_responses = 2}),
                    ErrorCode::kOutOfRange,
                    "bhttp: response: informational response 3 is more than max_informational_responses (2)"));
}

TEST(BhttpTest, EnforcesMaxControlDataBytes) {
  Request request = ExampleRequest();  // 3 + 5 + 0 + 10 = 18 bytes of control data
  auto encoded = EncodeRequest(request);
  ASSERT_TRUE(encoded.ok());
  EXPECT_TRUE(DecodeRequest(*encoded, {.max_control_data_bytes = 18}).ok());
  EXPECT_TRUE(Fails(DecodeRequest(*encoded, {.max_control_data_bytes = 17}), ErrorCode::kOutOfRange,
                    "bhttp: request control data: path length 10 takes the control data past max_control_data_bytes (17)"));
}

TEST(BhttpTest, ChecksLimitsBeforeTheAnnouncedBytesArrive) {
  // A streaming peer that announces a huge section or content is refused at once, not buffered.
  const Bytes head = Raw().RequestStart(Framing::kKnownLength).Varint(uint64_t{1} << 40).Take();
  StreamDecoder decoder(MessageKind::kRequest);
  Collector collector;
  EXPECT_TRUE(Fails(decoder.Push(head, collector), ErrorCode::kOutOfRange,
                    "bhttp: header section: length 1099511627776 exceeds max_field_section_bytes (65536)"));
  const Bytes line = Raw().RequestStart(Framing::kIndeterminateLength).Varint(70000).Take();
  StreamDecoder line_decoder(MessageKind::kRequest);
  EXPECT_TRUE(Fails(line_decoder.Push(line, collector), ErrorCode::kOutOfRange,
                    "bhttp: header section: field 1 takes the section past max_field_section_bytes"));
  const Bytes content = Raw().RequestStart(Framing::kKnownLength).U8(0).Varint(kMaxVarint).Take();
  StreamDecoder content_decoder(MessageKind::kRequest);
  EXPECT_TRUE(Fails(content_decoder.Push(content, collector), ErrorCode::kOutOfRange,
                    "bhttp: content length 4611686018427387903 exceeds max_content_bytes (16777216)"));
}

// ---- Encoding: framings, truncation, padding ----------------------------------------------------------

Response RichResponse() {
  Response r = ExampleResponse();
  r.content = Content(300, 0);
  for (size_t i = 0; i < r.content.size(); ++i) r.content[i] = static_cast<uint8_t>(i);
  r.trailers = {{"server-timing", "total;dur=12"}, {"x-empty", ""}};
  return r;
}

TEST(BhttpTest, RoundTripsEveryFramingTruncationAndPadding) {
  Response rich = RichResponse();
  Response bare;
  bare.status = 204;
  for (Framing framing : {Framing::kKnownLength, Framing::kIndeterminateLength}) {
    for (size_t padding : {0u, 1u, 1000u}) {
      const EncodeOptions options{framing, Truncation::kNone, {padding, 0}};
      auto encoded = EncodeResponse(rich, options);
      ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
      EncodeOptions layout;
      auto decoded = DecodeResponse(*encoded, {}, &layout);
      ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
      EXPECT_EQ(*decoded, rich);
      EXPECT_EQ(layout, options);
    }
    for (Truncation truncation : {Truncation::kNone, Truncation::kBeforeTrailers,
                                  Truncation::kBeforeContent, Truncation::kBeforeHeaders}) {
      const EncodeOptions options{framing, truncation, {}};
      auto encoded = EncodeResponse(bare, options);
      ASSERT_TRUE(encoded.ok());
      EncodeOptions layout;
      auto decoded = DecodeResponse(*encoded, {}, &layout);
      ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
      EXPECT_EQ(*decoded, bare);
      EXPECT_EQ(layout, options);
    }
  }
}

TEST(BhttpTest, PadsToTheNextMultipleOfOneKibibyte) {
  EXPECT_EQ(PaddingToMultiple(0, 1024), 0u);
  EXPECT_EQ(PaddingToMultiple(1, 1024), 1023u);
  EXPECT_EQ(PaddingToMultiple(1023, 1024), 1u);
  EXPECT_EQ(PaddingToMultiple(1024, 1024), 0u);
  EXPECT_EQ(PaddingToMultiple(1025, 1024), 1023u);
  EXPECT_EQ(PaddingToMultiple(12345, 0), 0u);
  Request request = ExampleRequest();
  for (size_t content : {0u, 500u, 2000u}) {
    request.content = Content(content, 0x61);
    for (Framing framing : {Framing::kKnownLength, Framing::kIndeterminateLength}) {
      auto encoded =
          EncodeRequest(request, {framing, Truncation::kNone, {.to_multiple = kPaddingMultiple}});
      ASSERT_TRUE(encoded.ok());
      EXPECT_EQ(encoded->size() % kPaddingMultiple, 0u);
      EXPECT_GT(encoded->size(), content);
      auto decoded = DecodeRequest(*encoded);
      ASSERT_TRUE(decoded.ok());
      EXPECT_EQ(*decoded, request);
    }
  }
}

TEST(BhttpTest, RejectsPaddingGivenBothAsBytesAndAsMultiple) {
  EXPECT_TRUE(Fails(EncodeRequest(ExampleRequest(), {.padding = {.bytes = 3, .to_multiple = 16}}),
                    ErrorCode::kInvalidArgument, "bhttp: padding: set bytes or to_multiple, not both"));
}

TEST(BhttpTest, RefusesToTruncatePartsThatAreNotEmpty) {
  Response response = RichResponse();
  EXPECT_TRUE(Fails(EncodeResponse(response, {.truncation = Truncation::kBeforeTrailers}),
                    ErrorCode::kInvalidArgument, "bhttp: truncation: the trailer section is not empty"));
  response.trailers.clear();
  EXPECT_TRUE(Fails(EncodeResponse(response, {.truncation = Truncation::kBeforeContent}),
                    ErrorCode::kInvalidArgument, "bhttp: truncation: the content is not empty"));
  response.content.clear();
  EXPECT_TRUE(Fails(EncodeResponse(response, {.truncation = Truncation::kBeforeHeaders}),
                    ErrorCode::kInvalidArgument, "bhttp: truncation: the header section is not empty"));
  EXPECT_TRUE(EncodeResponse(response, {.truncation = Truncation::kBeforeContent}).ok());
}

// ---- StreamEncoder ---------------------------------------------------------------------------------

TEST(BhttpTest, StreamEncoderMatchesTheWholeIndeterminateLengthEncoding) {
  const Response response = ExampleResponse();
  StreamEncoder encoder;
  Bytes streamed;
  auto head = encoder.BeginResponse(response);
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  Append(streamed, *head);
  Append(streamed, *encoder.Content(response.content));
  Append(streamed, *encoder.Content({}));  // an empty piece adds nothing
  Append(streamed, *encoder.End(response.trailers));
  EXPECT_EQ(HexEncode(streamed), HexEncode(Vector("ex-bini-response")));

  const Request request = ExampleRequest();
  StreamEncoder request_encoder;
  Bytes request_bytes;
  Append(request_bytes, *request_encoder.BeginRequest(request));
  Append(request_bytes, *request_encoder.End({}, {.bytes = 10}));
  EXPECT_EQ(HexEncode(request_bytes), HexEncode(Vector("ex-bini-request")));
}

TEST(BhttpTest, StreamEncoderChunksDecodeToTheConcatenatedContent) {
  Request request = ExampleRequest();
  request.method = "POST";
  request.trailers = {{"x-checksum", "abc"}};
  StreamEncoder encoder;
  Bytes message;
  Append(message, *encoder.BeginRequest(request));
  for (int i = 0; i < 100; ++i) {
    const Bytes piece(static_cast<size_t>(i * 7), static_cast<uint8_t>(i));
    AppendContent(request.content, piece);
    auto chunk = encoder.Content(piece);
    ASSERT_TRUE(chunk.ok());
    Append(message, *chunk);
  }
  auto end = encoder.End(request.trailers, {.to_multiple = kPaddingMultiple});
  ASSERT_TRUE(end.ok());
  Append(message, *end);
  EXPECT_EQ(message.size() % kPaddingMultiple, 0u);
  auto decoded = DecodeRequest(message);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, request);
}

TEST(BhttpTest, StreamEncoderRefusesCallsOutOfOrder) {
  StreamEncoder encoder;
  EXPECT_TRUE(Fails(encoder.Content(AsBytes("x")), ErrorCode::kFailedPrecondition,
                    "bhttp: stream encoder: content outside Begin..End"));
  EXPECT_TRUE(Fails(encoder.End({}), ErrorCode::kFailedPrecondition, "End outside Begin..End"));
  // A failed Begin changes nothing; the caller can retry with a valid head.
  Request bad = ExampleRequest();
  bad.method = "";
  EXPECT_TRUE(Fails(encoder.BeginRequest(bad), ErrorCode::kInvalidArgument, "method is empty"));
  ASSERT_TRUE(encoder.BeginRequest(ExampleRequest()).ok());
  EXPECT_TRUE(Fails(encoder.BeginResponse(ExampleResponse()), ErrorCode::kFailedPrecondition,
                    "bhttp: stream encoder: the message has begun"));
  EXPECT_TRUE(Fails(encoder.End({{"", "x"}}), ErrorCode::kInvalidArgument,
                    "bhttp: trailer section: field 1: name is empty"));
  ASSERT_TRUE(encoder.End({}).ok());
  EXPECT_TRUE(Fails(encoder.Content(AsBytes("x")), ErrorCode::kFailedPrecondition, "outside"));
  EXPECT_TRUE(Fails(encoder.End({}), ErrorCode::kFailedPrecondition, "outside"));
}

// ---- StreamDecoder contract -----------------------------------------------------------------------------

TEST(BhttpTest, StreamDecoderErrorsAreStickyAndFinishIsFinal) {
  Collector collector;
  StreamDecoder failed(MessageKind::kRequest);
  EXPECT_TRUE(Fails(failed.Push(Hex("05"), collector), ErrorCode::kUnsupported,
                    "unknown framing indicator 5"));
  EXPECT_TRUE(Fails(failed.Push(Hex("00"), collector), ErrorCode::kUnsupported,
                    "unknown framing indicator 5"));
  EXPECT_TRUE(Fails(failed.Finish(collector), ErrorCode::kUnsupported, "unknown framing indicator 5"));

  StreamDecoder finished(MessageKind::kResponse);
  ASSERT_TRUE(finished.Push(Vector("tiny_response_200"), collector).ok());
  ASSERT_TRUE(finished.Finish(collector).ok());
  EXPECT_TRUE(Fails(finished.Push(Hex("00"), collector), ErrorCode::kFailedPrecondition,
                    "bhttp: stream decoder: Push after Finish"));
  EXPECT_TRUE(Fails(finished.Finish(collector), ErrorCode::kFailedPrecondition,
                    "bhttp: stream decoder: Finish after Finish"));
}

TEST(BhttpTest, VisitorErrorStopsTheDecoder) {
  class RefuseHead : public Collector {
   public:
    Status OnRequestHead(RequestHead head) override {
      if (head.method != "POST") return Error(ErrorCode::kInvalidArgument, "only POST");
      return OkStatus();
    }
  };
  RefuseHead visitor;
  StreamDecoder decoder(MessageKind::kRequest);
  EXPECT_TRUE(Fails(decoder.Push(Vector("ex-bink-request"), visitor), ErrorCode::kInvalidArgument,
                    "only POST"));
  EXPECT_TRUE(Fails(decoder.Finish(visitor), ErrorCode::kInvalidArgument, "only POST"));
  // A head left out by truncation is delivered at Finish, and can be refused there too.
  StreamDecoder tiny(MessageKind::kRequest);
  ASSERT_TRUE(tiny.Push(Vector("tiny_request_from_ohttp_rfc9458"), visitor).ok());
  EXPECT_TRUE(Fails(tiny.Finish(visitor), ErrorCode::kInvalidArgument, "only POST"));
}

TEST(BhttpTest, DefaultVisitorRefusesTheOtherMessageKind) {
  class ContentOnly : public StreamVisitor {
   public:
    Status OnContent(ByteView) override { return OkStatus(); }
    Status OnTrailers(Fields) override { return OkStatus(); }
  };
  ContentOnly visitor;
  StreamDecoder decoder(MessageKind::kRequest);
  EXPECT_TRUE(Fails(decoder.Push(Vector("ex-bink-request"), visitor), ErrorCode::kFailedPrecondition,
                    "bhttp: this StreamVisitor does not accept requests"));
}

}  // namespace
}  // namespace openpcc::wire::bhttp
