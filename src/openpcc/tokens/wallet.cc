#include "openpcc/tokens/wallet.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "openpcc/crypto/secret.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::tokens {
namespace {

constexpr uint8_t kMagic[8] = {'O', 'P', 'C', 'C', 'W', 'A', 'L', '1'};
constexpr size_t kTokenLength = 2 + kNonceLength + kChallengeDigestLength + kTokenKeyIdLength +
                                kBlindRsaNk;
constexpr size_t kMaxWalletTokens = 100000;

Error IoError(const std::string& what) {
  return Error(ErrorCode::kInternal, "wallet: " + what + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, ByteView bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("write");
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Wallet>> Wallet::Open(std::string path, WalletPolicy policy,
                                             RandomSource random) {
  if (policy.batch_size == 0 || policy.batch_size > kMaxBatchSize) {
    return Error(ErrorCode::kInvalidArgument, "wallet: batch_size must be in [1, 1024]");
  }
  if (policy.reserve == 0 || policy.reserve > kMaxReserve) {
    return Error(ErrorCode::kInvalidArgument, "wallet: reserve must be in [1, 64]");
  }
  std::unique_ptr<Wallet> w(new Wallet(std::move(path), std::move(policy), std::move(random)));
  OPENPCC_RETURN_IF_ERROR(w->Load());
  return w;
}

Status Wallet::Load() {
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return OkStatus();  // a new wallet
    return IoError("opening " + path_);
  }
  Fd file(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return IoError("stat");
  if ((st.st_mode & 077) != 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 "wallet: token file is readable by others (mode must be 0600)");
  }
  crypto::SecretVector data(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("read");
    got += static_cast<size_t>(n);
  }
  wire::ByteReader r(data);
  std::span<const uint8_t> magic;
  uint32_t count = 0;
  if (!r.ReadBytes(sizeof(kMagic), &magic) || !std::equal(magic.begin(), magic.end(), kMagic)) {
    return Error(ErrorCode::kMalformed, "wallet: token file has no wallet header");
  }
  if (!r.ReadU32(&count) || count > kMaxWalletTokens) {
    return Error(ErrorCode::kMalformed, "wallet: token count missing or above 100000");
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t until = 0;
    std::span<const uint8_t> bytes;
    if (!r.ReadU64(&until) || !r.ReadBytes(kTokenLength, &bytes)) {
      return Error(ErrorCode::kTruncated, "wallet: token file is truncated");
    }
    OPENPCC_ASSIGN_OR_RETURN(Token t, Token::Parse(bytes));
    entries_.push_back(
        Entry{std::move(t), std::chrono::sys_seconds(std::chrono::seconds(static_cast<int64_t>(until)))});
  }
  if (!r.empty()) return Error(ErrorCode::kMalformed, "wallet: trailing bytes in token file");
  return OkStatus();
}

Status Wallet::Persist() const {
  wire::ByteWriter w;
  w.WriteBytes(kMagic);
  w.WriteU32(static_cast<uint32_t>(entries_.size()));
  for (const Entry& e : entries_) {
    w.WriteU64(static_cast<uint64_t>(e.redeem_until.time_since_epoch().count()));
    w.WriteBytes(e.token.Encode());
  }
  Bytes bytes = w.Take();
  const std::string tmp = path_ + ".tmp";
  unlink(tmp.c_str());
  Status status = OkStatus();
  {
    Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
      status = IoError("creating " + tmp);
    } else {
      status = WriteAll(fd.get(), bytes);
      if (status.ok() && fsync(fd.get()) != 0) status = IoError("fsync");
    }
  }
  crypto::Wipe(bytes);
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  if (rename(tmp.c_str(), path_.c_str()) != 0) return IoError("rename");
  std::string dir = std::filesystem::path(path_).parent_path().string();
  if (dir.empty()) dir = ".";
  Fd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || fsync(dfd.get()) != 0) return IoError("fsync of the wallet directory");
  return OkStatus();
}

Wallet::~Wallet() {
  std::lock_guard lock(mu_);
  if (reserve_.empty()) return;
  // None of them was handed out: they go back to the front of the file, in order.
  entries_.insert(entries_.begin(), std::make_move_iterator(reserve_.begin()),
                  std::make_move_iterator(reserve_.end()));
  reserve_.clear();
  (void)Persist();
}

bool Wallet::Usable(const Entry& e, std::chrono::sys_seconds now) const {
  if (now >= e.redeem_until) return false;
  return std::find(policy_.allowed_keys.begin(), policy_.allowed_keys.end(),
                   e.token.token_key_id) != policy_.allowed_keys.end();
}

bool Wallet::Prune(std::chrono::sys_seconds now) {
  std::erase_if(reserve_, [&](const Entry& e) { return !Usable(e, now); });
  const size_t before = entries_.size();
  std::erase_if(entries_, [&](const Entry& e) { return !Usable(e, now); });
  return entries_.size() != before;
}

Status Wallet::FillReserve() {
  const size_t want = std::max<size_t>(policy_.reserve, 1);
  if (reserve_.size() >= want || entries_.empty()) return OkStatus();
  const size_t n = std::min(want - reserve_.size(), entries_.size());
  std::vector<Entry> moved(std::make_move_iterator(entries_.begin()),
                           std::make_move_iterator(entries_.begin() + static_cast<std::ptrdiff_t>(n)));
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n));
  // Not durably out of the file: drop them (never hand one out twice) and fail.
  OPENPCC_RETURN_IF_ERROR(Persist());
  for (Entry& e : moved) reserve_.push_back(std::move(e));
  return OkStatus();
}

