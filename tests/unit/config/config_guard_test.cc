// ParseConfigBounded: yaml-cpp 0.7's endless loops end as errors in time,
// and good or bad files get exactly ParseConfig's answer.
#include "config/config_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "exporter/web/web_config.h"

namespace portmap {
namespace {

using std::chrono::milliseconds;

TEST(ConfigGuardTest, YamlCppLoopsEndAsAnErrorInTime) {
  // Each of these makes libyaml-cpp 0.7's LoadAll loop forever, allocating
  // (found by tests/fuzz/config_fuzz).
  for (const char* yaml : {", a", "- a\n, b", "# c\n,"}) {
    ProbeConfig config;
    const auto start = std::chrono::steady_clock::now();
    const Status st = ParseConfigBounded(yaml, "f.yml", milliseconds(300), &config);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(st.ok()) << yaml;
    // Whichever comes first: the time limit or the memory cap.
    EXPECT_TRUE(st.message().rfind("f.yml: the YAML parser did not finish within 300 ms", 0) == 0 ||
                st.message().rfind("f.yml: the YAML parser ran out of its 256 MiB", 0) == 0)
        << st.message();
    EXPECT_LT(took, std::chrono::seconds(5)) << "bounded by the limit, not by the loop";
  }
}

TEST(ConfigGuardTest, SameAnswerAsParseConfig) {
  ProbeConfig bounded, direct;
  const char* good = "modules: {m: {timeout: 2s}}\ntargets: [{target: 'a:1', module: m}]\n";
  ASSERT_TRUE(ParseConfigBounded(good, "f.yml", kConfigParseLimit, &bounded).ok());
  ASSERT_TRUE(ParseConfig(good, "f.yml", &direct).ok());
  EXPECT_EQ(bounded.targets.size(), 1u);
  EXPECT_EQ(bounded.modules.at("m").timeout, direct.modules.at("m").timeout);

  const char* bad = "modules:\n  m:\n    timeout: soon\n";
  const Status b = ParseConfigBounded(bad, "f.yml", kConfigParseLimit, &bounded);
  const Status d = ParseConfig(bad, "f.yml", &direct);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message(), d.message());
}

TEST(ConfigGuardTest, ChecksAreUnharmedByOtherThreadsAllocating) {
  // The check used to be a fork of the exporter; under GCC 12's
  // AddressSanitizer, whose allocator takes no fork precautions, a fork
  // taken while another thread held an allocator lock hung until the limit
  // (CI: ConfigReloaderTest.ConcurrentReloads).  The check is now a new
  // process and inherits no lock.
  std::atomic<bool> stop{false};
  std::vector<std::thread> allocators;
  allocators.reserve(3);
  for (int t = 0; t < 3; ++t) {
    allocators.emplace_back([&stop] {
      while (!stop) {
        std::vector<std::string> churn;
        churn.reserve(64);
        for (int i = 0; i < 64; ++i) churn.emplace_back(static_cast<size_t>(32 + i * 61), 'x');
      }
    });
  }
  const char* good = "modules: {m: {timeout: 2s}}\n";
  for (int i = 0; i < 20; ++i) {
    ProbeConfig config;
    const Status st = ParseConfigBounded(good, "f.yml", kConfigParseLimit, &config);
    EXPECT_TRUE(st.ok()) << i << ": " << st.message();
  }
  stop = true;
  for (auto& t : allocators) t.join();
}

TEST(ConfigGuardTest, FourMiBFileGoesThroughTheCheck) {
  // Many socket buffers' worth: the parent writes while the check reads.
  std::string big;
  while (big.size() < (size_t{4} << 20) - 64) big += "# " + std::string(70, '-') + "\n";
  big += "targets: [{target: 'host.example:5000'}]\n";
  ProbeConfig config;
  const Status st = ParseConfigBounded(big, "big.yml", kConfigParseLimit, &config);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(config.targets.size(), 1u);
}

TEST(ConfigGuardTest, WebConfigParserLoopsEndToo) {
  WebConfig config;
  const Status loop = RunParserBounded(kWebConfigYamlCheck, ", a", "web.yml", milliseconds(300),
                                       [] { return Status::Ok(); });
  ASSERT_FALSE(loop.ok());
  EXPECT_TRUE(loop.message().rfind("web.yml: the YAML parser", 0) == 0) << loop.message();

  const char* bad = "basic_auth_users: [alice]\n";
  const Status b = RunParserBounded(kWebConfigYamlCheck, bad, "web.yml", kConfigParseLimit,
                                    [] { return Status::Ok(); });
  const Status d = ParseWebConfig(bad, "web.yml", &config);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(b.message(), d.message()) << "the check's own answer, before ours";
}

TEST(ConfigGuardTest, ACheckProcessStartsNoChecksOfItsOwn) {
  // What a check started from an executable without RunYamlCheckIfAsked in
  // its main() would meet: an error, not another generation of checks.
  // The test's own environment, while no other thread of it runs.
  ASSERT_EQ(setenv("PORTMAP_YAML_CHECK", "1", 1), 0);  // NOLINT(concurrency-mt-unsafe)
  ProbeConfig config;
  const Status st = ParseConfigBounded("targets: []\n", "f.yml", kConfigParseLimit, &config);
  unsetenv("PORTMAP_YAML_CHECK");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), testing::HasSubstr("does not call RunYamlCheckIfAsked"));
}

}  // namespace
}  // namespace portmap
