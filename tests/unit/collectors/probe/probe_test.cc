// The probe collector's series per target as its configuration sets them: 3
// by default; the histogram's 19 more only for targets whose module sets
// `histogram: true`, discovered ports through their discovery's module; and
// a reload that turns it off takes the histogram away at the next scrape.
// Targets are loopback listeners; every host address is excluded, so
// discovery probes 127.0.0.1 alone.
#include "collectors/probe/probe.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/netfilter/netfilter.h"  // PublishedPorts destroys its (null) source
#include "collectors/published_ports.h"
#include "config/config.h"
#include "exporter/metrics_handler.h"

namespace portmap {
namespace {

// A listening socket on 127.0.0.1 with a port the kernel picks; connects
// complete in the kernel's backlog without an accept.
class Listener {
 public:
  Listener() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fcntl(fd_, F_SETFL, O_NONBLOCK) != 0 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(a.sin_port);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener() { close(fd_); }
  uint16_t port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  // Connections made to it since the last call (accepted and closed).
  int Accepted() {
    int n = 0;
    for (int fd; (fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
      close(fd);
      ++n;
    }
    return n;
  }

 private:
  int fd_;
  uint16_t port_ = 0;
};

class ProbeCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(std::chrono::milliseconds(0)); }

  // A collector with this --probe.interval.
  void Start(std::chrono::milliseconds interval) {
    published_ = std::make_shared<PublishedPorts>(nullptr);
    published_->Remember({{"tcp", discovered_.port()}});
    CollectorOptions options;
    options.config = store_;
    options.published_ports = published_;
    options.probe_interval = interval;
    collector_ = NewProbeCollector(options);
  }

  // Loads `modules` and a static target of module `static_module`, with
  // discovery probing 127.0.0.1 only.
  void Configure(const std::string& modules, const std::string& static_module) {
    ProbeConfig config;
    const Status st = ParseConfig(modules + "targets: [{target: '" + static_.target() +
                                      "', module: " + static_module + "}]\n" +
                                      "discovery: {netfilter: {exclude_interfaces: '.*'}}\n",
                                  "test.yml", &config);
    ASSERT_TRUE(st.ok()) << st.message();
    store_->Set(std::move(config));
  }

  // One scrape: the number of series (exposition lines) per target label.
  std::map<std::string, int> SeriesPerTarget() {
    std::vector<prometheus::MetricFamily> families;
    const Paths paths;
    std::stop_source stop;
    const ScrapeContext ctx{paths, Clock::now() + std::chrono::seconds(5), stop.get_token()};
    EXPECT_TRUE(collector_->Collect(ctx, &families).ok());
    std::map<std::string, int> out;
    std::istringstream text(Exposition(families));
    for (std::string line; std::getline(text, line);) {
      const size_t at = line.find("target=\"");
      if (line.empty() || line[0] == '#' || at == std::string::npos) continue;
      const size_t begin = at + 8;
      ++out[line.substr(begin, line.find('"', begin) - begin)];
    }
    return out;
  }

  // The value of portmap_probe_age_seconds in one scrape; -1 when absent.
  double Age() {
    std::vector<prometheus::MetricFamily> families;
    const Paths paths;
    std::stop_source stop;
    const ScrapeContext ctx{paths, Clock::now() + std::chrono::seconds(5), stop.get_token()};
    EXPECT_TRUE(collector_->Collect(ctx, &families).ok());
    for (const auto& f : families) {
      if (f.name == "portmap_probe_age_seconds" && f.metric.size() == 1) {
        return f.metric[0].gauge.value;
      }
    }
    return -1;
  }

  Listener discovered_, static_;
  std::shared_ptr<PublishedPorts> published_;
  std::shared_ptr<ConfigStore> store_ = std::make_shared<ConfigStore>();
  std::unique_ptr<Collector> collector_;
};

TEST_F(ProbeCollectorTest, ThreeSeriesPerTargetByDefault) {
  Configure("", "tcp_connect");
  EXPECT_EQ(SeriesPerTarget(),
            (std::map<std::string, int>{{discovered_.target(), 3}, {static_.target(), 3}}));
}

TEST_F(ProbeCollectorTest, HistogramOnlyForTheModuleThatAsks) {
  // Discovery uses tcp_connect, which asks; the static target's module does not.
  Configure("modules: {tcp_connect: {histogram: true}, plain: {}}\n", "plain");
  EXPECT_EQ(SeriesPerTarget(),
            (std::map<std::string, int>{{discovered_.target(), 3 + 19}, {static_.target(), 3}}));
  // The other way round.
  Configure("modules: {timed: {histogram: true}}\n", "timed");
  EXPECT_EQ(SeriesPerTarget(),
            (std::map<std::string, int>{{discovered_.target(), 3}, {static_.target(), 3 + 19}}));
  // Turned off by a reload: gone at the next scrape.
  Configure("", "tcp_connect");
  EXPECT_EQ(SeriesPerTarget(),
            (std::map<std::string, int>{{discovered_.target(), 3}, {static_.target(), 3}}));
}

TEST_F(ProbeCollectorTest, ProbedOncePerIntervalAndAfreshWhenTargetsChange) {
  Start(std::chrono::minutes(1));
  Configure("", "tcp_connect");
  EXPECT_EQ(Age(), 0) << "the first scrape probes";
  EXPECT_EQ(static_.Accepted(), 1);
  const double age = Age();
  EXPECT_GT(age, 0) << "the next shows that round";
  EXPECT_LT(age, 60);
  EXPECT_EQ(static_.Accepted(), 0) << "no connect within the interval";
  EXPECT_EQ(SeriesPerTarget().size(), 2U) << "still every target's series";

  Listener another;
  published_->Remember({{"tcp", another.port()}});  // a container started
  EXPECT_EQ(Age(), 0);
  EXPECT_EQ(another.Accepted(), 1) << "a new published port is probed at once";
  EXPECT_EQ(static_.Accepted(), 1);

  Configure("", "tcp_connect");  // a reload
  EXPECT_EQ(Age(), 0);
  EXPECT_EQ(static_.Accepted(), 1);
}

TEST_F(ProbeCollectorTest, ZeroIntervalProbesInEveryScrape) {
  Start(std::chrono::milliseconds(0));
  Configure("", "tcp_connect");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Age(), 0);
  EXPECT_EQ(static_.Accepted(), 3);
}

}  // namespace
}  // namespace portmap
