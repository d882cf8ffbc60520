#include "openpcc/tlog/release.h"

#include <algorithm>
#include <set>

#include <boost/json.hpp>

#include "openpcc/crypto/hash.h"
#include "openpcc/wire/jcs.h"

namespace openpcc::tlog {
namespace {

namespace json = boost::json;

constexpr size_t kMaxStringLength = 1024;
constexpr size_t kMaxListLength = 256;

Error SchemaError(const std::string& where, const std::string& what) {
  return Error(ErrorCode::kMalformed, where + ": " + what);
}

// Reads the members of one JSON object and refuses any it did not read.
class Fields {
 public:
  static Result<Fields> Of(const json::value& v, std::string where) {
    if (!v.is_object()) return SchemaError(where, "is not an object");
    return Fields(v.get_object(), std::move(where));
  }

  Result<const json::value*> Get(std::string_view key) {
    seen_.insert(std::string(key));
    const json::value* v = object_->if_contains(json::string_view(key.data(), key.size()));
    if (v == nullptr) return SchemaError(where_, "member \"" + std::string(key) + "\" is missing");
    return v;
  }
  bool Has(std::string_view key) const { return object_->contains(json::string_view(key.data(), key.size())); }

  Result<std::string> String(std::string_view key, bool allow_empty = false) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Get(key));
    return StringValue(*v, Where(key), allow_empty);
  }
  Result<Bytes> Hex(std::string_view key, size_t length) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Get(key));
    return HexValue(*v, Where(key), length);
  }
  Result<uint64_t> Uint(std::string_view key, uint64_t max) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Get(key));
    return UintValue(*v, Where(key), max);
  }
  Result<const json::array*> Array(std::string_view key) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* v, Get(key));
    if (!v->is_array()) return SchemaError(Where(key), "is not an array");
    if (v->get_array().size() > kMaxListLength) return SchemaError(Where(key), "has more than 256 elements");
    return &v->get_array();
  }
  Status Done() const {
    for (const auto& member : *object_) {
      if (seen_.count(std::string(member.key())) == 0) {
        return SchemaError(where_, "unknown member \"" + std::string(member.key()) + "\"");
      }
    }
    return OkStatus();
  }
  std::string Where(std::string_view key) const { return where_ + "." + std::string(key); }

  static Result<std::string> StringValue(const json::value& v, const std::string& where, bool allow_empty = false) {
    if (!v.is_string()) return SchemaError(where, "is not a string");
    const auto& s = v.get_string();
    if (s.empty() && !allow_empty) return SchemaError(where, "is empty");
    if (s.size() > kMaxStringLength) return SchemaError(where, "is longer than 1024 bytes");
    return std::string(s);
  }
  static Result<Bytes> HexValue(const json::value& v, const std::string& where, size_t length) {
    OPENPCC_ASSIGN_OR_RETURN(auto s, StringValue(v, where));
    auto bytes = HexDecode(s);
    if (!bytes.ok() || bytes->size() != length || HexEncode(*bytes) != s) {
      return SchemaError(where, "is not " + std::to_string(length * 2) + " lowercase hex digits");
    }
    return std::move(bytes).value();
  }
  static Result<uint64_t> UintValue(const json::value& v, const std::string& where, uint64_t max) {
    uint64_t n = 0;
    if (v.is_uint64()) {
      n = v.get_uint64();
    } else if (v.is_int64() && v.get_int64() >= 0) {
      n = static_cast<uint64_t>(v.get_int64());
    } else {
      return SchemaError(where, "is not a non-negative integer");
    }
    if (n > max) return SchemaError(where, "is above " + std::to_string(max));
    return n;
  }

 private:
  Fields(const json::object& object, std::string where) : object_(&object), where_(std::move(where)) {}
  const json::object* object_;
  std::string where_;
  std::set<std::string> seen_;
};

Status ExpectType(Fields& f, std::string_view type) {
  OPENPCC_ASSIGN_OR_RETURN(auto t, f.String("type"));
  if (t != type) return SchemaError(f.Where("type"), "is \"" + t + "\", expected \"" + std::string(type) + "\"");
  return OkStatus();
}

