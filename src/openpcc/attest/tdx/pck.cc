#include "openpcc/attest/tdx/pck.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <memory>
#include <string>

namespace openpcc::attest::tdx {
namespace {

struct SequenceDeleter {
  void operator()(ASN1_SEQUENCE_ANY* seq) const { sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free); }
};
using SequencePtr = std::unique_ptr<ASN1_SEQUENCE_ANY, SequenceDeleter>;

constexpr std::string_view kPrefix = "1.2.840.113741.1.13.1.";

Error Bad(std::string what) {
  ERR_clear_error();
  return Error(ErrorCode::kMalformed, "tdx: PCK certificate SGX extensions: " + std::move(what));
}

// A DER SEQUENCE, decoded into its elements; fails unless the input is exactly one SEQUENCE.
Result<SequencePtr> DecodeSequence(ByteView der, std::string_view what) {
  const unsigned char* p = der.data();
  SequencePtr seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(der.size())));
  if (!seq) return Bad(std::string(what) + " is not a DER SEQUENCE");
  if (p != der.data() + der.size()) return Bad(std::string(what) + " has trailing bytes");
  return seq;
}

ByteView StringBytes(const ASN1_STRING* s) {
  return {ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s))};
}

// One (OID, value) pair of the extension: the OID under the SGX arc (suffix after the prefix) and
// the value, borrowed from `pair`.
struct Entry {
  std::string suffix;
  const ASN1_TYPE* value = nullptr;
};

Result<Entry> DecodeEntry(const ASN1_TYPE* element, SequencePtr& holder) {
  if (ASN1_TYPE_get(element) != V_ASN1_SEQUENCE) return Bad("an entry is not a SEQUENCE");
  OPENPCC_ASSIGN_OR_RETURN(holder, DecodeSequence(StringBytes(element->value.sequence), "entry"));
  if (sk_ASN1_TYPE_num(holder.get()) != 2) return Bad("an entry is not an (OID, value) pair");
  const ASN1_TYPE* oid = sk_ASN1_TYPE_value(holder.get(), 0);
  if (ASN1_TYPE_get(oid) != V_ASN1_OBJECT) return Bad("an entry does not start with an OID");
  char text[128];
  int length = OBJ_obj2txt(text, sizeof(text), oid->value.object, 1);
  if (length <= 0 || static_cast<size_t>(length) >= sizeof(text)) return Bad("unreadable OID");
  std::string_view name(text, static_cast<size_t>(length));
  if (name.substr(0, kPrefix.size()) != kPrefix) {
    return Bad("OID " + std::string(name) + " is outside 1.2.840.113741.1.13.1");
  }
  return Entry{std::string(name.substr(kPrefix.size())), sk_ASN1_TYPE_value(holder.get(), 1)};
}

template <size_t N>
Status OctetString(const ASN1_TYPE* value, std::array<uint8_t, N>& out, const char* name) {
  if (ASN1_TYPE_get(value) != V_ASN1_OCTET_STRING) return Bad(std::string(name) + " is not an OCTET STRING");
  ByteView bytes = StringBytes(value->value.octet_string);
  if (bytes.size() != N) {
    return Bad(std::string(name) + " is " + std::to_string(bytes.size()) + " bytes (expected " +
               std::to_string(N) + ")");
  }
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return OkStatus();
}

Result<int64_t> Integer(const ASN1_TYPE* value, int type, const std::string& name, int64_t max) {
  int64_t v = 0;
  int ok = 0;
  if (ASN1_TYPE_get(value) == type && type == V_ASN1_INTEGER) {
    ok = ASN1_INTEGER_get_int64(&v, value->value.integer);
  } else if (ASN1_TYPE_get(value) == type && type == V_ASN1_ENUMERATED) {
    ok = ASN1_ENUMERATED_get_int64(&v, value->value.enumerated);
  } else {
    return Bad(name + " has the wrong ASN.1 type");
  }
  if (ok != 1 || v < 0 || v > max) return Bad(name + " is out of range");
  return v;
}

