// attest/tdx/ccel.h — the TD's CC event log (ACPI CCEL) and its replay into RTMR values.
//
// The TDX firmware and the guest extend RTMR0..3 and record each extension in a TCG2 crypto-agile
// event log, located through the ACPI "CCEL" table. Replaying the log (RTMR = SHA-384(RTMR ||
// digest), from zero) and comparing with the RTMRs in a verified quote shows that the log is the
// one the TD measured; the events then say what was measured. The log itself is untrusted until
// that comparison succeeds.
//
// Log format (TCG PC Client PFP, crypto-agile): a first event in SHA-1 format carrying the
// "Spec ID Event03" header (the algorithms and digest sizes of every later event), then events
// {MR index u32, type u32, digest count u32, (alg u16, digest)*, size u32, data}, little-endian.
// CCEL MR index 0 is MRTD, 1..4 are RTMR0..3. EV_NO_ACTION events extend nothing. The log area is
// 0xFF-filled after the last event; a record starting with 0xFFFFFFFF ends the log.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "openpcc/attest/tdx/quote.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tdx {

inline constexpr uint32_t kEvNoAction = 3;
inline constexpr uint16_t kTpmAlgSha384 = 0x000C;

struct CcelTable {
  uint8_t revision = 0;
  std::array<uint8_t, 6> oem_id{};
  uint8_t cc_type = 0;     // 2 = TDX
  uint8_t cc_subtype = 0;
  uint64_t log_area_minimum_length = 0;
  uint64_t log_area_start_address = 0;
};

struct CcelEvent {
  uint32_t mr_index = 0;
  uint32_t event_type = 0;
  Mr48 sha384{};
  Bytes data;
};

struct CcelLog {
  std::vector<CcelEvent> events;  // every event after the Spec ID header, EV_NO_ACTION included
  std::array<Mr48, 4> rtmr{};     // replayed values
};

// The ACPI CCEL table (signature "CCEL", length and checksum checked).
Result<CcelTable> ParseCcelTable(ByteView bytes);
// Parses the log and replays it into RTMR0..3. The log must declare SHA-384.
Result<CcelLog> ReplayCcel(ByteView log);
// Fails naming the first RTMR whose replayed value differs from the quote's.
Status CheckRtmrs(const CcelLog& log, const TdReport& report);

}  // namespace openpcc::attest::tdx
