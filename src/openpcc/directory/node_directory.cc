#include "openpcc/directory/node_directory.h"

#include <algorithm>
#include <set>

#include <boost/json.hpp>

#include "openpcc/tlog/entry.h"
#include "openpcc/util/base64.h"
#include "openpcc/wire/jcs.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::directory {
namespace {

namespace json = boost::json;

constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxPlatformLength = 16;
constexpr size_t kMaxBinaryField = 4096;

Error Bad(std::string_view field, std::string_view expected) {
  return Error(ErrorCode::kMalformed, "node directory: " + std::string(field) + ": expected " + std::string(expected));
}

std::string Sub(std::string_view field, std::string_view name) {
  return field.empty() ? std::string(name) : std::string(field) + "." + std::string(name);
}

Result<const json::object*> Object(const json::value& value, std::string_view field) {
  if (!value.is_object()) return Bad(field.empty() ? "(top level)" : field, "an object");
  return &value.as_object();
}

// Unknown members are refused: a field we do not understand may carry meaning we would not check.
Status Exactly(const json::object& object, std::string_view field, std::initializer_list<std::string_view> names) {
  for (const auto& member : object) {
    bool known = false;
    for (std::string_view n : names) known = known || member.key() == n;
    if (!known) return Bad(Sub(field, member.key()), "no such field (unknown fields are refused)");
  }
  for (std::string_view n : names) {
    if (!object.contains(n)) {
      return Error(ErrorCode::kMalformed, "node directory: " + Sub(field, n) + ": missing field");
    }
  }
  return OkStatus();
}

Result<uint64_t> Unsigned(const json::object& object, std::string_view field, std::string_view name) {
  const json::value& v = object.at(name);
  if (v.is_uint64()) return v.as_uint64();
  if (v.is_int64() && v.as_int64() >= 0) return static_cast<uint64_t>(v.as_int64());
  return Bad(Sub(field, name), "a non-negative integer");
}

Result<int64_t> Seconds(const json::object& object, std::string_view field, std::string_view name) {
  OPENPCC_ASSIGN_OR_RETURN(uint64_t v, Unsigned(object, field, name));
  if (v > static_cast<uint64_t>(wire::kJsonMaxSafeInteger)) return Bad(Sub(field, name), "a safe integer");
  return static_cast<int64_t>(v);
}

Result<std::string> Name(const json::value& v, std::string_view field) {
  if (!v.is_string()) return Bad(field, "a string");
  std::string s(v.as_string());
  if (s.empty() || s.size() > kMaxNameLength) return Bad(field, "1 to 256 characters");
  return s;
}

Result<Bytes> Binary(const json::value& v, std::string_view field) {
  if (!v.is_string()) return Bad(field, "a base64url string");
  if (v.as_string().size() > kMaxBinaryField) return Bad(field, "at most 4096 characters");
  Result<Bytes> bytes = Base64UrlDecode(v.as_string());
  if (!bytes.ok()) return Bad(field, "unpadded base64url (" + bytes.error().message() + ")");
  return bytes;
}

Result<const json::array*> Array(const json::value& v, std::string_view field, size_t min, size_t max) {
  if (!v.is_array()) return Bad(field, "an array");
  size_t n = v.as_array().size();
  if (n < min || n > max) {
    return Error(ErrorCode::kOutOfRange, "node directory: " + std::string(field) + ": expected " +
                                             std::to_string(min) + " to " + std::to_string(max) + " items, got " +
                                             std::to_string(n));
  }
  return &v.as_array();
}

bool IsPlatformName(std::string_view s) {
  if (s.empty() || s.size() > kMaxPlatformLength) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<DirectoryTokenKey> ParseTokenKey(const json::value& v, const std::string& field) {
  OPENPCC_ASSIGN_OR_RETURN(const json::object* o, Object(v, field));
  OPENPCC_RETURN_IF_ERROR(Exactly(*o, field, {"token_type", "token_key", "not_before", "redeem_until"}));
  DirectoryTokenKey key;
  OPENPCC_ASSIGN_OR_RETURN(uint64_t type, Unsigned(*o, field, "token_type"));
  if (type > 0xffff) return Bad(field + ".token_type", "a 16-bit token type");
  key.token_type = static_cast<uint16_t>(type);
  OPENPCC_ASSIGN_OR_RETURN(key.token_key, Binary(o->at("token_key"), field + ".token_key"));
  if (key.token_key.empty()) return Bad(field + ".token_key", "a non-empty key");
  OPENPCC_ASSIGN_OR_RETURN(key.not_before, Seconds(*o, field, "not_before"));
  OPENPCC_ASSIGN_OR_RETURN(key.redeem_until, Seconds(*o, field, "redeem_until"));
  if (key.redeem_until <= key.not_before) return Bad(field + ".redeem_until", "later than not_before");
  return key;
}

Result<DirectoryNode> ParseNode(const json::value& v, const std::string& field) {
  OPENPCC_ASSIGN_OR_RETURN(const json::object* o, Object(v, field));
  OPENPCC_RETURN_IF_ERROR(Exactly(*o, field, {"node_id", "key_config", "platform"}));
  DirectoryNode node;
  OPENPCC_ASSIGN_OR_RETURN(node.node_id, Binary(o->at("node_id"), field + ".node_id"));
  OPENPCC_ASSIGN_OR_RETURN(node.key_config, Binary(o->at("key_config"), field + ".key_config"));
  Result<wire::KeyConfig> config = wire::ParseKeyConfig(node.key_config);
  if (!config.ok()) return Bad(field + ".key_config", "an RFC 9458 KeyConfig (" + config.error().message() + ")");
  OPENPCC_ASSIGN_OR_RETURN(Bytes id, wire::NodeIdOf(*config));
  if (id != node.node_id) return Bad(field + ".node_id", "SHA-256 of key_config");
  const json::value& platform = o->at("platform");
  if (!platform.is_string() || !IsPlatformName(platform.as_string())) {
    return Bad(field + ".platform", "a platform name (1 to 16 of a-z 0-9 -)");
  }
  node.platform = std::string(platform.as_string());
  return node;
}

json::array BinaryArray(const std::vector<Bytes>& items) {
  json::array out;
  for (const Bytes& b : items) out.emplace_back(Base64UrlEncode(b));
  return out;
}

const std::vector<DirectoryNode>& NoNodes() {
  static const std::vector<DirectoryNode> empty;
  return empty;
}

}  // namespace

json::value NodeDirectory::ToJson() const {
  json::array keys;
  for (const DirectoryTokenKey& key : token_keys) {
    keys.emplace_back(json::object{{"token_type", key.token_type},
                                   {"token_key", Base64UrlEncode(key.token_key)},
                                   {"not_before", key.not_before},
                                   {"redeem_until", key.redeem_until}});
  }
  json::object model_map;
  for (const auto& [name, nodes] : models) {
    json::array list;
    for (const DirectoryNode& node : nodes) {
      list.emplace_back(json::object{{"node_id", Base64UrlEncode(node.node_id)},
                                     {"key_config", Base64UrlEncode(node.key_config)},
                                     {"platform", node.platform}});
    }
    model_map[name] = std::move(list);
  }
  return json::object{{"epoch", epoch},
                      {"not_before", not_before},
                      {"not_after", not_after},
                      {"k", k},
                      {"service", service},
                      {"token_challenge", Base64UrlEncode(token_challenge)},
                      {"token_keys", std::move(keys)},
                      {"ohttp_configs", BinaryArray(ohttp_configs)},
                      {"models", std::move(model_map)}};
}

Result<std::string> NodeDirectory::EncodeCanonical() const {
  json::value value = ToJson();
  // What we publish must be what a client accepts: run the same checks a parser does.
  if (auto check = NodeDirectoryFromJson(value); !check.ok()) return std::move(check).error();
  OPENPCC_ASSIGN_OR_RETURN(std::string text, wire::Canonicalize(value));
  if (text.size() > kMaxDirectoryBytes) {
    return Error(ErrorCode::kOutOfRange, "node directory: canonical form is " + std::to_string(text.size()) +
                                             " bytes, more than the log entry limit of 65535");
  }
  return text;
}

const std::vector<DirectoryNode>& NodeDirectory::NodesOf(std::string_view model) const {
  auto it = models.find(std::string(model));
  return it == models.end() ? NoNodes() : it->second;
}

bool NodeDirectory::Lists(ByteView node_id) const {
  for (const auto& [name, nodes] : models) {
    for (const DirectoryNode& node : nodes) {
      if (ByteView(node.node_id).size() == node_id.size() &&
          std::equal(node_id.begin(), node_id.end(), node.node_id.begin())) {
        return true;
      }
    }
  }
  return false;
}

Result<NodeDirectory> NodeDirectoryFromJson(const json::value& value) {
  OPENPCC_ASSIGN_OR_RETURN(const json::object* top, Object(value, ""));
  OPENPCC_RETURN_IF_ERROR(Exactly(*top, "", {"epoch", "not_before", "not_after", "k", "service", "token_challenge",
                                             "token_keys", "ohttp_configs", "models"}));
  NodeDirectory d;
  OPENPCC_ASSIGN_OR_RETURN(d.epoch, Unsigned(*top, "", "epoch"));
  OPENPCC_ASSIGN_OR_RETURN(d.not_before, Seconds(*top, "", "not_before"));
  OPENPCC_ASSIGN_OR_RETURN(d.not_after, Seconds(*top, "", "not_after"));
  if (d.not_after <= d.not_before) return Bad("not_after", "later than not_before");
  OPENPCC_ASSIGN_OR_RETURN(d.k, Unsigned(*top, "", "k"));
  if (d.k < 1 || d.k > kMaxK) return Bad("k", "1 to 64");
  OPENPCC_ASSIGN_OR_RETURN(d.service, Name(top->at("service"), "service"));
  OPENPCC_ASSIGN_OR_RETURN(d.token_challenge, Binary(top->at("token_challenge"), "token_challenge"));
  if (d.token_challenge.empty()) return Bad("token_challenge", "a non-empty TokenChallenge");

  OPENPCC_ASSIGN_OR_RETURN(const json::array* keys,
                           Array(top->at("token_keys"), "token_keys", 1, kMaxDirectoryTokenKeys));
  for (size_t i = 0; i < keys->size(); ++i) {
    OPENPCC_ASSIGN_OR_RETURN(auto key, ParseTokenKey((*keys)[i], "token_keys[" + std::to_string(i) + "]"));
    d.token_keys.push_back(std::move(key));
  }

  OPENPCC_ASSIGN_OR_RETURN(const json::array* configs,
                           Array(top->at("ohttp_configs"), "ohttp_configs", 1, kMaxDirectoryOhttpConfigs));
  for (size_t i = 0; i < configs->size(); ++i) {
    std::string field = "ohttp_configs[" + std::to_string(i) + "]";
    OPENPCC_ASSIGN_OR_RETURN(Bytes config, Binary((*configs)[i], field));
    if (auto parsed = wire::ParseKeyConfig(config); !parsed.ok()) {
      return Bad(field, "an RFC 9458 KeyConfig (" + parsed.error().message() + ")");
    }
    for (const Bytes& seen : d.ohttp_configs) {
      if (seen == config) return Bad(field, "a config not listed twice");
    }
    d.ohttp_configs.push_back(std::move(config));
  }

  OPENPCC_ASSIGN_OR_RETURN(const json::object* models, Object(top->at("models"), "models"));
  if (models->size() > kMaxDirectoryModels) {
    return Error(ErrorCode::kOutOfRange, "node directory: models: expected at most 64 models");
  }
  for (const auto& member : *models) {
    std::string name(member.key());
    std::string field = "models." + name;
    if (name.empty() || name.size() > kMaxNameLength) return Bad("models", "model names of 1 to 256 characters");
    OPENPCC_ASSIGN_OR_RETURN(const json::array* list, Array(member.value(), field, 1, kMaxNodesPerModel));
    std::set<Bytes> seen;
    std::vector<DirectoryNode> nodes;
    for (size_t i = 0; i < list->size(); ++i) {
      std::string node_field = field + "[" + std::to_string(i) + "]";
      OPENPCC_ASSIGN_OR_RETURN(DirectoryNode node, ParseNode((*list)[i], node_field));
      if (!seen.insert(node.node_id).second) return Bad(node_field + ".node_id", "a node listed once per model");
      nodes.push_back(std::move(node));
    }
    d.models.emplace(std::move(name), std::move(nodes));
  }
  return d;
}

Result<NodeDirectory> ParseNodeDirectory(std::string_view canonical_text) {
  if (canonical_text.size() > kMaxDirectoryBytes) {
    return Error(ErrorCode::kOutOfRange, "node directory: longer than 65535 bytes");
  }
  wire::JsonLimits limits;
  limits.max_bytes = kMaxDirectoryBytes;
  limits.max_depth = 8;
  Result<json::value> value = wire::ParseCanonicalJson(canonical_text, limits);
  if (!value.ok()) return Error(value.error().code(), "node directory: " + value.error().message());
  return NodeDirectoryFromJson(*value);
}

Result<Bytes> SignDirectory(const NodeDirectory& directory, const crypto::Ed25519PrivateKey& directory_key) {
  if (auto text = directory.EncodeCanonical(); !text.ok()) return std::move(text).error();
  return tlog::SignEntry(tlog::EntryKind::kNodeDirectory, directory.ToJson(), directory_key);
}

Result<NodeDirectory> VerifyDirectoryEntry(ByteView entry, const crypto::Ed25519PublicKey& directory_key) {
  tlog::EntryKeyring keyring;
  keyring.AddDirectoryKey(directory_key);
  Result<tlog::VerifiedEntry> verified = keyring.Verify(entry);
  if (!verified.ok()) return Error(verified.error().code(), "node directory entry: " + verified.error().message());
  if (verified->kind != tlog::EntryKind::kNodeDirectory) {
    return Error(ErrorCode::kMalformed, "node directory entry: kind is not node-directory");
  }
  return ParseNodeDirectory(verified->body_text);
}

}  // namespace openpcc::directory
