#include "openpcc/util/result.h"

namespace openpcc {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kTruncated: return "truncated";
    case ErrorCode::kMalformed: return "malformed";
    case ErrorCode::kOutOfRange: return "out of range";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kUnknownKey: return "unknown key";
    case ErrorCode::kAuthenticationFailed: return "authentication failed";
    case ErrorCode::kIncomplete: return "incomplete";
    case ErrorCode::kFailedPrecondition: return "failed precondition";
    case ErrorCode::kReplay: return "replay";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace openpcc
