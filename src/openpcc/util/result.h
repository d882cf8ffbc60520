// util/result.h — the one error type of OpenPCC, carried by value across module boundaries.
//
// A `Result<T>` holds either a `T` or an `Error`. An `Error` has a broad `ErrorCode` (what kind of
// failure, for callers that branch on it) and a message that names the field or check that failed
// and what was expected ("ohttp: key config: kem_id 0x0021 is not supported"). Messages never carry
// secret material: no key bytes, no plaintext, no token values.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace openpcc {

enum class ErrorCode : uint8_t {
  kInvalidArgument,       // the caller passed something unusable (wrong size, empty list)
  kTruncated,             // input ended before a field was complete
  kMalformed,             // input is structurally wrong (bad value, trailing bytes, duplicate)
  kOutOfRange,            // a length or count exceeds a limit
  kUnsupported,           // known format, unsupported version, suite or algorithm
  kUnknownKey,            // a key id or node id that is not ours
  kAuthenticationFailed,  // an AEAD tag or signature did not verify
  kIncomplete,            // a stream ended without its authenticated final part
  kFailedPrecondition,    // the call is not valid in the object's current state
  kReplay,                // a value that must be used once was seen before
  kInternal,              // a library (OpenSSL) failed where it should not
};

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", for logs and CLI output.
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const Error& error() const& { return std::get<Error>(state_); }
  Error&& error() && { return std::get<Error>(std::move(state_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;
inline Status OkStatus() { return Status(); }

}  // namespace openpcc

#define OPENPCC_CONCAT_INNER(a, b) a##b
#define OPENPCC_CONCAT(a, b) OPENPCC_CONCAT_INNER(a, b)

// Evaluates `expr` (a Result<void>) and returns its error from the enclosing function on failure.
#define OPENPCC_RETURN_IF_ERROR(expr)                               \
  do {                                                              \
    auto openpcc_status_ = (expr);                                  \
    if (!openpcc_status_.ok()) return std::move(openpcc_status_).error(); \
  } while (false)

// `OPENPCC_ASSIGN_OR_RETURN(auto x, ParseThing(bytes));` binds the value or returns the error.
#define OPENPCC_ASSIGN_OR_RETURN(lhs, expr) \
  OPENPCC_ASSIGN_OR_RETURN_IMPL(OPENPCC_CONCAT(openpcc_result_, __LINE__), lhs, expr)
#define OPENPCC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).error();       \
  lhs = std::move(tmp).value()
