#include "openpcc/attest/tdx/ccel.h"

#include <string>

#include "openpcc/crypto/hash.h"
#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::tdx {
namespace {

using wire::ByteReader;

Error Truncated(std::string_view what) {
  return Error(ErrorCode::kTruncated, "tdx: event log: truncated at " + std::string(what));
}

constexpr std::string_view kSpecIdSignature("Spec ID Event03\0", 16);
constexpr size_t kMaxEventData = 16 * 1024 * 1024;
constexpr uint32_t kMaxAlgorithms = 16;

}  // namespace

Result<CcelTable> ParseCcelTable(ByteView bytes) {
  ByteReader r(bytes);
  std::span<const uint8_t> signature;
  uint32_t length = 0;
  CcelTable t;
  if (!r.ReadBytes(4, &signature) || !r.ReadU32Le(&length)) {
    return Error(ErrorCode::kTruncated, "tdx: CCEL table: truncated header");
  }
  if (AsChars(signature) != "CCEL") {
    return Error(ErrorCode::kMalformed, "tdx: CCEL table: signature is not \"CCEL\"");
  }
  if (length != bytes.size() || length < 56) {
    return Error(ErrorCode::kMalformed, "tdx: CCEL table: length " + std::to_string(length) +
                                            " (expected the table size, at least 56)");
  }
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  if (sum != 0) return Error(ErrorCode::kMalformed, "tdx: CCEL table: checksum does not sum to 0");
  uint8_t checksum = 0;
  bool ok = r.ReadU8(&t.revision) && r.ReadU8(&checksum) && r.CopyBytes(t.oem_id) &&
            r.Skip(8 + 4 + 4 + 4) && r.ReadU8(&t.cc_type) && r.ReadU8(&t.cc_subtype) && r.Skip(2) &&
            r.ReadU64Le(&t.log_area_minimum_length) && r.ReadU64Le(&t.log_area_start_address);
  if (!ok) return Error(ErrorCode::kTruncated, "tdx: CCEL table: truncated body");
  return t;
}

Result<CcelLog> ReplayCcel(ByteView bytes) {
  ByteReader r(bytes);
  // The first event: SHA-1 format header carrying the TCG_EfiSpecIdEvent.
  uint32_t index = 0, type = 0, size = 0;
  ByteReader spec;
  if (!r.ReadU32Le(&index) || !r.ReadU32Le(&type) || !r.Skip(20) || !r.ReadU32Le(&size) ||
      !r.ReadChild(size, &spec)) {
    return Truncated("Spec ID event");
  }
  std::span<const uint8_t> signature;
  if (type != kEvNoAction || !spec.ReadBytes(16, &signature) || AsChars(signature) != kSpecIdSignature) {
    return Error(ErrorCode::kMalformed,
                 "tdx: event log: first event is not an EV_NO_ACTION \"Spec ID Event03\"");
  }
  uint32_t algorithm_count = 0;
  if (!spec.Skip(4 + 4) || !spec.ReadU32Le(&algorithm_count)) return Truncated("Spec ID event");
  if (algorithm_count == 0 || algorithm_count > kMaxAlgorithms) {
    return Error(ErrorCode::kMalformed, "tdx: event log: Spec ID event lists " +
                                            std::to_string(algorithm_count) + " algorithms");
  }
  std::vector<std::pair<uint16_t, uint16_t>> algorithms;  // (id, digest size)
  bool has_sha384 = false;
  for (uint32_t i = 0; i < algorithm_count; ++i) {
    uint16_t id = 0, digest_size = 0;
    if (!spec.ReadU16Le(&id) || !spec.ReadU16Le(&digest_size)) return Truncated("Spec ID algorithms");
    if (id == kTpmAlgSha384) {
      if (digest_size != 48) {
        return Error(ErrorCode::kMalformed, "tdx: event log: SHA-384 declared with digest size " +
                                                std::to_string(digest_size));
      }
      has_sha384 = true;
    }
    algorithms.emplace_back(id, digest_size);
  }
  if (!has_sha384) {
    return Error(ErrorCode::kUnsupported, "tdx: event log: Spec ID event does not declare SHA-384");
  }

  CcelLog log;
  while (!r.empty()) {
    uint32_t mr = 0;
    {
      ByteReader peek = r;
      if (peek.ReadU32Le(&mr) && mr == 0xFFFFFFFF) break;  // 0xFF fill after the last event
    }
    CcelEvent event;
    uint32_t digest_count = 0;
    if (!r.ReadU32Le(&event.mr_index) || !r.ReadU32Le(&event.event_type) ||
        !r.ReadU32Le(&digest_count)) {
      return Truncated("event " + std::to_string(log.events.size() + 1) + " header");
    }
    if (event.mr_index > 4) {
      return Error(ErrorCode::kMalformed, "tdx: event log: event " +
                                              std::to_string(log.events.size() + 1) +
                                              " has MR index " + std::to_string(event.mr_index) +
                                              " (expected 0..4)");
    }
    if (digest_count > kMaxAlgorithms) {
      return Error(ErrorCode::kMalformed, "tdx: event log: digest count " + std::to_string(digest_count));
    }
    bool found = false;
    for (uint32_t i = 0; i < digest_count; ++i) {
      uint16_t alg = 0;
      if (!r.ReadU16Le(&alg)) return Truncated("event digest algorithm");
      size_t digest_size = 0;
      for (auto [id, length] : algorithms) {
        if (id == alg) digest_size = length;
      }
      if (digest_size == 0) {
        return Error(ErrorCode::kMalformed, "tdx: event log: digest algorithm " + HexU16(alg) +
                                                " not declared in the Spec ID event");
      }
      std::span<const uint8_t> digest;
      if (!r.ReadBytes(digest_size, &digest)) return Truncated("event digest");
      if (alg == kTpmAlgSha384) {
        if (found) return Error(ErrorCode::kMalformed, "tdx: event log: two SHA-384 digests in one event");
        std::copy(digest.begin(), digest.end(), event.sha384.begin());
        found = true;
      }
    }
    uint32_t data_size = 0;
    std::span<const uint8_t> data;
    if (!r.ReadU32Le(&data_size) || data_size > kMaxEventData || !r.ReadBytes(data_size, &data)) {
      return Truncated("event data");
    }
    if (!found && event.event_type != kEvNoAction) {
      return Error(ErrorCode::kMalformed, "tdx: event log: event " +
                                              std::to_string(log.events.size() + 1) +
                                              " has no SHA-384 digest");
    }
    event.data = ToBytes(data);
    if (event.event_type != kEvNoAction && event.mr_index >= 1) {
      Mr48& rtmr = log.rtmr[event.mr_index - 1];
      Bytes next = crypto::Sha384(Concat(rtmr, event.sha384));
      std::copy(next.begin(), next.end(), rtmr.begin());
    }
    log.events.push_back(std::move(event));
  }
  return log;
}

Status CheckRtmrs(const CcelLog& log, const TdReport& report) {
  for (size_t i = 0; i < 4; ++i) {
    if (log.rtmr[i] != report.rtmr[i]) {
      return Error(ErrorCode::kAuthenticationFailed,
                   "tdx: event log: replayed RTMR" + std::to_string(i) + " " + HexEncode(log.rtmr[i]) +
                       " does not match the quote's " + HexEncode(report.rtmr[i]));
    }
  }
  return OkStatus();
}

}  // namespace openpcc::attest::tdx
