// util/clock.h — the time source every service and library object takes by injection.
//
// Nothing in OpenPCC reads the wall clock directly: freshness windows, epochs, quotas, key
// rotation and certificate validity all ask a `Clock`, so tests drive time with `ManualClock` and
// never depend on when they run.
//
// Thread safety: SystemClock is stateless; ManualClock is safe to read and advance concurrently.
#pragma once

#include <atomic>
#include <chrono>

namespace openpcc {

using SysTime = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SysTime Now() const = 0;
  std::chrono::sys_seconds NowSeconds() const {
    return std::chrono::floor<std::chrono::seconds>(Now());
  }
};

class SystemClock final : public Clock {
 public:
  SysTime Now() const override {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
  // A process-wide instance for services that are not under test.
  static const SystemClock& Instance();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(SysTime start) : now_ms_(start.time_since_epoch().count()) {}
  SysTime Now() const override { return SysTime(std::chrono::milliseconds(now_ms_.load())); }
  void Set(SysTime time) { now_ms_.store(time.time_since_epoch().count()); }
  void Advance(std::chrono::milliseconds delta) { now_ms_.fetch_add(delta.count()); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace openpcc
