#include "util/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace portmap {

namespace {

std::atomic<LogFormat> g_format{LogFormat::kLogfmt};

spdlog::logger& Logger() {
  // stderr, unbuffered, mutex-protected; "%v" because the line is ours.
  static auto logger = [] {
    auto l = spdlog::stderr_logger_mt("portmap");
    l->set_pattern("%v");
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::debug);
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// RFC 3339 in UTC with milliseconds, as Go's log packages print it.
std::string NowTimestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // ample for any int fields, which keeps -Wformat-truncation quiet
  (void)std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(ms % 1000));
  return buf;
}

// `v` in double quotes with the escapes logfmt (Go's strconv.Quote) and JSON
// share; any other control character as \xHH in logfmt, which escapes DEL
// too, and as \u00HH in JSON.
void AppendQuoted(std::string* out, std::string_view v, bool json) {
  out->push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        char buf[8];
        if (u < 0x20 && json) {
          (void)std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out->append(buf);
        } else if (!json && (u < 0x20 || u == 0x7f)) {
          (void)std::snprintf(buf, sizeof buf, "\\x%02x", u);
          out->append(buf);
        } else {
          out->push_back(c);
        }
      }
    }
  }
  out->push_back('"');
}

// logfmt quotes a value that is empty or holds a space, '=', '"' or a control
// character; inside quotes it escapes like Go's strconv.Quote.
void AppendLogfmtValue(std::string* out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c <= ' ' || c == '=' || c == '"' || c == 0x7f) quote = true;
  }
  if (!quote) {
    out->append(v);
    return;
  }
  AppendQuoted(out, v, /*json=*/false);
}

void AppendJsonString(std::string* out, std::string_view v) { AppendQuoted(out, v, /*json=*/true); }

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") {
    *level = LogLevel::kDebug;
  } else if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warn") {
    *level = LogLevel::kWarn;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "logfmt") {
    *format = LogFormat::kLogfmt;
  } else if (text == "json") {
    *format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

void InitLogging(LogLevel level, LogFormat format) {
  g_format.store(format);
  Logger().set_level(ToSpdlog(level));
}

bool LogEnabled(LogLevel level) { return Logger().should_log(ToSpdlog(level)); }

std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view msg, std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(128);
  if (format == LogFormat::kJson) {
    line += "{\"ts\":";
    AppendJsonString(&line, ts);
    line += ",\"level\":";
    AppendJsonString(&line, LevelName(level));
    line += ",\"msg\":";
    AppendJsonString(&line, msg);
    for (const LogField& f : fields) {
      line += ',';
      AppendJsonString(&line, f.key);
      line += ':';
      AppendJsonString(&line, f.value);
    }
    line += '}';
  } else {
    line += "ts=";
    line += ts;
    line += " level=";
    line += LevelName(level);
    line += " msg=";
    AppendLogfmtValue(&line, msg);
    for (const LogField& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      AppendLogfmtValue(&line, f.value);
    }
  }
  return line;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  spdlog::logger& logger = Logger();
  auto spd_level = ToSpdlog(level);
  if (!logger.should_log(spd_level)) return;
  logger.log(spd_level, "{}", FormatLogLine(g_format.load(), NowTimestamp(), level, msg, fields));
}

}  // namespace portmap
