#include "openpcc/attest/tdx/collateral.h"

#include <boost/json.hpp>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/signature.h"

namespace openpcc::attest::tdx {
namespace json = boost::json;
namespace {

constexpr int kMaxDepth = 32;

Error Bad(std::string_view what, std::string message) {
  return Error(ErrorCode::kMalformed, std::string(what) + ": " + std::move(message));
}

// A cursor over JSON text that finds where values begin and end, without building them. It only
// has to be right about structure (strings, nesting); the value it delimits is then parsed in full.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  // A string's raw contents (escapes left as written).
  bool String(std::string_view* out) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    size_t start = ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\\') {
        pos_ += 2;
        continue;
      }
      if (c == '"') {
        *out = text_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      ++pos_;
    }
    return false;
  }
  bool SkipValue(int depth) {
    if (depth > kMaxDepth) return false;
    SkipSpace();
    if (pos_ >= text_.size()) return false;
    char c = text_[pos_];
    if (c == '"') {
      std::string_view ignored;
      return String(&ignored);
    }
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      ++pos_;
      if (Consume(close)) return true;
      while (true) {
        if (c == '{') {
          std::string_view key;
          if (!String(&key) || !Consume(':')) return false;
        }
        if (!SkipValue(depth + 1)) return false;
        if (Consume(close)) return true;
        if (!Consume(',')) return false;
      }
    }
    size_t start = pos_;
    while (pos_ < text_.size()) {
      char d = text_[pos_];
      bool literal = (d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || d == '-' || d == '+' ||
                     d == '.' || d == 'E';
      if (!literal) break;
      ++pos_;
    }
    return pos_ > start;
  }
  size_t pos() const { return pos_; }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

template <size_t N>
Status HexField(std::string_view what, std::string_view name, std::string_view text,
                std::array<uint8_t, N>& out) {
  Result<Bytes> bytes = HexDecode(text);
  if (!bytes.ok() || bytes->size() != N) {
    return Bad(what, std::string(name) + " is not " + std::to_string(N) + " bytes of hex");
  }
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return OkStatus();
}

Result<const json::value*> Member(std::string_view what, const json::object& obj,
                                  std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return Bad(what, "missing \"" + std::string(key) + "\"");
  return v;
}

Result<std::string_view> StringMember(std::string_view what, const json::object& obj,
                                      std::string_view key) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Member(what, obj, key));
  if (!v->is_string()) return Bad(what, "\"" + std::string(key) + "\" is not a string");
  return std::string_view(v->get_string());
}

Result<int64_t> IntMember(std::string_view what, const json::object& obj, std::string_view key,
                          int64_t max) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Member(what, obj, key));
  int64_t n = -1;
  if (v->is_int64()) n = v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(max)) {
    n = static_cast<int64_t>(v->get_uint64());
  }
  if (n < 0 || n > max) {
    return Bad(what, "\"" + std::string(key) + "\" is not an integer in 0.." + std::to_string(max));
  }
  return n;
}

Result<const json::object*> ObjectMember(std::string_view what, const json::object& obj,
                                         std::string_view key) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Member(what, obj, key));
  if (!v->is_object()) return Bad(what, "\"" + std::string(key) + "\" is not an object");
  return &v->get_object();
}

Result<const json::array*> ArrayMember(std::string_view what, const json::object& obj,
                                       std::string_view key) {
  OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Member(what, obj, key));
  if (!v->is_array()) return Bad(what, "\"" + std::string(key) + "\" is not an array");
  return &v->get_array();
}

Result<std::chrono::sys_seconds> TimeMember(std::string_view what, const json::object& obj,
                                            std::string_view key) {
  OPENPCC_ASSIGN_OR_RETURN(std::string_view text, StringMember(what, obj, key));
  Result<std::chrono::sys_seconds> t = crypto::ParseUtcTime(text);
  if (!t.ok()) return Bad(what, "\"" + std::string(key) + "\": " + t.error().message());
  return *t;
}

Result<json::object> ParseObject(std::string_view what, std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Bad(what, "not valid JSON (" + ec.message() + ")");
  if (!v.is_object()) return Bad(what, "not a JSON object");
  return std::move(v.get_object());
}

