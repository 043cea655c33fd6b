// End to end over real HTTP: the exporter binary on an ephemeral loopback
// port, every endpoint and status code, broken collectors, the concurrency
// limit, flag errors, and promtool's verdict on the exposition.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <thread>
#include <vector>

#include "tests/e2e/exporter_process.h"

namespace portmap::testing {
namespace {

const std::string kExporter = PORTMAP_TEST_EXPORTER;  // the real table plus test_* collectors

TEST(HttpTest, EveryEndpoint) {
  ExporterProcess exporter(kExporter, {});
  ASSERT_TRUE(exporter.started()) << exporter.Log();

  HttpResult r = Http(exporter.Url("/metrics"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(Series(r.body, "portmap_scrape_collector_success{collector=\"forwarding\"}"), "1");
  EXPECT_NE(Series(r.body, "portmap_ip_forward_enabled{family=\"ipv4\"}"), "");
  EXPECT_NE(r.body.find("portmap_exporter_build_info{compiler="), std::string::npos);
  for (const char* p : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                        "process_start_time_seconds"}) {
    EXPECT_NE(Series(r.body, p), "") << p;
  }

  r = Http(exporter.Url("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("portmap_exporter"), std::string::npos);
  EXPECT_NE(r.body.find("href=\"/metrics\""), std::string::npos);
  EXPECT_NE(r.body.find("href=\"/runbook\""), std::string::npos);

  // The runbook every alert links to, at the section of each alert.
  r = Http(exporter.Url("/runbook"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<h2 id=\"portmapexporterdown\">PortmapExporterDown</h2>"),
            std::string::npos);
  r = Http(exporter.Url("/runbook"), {.method = "POST"});
  EXPECT_EQ(r.status, 405);

  r = Http(exporter.Url("/-/healthy"));
  EXPECT_EQ(r.status, 200);
  r = Http(exporter.Url("/-/ready"));
  EXPECT_EQ(r.status, 200);

  r = Http(exporter.Url("/nope"));
  EXPECT_EQ(r.status, 404);
  r = Http(exporter.Url("/metrics/extra"));
  EXPECT_EQ(r.status, 404);

  r = Http(exporter.Url("/metrics"), {.method = "POST"});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
  r = Http(exporter.Url("/-/healthy"), {.method = "DELETE"});
  EXPECT_EQ(r.status, 405);

  r = Http(exporter.Url("/metrics"), {.method = "HEAD"});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpTest, GzipWhenAsked) {
  ExporterProcess exporter(kExporter, {});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  HttpResult plain = Http(exporter.Url("/metrics"));
  HttpResult gz = Http(exporter.Url("/metrics"), {.decode_gzip = true});
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_EQ(gz.headers["content-encoding"], "gzip");
  EXPECT_LT(std::stoul(gz.headers["content-length"]), plain.body.size());
  EXPECT_NE(gz.body.find("portmap_ip_forward_enabled"), std::string::npos) << "inflated by curl";
}

TEST(HttpTest, BrokenCollectorsCostOnlyTheirOwnSeries) {
  ExporterProcess exporter(
      kExporter, {"--collector.test_fail", "--collector.test_throw", "--collector.test_hang"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  HttpResult r =
      Http(exporter.Url("/metrics"), {.headers = {"X-Prometheus-Scrape-Timeout-Seconds: 1.5"}});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_LT(r.seconds, 1.5) << "answered within the scrape timeout";
  EXPECT_GT(r.seconds, 0.9) << "waited for the hanging collector up to its deadline";
  EXPECT_EQ(Series(r.body, "portmap_scrape_collector_success{collector=\"test_fail\"}"), "0");
  EXPECT_EQ(Series(r.body, "portmap_scrape_collector_success{collector=\"test_throw\"}"), "0");
  EXPECT_EQ(Series(r.body, "portmap_scrape_collector_success{collector=\"test_hang\"}"), "0");
  EXPECT_EQ(Series(r.body, "portmap_scrape_collector_success{collector=\"forwarding\"}"), "1");
  EXPECT_NE(Series(r.body, "portmap_ip_forward_enabled{family=\"ipv4\"}"), "");

  // The hung call is still running: the next scrape reports it at once
  // instead of stacking another stuck thread.
  r = Http(exporter.Url("/metrics"), {.headers = {"X-Prometheus-Scrape-Timeout-Seconds: 5"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.seconds, 1.0);
  EXPECT_EQ(Series(r.body, "portmap_scrape_collector_success{collector=\"test_hang\"}"), "0");

  std::string log = exporter.Log();
  EXPECT_NE(log.find("collector=test_fail"), std::string::npos) << log;
  EXPECT_NE(log.find("deliberate exception"), std::string::npos) << log;
  EXPECT_NE(log.find("deadline exceeded"), std::string::npos) << log;
}

TEST(HttpTest, BadTimeoutHeaderIs400) {
  ExporterProcess exporter(kExporter, {});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  HttpResult r =
      Http(exporter.Url("/metrics"), {.headers = {"X-Prometheus-Scrape-Timeout-Seconds: soon"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("X-Prometheus-Scrape-Timeout-Seconds"), std::string::npos) << r.body;
}

TEST(HttpTest, MaxRequestsGives503AndRecovers) {
  ExporterProcess exporter(kExporter, {"--web.max-requests=1", "--collector.test_hang"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  auto slow = std::async(std::launch::async, [&] {
    return Http(exporter.Url("/metrics"), {.headers = {"X-Prometheus-Scrape-Timeout-Seconds: 2"}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  HttpResult second = Http(exporter.Url("/metrics"));
  EXPECT_EQ(second.status, 503);
  EXPECT_NE(second.body.find("limit is 1"), std::string::npos) << second.body;
  // Other endpoints are not limited.
  EXPECT_EQ(Http(exporter.Url("/-/healthy")).status, 200);
  EXPECT_EQ(slow.get().status, 200);
  EXPECT_EQ(Http(exporter.Url("/metrics")).status, 200) << "the slot is free again";
}

TEST(HttpTest, SeveralListenAddresses) {
  ExporterProcess exporter(
      kExporter, {"--web.listen-address=127.0.0.1:0", "--web.listen-address=127.0.0.1:0"});
  ASSERT_EQ(exporter.addresses().size(), 2u) << exporter.Log();
  for (const auto& address : exporter.addresses()) {
    EXPECT_EQ(Http("http://" + address + "/-/healthy").status, 200) << address;
  }
}

// Debian's civetweb has no IPv6; the exporter relays IPv6 to it (exporter/web/listen_relay.h).
TEST(HttpTest, Ipv6Loopback) {
  ExporterProcess exporter(kExporter, {"--web.listen-address=[::1]:0"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  ASSERT_EQ(exporter.addresses().size(), 1u) << exporter.Log();
  EXPECT_EQ(exporter.addresses()[0].rfind("[::1]:", 0), 0u) << exporter.addresses()[0];
  HttpResult r = Http(exporter.Url("/metrics"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_NE(Series(r.body, "portmap_ip_forward_enabled{family=\"ipv4\"}"), "");
  r = Http(exporter.Url("/metrics"), {.decode_gzip = true});
  EXPECT_EQ(r.headers["content-encoding"], "gzip");
}

TEST(HttpTest, PortOnlyMeansBothFamiliesOnOnePort) {
  ExporterProcess exporter(kExporter, {"--web.listen-address=:0"});
  ASSERT_EQ(exporter.WaitForAddresses(2), 2u) << exporter.Log();
  const auto& a = exporter.addresses();
  const std::string v4_port = a[0].substr(a[0].rfind(':') + 1);
  const std::string v6_port = a[1].substr(a[1].rfind(':') + 1);
  EXPECT_EQ(a[0].rfind("127.0.0.1:", 0), 0u) << a[0];
  EXPECT_EQ(a[1].rfind("[::1]:", 0), 0u) << a[1];
  EXPECT_EQ(v4_port, v6_port);
  for (const auto& address : a) {
    EXPECT_EQ(Http("http://" + address + "/-/healthy").status, 200) << address;
  }
}

// civetweb ties a worker thread to every connection it accepts; the listen
// relay holds clients back until they send a request head, so connections
// that send nothing cannot starve a scrape. (How fast: bench/load.sh.)
TEST(HttpTest, IdleConnectionsDoNotStarveScrapes) {
  constexpr int kIdle = 500;
  ExporterProcess exporter(kExporter, {});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string& address = exporter.addresses().at(0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << i;
  }
  // Until the exporter holds them all (one descriptor each), bounded.
  const std::string fd_dir = "/proc/" + std::to_string(exporter.pid()) + "/fd";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto open_fds = [&] {
    return std::distance(std::filesystem::directory_iterator(fd_dir),
                         std::filesystem::directory_iterator());
  };
  while (open_fds() < kIdle && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(open_fds(), kIdle);
  for (int i = 0; i < 3; ++i) {
    HttpResult r = Http(exporter.Url("/metrics"), {.timeout_ms = 5000});
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_NE(Series(r.body, "portmap_ip_forward_enabled{family=\"ipv4\"}"), "");
  }
  for (int fd : idle) close(fd);
}

TEST(HttpTest, OpenFdsDoNotGrowAcrossScrapes) {
  ExporterProcess exporter(kExporter, {});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  Http(exporter.Url("/metrics"));  // warm-up: lazily opened files
  std::string first = Series(Http(exporter.Url("/metrics")).body, "process_open_fds");
  std::string last;
  for (int i = 0; i < 5; ++i)
    last = Series(Http(exporter.Url("/metrics")).body, "process_open_fds");
  ASSERT_NE(first, "");
  EXPECT_EQ(first, last);
}

TEST(HttpTest, PromtoolAcceptsTheExposition) {
  ExporterProcess exporter(kExporter, {"--collector.test_fail"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  HttpResult r = Http(exporter.Url("/metrics"));
  ASSERT_EQ(r.status, 200);
  const std::string path = ::testing::TempDir() + "/metrics.txt";
  std::ofstream(path) << r.body;
  // promtool comes from Debian's prometheus package (make test installs it).
  FILE* p = popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << "promtool check metrics:\n" << out;
  EXPECT_EQ(out, "") << "promtool warnings:\n" << out;
}

TEST(FlagsE2eTest, UnknownFlagExits2WithOneLine) {
  RunResult r = RunToExit(kExporter, {"--web.listen-adress=:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--web.listen-adress"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(FlagsE2eTest, BadValueExits2) {
  RunResult r = RunToExit(kExporter, {"--log.level=loud"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--log.level"), std::string::npos) << r.err;
  for (const char* bad : {"nowhere", ":99999", "[::1", "host.example:80"}) {
    r = RunToExit(kExporter, {std::string("--web.listen-address=") + bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  }
}

TEST(FlagsE2eTest, AddressInUseExits1NamingIt) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  RunResult r = RunToExit(kExporter, {"--web.listen-address=" + address});
  close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(address), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
}

TEST(FlagsE2eTest, VersionAndHelpExit0) {
  RunResult r = RunToExit(kExporter, {"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("portmap_exporter, version ", 0), 0u) << r.out;
  r = RunToExit(kExporter, {"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--web.listen-address"), std::string::npos);
}

TEST(FlagsE2eTest, JsonLogs) {
  ExporterProcess exporter(kExporter, {"--log.format=json"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  std::string log = exporter.Log();
  std::string first = log.substr(0, log.find('\n'));
  EXPECT_EQ(first.rfind("{\"ts\":\"", 0), 0u) << first;
  EXPECT_NE(first.find("\"level\":\"info\",\"msg\":\"Starting portmap_exporter\""),
            std::string::npos)
      << first;
}

TEST(FlagsE2eTest, SigtermExits0) {
  ExporterProcess exporter(kExporter, {});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  EXPECT_EQ(exporter.Stop(), 0);
  EXPECT_NE(exporter.Log().find("Shutting down"), std::string::npos);
}

}  // namespace
}  // namespace portmap::testing
