#include "openpcc/wire/jcs.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include "openpcc/util/utf8.h"

namespace openpcc::wire {
namespace {

namespace json = boost::json;


Result<std::vector<uint16_t>> Utf16Units(std::string_view s) {
  std::vector<uint16_t> units;
  units.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    if (!NextCodePoint(s, i, &cp)) {
      return Error(ErrorCode::kMalformed, "jcs: member name is not valid UTF-8");
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<uint16_t>(0xd800 + (cp >> 10)));
      units.push_back(static_cast<uint16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      units.push_back(static_cast<uint16_t>(cp));
    }
  }
  return units;
}

Status WriteString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    uint32_t cp = 0;
    if (!NextCodePoint(s, i, &cp)) {
      return Error(ErrorCode::kMalformed, "jcs: string is not valid UTF-8 at byte " + std::to_string(start));
    }
    switch (cp) {
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (cp < 0x20) {
          out += "\\u00";
          out.push_back(kHex[cp >> 4]);
          out.push_back(kHex[cp & 0xf]);
        } else {
          out.append(s.substr(start, i - start));
        }
    }
  }
  out.push_back('"');
  return OkStatus();
}

Error NumberError(const std::string& what) {
  return Error(ErrorCode::kUnsupported, "jcs: number " + what +
                                            " is not an integer in [-(2^53-1), 2^53-1] (only such numbers are canonicalized)");
}

Status WriteValue(const json::value& v, std::string& out, size_t depth, size_t max_depth) {
  if (depth > max_depth) {
    return Error(ErrorCode::kOutOfRange, "jcs: nesting deeper than " + std::to_string(max_depth));
  }
  switch (v.kind()) {
    case json::kind::null: out += "null"; return OkStatus();
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return OkStatus();
    case json::kind::int64: {
      const int64_t n = v.get_int64();
      if (n > kJsonMaxSafeInteger || n < -kJsonMaxSafeInteger) return NumberError(std::to_string(n));
      out += std::to_string(n);
      return OkStatus();
    }
    case json::kind::uint64: {
      const uint64_t n = v.get_uint64();
      if (n > static_cast<uint64_t>(kJsonMaxSafeInteger)) return NumberError(std::to_string(n));
      out += std::to_string(n);
      return OkStatus();
    }
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > static_cast<double>(kJsonMaxSafeInteger)) {
        return NumberError(std::isfinite(d) ? std::to_string(d) : std::string("(not finite)"));
      }
      out += std::to_string(static_cast<int64_t>(d));  // -0.0 converts to 0, as ECMAScript prints it
      return OkStatus();
    }
    case json::kind::string: {
      const auto& s = v.get_string();
      return WriteString(std::string_view(s.data(), s.size()), out);
    }
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        OPENPCC_RETURN_IF_ERROR(WriteValue(element, out, depth + 1, max_depth));
      }
      out.push_back(']');
      return OkStatus();
    }
    case json::kind::object: {
      const auto& object = v.get_object();
      struct Member {
        std::vector<uint16_t> key16;
        const json::key_value_pair* pair;
      };
      std::vector<Member> members;
      members.reserve(object.size());
      for (const auto& pair : object) {
        OPENPCC_ASSIGN_OR_RETURN(auto units, Utf16Units(std::string_view(pair.key().data(), pair.key().size())));
        members.push_back({std::move(units), &pair});
      }
      std::sort(members.begin(), members.end(),
                [](const Member& a, const Member& b) { return a.key16 < b.key16; });
      out.push_back('{');
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0) {
          if (members[i].key16 == members[i - 1].key16) {
            return Error(ErrorCode::kMalformed, "jcs: duplicate member name");
          }
          out.push_back(',');
        }
        const auto key = members[i].pair->key();
        OPENPCC_RETURN_IF_ERROR(WriteString(std::string_view(key.data(), key.size()), out));
        out.push_back(':');
        OPENPCC_RETURN_IF_ERROR(WriteValue(members[i].pair->value(), out, depth + 1, max_depth));
      }
      out.push_back('}');
      return OkStatus();
    }
  }
  return Error(ErrorCode::kInternal, "jcs: unknown JSON kind");
}

}  // namespace

Result<std::string> Canonicalize(const json::value& value, size_t max_depth) {
  std::string out;
  OPENPCC_RETURN_IF_ERROR(WriteValue(value, out, 0, max_depth));
  return out;
}

Result<json::value> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error(ErrorCode::kOutOfRange, "json: text is " + std::to_string(text.size()) +
                                             " bytes, limit " + std::to_string(limits.max_bytes));
  }
  json::parse_options options;
  options.max_depth = limits.max_depth;
  boost::system::error_code ec;
  json::value value = json::parse(json::string_view(text.data(), text.size()), ec, json::storage_ptr(), options);
  if (ec) return Error(ErrorCode::kMalformed, "json: " + ec.message());
  return value;
}

Result<json::value> ParseCanonicalJson(std::string_view text, const JsonLimits& limits) {
  OPENPCC_ASSIGN_OR_RETURN(auto value, ParseJson(text, limits));
  OPENPCC_ASSIGN_OR_RETURN(auto canonical, Canonicalize(value, limits.max_depth));
  if (canonical != text) {
    return Error(ErrorCode::kMalformed, "json: text is not in RFC 8785 canonical form (member order, "
                                        "whitespace, escapes, number spelling or a duplicate name)");
  }
  return value;
}

}  // namespace openpcc::wire
