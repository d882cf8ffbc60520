#include "openpcc/services/node/replay_table.h"

#include "openpcc/crypto/hash.h"

namespace openpcc::services::node {

ReplayTable::ReplayTable(size_t capacity, std::chrono::milliseconds retention)
    : capacity_(capacity), retention_(retention) {}

void ReplayTable::ExpireLocked(SysTime now) {
  // Times come from one clock and are inserted in order; a clock stepping back only keeps
  // entries longer, never shorter.
  while (!order_.empty() && order_.front().first + retention_ <= now) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
}

Status ReplayTable::Insert(ByteView enc, SysTime now) {
  const Bytes digest = crypto::Sha256(enc);
  std::string key(reinterpret_cast<const char*>(digest.data()), digest.size());
  std::lock_guard lock(mu_);
  ExpireLocked(now);
  if (seen_.contains(key)) {
    return Error(ErrorCode::kReplay, "replay: this sealed request was already received");
  }
  if (seen_.size() >= capacity_) {
    return Error(ErrorCode::kReplay, "replay: the replay table is full (" + std::to_string(capacity_) +
                                         " requests in the last " +
                                         std::to_string(retention_.count() / 1000) +
                                         " s); try again later");
  }
  seen_.insert(key);
  const SysTime at = order_.empty() ? now : std::max(now, order_.back().first);
  order_.emplace_back(at, std::move(key));
  return OkStatus();
}

size_t ReplayTable::size() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

}  // namespace openpcc::services::node