Result<std::vector<Bytes>> HexList(Fields& f, std::string_view key, size_t length, bool non_empty) {
  OPENPCC_ASSIGN_OR_RETURN(const json::array* a, f.Array(key));
  if (non_empty && a->empty()) return SchemaError(f.Where(key), "is empty");
  std::vector<Bytes> out;
  for (size_t i = 0; i < a->size(); ++i) {
    OPENPCC_ASSIGN_OR_RETURN(auto b, Fields::HexValue((*a)[i], f.Where(key) + "[" + std::to_string(i) + "]", length));
    out.push_back(std::move(b));
  }
  return out;
}

json::array HexArray(const std::vector<Bytes>& list) {
  json::array a;
  for (const auto& b : list) a.emplace_back(HexEncode(b));
  return a;
}

}  // namespace

Result<ReleaseManifest> ParseReleaseManifest(const json::value& v) {
  OPENPCC_ASSIGN_OR_RETURN(auto f, Fields::Of(v, "release"));
  OPENPCC_RETURN_IF_ERROR(ExpectType(f, "openpcc-release/v1"));
  ReleaseManifest m;
  OPENPCC_ASSIGN_OR_RETURN(m.version, f.String("version"));
  OPENPCC_ASSIGN_OR_RETURN(m.source_revision, f.String("source_revision"));
  OPENPCC_ASSIGN_OR_RETURN(m.build_recipe_sha256, f.Hex("build_recipe_sha256", 32));
  OPENPCC_ASSIGN_OR_RETURN(m.node_binary_sha256, f.Hex("node_binary_sha256", 32));
  OPENPCC_ASSIGN_OR_RETURN(const json::array* models, f.Array("models"));
  std::set<std::string> model_names;
  for (size_t i = 0; i < models->size(); ++i) {
    OPENPCC_ASSIGN_OR_RETURN(auto mf, Fields::Of((*models)[i], "release.models[" + std::to_string(i) + "]"));
    ModelDigest d;
    OPENPCC_ASSIGN_OR_RETURN(d.name, mf.String("name"));
    OPENPCC_ASSIGN_OR_RETURN(d.sha256, mf.Hex("sha256", 32));
    OPENPCC_RETURN_IF_ERROR(mf.Done());
    if (!model_names.insert(d.name).second) return SchemaError("release.models", "names \"" + d.name + "\" twice");
    m.models.push_back(std::move(d));
  }
  OPENPCC_ASSIGN_OR_RETURN(const json::value* platforms_value, f.Get("platforms"));
  OPENPCC_ASSIGN_OR_RETURN(auto pf, Fields::Of(*platforms_value, "release.platforms"));
  if (pf.Has("sev-snp")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* s, pf.Get("sev-snp"));
    OPENPCC_ASSIGN_OR_RETURN(auto sf, Fields::Of(*s, "release.platforms.sev-snp"));
    SnpReference r;
    OPENPCC_ASSIGN_OR_RETURN(r.measurements, HexList(sf, "measurements", 48, true));
    OPENPCC_ASSIGN_OR_RETURN(auto policy, sf.Hex("policy", 8));
    for (uint8_t b : policy) r.policy = (r.policy << 8) | b;
    OPENPCC_ASSIGN_OR_RETURN(auto vmpl, sf.Uint("vmpl", 3));
    r.vmpl = static_cast<uint32_t>(vmpl);
    OPENPCC_ASSIGN_OR_RETURN(r.host_data, sf.Hex("host_data", 32));
    OPENPCC_ASSIGN_OR_RETURN(r.id_key_digest, sf.Hex("id_key_digest", 48));
    OPENPCC_RETURN_IF_ERROR(sf.Done());
    m.snp = std::move(r);
  }
  if (pf.Has("tdx")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* t, pf.Get("tdx"));
    OPENPCC_ASSIGN_OR_RETURN(auto tf, Fields::Of(*t, "release.platforms.tdx"));
    TdxReference r;
    OPENPCC_ASSIGN_OR_RETURN(r.mrtd, HexList(tf, "mrtd", 48, true));
    OPENPCC_ASSIGN_OR_RETURN(r.rtmr0, tf.Hex("rtmr0", 48));
    OPENPCC_ASSIGN_OR_RETURN(r.rtmr1, tf.Hex("rtmr1", 48));
    OPENPCC_ASSIGN_OR_RETURN(r.rtmr2, tf.Hex("rtmr2", 48));
    OPENPCC_ASSIGN_OR_RETURN(r.mrconfigid, tf.Hex("mrconfigid", 48));
    OPENPCC_ASSIGN_OR_RETURN(r.mrowner, tf.Hex("mrowner", 48));
    OPENPCC_ASSIGN_OR_RETURN(r.mrownerconfig, tf.Hex("mrownerconfig", 48));
    OPENPCC_RETURN_IF_ERROR(tf.Done());
    m.tdx = std::move(r);
  }
  if (pf.Has("tpm")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* t, pf.Get("tpm"));
    OPENPCC_ASSIGN_OR_RETURN(auto tf, Fields::Of(*t, "release.platforms.tpm"));
    OPENPCC_ASSIGN_OR_RETURN(const json::value* pcrs, tf.Get("pcrs"));
    if (!pcrs->is_object() || pcrs->get_object().empty()) {
      return SchemaError("release.platforms.tpm.pcrs", "is not a non-empty object");
    }
    TpmReference r;
    for (const auto& member : pcrs->get_object()) {
      const std::string key(member.key());
      uint32_t index = 0;
      bool ok = !key.empty() && key.size() <= 2 && (key.size() == 1 || key[0] != '0');
      for (char c : key) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) index = index * 10 + static_cast<uint32_t>(c - '0');
      }
      if (!ok || index > 23) return SchemaError("release.platforms.tpm.pcrs", "key \"" + key + "\" is not a PCR index 0..23");
      OPENPCC_ASSIGN_OR_RETURN(r.pcrs[index], Fields::HexValue(member.value(), "release.platforms.tpm.pcrs." + key, 32));
    }
    OPENPCC_RETURN_IF_ERROR(tf.Done());
    m.tpm = std::move(r);
  }
  if (pf.Has("sim")) {
    OPENPCC_ASSIGN_OR_RETURN(const json::value* s, pf.Get("sim"));
    OPENPCC_ASSIGN_OR_RETURN(auto sf, Fields::Of(*s, "release.platforms.sim"));
    SimReference r;
    OPENPCC_ASSIGN_OR_RETURN(r.measurements, HexList(sf, "measurements", 48, true));
    OPENPCC_RETURN_IF_ERROR(sf.Done());
    m.sim = std::move(r);
  }
  OPENPCC_RETURN_IF_ERROR(pf.Done());
  if (!m.snp && !m.tdx && !m.tpm && !m.sim) return SchemaError("release.platforms", "names no platform");
  OPENPCC_ASSIGN_OR_RETURN(const json::value* gpu_value, f.Get("gpu"));
  OPENPCC_ASSIGN_OR_RETURN(auto gf, Fields::Of(*gpu_value, "release.gpu"));
  OPENPCC_ASSIGN_OR_RETURN(auto devices, gf.Uint("devices", 64));
  OPENPCC_ASSIGN_OR_RETURN(auto switches, gf.Uint("switches", 64));
  m.gpu.devices = static_cast<uint32_t>(devices);
  m.gpu.switches = static_cast<uint32_t>(switches);
  OPENPCC_ASSIGN_OR_RETURN(const json::array* rims, gf.Array("rim_ids"));
  for (size_t i = 0; i < rims->size(); ++i) {
    OPENPCC_ASSIGN_OR_RETURN(auto id, Fields::StringValue((*rims)[i], "release.gpu.rim_ids[" + std::to_string(i) + "]"));
    m.gpu.rim_ids.push_back(std::move(id));
  }
  OPENPCC_RETURN_IF_ERROR(gf.Done());
  OPENPCC_RETURN_IF_ERROR(f.Done());
  return m;
}