Status ParseTcb(const ASN1_TYPE* value, PckExtensions& out) {
  if (ASN1_TYPE_get(value) != V_ASN1_SEQUENCE) return Bad("TCB is not a SEQUENCE");
  OPENPCC_ASSIGN_OR_RETURN(SequencePtr tcb, DecodeSequence(StringBytes(value->value.sequence), "TCB"));
  uint32_t seen = 0;  // bit i set once component i+1 (1..18) was read
  for (int i = 0; i < sk_ASN1_TYPE_num(tcb.get()); ++i) {
    SequencePtr holder;
    OPENPCC_ASSIGN_OR_RETURN(Entry e, DecodeEntry(sk_ASN1_TYPE_value(tcb.get(), i), holder));
    if (e.suffix.substr(0, 2) != "2.") return Bad("TCB entry " + e.suffix + " is not under .2");
    std::string index_text = e.suffix.substr(2);
    int index = 0;
    for (char c : index_text) {
      if (c < '0' || c > '9' || index > 100) return Bad("TCB entry " + e.suffix);
      index = index * 10 + (c - '0');
    }
    if (index < 1 || index > 18) continue;  // later specifications may add entries
    uint32_t bit = uint32_t{1} << (index - 1);
    if (seen & bit) return Bad("duplicate TCB entry " + e.suffix);
    seen |= bit;
    if (index <= 16) {
      OPENPCC_ASSIGN_OR_RETURN(int64_t svn, Integer(e.value, V_ASN1_INTEGER, "TCB component " + index_text, 255));
      out.tcb_components[static_cast<size_t>(index - 1)] = static_cast<uint8_t>(svn);
    } else if (index == 17) {
      OPENPCC_ASSIGN_OR_RETURN(int64_t svn, Integer(e.value, V_ASN1_INTEGER, "PCESVN", 65535));
      out.pce_svn = static_cast<uint16_t>(svn);
    } else {
      OPENPCC_RETURN_IF_ERROR(OctetString(e.value, out.cpu_svn, "CPUSVN"));
    }
  }
  if (seen != (uint32_t{1} << 18) - 1) return Bad("TCB lacks a component, PCESVN or CPUSVN");
  return OkStatus();
}

}  // namespace

Result<PckExtensions> ParsePckExtensions(ByteView extension_der) {
  OPENPCC_ASSIGN_OR_RETURN(SequencePtr top, DecodeSequence(extension_der, "extension"));
  PckExtensions out;
  uint32_t seen = 0;
  for (int i = 0; i < sk_ASN1_TYPE_num(top.get()); ++i) {
    SequencePtr holder;
    OPENPCC_ASSIGN_OR_RETURN(Entry e, DecodeEntry(sk_ASN1_TYPE_value(top.get(), i), holder));
    int index = (e.suffix.size() == 1 && e.suffix[0] >= '1' && e.suffix[0] <= '7') ? e.suffix[0] - '0' : 0;
    if (index == 0) continue;  // platform-CA entries (.6 instance id, .7 configuration) and later
    uint32_t bit = uint32_t{1} << index;
    if (seen & bit) return Bad("duplicate entry ." + e.suffix);
    seen |= bit;
    switch (index) {
      case 1: OPENPCC_RETURN_IF_ERROR(OctetString(e.value, out.ppid, "PPID")); break;
      case 2: OPENPCC_RETURN_IF_ERROR(ParseTcb(e.value, out)); break;
      case 3: OPENPCC_RETURN_IF_ERROR(OctetString(e.value, out.pce_id, "PCE-ID")); break;
      case 4: OPENPCC_RETURN_IF_ERROR(OctetString(e.value, out.fmspc, "FMSPC")); break;
      case 5: {
        OPENPCC_ASSIGN_OR_RETURN(int64_t type, Integer(e.value, V_ASN1_ENUMERATED, "SGX type", 255));
        out.sgx_type = static_cast<int>(type);
        break;
      }
      default: break;
    }
  }
  constexpr uint32_t kRequired = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
  if ((seen & kRequired) != kRequired) return Bad("missing PPID, TCB, PCE-ID, FMSPC or SGX type");
  return out;
}

Result<PckExtensions> PckExtensionsOf(const crypto::Certificate& pck) {
  std::optional<Bytes> ext = pck.Extension(kSgxExtensionsOid);
  if (!ext) {
    return Error(ErrorCode::kMalformed,
                 "tdx: PCK certificate has no SGX extensions (1.2.840.113741.1.13.1)");
  }
  return ParsePckExtensions(*ext);
}

}  // namespace openpcc::attest::tdx
