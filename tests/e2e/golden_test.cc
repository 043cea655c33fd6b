// The whole /metrics body of the real program on fixture trees, against a
// checked-in file (node_exporter's collector/fixtures/e2e-output.txt): any
// change to a metric's name, labels, help, type or value shows up here as a
// diff, so moving code around can be proved to change nothing.
//
// The binary is portmap_golden_exporter (golden_exporter_main.cc): the real
// exporter with recorded nf_tables rules instead of the kernel's and no event
// watchers.  It reads tests/fixtures/golden/{proc,sys,root} through
// --path.procfs/sysfs/rootfs.  Left out, as they depend on the machine:
//   firewalld  (--no-collector.firewalld) it asks the system bus;
//   probe      (--no-collector.probe) it connects to real sockets;
//   verdict    (--no-collector.verdict) it traces through this machine's
//              live routes, sockets and namespaces (its unit tests feed it a
//              fake kernel; lab.verdict checks it against real connects);
//   the watchers' families (event counters since start).
// Normalised, as they change from run to run: process_* (dropped), the
// collectors' durations, the reload timestamps, and build_info's labels.
//
// To write the file again after an intended change, then review the diff:
//   PORTMAP_UPDATE_GOLDEN=1 ctest --test-dir build -R GoldenE2eTest
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "tests/e2e/exporter_process.h"

namespace portmap::testing {
namespace {

const std::string kGolden = PORTMAP_FIXTURES "/golden";

std::string Normalise(const std::string& body) {
  static const std::regex kDuration(R"(^(portmap_scrape_collector_duration_seconds\{[^}]*\}) .*$)");
  static const std::regex kTimestamp(
      R"(^(portmap_(web_)?config_last_reload_success_timestamp_seconds(\{[^}]*\})?) .*$)");
  static const std::regex kBuildLabel(R"re((compiler|revision|version)="[^"]*")re");
  std::istringstream lines(body);
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    const bool process = line.rfind("process_", 0) == 0 || line.rfind("# HELP process_", 0) == 0 ||
                         line.rfind("# TYPE process_", 0) == 0;
    if (process) continue;
    line = std::regex_replace(line, kDuration, "$1 <duration>");
    line = std::regex_replace(line, kTimestamp, "$1 <timestamp>");
    if (line.rfind("portmap_exporter_build_info{", 0) == 0) {
      line = std::regex_replace(line, kBuildLabel, "$1=\"<$1>\"");
    }
    out += line + "\n";
  }
  return out;
}

TEST(GoldenE2eTest, MetricsMatchTheGoldenFile) {
  ExporterProcess exporter(
      PORTMAP_GOLDEN_EXPORTER,
      {"--path.procfs=" + kGolden + "/proc", "--path.sysfs=" + kGolden + "/sys",
       "--path.rootfs=" + kGolden + "/root", "--no-collector.firewalld", "--no-collector.probe",
       "--no-collector.verdict"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  HttpResult r = Http(exporter.Url("/metrics"));
  ASSERT_EQ(r.status, 200) << r.error;
  const std::string got = Normalise(r.body);

  const std::string path = kGolden + "/metrics.txt";
  // Read in the test's own thread, before it starts any other: getenv is safe.
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  if (const char* update = std::getenv("PORTMAP_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path) << got;
    GTEST_SKIP() << "wrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing; PORTMAP_UPDATE_GOLDEN=1 writes it";
  std::stringstream want;
  want << in.rdbuf();
  // EXPECT_EQ prints a line diff of the two bodies.
  EXPECT_EQ(got, want.str()) << "PORTMAP_UPDATE_GOLDEN=1 rewrites " << path
                             << " after an intended change";
}

}  // namespace
}  // namespace portmap::testing
