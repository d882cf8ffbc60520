// tests/support/sealed_client.h — a test client of the node: builds sealed requests with the
// client-side sealing code (wire/sealed.h + BHTTP, padded to 1 KiB as DESIGN §2.2 says), sends
// them over loopback HTTP, and opens the sealed response as it streams, recording when each piece
// of inner content arrived.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "openpcc/net/client.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::testing {

struct InnerCall {
  std::string method = "POST";
  std::string path = "/v1/chat/completions";
  std::string body;  // OpenAI JSON
  // The Date field; empty: now. "-": none.
  std::string date;
};

struct SealedCall {
  Bytes request;  // the sealed request bytes
  wire::SealedRequestWriter writer;
};

// Seals `call` to `candidates` (the node's key first, or among them).
Result<SealedCall> Seal(const std::vector<wire::SealedCandidate>& candidates, const InnerCall& call);

struct SealedReply {
  unsigned http_status = 0;     // the outer status
  std::string outer_body;       // when the node refused in the clear
  bool opened = false;          // the sealed response authenticated to its final chunk
  unsigned inner_status = 0;
  std::string inner_content;    // the inner response's content (SSE or JSON)
  std::vector<size_t> sealed_chunk_plaintext_sizes;  // each chunk's plaintext length
  std::vector<std::chrono::steady_clock::time_point> piece_times;  // arrival of each content piece
  std::chrono::steady_clock::time_point sent;
  std::string error;            // opening failed: why
};

// POSTs `sealed` to `url` (…/v1/infer) and opens the response as it streams; `on_piece`, when
// set, is called (on the client's I/O thread) after each content piece arrived.
SealedReply Send(net::BlockingClient& client, const std::string& url, SealedCall sealed,
                 std::function<void()> on_piece = {});

// The candidate for a node's KeyConfig (default suite: HKDF-SHA256, AES-256-GCM).
wire::SealedCandidate CandidateFor(const wire::KeyConfig& config);

// Parses a bundle's key_config from a node's /v1/attest answer.
Result<wire::KeyConfig> KeyConfigFromBundleJson(std::string_view json);

}  // namespace openpcc::testing
