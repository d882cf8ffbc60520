#include "openpcc/tokens/auth_scheme.h"

#include <charconv>
#include <string>

#include "openpcc/tokens/base64url.h"

namespace openpcc::tokens {
namespace {

struct AuthParam {
  std::string name;  // lower-cased
  std::string value;
};

struct AuthChallenge {
  std::string scheme;  // as sent
  bool has_token68 = false;
  std::vector<AuthParam> params;
};

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken68Char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

Error Bad(const std::string& what) { return Error(ErrorCode::kMalformed, "auth: " + what); }

// A cursor over one header value. Every read checks bounds.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  bool eof() const { return pos_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[pos_]; }
  size_t pos() const { return pos_; }
  void set_pos(size_t p) { pos_ = p; }
  void Advance() { ++pos_; }
  // Optional whitespace: SP / HTAB. Returns whether any was skipped.
  bool SkipOws() {
    const size_t start = pos_;
    while (!eof() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    return pos_ != start;
  }
  std::string_view Token() {
    const size_t start = pos_;
    while (!eof() && IsTchar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, at the opening quote.
  Result<std::string> QuotedString() {
    ++pos_;
    std::string out;
    while (!eof()) {
      const auto c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return out;
      if (c == '\\') {
        if (eof()) break;
        const auto e = static_cast<unsigned char>(s_[pos_++]);
        if (e != '\t' && (e < 0x20 || e == 0x7f)) return Bad("control character in quoted-pair");
        out.push_back(static_cast<char>(e));
        continue;
      }
      if (c != '\t' && (c < 0x20 || c == 0x7f)) return Bad("control character in quoted-string");
      out.push_back(static_cast<char>(c));
    }
    return Bad("unterminated quoted-string");
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// RFC 9110 §11.6.1: #challenge, with credentials (one challenge) as the special case.
Result<std::vector<AuthChallenge>> ParseChallenges(std::string_view value) {
  if (value.size() > kMaxAuthHeaderLength) {
    return Error(ErrorCode::kOutOfRange, "auth: header longer than 16384 bytes");
  }
  Lexer lx(value);
  std::vector<AuthChallenge> out;
  while (true) {
    while (lx.SkipOws() || lx.peek() == ',') {
      if (lx.peek() == ',') lx.Advance();
    }
    if (lx.eof()) break;
    AuthChallenge ch;
    ch.scheme = std::string(lx.Token());
    if (ch.scheme.empty()) return Bad("expected an auth-scheme");
    if (out.size() == kMaxAuthChallenges) {
      return Error(ErrorCode::kOutOfRange, "auth: more than 16 challenges");
    }
    const bool spaced = lx.SkipOws();
    bool first = true;
    bool next_challenge = false;
    while (spaced && !lx.eof() && lx.peek() != ',' && !next_challenge) {
      const size_t element_start = lx.pos();
      std::string_view name = lx.Token();
      if (name.empty()) {
        // token68 with characters outside tchar ('/'), only as the first element.
        while (!lx.eof() && IsToken68Char(lx.peek())) lx.Advance();
        if (!first || lx.pos() == element_start) return Bad("expected an auth-param");
        while (lx.peek() == '=') lx.Advance();
        ch.has_token68 = true;
        lx.SkipOws();
        break;
      }
      const size_t after_name = lx.pos();
      lx.SkipOws();
      if (lx.peek() != '=') {
        if (first) {
          // token68 without padding ("Bearer abc").
          lx.set_pos(after_name);
          ch.has_token68 = true;
          lx.SkipOws();
          break;
        }
        lx.set_pos(element_start);  // the scheme of the next challenge
        next_challenge = true;
        break;
      }
      lx.Advance();
      lx.SkipOws();
      AuthParam param;
      for (char c : name) param.name.push_back(Lower(c));
      if (lx.peek() == '"') {
        OPENPCC_ASSIGN_OR_RETURN(param.value, lx.QuotedString());
      } else {
        std::string_view v = lx.Token();
        if (v.empty()) {
          // "name=" or "abc==": a token68 when it is the first and only element.
          while (lx.peek() == '=') lx.Advance();
          lx.SkipOws();
          if (first && (lx.eof() || lx.peek() == ',')) {
            ch.has_token68 = true;
            break;
          }
          return Bad("parameter " + param.name + " has no value");
        }
        param.value = std::string(v);
      }
      for (const AuthParam& p : ch.params) {
        if (p.name == param.name) return Bad("parameter " + param.name + " repeated");
      }
      if (ch.params.size() == kMaxAuthParams) {
        return Error(ErrorCode::kOutOfRange, "auth: more than 32 parameters in a challenge");
      }
      ch.params.push_back(std::move(param));
      first = false;
      lx.SkipOws();
      if (lx.eof()) break;
      if (lx.peek() != ',') return Bad("expected ',' after parameter " + ch.params.back().name);
      // Skip the comma (and empty list elements); the next element is a parameter or a scheme.
      while (lx.peek() == ',' || lx.SkipOws()) {
        if (lx.peek() == ',') lx.Advance();
      }
    }
    if (!spaced && !lx.eof() && lx.peek() != ',') return Bad("expected a space after the scheme");
    out.push_back(std::move(ch));
  }
  return out;
}

const AuthParam* Find(const AuthChallenge& ch, std::string_view name) {
  for (const AuthParam& p : ch.params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<Bytes> DecodeParam(const AuthChallenge& ch, std::string_view name) {
  const AuthParam* p = Find(ch, name);
  if (p == nullptr) return Bad("PrivateToken " + std::string(name) + " parameter missing");
  auto decoded = Base64UrlDecode(p->value);
  if (!decoded.ok()) {
    return Bad("PrivateToken " + std::string(name) + " is not base64url");
  }
  if (decoded->empty()) return Bad("PrivateToken " + std::string(name) + " is empty");
  return decoded;
}

}  // namespace

Result<std::vector<PrivateTokenChallenge>> ParseWwwAuthenticate(std::string_view value) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<AuthChallenge> all, ParseChallenges(value));
  std::vector<PrivateTokenChallenge> out;
  for (const AuthChallenge& ch : all) {
    if (!EqualsIgnoreCase(ch.scheme, "PrivateToken")) continue;
    if (ch.has_token68) return Bad("PrivateToken challenge carries a token68");
    PrivateTokenChallenge pt;
    OPENPCC_ASSIGN_OR_RETURN(pt.challenge, DecodeParam(ch, "challenge"));
    OPENPCC_ASSIGN_OR_RETURN(pt.token_key, DecodeParam(ch, "token-key"));
    if (pt.challenge.size() < 2) return Bad("PrivateToken challenge shorter than its token_type");
    pt.token_type = static_cast<uint16_t>((pt.challenge[0] << 8) | pt.challenge[1]);
    if (const AuthParam* age = Find(ch, "max-age")) {
      uint32_t v = 0;
      const char* begin = age->value.data();
      const char* end = begin + age->value.size();
      auto [ptr, ec] = std::from_chars(begin, end, v);
      if (age->value.empty() || ec != std::errc() || ptr != end) {
        return Bad("PrivateToken max-age is not a decimal number below 2^32");
      }
      pt.max_age = v;
    }
    out.push_back(std::move(pt));
  }
  return out;
}

std::string FormatWwwAuthenticate(std::span<const PrivateTokenChallenge> challenges) {
  std::string out;
  for (const PrivateTokenChallenge& c : challenges) {
    if (!out.empty()) out += ", ";
    out += "PrivateToken challenge=\"" + Base64UrlEncode(c.challenge) + "\", token-key=\"" +
           Base64UrlEncode(c.token_key) + "\"";
    if (c.max_age) out += ", max-age=" + std::to_string(*c.max_age);
  }
  return out;
}

Result<Bytes> ParseAuthorization(std::string_view value) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<AuthChallenge> all, ParseChallenges(value));
  if (all.size() != 1) return Bad("Authorization carries " + std::to_string(all.size()) +
                                  " credentials, expected 1");
  const AuthChallenge& ch = all.front();
  if (!EqualsIgnoreCase(ch.scheme, "PrivateToken")) {
    return Error(ErrorCode::kUnsupported, "auth: Authorization scheme is not PrivateToken");
  }
  if (ch.has_token68) return Bad("PrivateToken credential carries a token68");
  return DecodeParam(ch, "token");
}

std::string FormatAuthorization(ByteView token) {
  return "PrivateToken token=\"" + Base64UrlEncode(token) + "\"";
}

}  // namespace openpcc::tokens
