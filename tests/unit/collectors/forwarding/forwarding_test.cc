// The forwarding collector on fixture trees (tests/fixtures/proc: the CentOS 7
// host, ip_forward = 1 at run time; tests/fixtures/sysctl/<case>: its boot
// configuration), and the transition bookkeeping of the netconf watcher.
#include "collectors/forwarding/forwarding.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <map>
#include <string>
#include <vector>

#include "collectors/forwarding/forwarding_watcher.h"
#include "util/metrics.h"

namespace portmap {
namespace {

const std::string kFixtures = PORTMAP_FIXTURES;

class FakeEvents : public ForwardingEvents {
 public:
  explicit FakeEvents(ForwardingSnapshot snap) : snap_(std::move(snap)) {}
  ForwardingSnapshot Snapshot() const override { return snap_; }

 private:
  ForwardingSnapshot snap_;
};

struct Scrape {
  Status status;
  std::map<std::string, prometheus::MetricFamily> families;

  // The value of the sample whose labels include all of `want`; -1 if none.
  double Value(const std::string& name, const Labels& want) const {
    auto it = families.find(name);
    if (it == families.end()) return -1;
    for (const auto& m : it->second.metric) {
      bool all = true;
      for (const Label& w : want) {
        bool found = false;
        for (const Label& l : m.label) found = found || (l.name == w.name && l.value == w.value);
        all = all && found;
      }
      if (all) {
        return it->second.type == MetricType::Counter ? m.counter.value : m.gauge.value;
      }
    }
    return -1;
  }
};

Scrape ScrapeCase(const std::string& rootfs_case, std::unique_ptr<ForwardingEvents> events) {
  CollectorOptions options;
  options.paths.procfs = kFixtures + "/proc";
  options.paths.rootfs = kFixtures + "/sysctl/" + rootfs_case;
  auto collector = NewForwardingCollectorWithEvents(options, std::move(events));
  std::vector<prometheus::MetricFamily> out;
  ScrapeContext ctx{options.paths, Clock::now() + std::chrono::seconds(5), {}};
  Scrape s;
  s.status = collector->Collect(ctx, &out);
  for (auto& f : out) s.families[f.name] = std::move(f);
  return s;
}

ForwardingSnapshot ListeningSnapshot() {
  ForwardingSnapshot snap;
  snap.listening = true;
  snap.families[0] = {1, 2, 1700000000.5};
  snap.families[1] = {0, 0, 0};
  snap.resyncs = 3;
  return snap;
}

TEST(ForwardingCollectorTest, SeedCaseRuntimeOnButNotPersisted) {
  Scrape s = ScrapeCase("not_persisted", std::make_unique<FakeEvents>(ListeningSnapshot()));
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(s.Value("portmap_ip_forward_enabled", {{"family", "ipv4"}}), 1);
  EXPECT_EQ(s.Value("portmap_ip_forward_persisted", {{"family", "ipv4"}}), 0);
  EXPECT_EQ(s.Value("portmap_ip_forward_persisted_info",
                    {{"family", "ipv4"}, {"file", ""}, {"value", ""}}),
            1);
  EXPECT_EQ(s.Value("portmap_interface_forwarding_enabled",
                    {{"family", "ipv4"}, {"interface", "docker0"}}),
            1);
  EXPECT_EQ(
      s.Value("portmap_interface_forwarding_enabled", {{"family", "ipv4"}, {"interface", "eth0"}}),
      0);
  EXPECT_TRUE(s.families.at("portmap_sysctl_config_error_info").metric.empty());
}

TEST(ForwardingCollectorTest, FixedCaseIsPersisted) {
  Scrape s = ScrapeCase("fixed", nullptr);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(s.Value("portmap_ip_forward_persisted", {{"family", "ipv4"}}), 1);
  EXPECT_EQ(s.Value("portmap_ip_forward_persisted_info",
                    {{"family", "ipv4"},
                     {"file", "/etc/sysctl.d/99-docker-ip-forward.conf"},
                     {"value", "1"}}),
            1);
  EXPECT_EQ(s.Value("portmap_ip_forward_persisted", {{"family", "ipv6"}}), 0);
  // No event source: the event families are left out, without an error.
  EXPECT_EQ(s.families.count("portmap_ip_forward_changes_total"), 0u);
}

TEST(ForwardingCollectorTest, BrokenLineIsReportedNotFatal) {
  Scrape s = ScrapeCase("broken", nullptr);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(s.Value("portmap_ip_forward_persisted", {{"family", "ipv4"}}), 1);
  EXPECT_EQ(s.Value("portmap_sysctl_config_error_info", {{"file", "/etc/sysctl.d/60-broken.conf"},
                                                         {"line", "2"},
                                                         {"kind", "not_assignment"}}),
            1);
}

TEST(ForwardingCollectorTest, EventFamiliesComeFromTheWatcher) {
  Scrape s = ScrapeCase("not_persisted", std::make_unique<FakeEvents>(ListeningSnapshot()));
  EXPECT_EQ(s.Value("portmap_ip_forward_changes_total", {{"family", "ipv4"}}), 2);
  EXPECT_EQ(s.Value("portmap_ip_forward_changes_total", {{"family", "ipv6"}}), 0);
  EXPECT_EQ(s.Value("portmap_ip_forward_last_change_timestamp_seconds", {{"family", "ipv4"}}),
            1700000000.5);
  EXPECT_EQ(s.Value("portmap_netlink_resyncs_total", {{"source", "netconf"}}), 3);
  for (const auto& [name, family] : s.families) {
    EXPECT_EQ(name.rfind("portmap_", 0), 0u) << name;
  }
}

TEST(ForwardingCollectorTest, WatcherNotListeningIsAnError) {
  ForwardingSnapshot snap;
  snap.error = "netlink socket: Permission denied";
  Scrape s = ScrapeCase("not_persisted", std::make_unique<FakeEvents>(snap));
  EXPECT_FALSE(s.status.ok());
  EXPECT_NE(s.status.message().find("Permission denied"), std::string::npos);
  // Everything else is still exported.
  EXPECT_EQ(s.Value("portmap_ip_forward_persisted", {{"family", "ipv4"}}), 0);
  EXPECT_EQ(s.families.count("portmap_ip_forward_changes_total"), 0u);
}

NetconfEvent Global(int af, int value) { return {false, af, kIfindexAll, value}; }

TEST(ForwardingStateTest, CountsRealTransitionsOnly) {
  ForwardingState state;
  state.Seed(IpFamily::kIpv4, 1);
  state.OnEvent(Global(AF_INET, 1), 10);  // a repeat is not a change
  EXPECT_EQ(state.snapshot().families[0].changes, 0u);
  state.OnEvent(Global(AF_INET, 0), 11);
  state.OnEvent(Global(AF_INET, 1), 12);
  EXPECT_EQ(state.snapshot().families[0].changes, 2u);
  EXPECT_EQ(state.snapshot().families[0].last_change_seconds, 12);
  EXPECT_EQ(state.snapshot().families[1].changes, 0u);
}

TEST(ForwardingStateTest, IgnoresInterfacesDefaultsAndOtherValues) {
  ForwardingState state;
  state.Seed(IpFamily::kIpv4, 0);
  state.OnEvent({false, AF_INET, 7, 1}, 1);
  state.OnEvent({false, AF_INET, kIfindexDefault, 1}, 1);
  state.OnEvent({false, AF_INET, kIfindexAll, std::nullopt}, 1);
  state.OnEvent({true, AF_INET, kIfindexAll, 1}, 1);
  state.OnEvent({false, AF_BRIDGE, kIfindexAll, 1}, 1);
  EXPECT_EQ(state.snapshot().families[0].changes, 0u);
  EXPECT_EQ(state.snapshot().families[0].value, 0);
}

TEST(ForwardingStateTest, UnseededFamilyLearnsWithoutCounting) {
  ForwardingState state;
  state.Seed(IpFamily::kIpv6, std::nullopt);
  state.OnEvent(Global(AF_INET6, 1), 5);
  EXPECT_EQ(state.snapshot().families[1].changes, 0u);
  state.OnEvent(Global(AF_INET6, 0), 6);
  EXPECT_EQ(state.snapshot().families[1].changes, 1u);
}

TEST(ForwardingStateTest, ResyncCountsAndDetectsAMissedChange) {
  ForwardingState state;
  state.Seed(IpFamily::kIpv4, 1);
  state.Seed(IpFamily::kIpv6, 0);
  state.OnResync(1, 0, 20);  // nothing changed while events were lost
  EXPECT_EQ(state.snapshot().resyncs, 1u);
  EXPECT_EQ(state.snapshot().families[0].changes, 0u);
  state.OnResync(0, std::nullopt, 21);
  EXPECT_EQ(state.snapshot().resyncs, 2u);
  EXPECT_EQ(state.snapshot().families[0].changes, 1u);
  EXPECT_EQ(state.snapshot().families[0].last_change_seconds, 21);
}

TEST(ForwardingCollectorTest, FactoryListensBeforeTheFirstScrape) {
  // The factory joins the netconf groups before it returns, so the very first
  // scrape after exporter start already has the event families.
  CollectorOptions options;
  options.paths.procfs = kFixtures + "/proc";
  options.paths.rootfs = kFixtures + "/sysctl/not_persisted";
  auto collector = NewForwardingCollector(options);
  std::vector<prometheus::MetricFamily> out;
  ScrapeContext ctx{options.paths, Clock::now() + std::chrono::seconds(5), {}};
  Status st = collector->Collect(ctx, &out);
  EXPECT_TRUE(st.ok()) << st.message();
  bool found = false;
  for (const auto& f : out) found = found || f.name == "portmap_ip_forward_changes_total";
  EXPECT_TRUE(found);
}

TEST(ForwardingWatcherTest, StartsListeningAndStopsCleanly) {
  // Joining the netconf groups needs no privilege; nothing is flipped here.
  for (int i = 0; i < 3; ++i) {
    ForwardingWatcher watcher(kFixtures + "/proc");
    ASSERT_TRUE(watcher.WaitListening(std::chrono::seconds(5))) << watcher.Snapshot().error;
    ForwardingSnapshot snap = watcher.Snapshot();
    EXPECT_EQ(snap.families[0].value, 1);  // seeded from the fixture procfs
    EXPECT_EQ(snap.families[1].value, 0);
  }
}

}  // namespace
}  // namespace portmap
