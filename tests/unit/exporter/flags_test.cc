#include "exporter/flags.h"

#include <gtest/gtest.h>

#include <sstream>

namespace portmap {
namespace {

std::unique_ptr<Collector> NoFactory(const CollectorOptions&) { return nullptr; }

constexpr CollectorSpec kSpecs[] = {
    {"alpha", kDefaultOn, "on by default", &NoFactory},
    {"beta", kDefaultOff, "off by default", &NoFactory},
};

struct Parsed {
  FlagsOutcome outcome;
  Flags flags;
  std::string error;
  std::string out;
};

Parsed Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "portmap_exporter");
  Parsed p;
  std::ostringstream out;
  p.outcome =
      ParseFlags(static_cast<int>(args.size()), args.data(), kSpecs, &p.flags, &p.error, out);
  p.out = out.str();
  return p;
}

TEST(FlagsTest, Defaults) {
  Parsed p = Parse({});
  ASSERT_EQ(p.outcome, FlagsOutcome::kRun) << p.error;
  EXPECT_EQ(p.flags.listen_addresses, std::vector<std::string>{":9806"});
  EXPECT_EQ(p.flags.telemetry_path, "/metrics");
  EXPECT_EQ(p.flags.max_requests, 40);
  EXPECT_EQ(p.flags.paths.procfs, "/proc");
  EXPECT_EQ(p.flags.paths.sysfs, "/sys");
  EXPECT_EQ(p.flags.paths.rootfs, "/");
  EXPECT_TRUE(p.flags.collectors["alpha"]);
  EXPECT_FALSE(p.flags.collectors["beta"]);
}

TEST(FlagsTest, BothSpellingsOfValues) {
  Parsed p = Parse({"--web.listen-address=127.0.0.1:1", "--web.listen-address", ":2",
                    "--log.level=debug", "--log.format", "json", "--path.procfs=/fx/proc"});
  ASSERT_EQ(p.outcome, FlagsOutcome::kRun) << p.error;
  EXPECT_EQ(p.flags.listen_addresses, (std::vector<std::string>{"127.0.0.1:1", ":2"}));
  EXPECT_EQ(p.flags.log_level, LogLevel::kDebug);
  EXPECT_EQ(p.flags.log_format, LogFormat::kJson);
  EXPECT_EQ(p.flags.paths.procfs, "/fx/proc");
}

TEST(FlagsTest, CollectorToggles) {
  Parsed p = Parse({"--no-collector.alpha", "--collector.beta"});
  ASSERT_EQ(p.outcome, FlagsOutcome::kRun) << p.error;
  EXPECT_FALSE(p.flags.collectors["alpha"]);
  EXPECT_TRUE(p.flags.collectors["beta"]);
}

TEST(FlagsTest, DisableDefaultsThenEnableOne) {
  Parsed p = Parse({"--collector.disable-defaults", "--collector.beta"});
  ASSERT_EQ(p.outcome, FlagsOutcome::kRun) << p.error;
  EXPECT_FALSE(p.flags.collectors["alpha"]);
  EXPECT_TRUE(p.flags.collectors["beta"]);
  p = Parse({"--collector.disable-defaults", "--collector.alpha"});
  EXPECT_TRUE(p.flags.collectors["alpha"]);
}

TEST(FlagsTest, UnknownFlagIsNamed) {
  Parsed p = Parse({"--web.listen-adress=:1"});
  EXPECT_EQ(p.outcome, FlagsOutcome::kUsageError);
  EXPECT_NE(p.error.find("--web.listen-adress"), std::string::npos) << p.error;
  EXPECT_EQ(p.error.find('\n'), std::string::npos) << "one line: " << p.error;
  p = Parse({"--collector.gamma"});
  EXPECT_EQ(p.outcome, FlagsOutcome::kUsageError);
  EXPECT_NE(p.error.find("--collector.gamma"), std::string::npos) << p.error;
}

TEST(FlagsTest, BadValuesAreNamed) {
  struct Case {
    std::vector<const char*> args;
    const char* names;
  } cases[] = {
      {{"--log.level=verbose"}, "--log.level"},
      {{"--log.format=xml"}, "--log.format"},
      {{"--web.max-requests=-1"}, "--web.max-requests"},
      {{"--web.max-requests=many"}, "--web.max-requests"},
      {{"--web.telemetry-path=metrics"}, "--web.telemetry-path"},
      {{"--web.telemetry-path=/-/healthy"}, "--web.telemetry-path"},
      {{"--web.telemetry-path=/runbook"}, "--web.telemetry-path"},
      {{"--path.procfs="}, "--path.procfs"},
  };
  for (const Case& c : cases) {
    Parsed p = Parse(c.args);
    EXPECT_EQ(p.outcome, FlagsOutcome::kUsageError) << c.args[0];
    EXPECT_NE(p.error.find(c.names), std::string::npos) << c.args[0] << ": " << p.error;
  }
}

TEST(FlagsTest, HelpListsEveryFlagAndCollector) {
  Parsed p = Parse({"--help"});
  EXPECT_EQ(p.outcome, FlagsOutcome::kExitOk);
  for (const char* flag :
       {"--web.listen-address", "--web.telemetry-path", "--web.max-requests", "--log.level",
        "--log.format", "--path.procfs", "--path.sysfs", "--path.rootfs",
        "--collector.disable-defaults", "--collector.alpha", "--no-collector.beta", "--version"}) {
    EXPECT_NE(p.out.find(flag), std::string::npos) << flag;
  }
}

TEST(FlagsTest, Version) {
  Parsed p = Parse({"--version"});
  EXPECT_EQ(p.outcome, FlagsOutcome::kExitOk);
  EXPECT_EQ(p.out.rfind("portmap_exporter, version ", 0), 0u) << p.out;
}

}  // namespace
}  // namespace portmap
