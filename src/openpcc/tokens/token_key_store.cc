#include "openpcc/tokens/token_key_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "openpcc/crypto/secret.h"
#include "openpcc/util/base64.h"

namespace openpcc::tokens {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "openpcc-token-key: 1";
constexpr std::string_view kPemBegin = "-----BEGIN PRIVATE KEY-----";
constexpr std::string_view kPemEnd = "-----END PRIVATE KEY-----";
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

Error IoError(const std::string& what) {
  return Error(ErrorCode::kInternal, "token keys: " + what + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int64_t Secs(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }

bool IsKeyFileName(const std::string& name) {
  return name.size() > 10 && name.rfind("token-", 0) == 0 &&
         name.compare(name.size() - 4, 4, ".pem") == 0;
}

std::string FileNameOf(const IssuerKey& key) {
  return "token-" + std::to_string(Secs(key.windows.not_before)) + "-" +
         HexEncode(ByteView(key.id.data(), 8)) + ".pem";
}

Result<int64_t> HeaderValue(std::string_view line, std::string_view name) {
  if (line.substr(0, name.size()) != name || line.substr(name.size(), 2) != ": ") {
    return Error(ErrorCode::kMalformed, "token keys: expected the header '" + std::string(name) + "'");
  }
  const std::string_view value = line.substr(name.size() + 2);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() || out < 0) {
    return Error(ErrorCode::kMalformed,
                 "token keys: header '" + std::string(name) + "' is not a number of seconds");
  }
  return out;
}

Status WriteAll(int fd, ByteView bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("write");
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return OkStatus();
}

Result<crypto::SecretBytes> ReadPrivateFile(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return IoError("opening " + path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return IoError("stat of " + path);
  if ((st.st_mode & 077) != 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 "token keys: " + path + " is readable by others (mode must be 0600)");
  }
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxKeyFileBytes) {
    return Error(ErrorCode::kOutOfRange, "token keys: " + path + " is larger than 64 KiB");
  }
  crypto::SecretBytes data;
  data.Resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("reading " + path);
    got += static_cast<size_t>(n);
  }
  return data;
}

}  // namespace

Result<crypto::SecretString> FormatTokenKeyFile(const IssuerKey& key) {
  OPENPCC_ASSIGN_OR_RETURN(crypto::SecretBytes der, key.key->ToPkcs8Der());
  std::string b64 = Base64Encode(der.view());
  crypto::SecretString out;
  out += kMagic;
  out += "\nnot-before: ";
  out += std::to_string(Secs(key.windows.not_before)).c_str();
  out += "\nissue-until: ";
  out += std::to_string(Secs(key.windows.issue_until)).c_str();
  out += "\nredeem-until: ";
  out += std::to_string(Secs(key.windows.redeem_until)).c_str();
  out += "\n\n";
  out += kPemBegin;
  out += "\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, std::min<size_t>(64, b64.size() - i));
    out += "\n";
  }
  out += kPemEnd;
  out += "\n";
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(b64.data()), b64.size()));
  return out;
}

Result<IssuerKey> ParseTokenKeyFile(ByteView bytes) {
  const std::string_view text = AsChars(bytes);
  const size_t pem = text.find(kPemBegin);
  if (pem == std::string_view::npos) {
    return Error(ErrorCode::kMalformed, "token keys: no PKCS#8 PEM block (BEGIN PRIVATE KEY)");
  }
  // The header: magic, three windows, then an empty line before the PEM block.
  std::vector<std::string_view> lines;
  std::string_view head = text.substr(0, pem);
  while (!head.empty()) {
    const size_t nl = head.find('\n');
    if (nl == std::string_view::npos) {
      return Error(ErrorCode::kMalformed, "token keys: header line without a newline");
    }
    lines.push_back(head.substr(0, nl));
    head.remove_prefix(nl + 1);
  }
  if (lines.size() != 5 || lines[0] != kMagic || !lines[4].empty()) {
    return Error(ErrorCode::kMalformed,
                 "token keys: expected 'openpcc-token-key: 1', not-before, issue-until, "
                 "redeem-until and an empty line before the PEM block");
  }
  OPENPCC_ASSIGN_OR_RETURN(int64_t not_before, HeaderValue(lines[1], "not-before"));
  OPENPCC_ASSIGN_OR_RETURN(int64_t issue_until, HeaderValue(lines[2], "issue-until"));
  OPENPCC_ASSIGN_OR_RETURN(int64_t redeem_until, HeaderValue(lines[3], "redeem-until"));
  if (!(not_before < issue_until && issue_until <= redeem_until)) {
    return Error(ErrorCode::kMalformed,
                 "token keys: windows must satisfy not-before < issue-until <= redeem-until");
  }
  OPENPCC_ASSIGN_OR_RETURN(crypto::BlindRsaPrivateKey sk,
                           crypto::BlindRsaPrivateKey::FromPkcs8(bytes.subspan(pem)));
  using std::chrono::seconds;
  return IssuerKey::Make(std::move(sk),
                         KeyWindows{std::chrono::sys_seconds(seconds(not_before)),
                                    std::chrono::sys_seconds(seconds(issue_until)),
                                    std::chrono::sys_seconds(seconds(redeem_until))});
}

Status SaveTokenKey(const std::string& dir, const IssuerKey& key) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return IoError("creating " + dir);
  OPENPCC_ASSIGN_OR_RETURN(crypto::SecretString text, FormatTokenKeyFile(key));
  const std::string path = (fs::path(dir) / FileNameOf(key)).string();
  const std::string tmp = path + ".tmp";
  unlink(tmp.c_str());
  {
    Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return IoError("creating " + tmp);
    Status written = WriteAll(fd.get(), ByteView(reinterpret_cast<const uint8_t*>(text.data()),
                                                 text.size()));
    if (written.ok() && fsync(fd.get()) != 0) written = IoError("fsync of " + tmp);
    if (!written.ok()) {
      unlink(tmp.c_str());
      return written;
    }
  }
  // link() refuses to replace an existing file, unlike rename().
  if (link(tmp.c_str(), path.c_str()) != 0) {
    const Error error = IoError("creating " + path);
    unlink(tmp.c_str());
    return error;
  }
  unlink(tmp.c_str());
  Fd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || fsync(dfd.get()) != 0) return IoError("fsync of " + dir);
  return OkStatus();
}

Result<std::vector<StoredTokenKey>> LoadTokenKeys(const std::string& dir) {
  std::vector<StoredTokenKey> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!IsKeyFileName(name)) continue;
    const std::string path = entry.path().string();
    OPENPCC_ASSIGN_OR_RETURN(crypto::SecretBytes text, ReadPrivateFile(path));
    Result<IssuerKey> key = ParseTokenKeyFile(text.view());
    if (!key.ok()) {
      return Error(key.error().code(), path + ": " + key.error().message());
    }
    out.push_back(StoredTokenKey{path, std::move(key).value()});
  }
  if (ec) return Error(ErrorCode::kInternal, "token keys: cannot list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const StoredTokenKey& a, const StoredTokenKey& b) {
    return a.key.windows.not_before < b.key.windows.not_before;
  });
  return out;
}

Result<size_t> RemoveExpiredTokenKeys(const std::string& dir, std::chrono::sys_seconds now) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<StoredTokenKey> keys, LoadTokenKeys(dir));
  size_t removed = 0;
  for (const StoredTokenKey& k : keys) {
    if (k.key.windows.redeem_until > now) continue;
    if (unlink(k.path.c_str()) != 0) return IoError("removing " + k.path);
    ++removed;
  }
  return removed;
}

}  // namespace openpcc::tokens
