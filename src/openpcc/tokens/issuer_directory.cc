#include "openpcc/tokens/issuer_directory.h"

#include <boost/json.hpp>

#include "openpcc/tokens/base64url.h"

namespace openpcc::tokens {
namespace {

namespace json = boost::json;

Error Bad(const std::string& what) { return Error(ErrorCode::kMalformed, "directory: " + what); }

Result<Bytes> Base64Member(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return Bad(std::string(name) + " is not a string");
  auto bytes = Base64UrlDecode(std::string_view(v->as_string()));
  if (!bytes.ok()) return Bad(std::string(name) + " is not base64url");
  if (bytes->empty()) return Bad(std::string(name) + " is empty");
  return bytes;
}

}  // namespace

std::string IssuerDirectory::ToJson() const {
  json::object root;
  root["issuer-request-uri"] = issuer_request_uri;
  json::array keys;
  for (const DirectoryTokenKey& k : token_keys) {
    json::object entry;
    entry["token-type"] = k.token_type;
    entry["token-key"] = Base64UrlEncode(k.token_key);
    if (k.not_before) entry["not-before"] = *k.not_before;
    if (k.redeem_until) entry["openpcc-redeem-until"] = *k.redeem_until;
    keys.push_back(std::move(entry));
  }
  root["token-keys"] = std::move(keys);
  if (!token_challenge.empty()) root["openpcc-token-challenge"] = Base64UrlEncode(token_challenge);
  return json::serialize(root);
}

Result<IssuerDirectory> IssuerDirectory::Parse(std::string_view text) {
  if (text.size() > kMaxIssuerDirectoryLength) {
    return Error(ErrorCode::kOutOfRange, "directory: longer than 65536 bytes");
  }
  json::parse_options options;
  options.max_depth = 8;
  boost::system::error_code ec;
  json::value root = json::parse(text, ec, {}, options);
  if (ec) return Bad("not valid JSON");
  if (!root.is_object()) return Bad("top level is not an object");
  const json::object& o = root.as_object();
  IssuerDirectory dir;
  const json::value* uri = o.if_contains("issuer-request-uri");
  if (uri == nullptr || !uri->is_string() || uri->as_string().empty()) {
    return Bad("issuer-request-uri is not a non-empty string");
  }
  dir.issuer_request_uri = std::string(uri->as_string());
  const json::value* keys = o.if_contains("token-keys");
  if (keys == nullptr || !keys->is_array()) return Bad("token-keys is not an array");
  if (keys->as_array().size() > kMaxDirectoryKeys) {
    return Error(ErrorCode::kOutOfRange, "directory: more than 16 token-keys");
  }
  for (const json::value& entry : keys->as_array()) {
    if (!entry.is_object()) return Bad("token-keys entry is not an object");
    const json::object& k = entry.as_object();
    const json::value* type = k.if_contains("token-type");
    if (type == nullptr || !type->is_number()) return Bad("token-type is not an integer");
    auto type_value = type->to_number<int64_t>(ec);
    if (ec || type_value < 0 || type_value > 0xffff) return Bad("token-type is not in [0, 65535]");
    DirectoryTokenKey key;
    key.token_type = static_cast<uint16_t>(type_value);
    OPENPCC_ASSIGN_OR_RETURN(key.token_key, Base64Member(k, "token-key"));
    if (const json::value* nb = k.if_contains("not-before")) {
      if (!nb->is_number()) return Bad("not-before is not an integer");
      auto v = nb->to_number<int64_t>(ec);
      if (ec || v < 0) return Bad("not-before is not a non-negative integer");
      key.not_before = v;
    }
    if (const json::value* ru = k.if_contains("openpcc-redeem-until")) {
      if (!ru->is_number()) return Bad("openpcc-redeem-until is not an integer");
      auto v = ru->to_number<int64_t>(ec);
      if (ec || v < 0) return Bad("openpcc-redeem-until is not a non-negative integer");
      key.redeem_until = v;
    }
    dir.token_keys.push_back(std::move(key));
  }
  if (o.contains("openpcc-token-challenge")) {
    OPENPCC_ASSIGN_OR_RETURN(dir.token_challenge, Base64Member(o, "openpcc-token-challenge"));
  }
  return dir;
}

}  // namespace openpcc::tokens
