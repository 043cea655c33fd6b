// The forwarding collector and its real netconf watcher in a network namespace
// of its own: every test unshares a fresh one (CLONE_NEWNET on the test's
// thread; the watcher thread, started after, inherits it) and the kernel frees
// it when the next test unshares again or the process exits.  The machine's
// own namespace is never written: each test checks it left it before writing.
//
// Needs root (CAP_SYS_ADMIN to unshare, CAP_NET_ADMIN to write sysctls);
// skips with a message otherwise.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "collectors/forwarding/forwarding.h"
#include "collectors/forwarding/forwarding_watcher.h"
#include "util/metrics.h"
#include "util/status.h"

namespace portmap {
namespace {

using std::chrono::milliseconds;

ino_t NetnsInode() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

// Read once, before any test unshares: the namespace we must never write.
const ino_t kHostNetns = NetnsInode();

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool WriteSysctl(const std::string& rel, const char* value) {
  std::ofstream out("/proc/sys/" + rel);
  out << value;
  out.flush();
  return out.good();
}

class ForwardingNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root: unshares a network namespace and writes its sysctls";
    }
    ASSERT_NE(kHostNetns, 0u);
    if (::unshare(CLONE_NEWNET) != 0) {
      GTEST_SKIP() << "unshare(CLONE_NEWNET) failed (no CAP_SYS_ADMIN?): " << ErrnoText(errno);
    }
    ASSERT_NE(NetnsInode(), kHostNetns) << "still in the host namespace; refusing to write";
    ASSERT_TRUE(WriteSysctl("net/ipv4/ip_forward", "1"));

    CollectorOptions options;
    options.paths.rootfs = "/nonexistent-rootfs";  // boot config is not under test here
    collector_ = NewForwardingCollector(options);
    paths_ = options.paths;
    // The factory started the watcher; wait until it listens (bounded).
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!Scrape().ok() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_TRUE(Scrape().ok()) << Scrape().message();
  }

  Status Scrape() {
    std::vector<prometheus::MetricFamily> out;
    ScrapeContext ctx{paths_, Clock::now() + std::chrono::seconds(5), {}};
    Status st = collector_->Collect(ctx, &out);
    last_.clear();
    for (auto& f : out) last_[f.name] = std::move(f);
    return st;
  }

  double Value(const std::string& name, const Labels& want) const {
    auto it = last_.find(name);
    if (it == last_.end()) return -1;
    for (const auto& m : it->second.metric) {
      if (m.label == want) {
        return it->second.type == MetricType::Counter ? m.counter.value : m.gauge.value;
      }
    }
    return -1;
  }

  Paths paths_;
  std::unique_ptr<Collector> collector_;
  std::map<std::string, prometheus::MetricFamily> last_;
};

TEST_F(ForwardingNetnsTest, FlipOffAndOnBetweenScrapesCountsTwo) {
  const Labels v4 = {{"family", "ipv4"}};
  ASSERT_TRUE(Scrape().ok());
  const double before = Value("portmap_ip_forward_changes_total", v4);
  ASSERT_GE(before, 0);
  const double scrape_a = WallNow();

  const auto t0 = std::chrono::steady_clock::now();
  // Two writes, as `sysctl -w net.ipv4.ip_forward=0; sysctl -w ...=1` make
  // (without two process start-ups eating into the 50 ms).
  ASSERT_TRUE(WriteSysctl("net/ipv4/ip_forward", "0"));
  ASSERT_TRUE(WriteSysctl("net/ipv4/ip_forward", "1"));
  const auto flip = std::chrono::steady_clock::now() - t0;
  ASSERT_LT(flip, milliseconds(50)) << "the 1->0->1 flip itself took too long";

  // A polling exporter would read 1 both times; the watcher saw both edges.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Scrape().ok());
    if (Value("portmap_ip_forward_changes_total", v4) >= before + 2) break;
    std::this_thread::sleep_for(milliseconds(1));
  }
  const double scrape_b = WallNow();
  EXPECT_EQ(Value("portmap_ip_forward_changes_total", v4), before + 2);
  EXPECT_EQ(Value("portmap_ip_forward_enabled", v4), 1);
  const double ts = Value("portmap_ip_forward_last_change_timestamp_seconds", v4);
  EXPECT_GE(ts, scrape_a);
  EXPECT_LE(ts, scrape_b);
  EXPECT_EQ(Value("portmap_ip_forward_changes_total", {{"family", "ipv6"}}), 0);
}

