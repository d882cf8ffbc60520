#include "openpcc/client/ohttp_transport.h"

#include <cctype>

#include <boost/json.hpp>

#include "openpcc/crypto/secret.h"
#include "openpcc/net/url.h"
#include "openpcc/util/stopwatch.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/ohttp.h"

namespace openpcc::client {
namespace {

namespace bhttp = wire::bhttp;

constexpr std::string_view kOhttpRequest = "message/ohttp-req";
constexpr std::string_view kOhttpResponse = "message/ohttp-res";
constexpr std::string_view kChunkedRequest = "message/ohttp-chunked-req";
constexpr std::string_view kChunkedResponse = "message/ohttp-chunked-res";
// An outer error body is read only this far into a message.
constexpr size_t kMaxErrorText = 300;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string MediaType(const std::optional<std::string>& header) {
  std::string out = header.value_or("");
  out = out.substr(0, out.find(';'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error Hop(std::string_view hop, const Error& error) {
  return Error(error.code(), std::string(hop) + ": " + error.message());
}

bhttp::RequestHead HeadOf(const InnerRequest& request) {
  bhttp::RequestHead head;
  head.method = bhttp::Text(request.method);
  head.scheme = "https";
  head.authority = bhttp::Text(request.authority);
  head.path = bhttp::Text(request.path);
  for (const auto& [name, value] : request.headers) {
    head.headers.push_back({bhttp::Text(name), bhttp::Text(value)});
  }
  return head;
}

InnerResponseHead FromBhttp(const bhttp::ResponseHead& head) {
  InnerResponseHead out;
  out.status = head.status;
  for (const bhttp::Field& f : head.headers) {
    out.headers.emplace_back(std::string(f.name.data(), f.name.size()),
                             std::string(f.value.data(), f.value.size()));
  }
  return out;
}

// Passes a decoded BHTTP response on to the caller's sink.
class SinkVisitor final : public bhttp::StreamVisitor {
 public:
  explicit SinkVisitor(ResponseSink& sink) : sink_(sink) {}
  Status OnResponseHead(bhttp::ResponseHead head) override { return sink_.OnHead(FromBhttp(head)); }
  Status OnContent(ByteView piece) override { return sink_.OnContent(piece); }
  Status OnTrailers(bhttp::Fields) override { return OkStatus(); }

 private:
  ResponseSink& sink_;
};

// Keeps the first error of the sink apart from decoding errors, so it is returned unchanged.
class GuardedSink final : public ResponseSink {
 public:
  explicit GuardedSink(ResponseSink& inner) : inner_(inner) {}
  Status OnHead(const InnerResponseHead& head) override { return Keep(inner_.OnHead(head)); }
  Status OnContent(ByteView piece) override { return Keep(inner_.OnContent(piece)); }
  std::optional<Error> error;

 private:
  Status Keep(Status s) {
    if (!s.ok() && !error) error = s.error();
    return s;
  }
  ResponseSink& inner_;
};

}  // namespace

std::optional<std::string> InnerResponseHead::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

Error RelayHopError(unsigned status, std::string_view body) {
  std::string code = "-";
  std::string message(body.substr(0, kMaxErrorText));
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    const boost::json::object& o = parsed.as_object();
    if (const boost::json::value* e = o.if_contains("error"); e && e->is_object()) {
      const boost::json::object& err = e->as_object();
      if (const boost::json::value* c = err.if_contains("code"); c && c->is_string()) {
        code = std::string(c->as_string());
      }
      if (const boost::json::value* m = err.if_contains("message"); m && m->is_string()) {
        message = std::string(m->as_string()).substr(0, kMaxErrorText);
      }
    }
  }
  for (char& c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return Error(ErrorCode::kFailedPrecondition,
               "relay hop: HTTP " + std::to_string(status) + " (" + code + "): " + message);
}

Result<std::unique_ptr<OhttpTransport>> OhttpTransport::Create(TransportConfig config) {
  Result<net::Url> url = net::ParseUrl(config.relay_url);
  if (!url.ok()) return Error(ErrorCode::kInvalidArgument, "relay url: " + url.error().message());
  OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<net::BlockingClient> http,
                           net::BlockingClient::Create(config.http));
  return std::unique_ptr<OhttpTransport>(new OhttpTransport(std::move(config), std::move(http)));
}

Status OhttpTransport::CheckConfig(const wire::KeyConfig& gateway) const {
  if (!gateway.Supports(config_.suite)) {
    return Error(ErrorCode::kUnsupported,
                 "gateway key config " + std::to_string(gateway.key_id) +
                     " does not offer the transport's suite (KDF " +
                     std::to_string(static_cast<unsigned>(config_.suite.kdf)) + ", AEAD " +
                     std::to_string(static_cast<unsigned>(config_.suite.aead)) + ")");
  }
  return OkStatus();
}

Result<InnerResponse> OhttpTransport::RoundTrip(const wire::KeyConfig& gateway,
                                                const InnerRequest& request) {
  OPENPCC_RETURN_IF_ERROR(CheckConfig(gateway));
  bhttp::Request inner;
  static_cast<bhttp::RequestHead&>(inner) = HeadOf(request);
  inner.content.assign(request.body.begin(), request.body.end());
  Result<crypto::SecretVector> encoded = bhttp::EncodeRequest(inner);
  if (!encoded.ok()) return Hop("inner request", encoded.error());
  OPENPCC_ASSIGN_OR_RETURN(wire::OhttpClientRequest sealed,
                           wire::EncapsulateRequest(gateway, config_.suite,
                                                    ByteView(encoded->data(), encoded->size())));
  net::ClientRequest outer("POST", config_.relay_url, {{"Content-Type", std::string(kOhttpRequest)}});
  Result<net::ClientResponse> answer =
      http_->Fetch(outer, AsChars(sealed.encapsulated), config_.max_response_bytes);
  if (!answer.ok()) return Hop("relay hop", answer.error());
  if (answer->status != 200) return RelayHopError(answer->status, answer->body);
  const std::string media = MediaType(answer->header("content-type"));
  if (media != kOhttpResponse) {
    return Error(ErrorCode::kMalformed, "gateway response: media type '" + media +
                                            "', expected message/ohttp-res");
  }
  Result<crypto::SecretBytes> opened = sealed.context.OpenResponse(AsBytes(answer->body));
  if (!opened.ok()) return Hop("gateway response", opened.error());
  Result<bhttp::Response> decoded = bhttp::DecodeResponse(opened->view());
  if (!decoded.ok()) return Hop("inner response", decoded.error());
  InnerResponse out;
  static_cast<InnerResponseHead&>(out) = FromBhttp(*decoded);
  out.body.assign(reinterpret_cast<const char*>(decoded->content.data()), decoded->content.size());
  return out;
}

Status OhttpTransport::Stream(const wire::KeyConfig& gateway, const InnerRequest& request,
                              ResponseSink& sink, OhttpCryptoTime* time) {
  OPENPCC_RETURN_IF_ERROR(CheckConfig(gateway));
  OhttpCryptoTime spent;
  Stopwatch sealing;
  // The request: indeterminate-length BHTTP (head, content, end) in chunked OHTTP, one chunk per
  // part, the end in the final chunk.
  bhttp::StreamEncoder encoder;
  Result<crypto::SecretVector> head = encoder.BeginRequest(HeadOf(request));
  if (!head.ok()) return Hop("inner request", head.error());
  Result<crypto::SecretVector> content = encoder.Content(AsBytes(request.body));
  if (!content.ok()) return Hop("inner request", content.error());
  Result<crypto::SecretVector> end = encoder.End({});
  if (!end.ok()) return Hop("inner request", end.error());
  Bytes body;
  OPENPCC_ASSIGN_OR_RETURN(wire::ChunkedRequestWriter writer,
                           wire::ChunkedRequestWriter::Create(gateway, config_.suite, body));
  OPENPCC_RETURN_IF_ERROR(writer.Write(ByteView(head->data(), head->size()), body));
  if (!content->empty()) {
    OPENPCC_RETURN_IF_ERROR(writer.Write(ByteView(content->data(), content->size()), body));
  }
  OPENPCC_RETURN_IF_ERROR(writer.Finish(ByteView(end->data(), end->size()), body));

  wire::ChunkedRequestWriter::ResponseReader reader = writer.MakeResponseReader();
  spent.seal = sealing.Elapsed();
  // Reported however the call ends.
  struct Report {
    OhttpCryptoTime* out;
    const OhttpCryptoTime& spent;
    ~Report() {
      if (out != nullptr) *out = spent;
    }
  } report{time, spent};
  bhttp::StreamDecoder decoder(bhttp::MessageKind::kResponse);
  GuardedSink guarded(sink);
  SinkVisitor visitor(guarded);
  std::optional<Error> failure;
  std::string error_body;  // the first bytes, for the message of an outer HTTP error
  bool any_piece = false;
  net::ClientRequest outer("POST", config_.relay_url,
                           {{"Content-Type", std::string(kChunkedRequest)}, {"Incremental", "?1"}});
  // FetchStreaming reports the outer status only at the end, so every piece goes to the OHTTP
  // reader at once (an error answer cannot authenticate, so it never reaches the sink) and a
  // bounded copy is kept to name an HTTP error afterwards.
  Result<net::ResponseHead> answer = http_->FetchStreaming(
      outer, AsChars(body), [&](std::string_view piece) -> Status {
        any_piece = true;
        if (error_body.size() < 4096) error_body.append(piece.substr(0, 4096 - error_body.size()));
        if (failure) return OkStatus();  // read the rest, so an HTTP error is reported as one
        crypto::SecretBytes plain;
        Status pushed = OkStatus();
        {
          ScopedTime opening(spent.open);
          pushed = reader.Push(AsBytes(piece), plain);
        }
        if (!pushed.ok()) {
          failure = Hop("gateway response", pushed.error());
          return OkStatus();
        }
        if (!plain.empty()) {
          Status decoded = decoder.Push(plain.view(), visitor);
          if (!decoded.ok()) {
            failure = guarded.error ? *guarded.error : Hop("inner response", decoded.error());
            return failure.value();
          }
        }
        return OkStatus();
      });
  if (!answer.ok()) {
    if (failure) return *failure;
    if (any_piece) {
      // The outer stream broke after the response began: truncated, whatever was decrypted.
      return Error(ErrorCode::kIncomplete,
                   "gateway response: the stream ended before its authenticated final chunk (" +
                       answer.error().message() + ")");
    }
    return Hop("relay hop", answer.error());
  }
  if (answer->status != 200) return RelayHopError(answer->status, error_body);
  const std::string media = MediaType(answer->header("content-type"));
  if (media != kChunkedResponse) {
    return Error(ErrorCode::kMalformed, "gateway response: media type '" + media +
                                            "', expected message/ohttp-chunked-res");
  }
  if (failure) return *failure;
  crypto::SecretBytes last;
  Status finished = OkStatus();
  {
    ScopedTime opening(spent.open);
    finished = reader.Finish(last);
  }
  if (!finished.ok()) return Hop("gateway response", finished.error());
  if (!last.empty()) {
    Status decoded = decoder.Push(last.view(), visitor);
    if (!decoded.ok()) return guarded.error ? *guarded.error : Hop("inner response", decoded.error());
  }
  Status done = decoder.Finish(visitor);
  if (!done.ok()) return guarded.error ? *guarded.error : Hop("inner response", done.error());
  return OkStatus();
}

}  // namespace openpcc::client
