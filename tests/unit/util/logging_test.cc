#include "util/logging.h"

#include <gtest/gtest.h>

namespace portmap {
namespace {

constexpr const char* kTs = "2026-11-24T20:55:12.123Z";

TEST(LoggingTest, LogfmtShapedLikeGoExporters) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTs, LogLevel::kInfo, "Listening on",
                          {{"address", ":9806"}}),
            "ts=2026-11-24T20:55:12.123Z level=info msg=\"Listening on\" address=:9806");
}

TEST(LoggingTest, LogfmtQuotesWhatNeedsIt) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTs, LogLevel::kError, "x",
                          {{"empty", ""}, {"eq", "a=b"}, {"q", "say \"hi\"\n"}}),
            "ts=2026-11-24T20:55:12.123Z level=error msg=x empty=\"\" eq=\"a=b\" "
            "q=\"say \\\"hi\\\"\\n\"");
}

TEST(LoggingTest, JsonKeysInOrder) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kTs, LogLevel::kWarn, "m \"q\"",
                          {{"collector", "forwarding"}, {"ctl", std::string(1, '\x01')}}),
            "{\"ts\":\"2026-11-24T20:55:12.123Z\",\"level\":\"warn\",\"msg\":\"m \\\"q\\\"\","
            "\"collector\":\"forwarding\",\"ctl\":\"\\u0001\"}");
}

TEST(LoggingTest, ControlCharactersAndDelEscapedPerFormat) {
  // logfmt escapes DEL like Go's strconv.Quote; JSON needs only < 0x20.
  const std::string v =
      "a\x01"
      "b\x7f\t";
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTs, LogLevel::kInfo, "m", {{"v", v}}),
            "ts=2026-11-24T20:55:12.123Z level=info msg=m v=\"a\\x01b\\x7f\\t\"");
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kTs, LogLevel::kInfo, "m", {{"v", v}}),
            "{\"ts\":\"2026-11-24T20:55:12.123Z\",\"level\":\"info\",\"msg\":\"m\","
            "\"v\":\"a\\u0001b\x7f\\t\"}");
}

TEST(LoggingTest, ParsesLevelsAndFormats) {
  LogLevel level;
  EXPECT_TRUE(ParseLogLevel("warn", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("WARN", &level));
  EXPECT_FALSE(ParseLogLevel("warning", &level));
  LogFormat format;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_FALSE(ParseLogFormat("text", &format));
}

}  // namespace
}  // namespace portmap
