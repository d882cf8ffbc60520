#include "openpcc/attest/nvgpu/rim.h"

#include <charconv>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/signature.h"

namespace openpcc::attest::nvgpu {
namespace {

constexpr std::string_view kSwidNs = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
constexpr std::string_view kDsigNs = "http://www.w3.org/2000/09/xmldsig#";
// NVIDIA writes its SHA-384 reference values as attributes Hash0..HashN in this namespace.
constexpr std::string_view kSha384Ns = "http://www.w3.org/2001/04/xmlenc#sha384";
constexpr std::string_view kC14n10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
constexpr std::string_view kC14n11 = "http://www.w3.org/2006/12/xml-c14n11";
constexpr std::string_view kEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
constexpr std::string_view kEcdsaSha384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
constexpr std::string_view kSha384DigestMore = "http://www.w3.org/2001/04/xmldsig-more#sha384";
constexpr std::string_view kSha384DigestEnc = "http://www.w3.org/2001/04/xmlenc#sha384";
constexpr uint32_t kMaxAlternatives = 64;
constexpr uint32_t kMaxMeasurementIndex = 254;  // SPDM block indices are 1..254

Error Malformed(const std::string& message) {
  return Error(ErrorCode::kMalformed, "nvgpu: rim: " + message);
}
Error Unsupported(const std::string& message) {
  return Error(ErrorCode::kUnsupported, "nvgpu: rim: " + message);
}
Error SignatureError(const std::string& message) {
  return Error(ErrorCode::kAuthenticationFailed, "nvgpu: rim signature: " + message);
}

Result<uint32_t> ParseUint(const std::string* text, const std::string& what) {
  if (text == nullptr) return Malformed(what + " is missing");
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || text->empty()) {
    return Malformed(what + " '" + *text + "' is not a decimal number");
  }
  return value;
}

Result<bool> ParseBool(const std::string* text, const std::string& what) {
  if (text == nullptr) return Malformed(what + " is missing");
  if (*text == "True" || *text == "true") return true;
  if (*text == "False" || *text == "false") return false;
  return Malformed(what + " '" + *text + "' is not True or False");
}

Result<RimMeasurement> ParseResource(const xml::Node& resource) {
  RimMeasurement m;
  OPENPCC_ASSIGN_OR_RETURN(m.index, ParseUint(resource.Attr("", "index"), "Resource index"));
  std::string where = "measurement " + std::to_string(m.index);
  if (m.index >= kMaxMeasurementIndex) return Malformed(where + ": index out of range");
  OPENPCC_ASSIGN_OR_RETURN(m.active, ParseBool(resource.Attr("", "active"), where + " active"));
  OPENPCC_ASSIGN_OR_RETURN(m.size, ParseUint(resource.Attr("", "size"), where + " size"));
  OPENPCC_ASSIGN_OR_RETURN(uint32_t count,
                           ParseUint(resource.Attr("", "alternatives"), where + " alternatives"));
  if (count == 0 || count > kMaxAlternatives) {
    return Malformed(where + ": " + std::to_string(count) + " alternatives (expected 1 to " +
                     std::to_string(kMaxAlternatives) + ")");
  }
  if (m.size == 0 || m.size > 64) return Malformed(where + ": size " + std::to_string(m.size));
  for (uint32_t i = 0; i < count; ++i) {
    std::string name = "Hash" + std::to_string(i);
    const std::string* hex = resource.Attr(kSha384Ns, name);
    if (hex == nullptr) return Malformed(where + ": " + name + " is missing");
    Result<Bytes> value = HexDecode(*hex);
    if (!value.ok()) return Malformed(where + ": " + name + " is not hex");
    if (value->size() != m.size) {
      return Malformed(where + ": " + name + " has " + std::to_string(value->size()) +
                       " bytes, size says " + std::to_string(m.size));
    }
    m.alternatives.push_back(std::move(value).value());
  }
  return m;
}

const std::string* RequireAlgorithm(const xml::Node* node) {
  return node == nullptr ? nullptr : node->Attr("", "Algorithm");
}

}  // namespace

