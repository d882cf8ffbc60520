#include "openpcc/util/clock.h"

namespace openpcc {

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace openpcc