// The 16 component SVNs of a v3 level: [{"svn": N, ...}, ...].
Status Components(std::string_view what, const json::object& tcb, std::string_view key,
                  std::array<uint8_t, 16>& out) {
  OPENPCC_ASSIGN_OR_RETURN(const json::array* arr, ArrayMember(what, tcb, key));
  if (arr->size() != 16) return Bad(what, "\"" + std::string(key) + "\" does not have 16 entries");
  for (size_t i = 0; i < 16; ++i) {
    if (!(*arr)[i].is_object()) return Bad(what, "\"" + std::string(key) + "\" entry is not an object");
    OPENPCC_ASSIGN_OR_RETURN(int64_t svn, IntMember(what, (*arr)[i].get_object(), "svn", 255));
    out[i] = static_cast<uint8_t>(svn);
  }
  return OkStatus();
}

Result<std::vector<IsvSvnLevel>> IsvSvnLevels(std::string_view what, const json::object& obj) {
  OPENPCC_ASSIGN_OR_RETURN(const json::array* arr, ArrayMember(what, obj, "tcbLevels"));
  std::vector<IsvSvnLevel> out;
  for (const json::value& item : *arr) {
    if (!item.is_object()) return Bad(what, "a TCB level is not an object");
    const json::object& level = item.get_object();
    IsvSvnLevel l;
    OPENPCC_ASSIGN_OR_RETURN(const json::object* tcb, ObjectMember(what, level, "tcb"));
    OPENPCC_ASSIGN_OR_RETURN(int64_t isvsvn, IntMember(what, *tcb, "isvsvn", 65535));
    l.isv_svn = static_cast<uint16_t>(isvsvn);
    OPENPCC_ASSIGN_OR_RETURN(std::string_view date, StringMember(what, level, "tcbDate"));
    l.tcb_date = std::string(date);
    OPENPCC_ASSIGN_OR_RETURN(std::string_view status, StringMember(what, level, "tcbStatus"));
    Result<TcbStatus> parsed = ParseTcbStatus(status);
    if (!parsed.ok()) return Bad(what, parsed.error().message());
    l.status = *parsed;
    out.push_back(std::move(l));
  }
  return out;
}

Result<TdxModuleIdentity> ModuleIdentity(std::string_view what, const json::object& obj,
                                         bool with_levels) {
  TdxModuleIdentity m;
  if (with_levels) {
    OPENPCC_ASSIGN_OR_RETURN(std::string_view id, StringMember(what, obj, "id"));
    m.id = std::string(id);
  }
  OPENPCC_ASSIGN_OR_RETURN(std::string_view signer, StringMember(what, obj, "mrsigner"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "tdx module mrsigner", signer, m.mr_signer));
  OPENPCC_ASSIGN_OR_RETURN(std::string_view attrs, StringMember(what, obj, "attributes"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "tdx module attributes", attrs, m.attributes));
  OPENPCC_ASSIGN_OR_RETURN(std::string_view mask, StringMember(what, obj, "attributesMask"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "tdx module attributesMask", mask, m.attributes_mask));
  if (with_levels) {
    OPENPCC_ASSIGN_OR_RETURN(m.levels, IsvSvnLevels(what, obj));
  }
  return m;
}

