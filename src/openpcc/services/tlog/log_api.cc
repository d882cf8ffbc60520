#include "openpcc/services/tlog/log_api.h"

#include <boost/json.hpp>

#include "openpcc/util/base64.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::services {
namespace {

namespace json = boost::json;
constexpr size_t kMaxResponseBytes = 16 * 1024 * 1024;

Error ApiError(ErrorCode code, const std::string& what) { return Error(code, "tlog api: " + what); }

}  // namespace

Result<Bytes> EncodeAddRequest(std::span<const Bytes> entries) {
  if (entries.empty() || entries.size() > kMaxEntriesPerAdd) {
    return ApiError(ErrorCode::kInvalidArgument, "an add request carries 1 to " + std::to_string(kMaxEntriesPerAdd) + " entries");
  }
  wire::ByteWriter w;
  for (const Bytes& e : entries) {
    if (e.empty() || e.size() > tlog::kMaxEntrySize) return ApiError(ErrorCode::kOutOfRange, "entry of 1 to 65535 bytes expected");
    w.WriteU16(static_cast<uint16_t>(e.size()));
    w.WriteBytes(e);
  }
  return w.Take();
}

Result<std::vector<Bytes>> ParseAddRequest(ByteView body) {
  wire::ByteReader r(body);
  std::vector<Bytes> entries;
  while (!r.empty()) {
    if (entries.size() == kMaxEntriesPerAdd) {
      return ApiError(ErrorCode::kOutOfRange, "more than " + std::to_string(kMaxEntriesPerAdd) + " entries in one request");
    }
    wire::ByteReader child;
    if (!r.ReadU16Prefixed(&child)) {
      return ApiError(ErrorCode::kTruncated, "entry " + std::to_string(entries.size()) + ": u16 length runs past the body");
    }
    if (child.empty()) return ApiError(ErrorCode::kMalformed, "entry " + std::to_string(entries.size()) + " is empty");
    entries.push_back(ToBytes(child.rest()));
  }
  if (entries.empty()) return ApiError(ErrorCode::kInvalidArgument, "no entries in the request body");
  return entries;
}

std::string FormatAddResponse(const AddResponse& response) {
  json::object o;
  o["first_index"] = response.first_index;
  o["tree_size"] = response.tree_size;
  o["checkpoint"] = response.checkpoint;
  json::array proofs;
  for (const auto& proof : response.inclusion_proofs) {
    json::array p;
    for (const auto& h : proof) p.push_back(json::string(Base64Encode(tlog::View(h))));
    proofs.push_back(std::move(p));
  }
  o["inclusion_proofs"] = std::move(proofs);
  return json::serialize(o);
}

Result<AddResponse> ParseAddResponse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return ApiError(ErrorCode::kMalformed, "add response is not a JSON object");
  const json::object& o = v.as_object();
  AddResponse out;
  auto get_u64 = [&](std::string_view key, uint64_t* target) -> Status {
    const json::value* f = o.if_contains(key);
    if (f == nullptr) return ApiError(ErrorCode::kMalformed, "add response: missing \"" + std::string(key) + "\"");
    if (f->is_uint64()) *target = f->as_uint64();
    else if (f->is_int64() && f->as_int64() >= 0) *target = static_cast<uint64_t>(f->as_int64());
    else return ApiError(ErrorCode::kMalformed, "add response: \"" + std::string(key) + "\" is not a non-negative integer");
    return Status();
  };
  OPENPCC_RETURN_IF_ERROR(get_u64("first_index", &out.first_index));
  OPENPCC_RETURN_IF_ERROR(get_u64("tree_size", &out.tree_size));
  const json::value* cp = o.if_contains("checkpoint");
  if (cp == nullptr || !cp->is_string()) return ApiError(ErrorCode::kMalformed, "add response: \"checkpoint\" is not a string");
  out.checkpoint = std::string(cp->as_string());
  const json::value* proofs = o.if_contains("inclusion_proofs");
  if (proofs == nullptr || !proofs->is_array()) {
    return ApiError(ErrorCode::kMalformed, "add response: \"inclusion_proofs\" is not an array");
  }
  for (const json::value& p : proofs->as_array()) {
    if (!p.is_array() || p.as_array().size() > 64) return ApiError(ErrorCode::kMalformed, "add response: an inclusion proof is not an array of at most 64 hashes");
    std::vector<tlog::Hash> proof;
    for (const json::value& h : p.as_array()) {
      if (!h.is_string()) return ApiError(ErrorCode::kMalformed, "add response: a proof hash is not a string");
      auto bytes = Base64Decode(h.as_string());
      if (!bytes.ok()) return ApiError(ErrorCode::kMalformed, "add response: a proof hash is not canonical base64");
      OPENPCC_ASSIGN_OR_RETURN(auto hash, tlog::HashFromBytes(bytes.value(), "inclusion proof hash"));
      proof.push_back(hash);
    }
    out.inclusion_proofs.push_back(std::move(proof));
  }
  return out;
}

// Tiles fetched over HTTP (untrusted: TileHashReader checks their lengths, and everything built from
// them is checked against a verified root).
class LogClient::Tiles : public tlog::TileSource {
 public:
  explicit Tiles(LogClient& client) : client_(client) {}
  Result<Bytes> ReadTile(const tlog::TileCoord& tile) override { return client_.FetchPath(tlog::TilePath(tile)); }

 private:
  LogClient& client_;
};

