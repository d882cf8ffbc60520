#include "openpcc/attest/collect/configfs_tsm.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace openpcc::attest::collect {
namespace {

constexpr size_t kMaxBlob = size_t{1} << 20;

Error TsmError(ErrorCode code, const std::string& message) {
  return Error(code, "configfs-tsm: " + message);
}

Result<Bytes> ReadAttribute(const std::filesystem::path& path, bool optional, bool* present = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (present != nullptr) *present = false;
    if (optional) return Bytes{};
    return TsmError(ErrorCode::kFailedPrecondition, "cannot read " + path.string());
  }
  if (present != nullptr) *present = true;
  Bytes out;
  char buffer[8192];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    out.insert(out.end(), buffer, buffer + in.gcount());
    if (out.size() > kMaxBlob) return TsmError(ErrorCode::kOutOfRange, path.string() + " is larger than 1 MiB");
  }
  if (in.bad()) return TsmError(ErrorCode::kFailedPrecondition, "error reading " + path.string());
  return out;
}

Status WriteAttribute(const std::filesystem::path& path, ByteView contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return TsmError(ErrorCode::kFailedPrecondition, "cannot write " + path.string());
  out.write(reinterpret_cast<const char*>(contents.data()), static_cast<std::streamsize>(contents.size()));
  out.flush();
  if (!out) return TsmError(ErrorCode::kFailedPrecondition, "error writing " + path.string());
  return OkStatus();
}

std::string Trim(ByteView bytes) {
  std::string text(AsChars(bytes));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

Result<uint64_t> ReadGeneration(const std::filesystem::path& entry) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes raw, ReadAttribute(entry / "generation", false));
  const std::string text = Trim(raw);
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) {
    return TsmError(ErrorCode::kMalformed, "generation is not a decimal number");
  }
  return std::stoull(text);
}

bool ValidEntryName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

Result<TsmReport> RequestTsmReport(const TsmRequest& request, ByteView report_data) {
  if (report_data.size() != 64) {
    return TsmError(ErrorCode::kInvalidArgument, "inblob must be 64 bytes of REPORT_DATA");
  }
  if (!ValidEntryName(request.entry)) return TsmError(ErrorCode::kInvalidArgument, "invalid entry name");
  std::error_code ec;
  if (!std::filesystem::is_directory(request.root, ec)) {
    return TsmError(ErrorCode::kUnsupported,
                    request.root.string() + " does not exist: no configfs-tsm report interface (needs "
                    "Linux 6.7+ in an SEV-SNP or TDX guest, with configfs mounted)");
  }
  const std::filesystem::path entry = request.root / request.entry;
  if (::mkdir(entry.c_str(), 0700) != 0 && errno != EEXIST) {
    return TsmError(ErrorCode::kFailedPrecondition,
                    "cannot create " + entry.string() + ": " + std::strerror(errno));
  }
  struct Cleanup {
    std::filesystem::path path;
    ~Cleanup() { ::rmdir(path.c_str()); }  // best effort: configfs removes the attributes with it
  } cleanup{entry};

  if (request.privlevel) {
    OPENPCC_RETURN_IF_ERROR(WriteAttribute(entry / "privlevel", AsBytes(std::to_string(*request.privlevel))));
  }
  OPENPCC_RETURN_IF_ERROR(WriteAttribute(entry / "inblob", report_data));
  OPENPCC_ASSIGN_OR_RETURN(uint64_t before, ReadGeneration(entry));
  TsmReport report;
  OPENPCC_ASSIGN_OR_RETURN(report.outblob, ReadAttribute(entry / "outblob", false));
  OPENPCC_ASSIGN_OR_RETURN(report.auxblob, ReadAttribute(entry / "auxblob", true));
  OPENPCC_ASSIGN_OR_RETURN(Bytes provider, ReadAttribute(entry / "provider", false));
  report.provider = Trim(provider);
  OPENPCC_ASSIGN_OR_RETURN(report.generation, ReadGeneration(entry));
  if (report.generation != before) {
    return TsmError(ErrorCode::kFailedPrecondition,
                    "generation changed from " + std::to_string(before) + " to " +
                        std::to_string(report.generation) + " while reading: another writer used the entry");
  }
  if (!request.expected_provider.empty() && report.provider != request.expected_provider) {
    return TsmError(ErrorCode::kUnsupported, "provider is '" + report.provider + "', expected '" +
                                                 request.expected_provider + "'");
  }
  if (report.outblob.empty()) return TsmError(ErrorCode::kMalformed, "outblob is empty");
  return report;
}

}  // namespace openpcc::attest::collect