std::string UrlDecode(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        nibble(text[i + 1]) >= 0 && nibble(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(nibble(text[i + 1]) * 16 + nibble(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view TcbStatusName(TcbStatus status) {
  switch (status) {
    case TcbStatus::kUpToDate: return "UpToDate";
    case TcbStatus::kSWHardeningNeeded: return "SWHardeningNeeded";
    case TcbStatus::kConfigurationNeeded: return "ConfigurationNeeded";
    case TcbStatus::kConfigurationAndSWHardeningNeeded: return "ConfigurationAndSWHardeningNeeded";
    case TcbStatus::kOutOfDate: return "OutOfDate";
    case TcbStatus::kOutOfDateConfigurationNeeded: return "OutOfDateConfigurationNeeded";
    case TcbStatus::kRevoked: return "Revoked";
    case TcbStatus::kNoMatchingLevel: return "NoMatchingLevel";
  }
  return "?";
}

Result<TcbStatus> ParseTcbStatus(std::string_view text) {
  for (TcbStatus s : {TcbStatus::kUpToDate, TcbStatus::kSWHardeningNeeded,
                      TcbStatus::kConfigurationNeeded, TcbStatus::kConfigurationAndSWHardeningNeeded,
                      TcbStatus::kOutOfDate, TcbStatus::kOutOfDateConfigurationNeeded,
                      TcbStatus::kRevoked}) {
    if (text == TcbStatusName(s)) return s;
  }
  return Error(ErrorCode::kUnsupported, "unknown tcbStatus \"" + std::string(text.substr(0, 64)) + "\"");
}

Result<SignedJson> ExtractSignedJson(std::string_view body, std::string_view key) {
  const std::string what = "tdx: collateral \"" + std::string(key) + "\"";
  Scanner s(body);
  if (!s.Consume('{')) return Bad(what, "body is not a JSON object");
  std::optional<std::string_view> value, signature;
  if (!s.Consume('}')) {
    while (true) {
      std::string_view name;
      if (!s.String(&name) || !s.Consume(':')) return Bad(what, "body is not valid JSON");
      s.SkipSpace();
      size_t start = s.pos();
      if (!s.SkipValue(0)) return Bad(what, "body is not valid JSON");
      std::string_view raw = body.substr(start, s.pos() - start);
      if (name == key || name == "signature") {
        std::optional<std::string_view>& slot = name == key ? value : signature;
        if (slot) return Bad(what, "duplicate member \"" + std::string(name) + "\"");
        slot = raw;
      }
      if (s.Consume('}')) break;
      if (!s.Consume(',')) return Bad(what, "body is not valid JSON");
    }
  }
  if (!s.AtEnd()) return Bad(what, "bytes after the JSON body");
  if (!value) return Bad(what, "body has no \"" + std::string(key) + "\" member");
  if (!signature) return Bad(what, "body has no \"signature\" member");
  SignedJson out;
  out.value = *value;
  std::string_view sig = *signature;
  if (sig.size() < 2 || sig.front() != '"' || sig.back() != '"') {
    return Bad(what, "\"signature\" is not a string");
  }
  OPENPCC_RETURN_IF_ERROR(HexField(what, "signature", sig.substr(1, sig.size() - 2), out.signature));
  return out;
}

Result<TcbInfo> ParseTcbInfo(std::string_view text) {
  constexpr std::string_view what = "tdx: TCB info";
  OPENPCC_ASSIGN_OR_RETURN(json::object obj, ParseObject(what, text));
  TcbInfo info;
  if (obj.contains("id")) {
    OPENPCC_ASSIGN_OR_RETURN(std::string_view id, StringMember(what, obj, "id"));
    info.id = std::string(id);
  }
  OPENPCC_ASSIGN_OR_RETURN(int64_t version, IntMember(what, obj, "version", 1000));
  info.version = static_cast<int>(version);
  if (info.version != 2 && info.version != 3) {
    return Error(ErrorCode::kUnsupported, std::string(what) + ": version " +
                                              std::to_string(version) + " (expected 2 or 3)");
  }
  OPENPCC_ASSIGN_OR_RETURN(info.issue_date, TimeMember(what, obj, "issueDate"));
  OPENPCC_ASSIGN_OR_RETURN(info.next_update, TimeMember(what, obj, "nextUpdate"));
  OPENPCC_ASSIGN_OR_RETURN(std::string_view fmspc, StringMember(what, obj, "fmspc"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "fmspc", fmspc, info.fmspc));
  OPENPCC_ASSIGN_OR_RETURN(std::string_view pce_id, StringMember(what, obj, "pceId"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "pceId", pce_id, info.pce_id));
  OPENPCC_ASSIGN_OR_RETURN(int64_t eval, IntMember(what, obj, "tcbEvaluationDataNumber", 1 << 30));
  info.tcb_evaluation_data_number = static_cast<int>(eval);
  if (const json::value* module = obj.if_contains("tdxModule")) {
    if (!module->is_object()) return Bad(what, "\"tdxModule\" is not an object");
    OPENPCC_ASSIGN_OR_RETURN(info.tdx_module, ModuleIdentity(what, module->get_object(), false));
  }
  if (const json::value* ids = obj.if_contains("tdxModuleIdentities")) {
    if (!ids->is_array()) return Bad(what, "\"tdxModuleIdentities\" is not an array");
    for (const json::value& item : ids->get_array()) {
      if (!item.is_object()) return Bad(what, "a tdxModuleIdentities entry is not an object");
      OPENPCC_ASSIGN_OR_RETURN(TdxModuleIdentity m, ModuleIdentity(what, item.get_object(), true));
      info.tdx_module_identities.push_back(std::move(m));
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(const json::array* levels, ArrayMember(what, obj, "tcbLevels"));
  for (const json::value& item : *levels) {
    if (!item.is_object()) return Bad(what, "a TCB level is not an object");
    const json::object& level = item.get_object();
    TcbLevel l;
    OPENPCC_ASSIGN_OR_RETURN(const json::object* tcb, ObjectMember(what, level, "tcb"));
    if (info.version >= 3) {
      OPENPCC_RETURN_IF_ERROR(Components(what, *tcb, "sgxtcbcomponents", l.sgx_components));
      if (tcb->contains("tdxtcbcomponents")) {
        std::array<uint8_t, 16> tdx{};
        OPENPCC_RETURN_IF_ERROR(Components(what, *tcb, "tdxtcbcomponents", tdx));
        l.tdx_components = tdx;
      }
    } else {
      for (size_t i = 0; i < 16; ++i) {
        char name[24];
        std::snprintf(name, sizeof(name), "sgxtcbcomp%02zusvn", i + 1);
        OPENPCC_ASSIGN_OR_RETURN(int64_t svn, IntMember(what, *tcb, name, 255));
        l.sgx_components[i] = static_cast<uint8_t>(svn);
      }
    }
    OPENPCC_ASSIGN_OR_RETURN(int64_t pcesvn, IntMember(what, *tcb, "pcesvn", 65535));
    l.pce_svn = static_cast<uint16_t>(pcesvn);
    OPENPCC_ASSIGN_OR_RETURN(std::string_view date, StringMember(what, level, "tcbDate"));
    l.tcb_date = std::string(date);
    OPENPCC_ASSIGN_OR_RETURN(std::string_view status, StringMember(what, level, "tcbStatus"));
    Result<TcbStatus> parsed = ParseTcbStatus(status);
    if (!parsed.ok()) return Bad(what, parsed.error().message());
    l.status = *parsed;
    if (const json::value* ids = level.if_contains("advisoryIDs"); ids && ids->is_array()) {
      for (const json::value& id : ids->get_array()) {
        if (id.is_string()) l.advisory_ids.emplace_back(id.get_string());
      }
    }
    info.levels.push_back(std::move(l));
  }
  return info;
}

Result<QeIdentity> ParseQeIdentity(std::string_view text) {
  constexpr std::string_view what = "tdx: QE identity";
  OPENPCC_ASSIGN_OR_RETURN(json::object obj, ParseObject(what, text));
  QeIdentity qe;
  OPENPCC_ASSIGN_OR_RETURN(std::string_view id, StringMember(what, obj, "id"));
  qe.id = std::string(id);
  OPENPCC_ASSIGN_OR_RETURN(int64_t version, IntMember(what, obj, "version", 1000));
  qe.version = static_cast<int>(version);
  if (qe.version != 2) {
    return Error(ErrorCode::kUnsupported,
                 std::string(what) + ": version " + std::to_string(version) + " (expected 2)");
  }
  OPENPCC_ASSIGN_OR_RETURN(qe.issue_date, TimeMember(what, obj, "issueDate"));
  OPENPCC_ASSIGN_OR_RETURN(qe.next_update, TimeMember(what, obj, "nextUpdate"));
  OPENPCC_ASSIGN_OR_RETURN(int64_t eval, IntMember(what, obj, "tcbEvaluationDataNumber", 1 << 30));
  qe.tcb_evaluation_data_number = static_cast<int>(eval);
  // MISCSELECT is written as the hex of the 32-bit value.
  std::array<uint8_t, 4> misc{}, misc_mask{};
  OPENPCC_ASSIGN_OR_RETURN(std::string_view misc_text, StringMember(what, obj, "miscselect"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "miscselect", misc_text, misc));
  OPENPCC_ASSIGN_OR_RETURN(std::string_view mask_text, StringMember(what, obj, "miscselectMask"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "miscselectMask", mask_text, misc_mask));
  for (size_t i = 0; i < 4; ++i) {
    qe.misc_select = (qe.misc_select << 8) | misc[i];
    qe.misc_select_mask = (qe.misc_select_mask << 8) | misc_mask[i];
  }
  OPENPCC_ASSIGN_OR_RETURN(std::string_view attrs, StringMember(what, obj, "attributes"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "attributes", attrs, qe.attributes));
  OPENPCC_ASSIGN_OR_RETURN(std::string_view amask, StringMember(what, obj, "attributesMask"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "attributesMask", amask, qe.attributes_mask));
  OPENPCC_ASSIGN_OR_RETURN(std::string_view signer, StringMember(what, obj, "mrsigner"));
  OPENPCC_RETURN_IF_ERROR(HexField(what, "mrsigner", signer, qe.mr_signer));
  OPENPCC_ASSIGN_OR_RETURN(int64_t prod, IntMember(what, obj, "isvprodid", 65535));
  qe.isv_prod_id = static_cast<uint16_t>(prod);
  OPENPCC_ASSIGN_OR_RETURN(qe.levels, IsvSvnLevels(what, obj));
  return qe;
}

Result<std::vector<crypto::Certificate>> ParseIssuerChain(ByteView pem_or_url_encoded) {
  std::string_view text = AsChars(pem_or_url_encoded);
  std::string decoded;
  if (text.find("-----BEGIN") == std::string_view::npos && text.find('%') != std::string_view::npos) {
    decoded = UrlDecode(text);
    text = decoded;
  }
  Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParseAll(AsBytes(text));
  if (!certs.ok()) {
    return Error(ErrorCode::kMalformed, "tdx: collateral issuer chain: " + certs.error().message());
  }
  return certs;
}

Status CheckCollateralWindow(std::string_view what, std::chrono::sys_seconds issue_date,
                             std::chrono::sys_seconds next_update, std::chrono::sys_seconds at) {
  if (at < issue_date) {
    return Error(ErrorCode::kFailedPrecondition,
                 std::string(what) + ": issueDate " + crypto::FormatUtcTime(issue_date) +
                     " is after the evaluation time " + crypto::FormatUtcTime(at));
  }
  if (at > next_update) {
    return Error(ErrorCode::kFailedPrecondition,
                 std::string(what) + ": past nextUpdate " + crypto::FormatUtcTime(next_update) +
                     " at the evaluation time " + crypto::FormatUtcTime(at));
  }
  return OkStatus();
}

Status VerifyCollateralSignature(std::string_view what, const SignedJson& signed_json,
                                 std::span<const crypto::Certificate> chain,
                                 std::span<const crypto::Certificate> roots,
                                 const std::vector<crypto::Crl>& crls, std::chrono::sys_seconds at) {
  if (chain.empty()) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + ": empty issuer chain");
  }
  const crypto::Certificate& signer = chain.front();
  // Any certificate under Intel's root (a PCK certificate too) would chain; only the TCB Signing
  // certificate may sign collateral.
  if (signer.Subject().find("CN=Intel SGX TCB Signing") == std::string::npos) {
    return Error(ErrorCode::kAuthenticationFailed,
                 std::string(what) + ": issuer chain leaf is \"" + signer.Subject() +
                     "\", expected CN=Intel SGX TCB Signing");
  }
  crypto::ChainPolicy policy{at, crls};
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyChain(what, signer, chain.subspan(1), roots, policy));
  ByteView r(signed_json.signature.data(), 32);
  ByteView s(signed_json.signature.data() + 32, 32);
  return crypto::VerifyEcdsaRaw(std::string(what) + ": signature by Intel SGX TCB Signing",
                                signer.PublicKey(), crypto::HashId::kSha256,
                                AsBytes(signed_json.value), r, s);
}

}  // namespace openpcc::attest::tdx