Result<json::value> ReleaseManifestToJson(const ReleaseManifest& m) {
  json::object o;
  o["type"] = "openpcc-release/v1";
  o["version"] = m.version;
  o["source_revision"] = m.source_revision;
  o["build_recipe_sha256"] = HexEncode(m.build_recipe_sha256);
  o["node_binary_sha256"] = HexEncode(m.node_binary_sha256);
  json::array models;
  for (const auto& d : m.models) models.push_back(json::object{{"name", d.name}, {"sha256", HexEncode(d.sha256)}});
  o["models"] = std::move(models);
  json::object platforms;
  if (m.snp) {
    uint8_t policy[8];
    for (int i = 0; i < 8; ++i) policy[i] = static_cast<uint8_t>(m.snp->policy >> (56 - 8 * i));
    platforms["sev-snp"] = json::object{{"measurements", HexArray(m.snp->measurements)},
                                        {"policy", HexEncode(policy)},
                                        {"vmpl", m.snp->vmpl},
                                        {"host_data", HexEncode(m.snp->host_data)},
                                        {"id_key_digest", HexEncode(m.snp->id_key_digest)}};
  }
  if (m.tdx) {
    platforms["tdx"] = json::object{{"mrtd", HexArray(m.tdx->mrtd)},
                                    {"rtmr0", HexEncode(m.tdx->rtmr0)},
                                    {"rtmr1", HexEncode(m.tdx->rtmr1)},
                                    {"rtmr2", HexEncode(m.tdx->rtmr2)},
                                    {"mrconfigid", HexEncode(m.tdx->mrconfigid)},
                                    {"mrowner", HexEncode(m.tdx->mrowner)},
                                    {"mrownerconfig", HexEncode(m.tdx->mrownerconfig)}};
  }
  if (m.tpm) {
    json::object pcrs;
    for (const auto& [index, value] : m.tpm->pcrs) pcrs[std::to_string(index)] = HexEncode(value);
    platforms["tpm"] = json::object{{"pcrs", std::move(pcrs)}};
  }
  if (m.sim) platforms["sim"] = json::object{{"measurements", HexArray(m.sim->measurements)}};
  o["platforms"] = std::move(platforms);
  json::array rims;
  for (const auto& id : m.gpu.rim_ids) rims.emplace_back(id);
  o["gpu"] = json::object{{"devices", m.gpu.devices}, {"switches", m.gpu.switches}, {"rim_ids", std::move(rims)}};
  json::value v(std::move(o));
  // Serialize only what parses back: the manifest is signed, so it must be readable by verifiers.
  OPENPCC_ASSIGN_OR_RETURN(auto reparsed, ParseReleaseManifest(v));
  if (!(reparsed == m)) return Error(ErrorCode::kInvalidArgument, "release: manifest does not round-trip");
  return v;
}