Result<Bytes> DecodeBase64(std::string_view text) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string chars;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    chars.push_back(c);
  }
  if (chars.size() % 4 != 0) return Malformed("base64 length is not a multiple of 4");
  Bytes out;
  for (size_t i = 0; i < chars.size(); i += 4) {
    bool last = i + 4 == chars.size();
    int pad = 0;
    uint32_t acc = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = chars[i + j];
      int v = sextet(c);
      if (c == '=' && last && j >= 2 && (j == 3 || chars[i + 3] == '=')) {
        ++pad;
        v = 0;
      } else if (v < 0 || pad > 0) {
        return Malformed("invalid base64 character");
      }
      acc = (acc << 6) | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<uint8_t>(acc >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(acc >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(acc));
  }
  return out;
}

Result<Rim> ParseRim(std::string_view xml_text) {
  OPENPCC_ASSIGN_OR_RETURN(xml::Node root, xml::Parse(xml_text));
  if (root.ns_uri != kSwidNs || root.local != "SoftwareIdentity") {
    return Malformed("the document element is not a SWID SoftwareIdentity");
  }
  Rim rim;
  if (const std::string* v = root.Attr("", "tagId")) rim.tag_id = *v;
  if (const std::string* v = root.Attr("", "name")) rim.name = *v;
  std::vector<const xml::Node*> metas = root.Children(kSwidNs, "Meta");
  if (metas.size() != 1) return Malformed("expected exactly one Meta element");
  const std::string* version = metas[0]->Attr("", "colloquialVersion");
  if (version == nullptr || version->empty()) return Malformed("Meta has no colloquialVersion");
  rim.version = *version;
  if (const std::string* v = metas[0]->Attr("", "product")) rim.product = *v;
  std::vector<const xml::Node*> payloads = root.Children(kSwidNs, "Payload");
  if (payloads.size() != 1) return Malformed("expected exactly one Payload element");
  for (const xml::Node* resource : payloads[0]->Children(kSwidNs, "Resource")) {
    const std::string* type = resource->Attr("", "type");
    if (type == nullptr || *type != "Measurement") continue;
    OPENPCC_ASSIGN_OR_RETURN(RimMeasurement m, ParseResource(*resource));
    uint32_t index = m.index;
    if (!rim.measurements.emplace(index, std::move(m)).second) {
      return Malformed("measurement " + std::to_string(index) + " appears twice");
    }
  }
  if (rim.measurements.empty()) return Malformed("Payload has no Measurement resources");
  rim.document = std::move(root);
  return rim;
}

