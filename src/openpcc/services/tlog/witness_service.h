// services/tlog/witness_service.h — `openpcc witness`: tlog/witness.h behind the C2SP tlog-witness
// HTTP API.
//
//   POST /add-checkpoint   body per tlog/witness_request.h. Answers:
//     200  the cosignature line ("— <name> base64(key id || timestamp || signature)\n")
//     400  malformed body, or a rollback (the checkpoint is smaller than the size last seen)
//     403  the checkpoint's log signature does not verify
//     404  the origin is not a log this witness is configured for
//     409  `old` is not the size the witness last saw; body "<size>\n" (text/x.tlog.size)
//     422  fork: the consistency proof fails, or the same size was seen with another root
//   GET /healthz
//
// The state change is made durable before the answer (Witness::Cosign persists it); the fsync runs
// on a worker thread, never on an I/O thread. Timestamps come from the injected Clock.
//
// Thread safety: as TlogService (Routes, then serve, then Stop).
#pragma once

#include <memory>

#include "openpcc/net/router.h"
#include "openpcc/services/work_queue.h"
#include "openpcc/tlog/witness.h"
#include "openpcc/util/clock.h"

namespace openpcc::services {

class WitnessService {
 public:
  WitnessService(std::unique_ptr<tlog::Witness> witness, const Clock& clock)
      : witness_(std::move(witness)), clock_(clock), workers_(1) {}
  net::Router Routes();
  void Stop() { workers_.Stop(); }

 private:
  std::unique_ptr<tlog::Witness> witness_;
  const Clock& clock_;
  WorkQueue workers_;
};

}  // namespace openpcc::services
