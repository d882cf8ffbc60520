#include "openpcc/services/key_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "openpcc/util/base64.h"

namespace openpcc::services {
namespace {

using crypto::SecretBytes;
using crypto::Wipe;

// RFC 8410 §7 and §4: the fixed DER around a 32-byte key.
constexpr uint8_t kEd25519Pkcs8Prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                           0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
constexpr uint8_t kX25519Pkcs8Prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                          0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20};
constexpr uint8_t kEd25519SpkiPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                          0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr uint8_t kX25519SpkiPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                         0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00};
constexpr size_t kRawKeyLength = 32;

ByteView Pkcs8Prefix(RawKeyType type) {
  return type == RawKeyType::kEd25519 ? ByteView(kEd25519Pkcs8Prefix) : ByteView(kX25519Pkcs8Prefix);
}
ByteView SpkiPrefix(RawKeyType type) {
  return type == RawKeyType::kEd25519 ? ByteView(kEd25519SpkiPrefix) : ByteView(kX25519SpkiPrefix);
}
std::string_view TypeName(RawKeyType type) { return type == RawKeyType::kEd25519 ? "Ed25519" : "X25519"; }

bool StartsWith(ByteView data, ByteView prefix) {
  return data.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), data.begin());
}

Error KeyError(ErrorCode code, const std::string& what) { return Error(code, "key file: " + what); }

}  // namespace

std::string PemEncode(std::string_view label, ByteView der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out += '\n';
  }
  out += "-----END " + std::string(label) + "-----\n";
  Wipe({reinterpret_cast<uint8_t*>(b64.data()), b64.size()});
  return out;
}

Result<Bytes> PemDecode(std::string_view label, std::string_view text) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  while (!text.empty() && (text.front() == '\n' || text.front() == ' ' || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  if (text.substr(0, begin.size()) != begin) {
    return KeyError(ErrorCode::kMalformed, "expected a PEM block starting with \"" + begin + "\"");
  }
  if (text.size() < begin.size() + end.size() || text.substr(text.size() - end.size()) != end) {
    return KeyError(ErrorCode::kMalformed, "expected the PEM block to end with \"" + end + "\"");
  }
  std::string_view body = text.substr(begin.size(), text.size() - begin.size() - end.size());
  std::string b64;
  for (char c : body) {
    if (c == '\n' || c == '\r') continue;
    b64 += c;
  }
  auto der = Base64Decode(b64);
  Wipe({reinterpret_cast<uint8_t*>(b64.data()), b64.size()});
  if (!der.ok()) return KeyError(ErrorCode::kMalformed, "PEM body is not canonical base64");
  return std::move(der).value();
}

// Byte loops rather than std::copy: g++ 12 reports spurious -Wnull-dereference / -Warray-bounds
// on the inlined memmove of a span into a fresh buffer.
SecretBytes RawPrivateKeyPkcs8(RawKeyType type, ByteView private_key) {
  const ByteView prefix = Pkcs8Prefix(type);
  SecretBytes out(prefix.size() + private_key.size());
  const std::span<uint8_t> dst = out.mutable_view();
  for (size_t i = 0; i < prefix.size(); ++i) dst[i] = prefix[i];
  for (size_t i = 0; i < private_key.size(); ++i) dst[prefix.size() + i] = private_key[i];
  return out;
}

Bytes RawPublicKeySpki(RawKeyType type, ByteView public_key) {
  const ByteView prefix = SpkiPrefix(type);
  Bytes out(prefix.size() + public_key.size());
  for (size_t i = 0; i < prefix.size(); ++i) out[i] = prefix[i];
  for (size_t i = 0; i < public_key.size(); ++i) out[prefix.size() + i] = public_key[i];
  return out;
}

Result<SecretBytes> ParseRawPrivateKeyPkcs8(RawKeyType type, ByteView der) {
  const ByteView prefix = Pkcs8Prefix(type);
  if (!StartsWith(der, prefix) || der.size() != prefix.size() + kRawKeyLength) {
    return KeyError(ErrorCode::kMalformed, "expected an RFC 8410 " + std::string(TypeName(type)) +
                                               " PKCS#8 private key (48 bytes, no attributes)");
  }
  return SecretBytes(der.subspan(prefix.size()));
}

Result<Bytes> ParseRawPublicKeySpki(RawKeyType type, ByteView der) {
  const ByteView prefix = SpkiPrefix(type);
  if (!StartsWith(der, prefix) || der.size() != prefix.size() + kRawKeyLength) {
    return KeyError(ErrorCode::kMalformed,
                    "expected an RFC 8410 " + std::string(TypeName(type)) + " SubjectPublicKeyInfo (44 bytes)");
  }
  return ToBytes(der.subspan(prefix.size()));
}

Status WriteKeyFile(const std::filesystem::path& path, ByteView contents, unsigned mode) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return KeyError(ErrorCode::kInternal, "create " + tmp.string() + ": " + std::strerror(errno));
  // The umask may have removed bits; set exactly the requested mode.
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  size_t written = 0;
  while (ok && written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else written += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : saved;
    ::unlink(tmp.c_str());
    return KeyError(ErrorCode::kInternal, "write " + path.string() + ": " + std::strerror(err));
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status();
}

Result<SecretBytes> ReadKeyFile(const std::filesystem::path& path, bool private_key) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return KeyError(ErrorCode::kInvalidArgument, "cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return KeyError(ErrorCode::kInvalidArgument, path.string() + " is not a regular file");
  }
  if (private_key && (st.st_mode & 077) != 0) {
    ::close(fd);
    return KeyError(ErrorCode::kFailedPrecondition,
                    path.string() + " is readable by group or others (expected mode 0600; run chmod 600)");
  }
  constexpr off_t kMax = 64 * 1024;
  if (st.st_size > kMax) {
    ::close(fd);
    return KeyError(ErrorCode::kOutOfRange, path.string() + " is larger than 64 KiB");
  }
  SecretBytes out(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != out.size()) return KeyError(ErrorCode::kInternal, "short read of " + path.string());
  return out;
}

