// The docker collector on fixture trees (tests/fixtures/docker): proc/ holds
// init (1), two dockerd (1200, 1300) and a process whose comm has spaces and
// parentheses (99); proc_none/ has no dockerd; root/ has a pid file naming
// 1300 and stale/ one naming 99 (not a dockerd).  btime is 1795550000 and
// the tests use 100 ticks per second.  What a finder remembers across
// scrapes is tested on a procfs written under a temporary directory, changed
// between two finds.
#include "collectors/docker/docker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace portmap {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = std::string(PORTMAP_FIXTURES) + "/docker";

Paths FixturePaths(const std::string& proc, const std::string& root) {
  Paths p;
  p.procfs = kFixtures + "/" + proc;
  p.rootfs = kFixtures + "/" + root;
  return p;
}

int64_t Find(const Paths& paths, const std::string& pidfile) {
  int64_t pid = -1;
  DockerdFinder finder(paths, pidfile);
  EXPECT_TRUE(finder.Find(&pid).ok());
  return pid;
}

TEST(FindDockerdTest, PidFileFirst) {
  EXPECT_EQ(Find(FixturePaths("proc", "root"), "/var/run/docker.pid"), 1300);
}

TEST(FindDockerdTest, StaleOrMissingPidFileFallsBackToTheLowestDockerd) {
  EXPECT_EQ(Find(FixturePaths("proc", "stale"), "/var/run/docker.pid"), 1200);
  EXPECT_EQ(Find(FixturePaths("proc", "root"), "/nonexistent.pid"), 1200);
  EXPECT_EQ(Find(FixturePaths("proc_none", "root"), "/var/run/docker.pid"), 0);
}

// A procfs and rootfs of its own per test, which the test changes between
// finds: a scan picks the lowest dockerd pid, so a finder that still answers
// with a higher one has not scanned.
class DockerdFinderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("docker_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "proc");
    fs::create_directories(dir_ / "root/var/run");
    std::ofstream(dir_ / "proc/stat") << "cpu  1 2 3 4\nbtime 1795550000\n";
    Process(1, "systemd", 1);
    Paths paths;
    paths.procfs = (dir_ / "proc").string();
    paths.rootfs = (dir_ / "root").string();
    paths_ = paths;
    // No pause between scans unless a test asks for one.
    finder_ =
        std::make_unique<DockerdFinder>(paths, "/var/run/docker.pid", std::chrono::milliseconds(0));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes <procfs>/PID/comm and a stat whose field 22 is `start_ticks`.
  void Process(int64_t pid, const std::string& comm, int64_t start_ticks) {
    const fs::path d = dir_ / "proc" / std::to_string(pid);
    fs::create_directories(d);
    std::ofstream(d / "comm") << comm << "\n";
    std::ofstream(d / "stat") << pid << " (" << comm
                              << ") S 1 1 1 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 12 0 " << start_ticks
                              << " 1 1 1\n";
  }
  void Exit(int64_t pid) { fs::remove_all(dir_ / "proc" / std::to_string(pid)); }
  void PidFile(int64_t pid) { std::ofstream(dir_ / "root/var/run/docker.pid") << pid << "\n"; }
  void NoPidFile() { fs::remove(dir_ / "root/var/run/docker.pid"); }

  int64_t Find() {
    int64_t pid = -1;
    EXPECT_TRUE(finder_->Find(&pid).ok());
    return pid;
  }

  fs::path dir_;
  Paths paths_;
  std::unique_ptr<DockerdFinder> finder_;
};

TEST_F(DockerdFinderTest, AHostWithoutDockerdIsScannedOncePerPause) {
  finder_ = std::make_unique<DockerdFinder>(paths_, "/var/run/docker.pid", std::chrono::hours(1));
  EXPECT_EQ(Find(), 0);
  Process(1200, "dockerd", 50000);  // started without a pid file
  EXPECT_EQ(Find(), 0) << "no scan until the pause is over";
  PidFile(1200);
  EXPECT_EQ(Find(), 1200) << "its pid file shows it at once";
  NoPidFile();
  EXPECT_EQ(Find(), 1200) << "and it is remembered";
}

TEST_F(DockerdFinderTest, RemembersTheDockerdAScanFoundWhileItRuns) {
  Process(1200, "dockerd", 50000);
  EXPECT_EQ(Find(), 1200);
  Process(1100, "dockerd", 60000);  // a lower pid: a scan would now find it
  EXPECT_EQ(Find(), 1200) << "re-checked, not scanned";
  EXPECT_EQ(Find(), 1200);
}

TEST_F(DockerdFinderTest, ScansAgainOnceThePidIsNoLongerThatDockerd) {
  Process(1200, "dockerd", 50000);
  EXPECT_EQ(Find(), 1200);
  Process(1100, "dockerd", 60000);
  // dockerd restarted and got its old pid back: same pid and comm, another
  // start time.
  Process(1200, "dockerd", 70000);
  EXPECT_EQ(Find(), 1100) << "a different process: scanned";
  Exit(1100);
  EXPECT_EQ(Find(), 1200) << "gone: scanned";
  Process(1200, "bash", 70000);  // the pid reused by something else
  EXPECT_EQ(Find(), 0) << "not dockerd: scanned, none left";
  Process(1300, "dockerd", 80000);
  EXPECT_EQ(Find(), 1300) << "nothing remembered: scanned";
}

TEST_F(DockerdFinderTest, ThePidFileComesFirstAndIsRememberedToo) {
  Process(1200, "dockerd", 50000);
  Process(1300, "dockerd", 70000);
  PidFile(1300);
  EXPECT_EQ(Find(), 1300);
  NoPidFile();
  EXPECT_EQ(Find(), 1300) << "remembered: a scan would find 1200";
  PidFile(99);  // stale: not a dockerd
  EXPECT_EQ(Find(), 1300);
  PidFile(1200);
  EXPECT_EQ(Find(), 1200) << "the pid file names another dockerd: it wins";
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