Status Wallet::SetPolicy(WalletPolicy policy) {
  std::lock_guard lock(mu_);
  policy_ = std::move(policy);
  const size_t before = entries_.size();
  auto unlisted = [&](const Entry& e) {
    return std::find(policy_.allowed_keys.begin(), policy_.allowed_keys.end(),
                     e.token.token_key_id) == policy_.allowed_keys.end();
  };
  std::erase_if(reserve_, unlisted);
  std::erase_if(entries_, unlisted);
  if (entries_.size() != before) return Persist();
  return OkStatus();
}

Result<size_t> Wallet::Tick(std::chrono::sys_seconds now,
                            const std::vector<TokenVerificationKey>& keys,
                            const TokenFetcher& fetch) {
  std::lock_guard lock(mu_);
  if (Prune(now)) OPENPCC_RETURN_IF_ERROR(Persist());
  // Ahead of need, so that Take finds the reserve full and does no I/O.
  if (reserve_.size() * 2 < std::max<size_t>(policy_.reserve, 1)) OPENPCC_RETURN_IF_ERROR(FillReserve());
  if (entries_.size() + reserve_.size() >= policy_.refill_below) {
    refill_at_.reset();
    return size_t{0};
  }
  if (!refill_at_) {
    const auto bound = entries_.empty() && reserve_.empty()
                           ? std::min(policy_.empty_refill_delay, policy_.max_refill_delay)
                           : policy_.max_refill_delay;
    const uint64_t delay = bound.count() > 0 ? random_(static_cast<uint64_t>(bound.count())) : 0;
    refill_at_ = now + std::chrono::seconds(static_cast<int64_t>(delay));
  }
  if (now < *refill_at_) return size_t{0};
  return FetchBatch(now, keys, fetch);
}

Result<size_t> Wallet::FillIfEmpty(std::chrono::sys_seconds now,
                                   const std::vector<TokenVerificationKey>& keys,
                                   const TokenFetcher& fetch) {
  std::lock_guard lock(mu_);
  if (Prune(now)) OPENPCC_RETURN_IF_ERROR(Persist());
  if (!entries_.empty() || !reserve_.empty()) return size_t{0};
  return FetchBatch(now, keys, fetch);
}

Result<size_t> Wallet::FetchBatch(std::chrono::sys_seconds now,
                                  const std::vector<TokenVerificationKey>& keys,
                                  const TokenFetcher& fetch) {
  // The newest allowed key that is redeemable now.
  const TokenVerificationKey* key = nullptr;
  for (const TokenVerificationKey& k : keys) {
    const bool allowed = std::find(policy_.allowed_keys.begin(), policy_.allowed_keys.end(),
                                   k.id) != policy_.allowed_keys.end();
    if (allowed && k.windows.Redeemable(now) &&
        (key == nullptr || k.windows.not_before > key->windows.not_before)) {
      key = &k;
    }
  }
  if (key == nullptr) {
    return Error(ErrorCode::kUnknownKey, "wallet: no token key is both listed and current");
  }
  std::vector<TokenRequest> requests;
  std::vector<PendingToken> pending;
  for (size_t i = 0; i < policy_.batch_size; ++i) {
    OPENPCC_ASSIGN_OR_RETURN(ClientTokenRequest req, CreateTokenRequest(policy_.challenge, *key->key));
    requests.push_back(std::move(req.request));
    pending.push_back(std::move(req.pending));
  }
  OPENPCC_ASSIGN_OR_RETURN(auto responses, fetch(requests));
  if (responses.size() != requests.size()) {
    return Error(ErrorCode::kMalformed, "wallet: issuer answered " +
                                            std::to_string(responses.size()) + " of " +
                                            std::to_string(requests.size()) + " requests");
  }
  size_t added = 0;
  for (size_t i = 0; i < responses.size(); ++i) {
    if (!responses[i]) continue;
    auto token = FinalizeToken(pending[i], *responses[i], *key->key);
    if (!token.ok()) continue;  // a wrong answer costs only that token
    entries_.push_back(Entry{std::move(token).value(), key->windows.redeem_until});
    ++added;
  }
  refill_at_.reset();
  OPENPCC_RETURN_IF_ERROR(Persist());
  if (added == 0) {
    return Error(ErrorCode::kAuthenticationFailed, "wallet: no token of the batch finalized");
  }
  return added;
}

Result<Token> Wallet::Take(std::chrono::sys_seconds now) {
  std::lock_guard lock(mu_);
  const bool pruned = Prune(now);
  if (reserve_.empty()) {
    if (entries_.empty()) {
      if (pruned) OPENPCC_RETURN_IF_ERROR(Persist());
      return Error(ErrorCode::kFailedPrecondition, "wallet: no usable token (refill pending)");
    }
    OPENPCC_RETURN_IF_ERROR(FillReserve());  // also writes what Prune dropped
  } else if (pruned) {
    OPENPCC_RETURN_IF_ERROR(Persist());
  }
  Entry taken = std::move(reserve_.front());
  reserve_.erase(reserve_.begin());
  return std::move(taken.token);
}

size_t Wallet::size() const {
  std::lock_guard lock(mu_);
  return entries_.size() + reserve_.size();
}

size_t Wallet::reserved() const {
  std::lock_guard lock(mu_);
  return reserve_.size();
}

std::optional<std::chrono::sys_seconds> Wallet::scheduled_refill() const {
  std::lock_guard lock(mu_);
  return refill_at_;
}

}  // namespace openpcc::tokens
