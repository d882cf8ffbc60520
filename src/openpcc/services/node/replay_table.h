// services/node/replay_table.h — the node's table of sealed requests already opened (DESIGN §2.2).
//
// After a request's wrapped DEK opens, the node inserts the candidate's `enc` (the HPKE
// encapsulated key, fresh for every sealing) here atomically; an `enc` seen within the retention
// period (120 s, twice the Date window, so a replay outside it fails the Date check instead) is
// refused with kReplay. The table is bounded: when it is full of unexpired entries new requests are
// refused — entries are never evicted early, since that would re-open the window for a replay.
//
// Stores SHA-256(enc), not enc. Time is a parameter. Thread safety: all members are thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>

#include "openpcc/util/bytes.h"
#include "openpcc/util/clock.h"
#include "openpcc/util/result.h"

namespace openpcc::services::node {

class ReplayTable {
 public:
  ReplayTable(size_t capacity, std::chrono::milliseconds retention = std::chrono::seconds(120));

  // Inserts `enc` seen at `now`. kReplay if it is present, or if the table is full.
  Status Insert(ByteView enc, SysTime now);
  size_t size() const;

 private:
  void ExpireLocked(SysTime now);

  const size_t capacity_;
  const std::chrono::milliseconds retention_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<SysTime, std::string>> order_;  // insertion order = expiry order
};

}  // namespace openpcc::services::node