TEST_F(ForwardingNetnsTest, Ipv6FlipIsCountedSeparately) {
  if (access("/proc/sys/net/ipv6/conf/all/forwarding", W_OK) != 0) {
    GTEST_SKIP() << "IPv6 disabled on this kernel";
  }
  const Labels v6 = {{"family", "ipv6"}};
  ASSERT_TRUE(Scrape().ok());
  const double before = Value("portmap_ip_forward_changes_total", v6);
  ASSERT_TRUE(WriteSysctl("net/ipv6/conf/all/forwarding", "1"));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Scrape().ok());
    if (Value("portmap_ip_forward_changes_total", v6) >= before + 1) break;
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(Value("portmap_ip_forward_changes_total", v6), before + 1);
  EXPECT_EQ(Value("portmap_ip_forward_changes_total", {{"family", "ipv4"}}), 0);
}

TEST_F(ForwardingNetnsTest, PerBridgeChangeMovesOnlyThatInterface) {
  // `ip` runs in a child, which inherits this thread's namespace.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): a test helper, no other thread forks
  if (std::system("ip link add pm3br0 type bridge && ip link add pm3br1 type bridge") != 0) {
    GTEST_SKIP() << "cannot create bridges with ip(8) in the namespace";
  }
  ASSERT_NE(NetnsInode(), kHostNetns);
  ASSERT_TRUE(Scrape().ok());
  auto gauge = [&](const char* ifname) {
    return Value("portmap_interface_forwarding_enabled",
                 {{"family", "ipv4"}, {"interface", ifname}});
  };
  ASSERT_EQ(gauge("pm3br0"), 1);
  ASSERT_EQ(gauge("pm3br1"), 1);
  const double changes = Value("portmap_ip_forward_changes_total", {{"family", "ipv4"}});

  ASSERT_TRUE(WriteSysctl("net/ipv4/conf/pm3br0/forwarding", "0"));
  ASSERT_TRUE(Scrape().ok());
  EXPECT_EQ(gauge("pm3br0"), 0);
  EXPECT_EQ(gauge("pm3br1"), 1);
  EXPECT_EQ(gauge("lo"), 1);
  EXPECT_EQ(Value("portmap_ip_forward_enabled", {{"family", "ipv4"}}), 1);
  // Give a (wrong) global event time to arrive before checking none counted.
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(Scrape().ok());
  EXPECT_EQ(Value("portmap_ip_forward_changes_total", {{"family", "ipv4"}}), changes);
}

TEST_F(ForwardingNetnsTest, LostEventsTriggerAResyncAndTheWatcherCarriesOn) {
  // A watcher with the smallest receive buffer the kernel allows (a few
  // datagrams) and 30 bridges: each ip_forward write queues 33 messages at
  // once, more than fit, so the kernel drops some and reports ENOBUFS.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): a test helper, no other thread forks
  if (std::system("for i in $(seq 1 30); do ip link add pm3ov$i type bridge || exit 1; done") !=
      0) {
    GTEST_SKIP() << "cannot create bridges with ip(8) in the namespace";
  }
  ASSERT_NE(NetnsInode(), kHostNetns);
  ForwardingWatcher watcher("/proc", /*receive_buffer=*/1);
  ASSERT_TRUE(watcher.WaitListening(std::chrono::seconds(5))) << watcher.Snapshot().error;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int value = 1;
  while (watcher.Snapshot().resyncs == 0 && std::chrono::steady_clock::now() < until) {
    value = 1 - value;
    ASSERT_TRUE(WriteSysctl("net/ipv4/ip_forward", value == 1 ? "1" : "0"));
  }
  ASSERT_GT(watcher.Snapshot().resyncs, 0u) << "the kernel never overflowed the socket";
  // After the resync the held value is the real one, and flips still count.
  ASSERT_TRUE(WriteSysctl("net/ipv4/ip_forward", "1"));
  std::this_thread::sleep_for(milliseconds(100));  // let any backlog drain
  const ForwardingSnapshot settled = watcher.Snapshot();
  ASSERT_TRUE(WriteSysctl("net/ipv4/ip_forward", "0"));
  const auto until2 = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (watcher.Snapshot().families[0].changes == settled.families[0].changes &&
         std::chrono::steady_clock::now() < until2) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  const ForwardingSnapshot after = watcher.Snapshot();
  EXPECT_TRUE(after.listening);
  EXPECT_GT(after.families[0].changes, settled.families[0].changes);
  EXPECT_EQ(after.families[0].value, 0);
}

}  // namespace
}  // namespace portmap
