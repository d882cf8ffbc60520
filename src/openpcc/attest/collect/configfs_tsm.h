// attest/collect/configfs_tsm.h — Linux's configfs-tsm report interface (Linux 6.7+,
// Documentation/ABI/testing/configfs-tsm): one way to ask the TEE for a report on SEV-SNP
// (provider "sev_guest") and TDX (provider "tdx_guest").
//
// Protocol, for one report: create the entry directory <root>/<name>; write the 64-byte
// REPORT_DATA to inblob; read generation (the kernel counts writes to the entry); read outblob
// (the report or quote), auxblob (SEV-SNP: the host's certificate table; may be empty or absent)
// and provider; read generation again: a different value means another process wrote to the
// entry meanwhile and the outblob may not be ours, so the request fails. The entry is removed
// afterwards (best effort). The root is a parameter so tests run against a fake tree in a
// temporary directory.
//
// Thread safety: one request per entry name at a time (the generation check detects violations).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::collect {

inline constexpr std::string_view kTsmReportRoot = "/sys/kernel/config/tsm/report";

struct TsmReport {
  Bytes outblob;
  Bytes auxblob;  // empty when the provider has none
  std::string provider;
  uint64_t generation = 0;
};

struct TsmRequest {
  std::filesystem::path root{std::string(kTsmReportRoot)};
  std::string entry = "openpcc";
  std::string expected_provider;  // "sev_guest", "tdx_guest"; refused when it differs
  std::optional<uint32_t> privlevel;  // SEV-SNP VMPL, written to privlevel when set
};

Result<TsmReport> RequestTsmReport(const TsmRequest& request, ByteView report_data);

}  // namespace openpcc::attest::collect