LogClient::LogClient(std::string base_url, std::unique_ptr<net::BlockingClient> http)
    : base_url_(std::move(base_url)), http_(std::move(http)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<std::unique_ptr<LogClient>> LogClient::Create(std::string base_url, net::ClientOptions options) {
  OPENPCC_ASSIGN_OR_RETURN(auto http, net::BlockingClient::Create(std::move(options)));
  return std::unique_ptr<LogClient>(new LogClient(std::move(base_url), std::move(http)));
}

Result<std::string> LogClient::FetchCheckpoint() {
  OPENPCC_ASSIGN_OR_RETURN(auto response,
                           http_->Fetch(net::ClientRequest("GET", base_url_ + "/checkpoint"), "", 64 * 1024));
  if (response.status != 200) {
    return ApiError(ErrorCode::kFailedPrecondition, "GET /checkpoint answered " + std::to_string(response.status));
  }
  return std::move(response.body);
}

Result<Bytes> LogClient::FetchPath(std::string_view path) {
  OPENPCC_ASSIGN_OR_RETURN(auto response,
                           http_->Fetch(net::ClientRequest("GET", base_url_ + "/" + std::string(path)), "", 1 << 20));
  if (response.status == 404) return ApiError(ErrorCode::kOutOfRange, "GET /" + std::string(path) + ": not in the log");
  if (response.status != 200) {
    return ApiError(ErrorCode::kFailedPrecondition, "GET /" + std::string(path) + " answered " + std::to_string(response.status));
  }
  return ToBytes(response.body);
}

Result<AddResponse> LogClient::Add(std::span<const Bytes> entries) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes body, EncodeAddRequest(entries));
  OPENPCC_ASSIGN_OR_RETURN(
      auto response, http_->Fetch(net::ClientRequest("POST", base_url_ + "/add", {{"Content-Type", "application/octet-stream"}}),
                                  AsChars(body), kMaxResponseBytes));
  if (response.status != 200) {
    // The log's error JSON names the check that refused the entry; pass it on (it holds no secrets).
    std::string message = response.body;
    boost::system::error_code ec;
    json::value v = json::parse(response.body, ec);
    if (!ec && v.is_object() && v.as_object().contains("error") && v.at("error").is_object() &&
        v.at("error").as_object().contains("message") && v.at("error").at("message").is_string()) {
      message = std::string(v.at("error").at("message").as_string());
    }
    if (message.size() > 500) message.resize(500);
    return ApiError(response.status == 403 ? ErrorCode::kAuthenticationFailed : ErrorCode::kFailedPrecondition,
                    "POST /add answered " + std::to_string(response.status) + ": " + message);
  }
  OPENPCC_ASSIGN_OR_RETURN(auto parsed, ParseAddResponse(response.body));
  if (parsed.inclusion_proofs.size() != entries.size()) {
    return ApiError(ErrorCode::kMalformed, "add response: " + std::to_string(parsed.inclusion_proofs.size()) +
                                               " inclusion proofs for " + std::to_string(entries.size()) + " entries");
  }
  return parsed;
}

Result<std::vector<tlog::Hash>> LogClient::ConsistencyProof(uint64_t old_size, uint64_t new_size) {
  Tiles tiles(*this);
  tlog::TileHashReader reader(new_size, tiles);
  return tlog::ConsistencyProof(old_size, new_size, reader);
}

Result<std::vector<Bytes>> LogClient::ReadEntries(uint64_t begin, uint64_t end, uint64_t tree_size, const tlog::Hash& root) {
  if (begin > end || end > tree_size) {
    return ApiError(ErrorCode::kInvalidArgument, "entries [" + std::to_string(begin) + ", " + std::to_string(end) +
                                                     ") are not within the tree of size " + std::to_string(tree_size));
  }
  std::vector<Bytes> out;
  if (begin == end) return out;
  Tiles tiles(*this);
  tlog::TileHashReader reader(tree_size, tiles);
  OPENPCC_ASSIGN_OR_RETURN(tlog::Hash tiles_root, tlog::TreeRoot(tree_size, reader));
  if (tiles_root != root) {
    return ApiError(ErrorCode::kAuthenticationFailed, "the log's tiles do not hash to the verified checkpoint's root");
  }
  for (uint64_t bundle = begin / tlog::kTileWidth; bundle * tlog::kTileWidth < end; ++bundle) {
    tlog::TileCoord coord;
    coord.entries = true;
    coord.index = bundle;
    coord.width = tlog::TileWidthAt(tree_size, 0, bundle);
    OPENPCC_ASSIGN_OR_RETURN(Bytes bytes, FetchPath(tlog::TilePath(coord)));
    OPENPCC_ASSIGN_OR_RETURN(auto entries, tlog::ParseEntryBundle(bytes, coord.width));
    for (uint32_t i = 0; i < coord.width; ++i) {
      const uint64_t index = bundle * tlog::kTileWidth + i;
      if (index < begin || index >= end) continue;
      OPENPCC_ASSIGN_OR_RETURN(tlog::Hash leaf, reader.ReadHash(0, index));
      if (tlog::LeafHash(entries[i]) != leaf) {
        return ApiError(ErrorCode::kAuthenticationFailed,
                        "entry " + std::to_string(index) + " from the entry bundle does not match the tree's leaf hash");
      }
      out.push_back(std::move(entries[i]));
    }
  }
  return out;
}

}  // namespace openpcc::services
