#include "openpcc/net/cancel.h"

namespace openpcc::net {

void CancelToken::OnCancel(std::function<void()> fn) const {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->cancelled.load(std::memory_order_acquire)) {
      state_->callbacks.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void CancelSource::Cancel() const {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(state_->mu);
    if (state_->cancelled.exchange(true, std::memory_order_acq_rel)) return;
    callbacks.swap(state_->callbacks);
  }
  for (auto& fn : callbacks) fn();
}

}  // namespace openpcc::net
