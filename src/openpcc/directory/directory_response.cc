#include "openpcc/directory/directory_response.h"

#include <boost/json.hpp>

#include "openpcc/util/base64.h"
#include "openpcc/wire/jcs.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::directory {
namespace {

namespace json = boost::json;

Error Bad(std::string_view field, std::string_view expected) {
  return Error(ErrorCode::kMalformed,
               "directory response: " + std::string(field) + ": expected " + std::string(expected));
}

Result<Bytes> Binary(const json::value& v, std::string_view field) {
  if (!v.is_string()) return Bad(field, "a base64url string");
  Result<Bytes> bytes = Base64UrlDecode(v.as_string());
  if (!bytes.ok()) return Bad(field, "unpadded base64url (" + bytes.error().message() + ")");
  return bytes;
}

}  // namespace

std::string DirectoryResponse::Encode() const {
  json::array proof;
  for (const tlog::Hash& h : inclusion_proof) proof.emplace_back(Base64UrlEncode(tlog::View(h)));
  json::object bundle_map;
  for (const auto& [node_id, text] : bundles) bundle_map[Base64UrlEncode(node_id)] = text;
  json::object out{{"entry", Base64UrlEncode(entry)},
                   {"log_index", log_index},
                   {"inclusion_proof", std::move(proof)},
                   {"checkpoint", checkpoint},
                   {"bundles", std::move(bundle_map)}};
  return json::serialize(out);
}

Result<DirectoryResponse> ParseDirectoryResponse(std::string_view json_text) {
  if (json_text.size() > kMaxDirectoryResponseBytes) {
    return Error(ErrorCode::kOutOfRange, "directory response: longer than " +
                                             std::to_string(kMaxDirectoryResponseBytes) + " bytes");
  }
  wire::JsonLimits limits;
  limits.max_bytes = kMaxDirectoryResponseBytes;
  limits.max_depth = 4;
  Result<json::value> parsed = wire::ParseJson(json_text, limits);
  if (!parsed.ok()) return Error(parsed.error().code(), "directory response: " + parsed.error().message());
  if (!parsed->is_object()) return Bad("(top level)", "an object");
  const json::object& top = parsed->as_object();
  static constexpr std::string_view kFields[] = {"entry", "log_index", "inclusion_proof", "checkpoint", "bundles"};
  for (const auto& member : top) {
    bool known = false;
    for (std::string_view f : kFields) known = known || member.key() == f;
    if (!known) return Bad(member.key(), "no such field (unknown fields are refused)");
  }
  for (std::string_view f : kFields) {
    if (!top.contains(f)) return Error(ErrorCode::kMalformed, "directory response: " + std::string(f) + ": missing field");
  }

  DirectoryResponse r;
  OPENPCC_ASSIGN_OR_RETURN(r.entry, Binary(top.at("entry"), "entry"));
  if (r.entry.empty() || r.entry.size() > 65535) return Bad("entry", "1 to 65535 bytes");

  const json::value& index = top.at("log_index");
  if (index.is_uint64()) {
    r.log_index = index.as_uint64();
  } else if (index.is_int64() && index.as_int64() >= 0) {
    r.log_index = static_cast<uint64_t>(index.as_int64());
  } else {
    return Bad("log_index", "a non-negative integer");
  }

  const json::value& proof = top.at("inclusion_proof");
  if (!proof.is_array()) return Bad("inclusion_proof", "an array");
  if (proof.as_array().size() > kMaxProofHashes) {
    return Error(ErrorCode::kOutOfRange, "directory response: inclusion_proof: more than 64 hashes");
  }
  for (size_t i = 0; i < proof.as_array().size(); ++i) {
    std::string field = "inclusion_proof[" + std::to_string(i) + "]";
    OPENPCC_ASSIGN_OR_RETURN(Bytes bytes, Binary(proof.as_array()[i], field));
    OPENPCC_ASSIGN_OR_RETURN(tlog::Hash hash, tlog::HashFromBytes(bytes, "directory response: " + field));
    r.inclusion_proof.push_back(hash);
  }

  const json::value& checkpoint = top.at("checkpoint");
  if (!checkpoint.is_string()) return Bad("checkpoint", "a signed checkpoint note (string)");
  if (checkpoint.as_string().empty() || checkpoint.as_string().size() > kMaxCheckpointNoteBytes) {
    return Bad("checkpoint", "1 to 16384 bytes");
  }
  r.checkpoint = std::string(checkpoint.as_string());

  const json::value& bundles = top.at("bundles");
  if (!bundles.is_object()) return Bad("bundles", "an object");
  if (bundles.as_object().size() > kMaxResponseBundles) {
    return Error(ErrorCode::kOutOfRange, "directory response: bundles: more than 1024 bundles");
  }
  for (const auto& member : bundles.as_object()) {
    std::string field = "bundles." + std::string(member.key());
    Result<Bytes> node_id = Base64UrlDecode(member.key());
    if (!node_id.ok() || node_id->size() != wire::kNodeIdLength) {
      return Bad(field, "a key that is a base64url 32-byte node_id");
    }
    if (!member.value().is_string()) return Bad(field, "evidence bundle JSON text (a string)");
    if (member.value().as_string().size() > kMaxBundleTextBytes) return Bad(field, "at most 4 MiB");
    r.bundles.emplace(std::move(node_id).value(), std::string(member.value().as_string()));
  }
  return r;
}

Status CheckInclusion(const DirectoryResponse& response, const tlog::Checkpoint& verified) {
  if (response.log_index >= verified.size) {
    return Error(ErrorCode::kOutOfRange, "directory response: log_index " + std::to_string(response.log_index) +
                                             " is not below the checkpoint's size " + std::to_string(verified.size));
  }
  tlog::Hash leaf = tlog::LeafHash(response.entry);
  Status s = tlog::VerifyInclusion(response.log_index, verified.size, tlog::View(leaf), response.inclusion_proof,
                                   tlog::View(verified.root));
  if (!s.ok()) {
    return Error(s.error().code(), "directory response: inclusion proof of the entry does not verify against the "
                                   "checkpoint (" + s.error().message() + ")");
  }
  return OkStatus();
}

}  // namespace openpcc::directory
