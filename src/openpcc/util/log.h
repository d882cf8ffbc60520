// util/log.h — structured, content-free logging for services.
//
// A log line says what happened, never what was said: request ids, sizes, timings, routes and
// error classes. There is deliberately no way to log a byte buffer; callers pass short fields
// (`{"status", "200"}`), and values are truncated to 200 characters so a misuse cannot dump a body.
// Lines go to stderr as `ts=... level=... component=... msg=... key=value ...`.
//
// Thread safety: Log may be called from any thread; lines are written whole.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace openpcc {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarning, kError };

using LogField = std::pair<std::string_view, std::string>;

void SetLogLevel(LogLevel level);
// Parses "debug", "info", "warning", "error"; false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel* level);

void Log(LogLevel level, std::string_view component, std::string_view message,
         std::initializer_list<LogField> fields = {});

inline void LogInfo(std::string_view component, std::string_view message,
                    std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, component, message, fields);
}
inline void LogWarning(std::string_view component, std::string_view message,
                       std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, component, message, fields);
}
inline void LogError(std::string_view component, std::string_view message,
                     std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, component, message, fields);
}

}  // namespace openpcc
