// Structured logging in the shape Go exporters print (go-kit/log, slog):
//
//   ts=2026-11-24T20:55:12.123Z level=info msg="Listening on" address=:9806
//   {"ts":"2026-11-24T20:55:12.123Z","level":"info","msg":"Listening on","address":":9806"}
//
// Lines go to stderr through spdlog, which supplies level filtering and a
// thread-safe sink; the line itself is built here, because spdlog 1.10 has
// no structured fields.  All functions are safe to call from any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace portmap {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

struct LogField {
  std::string_view key;
  std::string value;
};

// Parses "debug" | "info" | "warn" | "error" and "logfmt" | "json".
bool ParseLogLevel(std::string_view text, LogLevel* level);
bool ParseLogFormat(std::string_view text, LogFormat* format);

// Sets the level and format of every later line.  Before this is called,
// lines are logfmt at info.
void InitLogging(LogLevel level, LogFormat format);

bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

inline void LogDebug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  if (LogEnabled(LogLevel::kDebug)) Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarn, msg, fields);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, msg, fields);
}

// Formats one line without the trailing newline; `ts` is given so a test can
// check the exact output.
std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view msg, std::initializer_list<LogField> fields);

}  // namespace portmap
