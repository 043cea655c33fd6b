// The docker collector on fixture trees (tests/fixtures/docker): proc/ holds
// init (1), two dockerd (1200, 1300) and a process whose comm has spaces and
// parentheses (99); proc_none/ has no dockerd; root/ has a pid file naming
// 1300 and stale/ one naming 99 (not a dockerd).  btime is 1795550000 and
// the tests use 100 ticks per second.
#include "collectors/docker/docker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace portmap {
namespace {

const std::string kFixtures = std::string(PORTMAP_FIXTURES) + "/docker";

Paths FixturePaths(const std::string& proc, const std::string& root) {
  Paths p;
  p.procfs = kFixtures + "/" + proc;
  p.rootfs = kFixtures + "/" + root;
  return p;
}

TEST(FindDockerdTest, PidFileFirst) {
  int64_t pid = 0;
  ASSERT_TRUE(FindDockerd(FixturePaths("proc", "root"), "/var/run/docker.pid", &pid).ok());
  EXPECT_EQ(pid, 1300);
}

TEST(FindDockerdTest, StaleOrMissingPidFileFallsBackToTheLowestDockerd) {
  int64_t pid = 0;
  ASSERT_TRUE(FindDockerd(FixturePaths("proc", "stale"), "/var/run/docker.pid", &pid).ok());
  EXPECT_EQ(pid, 1200);
  ASSERT_TRUE(FindDockerd(FixturePaths("proc", "root"), "/nonexistent.pid", &pid).ok());
  EXPECT_EQ(pid, 1200);
  ASSERT_TRUE(FindDockerd(FixturePaths("proc_none", "root"), "/var/run/docker.pid", &pid).ok());
  EXPECT_EQ(pid, 0);
}

double Sample(const std::vector<prometheus::MetricFamily>& fams, const std::string& name) {
  for (const auto& f : fams) {
    if (f.name == name && !f.metric.empty()) return f.metric[0].gauge.value;
  }
  return -1;
}

Status Scrape(const Paths& paths, std::vector<prometheus::MetricFamily>* out) {
  CollectorOptions options;
  options.paths = paths;
  auto collector = NewDockerCollector(options);
  std::stop_source stop;
  ScrapeContext ctx{paths, Clock::now() + std::chrono::seconds(5), stop.get_token()};
  return collector->Collect(ctx, out);
}

TEST(DockerCollectorTest, Running) {
  std::vector<prometheus::MetricFamily> out;
  ASSERT_TRUE(Scrape(FixturePaths("proc", "root"), &out).ok());
  EXPECT_EQ(Sample(out, "portmap_dockerd_up"), 1);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(Sample(out, "portmap_dockerd_start_time_seconds"), 1795550000 + 70000 / ticks);
}

TEST(DockerCollectorTest, NotRunningIsAStateNotAnError) {
  std::vector<prometheus::MetricFamily> out;
  ASSERT_TRUE(Scrape(FixturePaths("proc_none", "root"), &out).ok());
  EXPECT_EQ(Sample(out, "portmap_dockerd_up"), 0);
  EXPECT_EQ(Sample(out, "portmap_dockerd_start_time_seconds"), -1);
}

TEST(DockerCollectorTest, UnreadableProcfsIsAnError) {
  std::vector<prometheus::MetricFamily> out;
  EXPECT_EQ(Scrape(FixturePaths("nonexistent", "root"), &out).code(), Status::Code::kError);
}

}  // namespace
}  // namespace portmap