Bytes ReleaseIdOfBody(std::string_view canonical_body) { return crypto::Sha256(AsBytes(canonical_body)); }

Result<Bytes> ReleaseId(const ReleaseManifest& manifest) {
  OPENPCC_ASSIGN_OR_RETURN(auto v, ReleaseManifestToJson(manifest));
  OPENPCC_ASSIGN_OR_RETURN(auto text, wire::Canonicalize(v));
  return ReleaseIdOfBody(text);
}

Result<Revocation> ParseRevocation(const json::value& v) {
  OPENPCC_ASSIGN_OR_RETURN(auto f, Fields::Of(v, "revocation"));
  OPENPCC_RETURN_IF_ERROR(ExpectType(f, "openpcc-revocation/v1"));
  Revocation r;
  OPENPCC_ASSIGN_OR_RETURN(r.release_id, f.Hex("release", 32));
  OPENPCC_ASSIGN_OR_RETURN(r.reason, f.String("reason", /*allow_empty=*/true));
  OPENPCC_RETURN_IF_ERROR(f.Done());
  return r;
}

Result<json::value> RevocationToJson(const Revocation& r) {
  json::value v = json::object{{"type", "openpcc-revocation/v1"}, {"release", HexEncode(r.release_id)}, {"reason", r.reason}};
  if (auto check = ParseRevocation(v); !check.ok()) return std::move(check).error();
  return v;
}

