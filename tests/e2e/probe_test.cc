// End to end for the probes without root: /probe against loopback listeners
// (the histogram only for a module that asks for it), every bad input it must
// answer 400 to (and stay up), --probe.allow, debug=true, --probe.vantage,
// and --config.file with its reloads (POST /-/reload and SIGHUP), good and bad.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "tests/e2e/exporter_process.h"

namespace portmap::testing {
namespace {

const std::string kExporter = PORTMAP_TEST_EXPORTER;

// A listening socket on 127.0.0.1 with a kernel-chosen port; connects
// complete in the kernel (the backlog), nobody needs to accept them.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 128) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port nothing listens on: bound and closed again.
int ClosedPort() {
  Listener l;
  return l.port();
}

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ProbeE2eTest, ConnectedAndRefused) {
  Listener listener;
  ExporterProcess exporter(kExporter, {"--collector.disable-defaults"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string open = "127.0.0.1:" + std::to_string(listener.port());
  HttpResult r = Http(exporter.Url("/probe?target=" + open));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Series(r.body, "portmap_probe_success{vantage=\"local\",target=\"" + open + "\"}"),
            "1");
  EXPECT_EQ(Series(r.body, "portmap_probe_outcome{vantage=\"local\",target=\"" + open +
                               "\",outcome=\"connected\"}"),
            "1");
  EXPECT_EQ(r.body.find("portmap_probe_connect_duration_seconds"), std::string::npos)
      << "the histogram is opt-in: " << r.body;

  const std::string closed = "127.0.0.1:" + std::to_string(ClosedPort());
  r = Http(exporter.Url("/probe?target=" + closed + "&module=tcp_connect"));
  ASSERT_EQ(r.status, 200) << r.body;  // a failed probe is data, not an HTTP error
  EXPECT_EQ(Series(r.body, "portmap_probe_success{vantage=\"local\",target=\"" + closed + "\"}"),
            "0");
  EXPECT_EQ(Series(r.body, "portmap_probe_outcome{vantage=\"local\",target=\"" + closed +
                               "\",outcome=\"refused\"}"),
            "1");
}

// `histogram: true` on a module adds the connect-time histogram to /probe's
// answer for that module alone, and /probe?debug=true shows the setting.
TEST(ProbeE2eTest, HistogramForTheModuleThatAsks) {
  Listener listener;
  const std::string open = "127.0.0.1:" + std::to_string(listener.port());
  const std::string path = WriteFile("histogram.yml", "modules:\n  timed:\n    histogram: true\n");
  ExporterProcess exporter(kExporter, {"--collector.disable-defaults", "--config.file=" + path});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string count =
      "portmap_probe_connect_duration_seconds_count{vantage=\"local\",target=\"" + open + "\"}";
  HttpResult r = Http(exporter.Url("/probe?target=" + open + "&module=timed"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Series(r.body, count), "1") << r.body;
  r = Http(exporter.Url("/probe?target=" + open + "&module=timed"));
  EXPECT_EQ(Series(r.body, count), "2") << "kept across requests: " << r.body;
  EXPECT_EQ(Series(r.body,
                   "portmap_probe_connect_duration_seconds_bucket{vantage=\"local\","
                   "target=\"" +
                       open + "\",le=\"+Inf\"}"),
            "2");
  r = Http(exporter.Url("/probe?target=" + open));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("portmap_probe_connect_duration_seconds"), std::string::npos)
      << "tcp_connect does not ask: " << r.body;
  r = Http(exporter.Url("/probe?target=" + open + "&module=timed&debug=true"));
  EXPECT_NE(r.body.find("Module configuration:\ntimed:\n  prober: tcp\n"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("  histogram: true\n"), std::string::npos) << r.body;
}

TEST(ProbeE2eTest, BadInputsAre400AndTheExporterStaysUp) {
  ExporterProcess exporter(kExporter, {"--collector.disable-defaults"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string ten_kb(size_t{10} * 1024, 'a');
  const struct {
    std::string query;
    std::string message;  // part of the one-line answer
  } cases[] = {
      {"", "target parameter is missing"},
      {"target=", "target parameter is missing"},
      {"target=host:", "port"},
      {"target=:99999", "99999"},
      {"target=" + ten_kb + ":80", "long"},
      {"target=%00", "NUL"},
      {"target=a%00b:80", "NUL"},
      {"target=%zz", "malformed escape"},
      {"target=::1:80", "bracket"},
      {"target=127.0.0.1:80&target=127.0.0.1:81", "more than once"},
      {"target=127.0.0.1:80&module=nope", "unknown module \"nope\""},
  };
  for (const auto& c : cases) {
    HttpResult r = Http(exporter.Url("/probe?" + c.query));
    EXPECT_EQ(r.status, 400) << c.query.substr(0, 60) << ": " << r.body;
    EXPECT_NE(r.body.find(c.message), std::string::npos)
        << c.query.substr(0, 60) << ": " << r.body.substr(0, 200);
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body.substr(0, 200);
  }
  HttpResult timeout = Http(exporter.Url("/probe?target=127.0.0.1:80"),
                            {.headers = {"X-Prometheus-Scrape-Timeout-Seconds: soon"}});
  EXPECT_EQ(timeout.status, 400) << timeout.body;
  EXPECT_EQ(Http(exporter.Url("/-/healthy")).status, 200);
  EXPECT_EQ(kill(exporter.pid(), 0), 0) << "the exporter died";
}

TEST(ProbeE2eTest, AllowListDebugAndVantage) {
  Listener listener;
  const std::string target = "127.0.0.1:" + std::to_string(listener.port());
  {
    ExporterProcess exporter(
        kExporter, {"--collector.disable-defaults", "--probe.allow=10.0.0.0/8,db.example"});
    ASSERT_TRUE(exporter.started()) << exporter.Log();
    HttpResult r = Http(exporter.Url("/probe?target=" + target));
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_NE(r.body.find("--probe.allow"), std::string::npos) << r.body;
  }
  ExporterProcess exporter(kExporter, {"--collector.disable-defaults", "--probe.allow=127.0.0.0/8",
                                       "--probe.vantage=external"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  HttpResult r = Http(exporter.Url("/probe?target=" + target));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Series(r.body, "portmap_probe_success{vantage=\"external\",target=\"" + target + "\"}"),
            "1");
  r = Http(exporter.Url("/probe?target=" + target + "&debug=true"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("Logs for the probe:"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("outcome=connected"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Metrics that would have been returned:"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Module configuration:\ntcp_connect:"), std::string::npos) << r.body;
}

TEST(ProbeE2eTest, BadVantageOrAllowListExits2) {
  RunResult r = RunToExit(kExporter, {"--probe.vantage=not ok"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--probe.vantage"), std::string::npos) << r.err;
  r = RunToExit(kExporter, {"--probe.allow=10.0.0.0/33"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("10.0.0.0/33"), std::string::npos) << r.err;
}

TEST(ProbeE2eTest, BadConfigFileExits2NamingTheLine) {
  const std::string path = WriteFile("bad.yml", "modules:\n  tcp_connect:\n    timeout: soon\n");
  RunResult r = RunToExit(kExporter, {"--config.file=" + path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(path + ":3:"), std::string::npos) << r.err;
}

TEST(ProbeE2eTest, StaticTargetsAndReloads) {
  Listener listener;
  const std::string target = "127.0.0.1:" + std::to_string(listener.port());
  const std::string good = "targets:\n  - target: '" + target + "'\n    labels: {service: web}\n";
  const std::string path = WriteFile("portmap.yml", good);
  ExporterProcess exporter(
      kExporter, {"--collector.disable-defaults", "--collector.probe", "--config.file=" + path});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string series =
      "portmap_probe_success{vantage=\"local\",target=\"" + target + "\",service=\"web\"}";
  HttpResult m = Http(exporter.Url("/metrics"));
  EXPECT_EQ(Series(m.body, series), "1") << m.body;
  EXPECT_EQ(Series(m.body, "portmap_config_last_reload_successful"), "1");

  // A bad file: POST /-/reload says why with a 500; the old targets stay.
  WriteFile("portmap.yml", "targets:\n  - target: 'no-port'\n");
  HttpResult reload = Http(exporter.Url("/-/reload"), {.method = "POST"});
  EXPECT_EQ(reload.status, 500) << reload.body;
  EXPECT_NE(reload.body.find(path + ":2:"), std::string::npos) << reload.body;
  m = Http(exporter.Url("/metrics"));
  EXPECT_EQ(Series(m.body, "portmap_config_last_reload_successful"), "0");
  EXPECT_EQ(Series(m.body, series), "1") << "the old configuration is kept";
  EXPECT_EQ(Http(exporter.Url("/-/reload")).status, 405) << "GET must not reload";

  // Fixed, and reloaded by SIGHUP.
  WriteFile("portmap.yml", good + "  - target: '127.0.0.1:" + std::to_string(ClosedPort()) + "'\n");
  ASSERT_EQ(kill(exporter.pid(), SIGHUP), 0);
  std::string ok;
  for (int i = 0; i < 50 && ok != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ok = Series(Http(exporter.Url("/metrics")).body, "portmap_config_last_reload_successful");
  }
  EXPECT_EQ(ok, "1") << exporter.Log();
  m = Http(exporter.Url("/metrics"));
  EXPECT_EQ(Series(m.body, series), "1");
  EXPECT_NE(m.body.find("outcome=\"refused\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(exporter.Log().find("Reloaded configuration"), std::string::npos) << exporter.Log();
}

}  // namespace
}  // namespace portmap::testing
