// util/stopwatch.h — how long a phase took, for per-request log fields and benchmarks (the
// "added time by component" split of bench/e2e).
//
// Steady clock, read only at phase boundaries (never per byte). It measures and reports; nothing
// decides anything from it, which is why it is not the injected `Clock` (util/clock.h) that logic
// depending on time takes.
//
// Thread safety: a Stopwatch or ScopedTime belongs to one thread.
#pragma once

#include <chrono>
#include <string>

namespace openpcc {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  std::chrono::microseconds Elapsed() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Adds the time until the end of the enclosing scope to `total`.
class ScopedTime {
 public:
  explicit ScopedTime(std::chrono::microseconds& total) : total_(total) {}
  ~ScopedTime() { total_ += watch_.Elapsed(); }
  ScopedTime(const ScopedTime&) = delete;
  ScopedTime& operator=(const ScopedTime&) = delete;

 private:
  std::chrono::microseconds& total_;
  Stopwatch watch_;
};

// A log field's value: whole microseconds.
inline std::string Micros(std::chrono::microseconds d) { return std::to_string(d.count()); }

}  // namespace openpcc
