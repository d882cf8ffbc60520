#include "openpcc/tokens/spent_store.h"

#include <future>

namespace openpcc::tokens {

Result<bool> SpentTokenStore::InsertIfAbsent(const Nonce& key,
                                             std::chrono::sys_seconds expires_at) {
  std::promise<Result<bool>> promise;
  std::future<Result<bool>> future = promise.get_future();
  InsertIfAbsentAsync(key, expires_at,
                      [&promise](Result<bool> result) { promise.set_value(std::move(result)); });
  return future.get();
}

void SpentTokenStore::InsertIfAbsentTwoPhase(const Nonce& key, std::chrono::sys_seconds expires_at,
                                             DecidedCallback decided, Callback done) {
  InsertIfAbsentAsync(key, expires_at,
                      [decided = std::move(decided), done = std::move(done)](Result<bool> result) {
                        if (result.ok()) decided(*result);
                        done(std::move(result));
                      });
}

void MemorySpentStore::InsertIfAbsentAsync(const Nonce& key, std::chrono::sys_seconds expires_at,
                                           Callback done) {
  bool inserted = false;
  {
    std::lock_guard lock(mu_);
    inserted = entries_.emplace(key, expires_at).second;
  }
  done(inserted);
}

Result<bool> MemorySpentStore::Contains(const Nonce& key) {
  std::lock_guard lock(mu_);
  return entries_.count(key) != 0;
}

Result<size_t> MemorySpentStore::DropExpired(std::chrono::sys_seconds cutoff) {
  std::lock_guard lock(mu_);
  size_t dropped = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second <= cutoff) {
      it = entries_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace openpcc::tokens