Result<RimSignature> VerifyRimSignature(const Rim& rim, std::span<const crypto::Certificate> roots,
                                        std::chrono::sys_seconds at) {
  const xml::Node& root = rim.document;
  // 1. Shape. Exactly one Signature, a child of the root; a second one anywhere would let a
  //    wrapped document pass a signature over something else.
  std::vector<const xml::Node*> signatures = root.Children(kDsigNs, "Signature");
  if (signatures.size() != 1) {
    return SignatureError("expected exactly one ds:Signature under SoftwareIdentity, found " +
                          std::to_string(signatures.size()));
  }
  const xml::Node& signature = *signatures[0];
  const xml::Node* signed_info = signature.Child(kDsigNs, "SignedInfo");
  const xml::Node* signature_value = signature.Child(kDsigNs, "SignatureValue");
  const xml::Node* key_info = signature.Child(kDsigNs, "KeyInfo");
  if (signed_info == nullptr || signature_value == nullptr || key_info == nullptr) {
    return SignatureError("ds:Signature lacks SignedInfo, SignatureValue or KeyInfo");
  }
  const std::string* c14n = RequireAlgorithm(signed_info->Child(kDsigNs, "CanonicalizationMethod"));
  if (c14n == nullptr || (*c14n != kC14n11 && *c14n != kC14n10)) {
    return Unsupported("SignedInfo canonicalization is not inclusive C14N 1.0 or 1.1");
  }
  const std::string* method = RequireAlgorithm(signed_info->Child(kDsigNs, "SignatureMethod"));
  if (method == nullptr || *method != kEcdsaSha384) {
    return Unsupported("signature method is not ecdsa-sha384");
  }
  std::vector<const xml::Node*> references = signed_info->Children(kDsigNs, "Reference");
  if (references.size() != 1) return SignatureError("expected exactly one ds:Reference");
  const xml::Node& reference = *references[0];
  const std::string* uri = reference.Attr("", "URI");
  if (uri == nullptr || !uri->empty()) {
    return Unsupported("the reference is not URI=\"\" (the whole document)");
  }
  const xml::Node* transforms = reference.Child(kDsigNs, "Transforms");
  std::vector<const xml::Node*> transform_list;
  if (transforms != nullptr) transform_list = transforms->Children(kDsigNs, "Transform");
  if (transform_list.empty() || transform_list.size() > 2 ||
      RequireAlgorithm(transform_list[0]) == nullptr || *RequireAlgorithm(transform_list[0]) != kEnveloped) {
    return Unsupported("transforms are not enveloped-signature followed by C14N");
  }
  if (transform_list.size() == 2) {
    const std::string* t = RequireAlgorithm(transform_list[1]);
    if (t == nullptr || (*t != kC14n11 && *t != kC14n10)) {
      return Unsupported("the reference's canonicalization is not inclusive C14N 1.0 or 1.1");
    }
  }
  const std::string* digest_method = RequireAlgorithm(reference.Child(kDsigNs, "DigestMethod"));
  if (digest_method == nullptr || (*digest_method != kSha384DigestMore && *digest_method != kSha384DigestEnc)) {
    return Unsupported("digest method is not SHA-384");
  }
  const xml::Node* digest_value = reference.Child(kDsigNs, "DigestValue");
  if (digest_value == nullptr) return SignatureError("ds:Reference has no DigestValue");

  // 2. Digest of the document without the Signature element.
  Result<Bytes> expected_digest = DecodeBase64(digest_value->Text());
  if (!expected_digest.ok()) return SignatureError("DigestValue is not base64");
  Bytes digest = crypto::Sha384(AsBytes(xml::Canonicalize(root, &signature)));
  if (digest != *expected_digest) {
    return SignatureError("the document's SHA-384 digest does not match DigestValue "
                          "(the manifest was modified after signing)");
  }

  // 3. Signer chain to the pinned root.
  const xml::Node* x509_data = key_info->Child(kDsigNs, "X509Data");
  if (x509_data == nullptr) return SignatureError("KeyInfo has no X509Data");
  std::vector<crypto::Certificate> certs;
  for (const xml::Node* node : x509_data->Children(kDsigNs, "X509Certificate")) {
    Result<Bytes> der = DecodeBase64(node->Text());
    if (!der.ok()) return SignatureError("an X509Certificate is not base64");
    Result<crypto::Certificate> cert = crypto::Certificate::ParseDer(*der);
    if (!cert.ok()) return SignatureError("an X509Certificate does not parse: " + cert.error().message());
    certs.push_back(std::move(cert).value());
  }
  if (certs.empty()) return SignatureError("KeyInfo carries no certificate");
  std::span<const crypto::Certificate> intermediates(certs.data() + 1, certs.size() - 1);
  crypto::ChainPolicy chain_policy;
  chain_policy.at = at;
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyChain("nvgpu: rim signer", certs[0], intermediates, roots,
                                              chain_policy));

  // 4. The signature over canonical SignedInfo.
  Result<Bytes> raw = DecodeBase64(signature_value->Text());
  if (!raw.ok()) return SignatureError("SignatureValue is not base64");
  if (raw->size() != 96) {
    return SignatureError("SignatureValue has " + std::to_string(raw->size()) +
                          " bytes, expected 96 (P-384 r||s)");
  }
  ByteView sig(*raw);
  std::string canonical_signed_info = xml::Canonicalize(*signed_info);
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyEcdsaRaw(
      "nvgpu: rim signature: SignedInfo with the signer's key", certs[0].PublicKey(),
      crypto::HashId::kSha384, AsBytes(canonical_signed_info), sig.first(48), sig.last(48)));

  RimSignature out;
  for (const crypto::Certificate& cert : certs) out.chain_subjects.push_back(cert.Subject());
  return out;
}

}  // namespace openpcc::attest::nvgpu