std::vector<TcbComponent> MinimumTcbComponents(std::string_view platform) {
  if (platform == "sev-snp") {
    return {{"bootloader", 255}, {"tee", 255}, {"snp", 255}, {"microcode", 255}, {"fmc", 255}};
  }
  if (platform == "tdx") {
    static constexpr const char* kTeeTcbSvn[16] = {
        "tee_tcb_svn_0", "tee_tcb_svn_1", "tee_tcb_svn_2",  "tee_tcb_svn_3",  "tee_tcb_svn_4",  "tee_tcb_svn_5",
        "tee_tcb_svn_6", "tee_tcb_svn_7", "tee_tcb_svn_8",  "tee_tcb_svn_9",  "tee_tcb_svn_10", "tee_tcb_svn_11",
        "tee_tcb_svn_12", "tee_tcb_svn_13", "tee_tcb_svn_14", "tee_tcb_svn_15"};
    std::vector<TcbComponent> out;
    for (const char* name : kTeeTcbSvn) out.push_back({name, 255});
    out.push_back({"pce_svn", 0xffff});
    out.push_back({"qe_isv_svn", 0xffff});
    return out;
  }
  return {};
}

namespace {

std::string ComponentList(std::string_view platform) {
  if (platform == "tdx") return "tee_tcb_svn_0 .. tee_tcb_svn_15, pce_svn, qe_isv_svn";
  std::string out;
  for (const TcbComponent& c : MinimumTcbComponents(platform)) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

}  // namespace

Result<MinimumTcb> ParseMinimumTcb(const json::value& v) {
  OPENPCC_ASSIGN_OR_RETURN(auto f, Fields::Of(v, "minimum_tcb"));
  OPENPCC_RETURN_IF_ERROR(ExpectType(f, "openpcc-minimum-tcb/v1"));
  MinimumTcb t;
  OPENPCC_ASSIGN_OR_RETURN(t.platform, f.String("platform"));
  constexpr std::string_view kEnforced = "minimum-TCB notices are enforced for sev-snp and tdx only";
  if (t.platform == "tpm") {
    return SchemaError("minimum_tcb.platform",
                       "\"tpm\" has no TCB version (a TPM node is judged by the PCRs its release states); " +
                           std::string(kEnforced));
  }
  if (t.platform == "sim") {
    return SchemaError("minimum_tcb.platform", "\"sim\" is not enforced; " + std::string(kEnforced));
  }
  const std::vector<TcbComponent> known = MinimumTcbComponents(t.platform);
  if (known.empty()) {
    return SchemaError("minimum_tcb.platform", "\"" + t.platform + "\" is not sev-snp or tdx (" +
                                                   std::string(kEnforced) + ")");
  }
  OPENPCC_ASSIGN_OR_RETURN(const json::value* components, f.Get("components"));
  if (!components->is_object() || components->get_object().empty() || components->get_object().size() > 64) {
    return SchemaError("minimum_tcb.components", "is not an object of 1..64 members");
  }
  for (const auto& member : components->get_object()) {
    const std::string name(member.key());
    const auto component = std::find_if(known.begin(), known.end(),
                                        [&name](const TcbComponent& c) { return c.name == name; });
    if (component == known.end()) {
      const std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
      return SchemaError("minimum_tcb.components", "\"" + shown + "\" is not a " + t.platform +
                                                       " TCB component (valid: " + ComponentList(t.platform) + ")");
    }
    OPENPCC_ASSIGN_OR_RETURN(t.components[name],
                             Fields::UintValue(member.value(), "minimum_tcb.components." + name, component->max));
  }
  OPENPCC_RETURN_IF_ERROR(f.Done());
  return t;
}

Result<json::value> MinimumTcbToJson(const MinimumTcb& t) {
  json::object components;
  for (const auto& [name, value] : t.components) components[name] = value;
  json::value v = json::object{{"type", "openpcc-minimum-tcb/v1"}, {"platform", t.platform}, {"components", std::move(components)}};
  if (auto check = ParseMinimumTcb(v); !check.ok()) return std::move(check).error();
  return v;
}

}  // namespace openpcc::tlog
