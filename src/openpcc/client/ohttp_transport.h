// client/ohttp_transport.h — the client's outer hop: an inner BHTTP request to the gateway,
// encapsulated with Oblivious HTTP (RFC 9458) and sent through the relay (DESIGN §2.1).
//
// Two forms:
//   - `RoundTrip`: `message/ohttp-req` / `-res`, known-length BHTTP; the answer is opened whole
//     (the gateway's small JSON endpoints: /v1/models, /v1/directory, /v1/tlog/...).
//   - `Stream`: chunked OHTTP (`message/ohttp-chunked-req`, `Incremental: ?1`) with the
//     indeterminate-length BHTTP form; the response is decrypted chunk by chunk as it arrives and
//     its content handed to the caller's sink piece by piece (/v1/infer). The sink sees a piece only
//     after the chunk carrying it authenticated; the end is reported only after the final chunk
//     authenticated, so a truncated stream is an error, never a short answer.
//
// Errors name the hop or check that failed, as the first words of the message:
//   "relay hop: ..."        the relay could not be reached, or answered with an HTTP error
//                           (the relay's or the gateway's outer refusal, with its `code`)
//   "gateway response: ..." the outer response is not OHTTP of the expected type, or does not
//                           decrypt or authenticate (tampering, truncation, a wrong key)
//   "inner response: ..."   the decrypted BHTTP response is malformed
//   "inner request: ..."    the caller's request could not be encoded
//   and the sink's own errors unchanged.
// Nothing secret goes into a message: no plaintext, keys or token values.
//
// The gateway key config is the caller's: key_bootstrap.h fetches it and checks it against the
// logged directory. The transport uses one suite (default HKDF-SHA256 + AES-128-GCM, the suite
// every gateway must offer) and refuses a config that does not list it.
//
// Thread safety: an OhttpTransport may be used from several threads at once (BlockingClient is
// thread-safe and each call has its own HPKE context); a sink is called on the client's I/O
// thread, one piece at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "openpcc/net/client.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::client {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// An inner request to the gateway (DESIGN §4's inner API).
struct InnerRequest {
  std::string method = "GET";
  std::string path = "/v1/models";
  FieldList headers;  // lower-case names are conventional; `date` is the caller's to add
  std::string body;
  std::string authority = "openpcc.invalid";  // the gateway's inner API has no public host
};

struct InnerResponseHead {
  unsigned status = 0;
  FieldList headers;
  // The first field with this name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

struct InnerResponse : InnerResponseHead {
  std::string body;
};

// Receives a streamed inner response: one head, then content pieces as they authenticate.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual Status OnHead(const InnerResponseHead& head) = 0;
  virtual Status OnContent(ByteView piece) = 0;
};

// Time one Stream call spent in OHTTP cryptography (util/stopwatch.h; for logs and benchmarks).
struct OhttpCryptoTime {
  std::chrono::microseconds seal{0};  // encapsulating the request
  std::chrono::microseconds open{0};  // opening the response's chunks (not the sink's own work)
};

struct TransportConfig {
  std::string relay_url;  // where OHTTP requests are POSTed, e.g. http://127.0.0.1:7100/
  net::ClientOptions http;
  wire::SymmetricSuite suite{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm};
  size_t max_response_bytes = 16 * 1024 * 1024;  // RoundTrip only; Stream has no total bound
};

class OhttpTransport {
 public:
  static Result<std::unique_ptr<OhttpTransport>> Create(TransportConfig config);

  Result<InnerResponse> RoundTrip(const wire::KeyConfig& gateway, const InnerRequest& request);
  // Returns OK only once the whole response authenticated and decoded; pieces were handed to
  // `sink` as they arrived before that.
  // `time`, if given, receives the call's OHTTP cryptography time.
  Status Stream(const wire::KeyConfig& gateway, const InnerRequest& request, ResponseSink& sink,
                OhttpCryptoTime* time = nullptr);

  net::BlockingClient& http() { return *http_; }
  const TransportConfig& config() const { return config_; }

 private:
  OhttpTransport(TransportConfig config, std::unique_ptr<net::BlockingClient> http)
      : config_(std::move(config)), http_(std::move(http)) {}
  Status CheckConfig(const wire::KeyConfig& gateway) const;

  const TransportConfig config_;
  std::unique_ptr<net::BlockingClient> http_;
};

// "relay hop: HTTP <status> (<code>): <message>" from an outer error answer (OpenAI error JSON or
// not), for callers that speak to the relay themselves (key_bootstrap.h).
Error RelayHopError(unsigned status, std::string_view body);

}  // namespace openpcc::client
