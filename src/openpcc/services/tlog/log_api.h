// services/tlog/log_api.h — the HTTP API of `openpcc tlog` as seen by its clients (`openpcc release`,
// `openpcc tlog monitor`, later the client library through the relay), and the encodings both sides
// share. docs/transparency.md documents the API.
//
//   GET  /checkpoint       the signed checkpoint note, witness cosignatures appended (text/plain)
//   GET  /tile/...         C2SP tlog-tiles hash tiles and entry bundles (application/octet-stream)
//   POST /add              body: one or more entries, each as u16 length || entry bytes (the
//                          entry-bundle encoding), at most kMaxEntriesPerAdd; answered after the
//                          entries are durable with JSON
//                          { "first_index": n, "tree_size": n, "checkpoint": note,
//                            "inclusion_proofs": [ [base64 hash, ...], ... ] }  (one per entry,
//                          against "checkpoint", which carries the log's signature only)
//
// LogClient fetches and *checks* what it reads: entries are returned only after their leaf hashes
// matched the tiles and the tiles' root matched a checkpoint root the caller verified; proofs are
// returned for the caller to verify against its verified checkpoint.
//
// Thread safety: the encoders are pure; a LogClient is thread-compatible (one thread at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/net/client.h"
#include "openpcc/tlog/merkle.h"
#include "openpcc/tlog/tiles.h"

namespace openpcc::services {

inline constexpr size_t kMaxEntriesPerAdd = 256;

Result<Bytes> EncodeAddRequest(std::span<const Bytes> entries);
Result<std::vector<Bytes>> ParseAddRequest(ByteView body);

struct AddResponse {
  uint64_t first_index = 0;
  uint64_t tree_size = 0;
  std::string checkpoint;
  std::vector<std::vector<tlog::Hash>> inclusion_proofs;
};
std::string FormatAddResponse(const AddResponse& response);
Result<AddResponse> ParseAddResponse(std::string_view json);

class LogClient {
 public:
  // `base_url`: the log's URL ("http://127.0.0.1:7400"); paths are appended to it.
  static Result<std::unique_ptr<LogClient>> Create(std::string base_url, net::ClientOptions options = {});

  Result<std::string> FetchCheckpoint();
  Result<AddResponse> Add(std::span<const Bytes> entries);
  // A tile or entry bundle path ("tile/0/000"); kOutOfRange on 404.
  Result<Bytes> FetchPath(std::string_view path);

  // RFC 9162 consistency proof from `old_size` to `new_size`, built from the log's tiles.
  Result<std::vector<tlog::Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size);
  // Entries [begin, end) of the tree (tree_size, root): the tiles must hash to `root` and every
  // entry's leaf hash must equal the tiles' — so the entries are exactly those the checkpoint commits to.
  Result<std::vector<Bytes>> ReadEntries(uint64_t begin, uint64_t end, uint64_t tree_size, const tlog::Hash& root);

 private:
  class Tiles;
  LogClient(std::string base_url, std::unique_ptr<net::BlockingClient> http);
  std::string base_url_;
  std::unique_ptr<net::BlockingClient> http_;
};

}  // namespace openpcc::services
