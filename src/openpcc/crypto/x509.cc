#include "openpcc/crypto/x509.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <charconv>
#include <ctime>

namespace openpcc::crypto {
namespace {

using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
// The stacks hold borrowed pointers: freeing the stack must not free the certificates.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
struct CrlStackDeleter {
  void operator()(STACK_OF(X509_CRL) * stack) const { sk_X509_CRL_free(stack); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
using CrlStackPtr = std::unique_ptr<STACK_OF(X509_CRL), CrlStackDeleter>;
using AsnObjectPtr = std::unique_ptr<ASN1_OBJECT, OpenSslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;

bool IsPem(ByteView data) {
  return AsChars(data).find("-----BEGIN") != std::string_view::npos;
}

Error Malformed(std::string message) {
  ERR_clear_error();
  return Error(ErrorCode::kMalformed, std::move(message));
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string CommonName(const X509_NAME* name) {
  int index = -1, last = -1;
  while ((index = X509_NAME_get_index_by_NID(name, NID_commonName, index)) >= 0) last = index;
  if (last < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

std::chrono::sys_seconds FromAsn1Time(const ASN1_TIME* time) {
  struct tm tm {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::chrono::sys_seconds{};
  return std::chrono::sys_seconds{std::chrono::seconds{timegm(&tm)}};
}

// Ignore "no CRL for this certificate" unless the policy demands CRLs: a CRL given for one issuer
// (AMD's ARK CRL) must not make the other links of the chain fail.
int VerifyCallback(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  const auto* policy = static_cast<const ChainPolicy*>(X509_STORE_CTX_get_app_data(ctx));
  if (policy != nullptr && !policy->require_crls &&
      X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL) {
    X509_STORE_CTX_set_error(ctx, X509_V_OK);
    return 1;
  }
  return ok;
}

Result<int> ParseDigits(std::string_view text, size_t pos, size_t count) {
  int value = 0;
  if (pos + count > text.size()) return Malformed("time: too short");
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + count, value);
  if (ec != std::errc() || end != text.data() + pos + count) return Malformed("time: bad digits");
  return value;
}

}  // namespace

Result<Certificate> Certificate::ParseDer(ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return Malformed("certificate: not a DER X.509 certificate");
  if (p != der.data() + der.size()) return Malformed("certificate: trailing bytes after DER");
  return Certificate(std::move(cert));
}

Result<std::vector<Certificate>> Certificate::ParseAll(ByteView der_or_pem) {
  std::vector<Certificate> out;
  if (!IsPem(der_or_pem)) {
    OPENPCC_ASSIGN_OR_RETURN(Certificate cert, ParseDer(der_or_pem));
    out.push_back(std::move(cert));
    return out;
  }
  BioPtr bio(BIO_new_mem_buf(der_or_pem.data(), static_cast<int>(der_or_pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(Certificate(std::move(cert)));
  }
  unsigned long err = ERR_peek_last_error();
  ERR_clear_error();
  if (out.empty()) return Malformed("certificate: no PEM certificate found");
  // Reading stops with "no start line" at the end; anything else is a broken block.
  if (err != 0 && ERR_GET_REASON(err) != PEM_R_NO_START_LINE) {
    return Malformed("certificate: PEM block " + std::to_string(out.size() + 1) +
                     " is not a valid certificate");
  }
  return out;
}

Result<Certificate> Certificate::ParseOne(ByteView der_or_pem) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<Certificate> all, ParseAll(der_or_pem));
  if (all.size() != 1) {
    return Malformed("certificate: expected one certificate, found " +
                     std::to_string(all.size()));
  }
  return std::move(all.front());
}

Certificate::Certificate(const Certificate& other) : cert_(other.cert_.get()) {
  X509_up_ref(cert_.get());
}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    X509_up_ref(other.cert_.get());
    cert_.reset(other.cert_.get());
  }
  return *this;
}

Bytes Certificate::Der() const {
  unsigned char* out = nullptr;
  int length = i2d_X509(cert_.get(), &out);
  if (length <= 0) return {};
  Bytes der(out, out + length);
  OPENSSL_free(out);
  return der;
}

std::string Certificate::Subject() const { return NameToString(X509_get_subject_name(get())); }
std::string Certificate::Issuer() const { return NameToString(X509_get_issuer_name(get())); }
std::string Certificate::SubjectCommonName() const {
  return CommonName(X509_get_subject_name(get()));
}
std::string Certificate::IssuerCommonName() const { return CommonName(X509_get_issuer_name(get())); }
std::chrono::sys_seconds Certificate::NotBefore() const {
  return FromAsn1Time(X509_get0_notBefore(get()));
}
std::chrono::sys_seconds Certificate::NotAfter() const {
  return FromAsn1Time(X509_get0_notAfter(get()));
}
const EVP_PKEY* Certificate::PublicKey() const { return X509_get0_pubkey(get()); }

std::optional<Bytes> Certificate::Extension(std::string_view oid) const {
  AsnObjectPtr object(OBJ_txt2obj(std::string(oid).c_str(), 1));
  if (!object) {
    ERR_clear_error();
    return std::nullopt;
  }
  int index = X509_get_ext_by_OBJ(get(), object.get(), -1);
  if (index < 0) return std::nullopt;
  X509_EXTENSION* ext = X509_get_ext(get(), index);
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  const unsigned char* bytes = ASN1_STRING_get0_data(data);
  return Bytes(bytes, bytes + ASN1_STRING_length(data));
}

Result<Crl> Crl::ParseOne(ByteView der_or_pem) {
  X509CrlPtr crl;
  if (IsPem(der_or_pem)) {
    BioPtr bio(BIO_new_mem_buf(der_or_pem.data(), static_cast<int>(der_or_pem.size())));
    if (!bio) return OpenSslError("BIO_new_mem_buf");
    crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = der_or_pem.data();
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(der_or_pem.size())));
  }
  if (!crl) return Malformed("crl: not an X.509 CRL in DER or PEM");
  return Crl(std::move(crl));
}

Crl::Crl(const Crl& other) : crl_(other.crl_.get()) { X509_CRL_up_ref(crl_.get()); }

Crl& Crl::operator=(const Crl& other) {
  if (this != &other) {
    X509_CRL_up_ref(other.crl_.get());
    crl_.reset(other.crl_.get());
  }
  return *this;
}

std::string Crl::Issuer() const { return NameToString(X509_CRL_get_issuer(get())); }

Status VerifyChain(std::string_view what, const Certificate& leaf,
                   std::span<const Certificate> intermediates,
                   std::span<const Certificate> roots, const ChainPolicy& policy) {
  if (roots.empty()) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + ": no trusted roots configured");
  }
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  CrlStackPtr crls(sk_X509_CRL_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !crls || !ctx) return OpenSslError("x509 store allocation");
  for (const Certificate& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) return OpenSslError("X509_STORE_add_cert");
  }
  for (const Certificate& cert : intermediates) {
    if (sk_X509_push(untrusted.get(), cert.get()) <= 0) return OpenSslError("sk_X509_push");
  }
  for (const Crl& crl : policy.crls) {
    if (sk_X509_CRL_push(crls.get(), crl.get()) <= 0) return OpenSslError("sk_X509_CRL_push");
  }
  X509_STORE_set_verify_cb(store.get(), VerifyCallback);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1) {
    return OpenSslError("X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_app_data(ctx.get(), const_cast<ChainPolicy*>(&policy));
  X509_STORE_CTX_set0_crls(ctx.get(), crls.get());
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;  // a pinned intermediate is an anchor too
  if (!policy.crls.empty() || policy.require_crls) {
    flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  X509_STORE_CTX_set_flags(ctx.get(), flags);
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(policy.at.time_since_epoch().count()));
  if (X509_verify_cert(ctx.get()) == 1) {
    ERR_clear_error();
    return OkStatus();
  }
  int error = X509_STORE_CTX_get_error(ctx.get());
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  X509* failing = X509_STORE_CTX_get_current_cert(ctx.get());
  std::string message(what);
  message += ": certificate chain: ";
  message += X509_verify_cert_error_string(error);
  message += " at depth " + std::to_string(depth);
  if (failing != nullptr) message += " (" + NameToString(X509_get_subject_name(failing)) + ")";
  message += " evaluated at " + FormatUtcTime(policy.at);
  ERR_clear_error();
  return Error(ErrorCode::kAuthenticationFailed, std::move(message));
}

Result<std::chrono::sys_seconds> ParseUtcTime(std::string_view text) {
  using namespace std::chrono;
  OPENPCC_ASSIGN_OR_RETURN(int y, ParseDigits(text, 0, 4));
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') {
    return Malformed("time: expected YYYY-MM-DD[THH:MM:SS[.fff]Z], got '" + std::string(text) + "'");
  }
  OPENPCC_ASSIGN_OR_RETURN(int mo, ParseDigits(text, 5, 2));
  OPENPCC_ASSIGN_OR_RETURN(int d, ParseDigits(text, 8, 2));
  year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return Malformed("time: no such date '" + std::string(text) + "'");
  sys_seconds result = sys_days(date);
  if (text.size() == 10) return result;
  if (text.size() < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':') {
    return Malformed("time: expected YYYY-MM-DD[THH:MM:SS[.fff]Z], got '" + std::string(text) + "'");
  }
  OPENPCC_ASSIGN_OR_RETURN(int h, ParseDigits(text, 11, 2));
  OPENPCC_ASSIGN_OR_RETURN(int mi, ParseDigits(text, 14, 2));
  OPENPCC_ASSIGN_OR_RETURN(int s, ParseDigits(text, 17, 2));
  if (h > 23 || mi > 59 || s > 60) return Malformed("time: out of range '" + std::string(text) + "'");
  size_t pos = 19;
  if (text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos, ++digits;
    if (digits == 0) return Malformed("time: empty fraction in '" + std::string(text) + "'");
  }
  if (pos + 1 != text.size() || text[pos] != 'Z') {
    return Malformed("time: expected a UTC time ending in Z, got '" + std::string(text) + "'");
  }
  return result + hours{h} + minutes{mi} + seconds{s};
}

std::string FormatUtcTime(std::chrono::sys_seconds time) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(time);
  year_month_day date{days};
  hh_mm_ss<seconds> tod{time - days};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02ld:%02ld:%02lldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()));
  return buf;
}

}  // namespace openpcc::crypto
