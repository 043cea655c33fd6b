// ParseConfigBounded: yaml-cpp 0.7's endless loops end as errors in time,
// and good or bad files get exactly ParseConfig's answer.
#include "exporter/config_guard.h"

#include <gtest/gtest.h>

#include <chrono>

#include "exporter/config.h"

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

}  // namespace
}  // namespace portmap