Result<crypto::Ed25519PrivateKey> ReadEd25519PrivateKey(const std::filesystem::path& path) {
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes pem, ReadKeyFile(path, /*private_key=*/true));
  auto der = PemDecode(kPemPrivateKey, AsChars(pem.view()));
  if (!der.ok()) return KeyError(der.error().code(), path.string() + ": " + der.error().message());
  SecretBytes der_secret(der.value());
  Wipe(der.value());
  auto seed = ParseRawPrivateKeyPkcs8(RawKeyType::kEd25519, der_secret.view());
  if (!seed.ok()) return KeyError(seed.error().code(), path.string() + ": " + seed.error().message());
  return crypto::Ed25519PrivateKey::FromSeed(seed.value().view());
}

Result<crypto::Ed25519PublicKey> ReadEd25519PublicKey(const std::filesystem::path& path) {
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes pem, ReadKeyFile(path, /*private_key=*/false));
  auto der = PemDecode(kPemPublicKey, AsChars(pem.view()));
  if (!der.ok()) return KeyError(der.error().code(), path.string() + ": " + der.error().message());
  auto raw = ParseRawPublicKeySpki(RawKeyType::kEd25519, der.value());
  if (!raw.ok()) return KeyError(raw.error().code(), path.string() + ": " + raw.error().message());
  return crypto::Ed25519PublicKey::FromBytes(raw.value());
}

Result<std::string> NoteNameBeside(const std::filesystem::path& key_path) {
  std::filesystem::path vkey_path = key_path;
  vkey_path.replace_extension(".vkey");
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes text, ReadKeyFile(vkey_path, /*private_key=*/false));
  std::string_view vkey = AsChars(text.view());
  const size_t plus = vkey.find('+');
  if (plus == std::string_view::npos || plus == 0) {
    return KeyError(ErrorCode::kMalformed, vkey_path.string() + ": expected a vkey \"name+keyid+key\"");
  }
  return std::string(vkey.substr(0, plus));
}

}  // namespace openpcc::services
