// The firewalld collector over a fake D-Bus client (collectors/firewalld/firewalld_client.h)
// on the fixture tree tests/fixtures/firewalld: sysfs with lo, eth0 (uplink),
// docker0 (bridge) and veth-c1 (a bridge port); procfs with firewalld as pid
// 777 started 1234.56 s (at 100 Hz) after btime 1795550000; rootfs with a
// firewalld.conf naming the iptables backend.  Plus the watcher's counting.
#include "collectors/firewalld/firewalld.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "util/metrics.h"

namespace portmap {
namespace {

const std::string kFixtures = std::string(PORTMAP_FIXTURES) + "/firewalld";

// What the fake firewalld answers; each call can be made to fail.
struct FakeBus {
  CallStatus open;  // non-ok: no bus
  bool owned = true;
  std::string state = "RUNNING";
  CallStatus state_status;  // e.g. a timeout (firewalld stopped)
  std::string backend = "iptables";
  bool config_fails = false;
  std::string default_zone = "public";
  dbus::NameToLists active_zones = {{"docker", {{"interfaces", {"docker0"}}}}};
  std::map<std::string, std::string> bound;  // getZoneOfInterface
  std::map<std::string, dbus::Settings> zones;
  std::map<std::string, dbus::Settings> services;
  dbus::NameToLists active_policies;
  std::map<std::string, dbus::Settings> policies;
  int calls = 0;
};

CallStatus Fail(const char* name) {
  CallStatus st = CallStatus::Errno(EIO, name);
  st.error_name = "org.fedoraproject.FirewallD1.Exception";
  return st;
}

class FakeSession : public FirewalldSession {
 public:
  explicit FakeSession(FakeBus* bus) : b_(bus) {}
  CallStatus NameHasOwner(bool* owned) override {
    ++b_->calls;
    *owned = b_->owned;
    return {};
  }
  CallStatus OwnerPid(uint32_t* pid) override {
    *pid = 777;
    return {};
  }
  CallStatus Property(const std::string& name, std::string* value) override {
    ++b_->calls;
    if (name == "state") {
      *value = b_->state;
      return b_->state_status;
    }
    *value = name == "version" ? "1.3.3" : "";
    return {};
  }
  CallStatus ConfigProperty(const std::string& /*name*/, std::string* value) override {
    if (b_->config_fails) return Fail("config");
    *value = b_->backend;
    return {};
  }
  CallStatus DefaultZone(std::string* zone) override {
    *zone = b_->default_zone;
    return {};
  }
  CallStatus ActiveZones(dbus::NameToLists* zones) override {
    *zones = b_->active_zones;
    return {};
  }
  CallStatus ZoneOfInterface(const std::string& interface, std::string* zone) override {
    auto it = b_->bound.find(interface);
    *zone = it == b_->bound.end() ? "" : it->second;
    return {};
  }
  CallStatus ZoneSettings(const std::string& zone, dbus::Settings* s) override {
    auto it = b_->zones.find(zone);
    if (it == b_->zones.end()) return Fail("INVALID_ZONE");
    *s = it->second;
    return {};
  }
  CallStatus ServiceSettings(const std::string& service, dbus::Settings* s) override {
    auto it = b_->services.find(service);
    if (it == b_->services.end()) return Fail("INVALID_SERVICE");
    *s = it->second;
    return {};
  }
  CallStatus ActivePolicies(dbus::NameToLists* policies) override {
    *policies = b_->active_policies;
    return {};
  }
  CallStatus PolicySettings(const std::string& policy, dbus::Settings* s) override {
    *s = b_->policies[policy];
    return {};
  }

 private:
  FakeBus* b_;
};

class FakeClient : public FirewalldClient {
 public:
  explicit FakeClient(FakeBus* bus) : b_(bus) {}
  std::unique_ptr<FirewalldSession> Open(dbus::Clock::time_point /*deadline*/,
                                         CallStatus* status) override {
    *status = b_->open;
    if (!status->ok()) return nullptr;
    return std::make_unique<FakeSession>(b_);
  }

 private:
  FakeBus* b_;
};

// The watcher as the collector sees it.  `synced` false: the watcher could
// not vouch for having seen every signal, so nothing is reused.
struct FakeWatch {
  bool synced = false;
  uint64_t changes = 0;
  std::string owner = ":1.42";
  bool listening = true;
};

class FakeEvents : public FirewalldEvents {
 public:
  explicit FakeEvents(const FakeWatch* watch = nullptr) : w_(watch) {}
  FirewalldEventsSnapshot Snapshot() const override {
    FirewalldEventsSnapshot s;
    s.reloads = 3;
    s.restarts = 1;
    s.listening = w_ == nullptr || w_->listening;
    if (w_ != nullptr) {
      s.changes = w_->changes;
      s.owner = w_->owner;
    }
    return s;
  }
  bool Sync(Clock::time_point /*deadline*/) override { return w_ != nullptr && w_->synced; }

 private:
  const FakeWatch* w_;
};

FakeBus StockPublic() {
  FakeBus b;
  b.zones["public"].strings["target"] = "default";
  b.zones["public"].lists["services"] = {"ssh", "dhcpv6-client"};
  b.services["ssh"].pairs["ports"] = {{"22", "tcp"}};
  b.services["dhcpv6-client"].pairs["ports"] = {{"546", "udp"}};
  return b;
}

struct Scrape {
  Status status;
  std::vector<prometheus::MetricFamily> families;

  // The value of NAME's sample carrying all of `want`; -1 if none.
  double Value(const std::string& name, const Labels& want = {}) const {
    for (const auto& f : families) {
      if (f.name != name) continue;
      for (const auto& m : f.metric) {
        bool all = true;
        for (const Label& w : want) {
          bool found = false;
          for (const Label& l : m.label) found = found || (l.name == w.name && l.value == w.value);
          all = all && found;
        }
        if (all) return f.type == MetricType::Counter ? m.counter.value : m.gauge.value;
      }
    }
    return -1;
  }
};

// One collector scraped several times, as the exporter does.
class Watched {
 public:
  Watched(FakeBus* bus, const FakeWatch* watch, const std::vector<PublishedPortRef>* ports) {
    options_.paths.procfs = kFixtures + "/proc";
    options_.paths.sysfs = kFixtures + "/sys";
    options_.paths.rootfs = kFixtures + "/root";
    collector_ = NewFirewalldCollectorWith(options_, std::make_unique<FakeClient>(bus),
                                           std::make_unique<FakeEvents>(watch),
                                           [ports](Clock::time_point) { return *ports; });
  }
  Scrape Collect() {
    std::stop_source stop;
    ScrapeContext ctx{options_.paths, Clock::now() + std::chrono::seconds(5), stop.get_token()};
    Scrape s;
    s.status = collector_->Collect(ctx, &s.families);
    return s;
  }

 private:
  CollectorOptions options_;
  std::unique_ptr<Collector> collector_;
};

// One scrape of a fresh collector whose watcher vouches for nothing.
Scrape ScrapeWith(FakeBus* bus, const std::vector<PublishedPortRef>& ports = {{"tcp", 5000}}) {
  return Watched(bus, nullptr, &ports).Collect();
}

const Labels kPort = {{"proto", "tcp"}, {"port", "5000"}, {"zone", "public"}};

TEST(FirewalldCollectorTest, RunningWithThePortClosed) {
  FakeBus bus = StockPublic();
  Scrape s = ScrapeWith(&bus);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(s.Value("portmap_firewalld_up"), 1);
  EXPECT_EQ(s.Value("portmap_firewalld_info",
                    {{"version", "1.3.3"}, {"backend", "iptables"}, {"default_zone", "public"}}),
            1);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(s.Value("portmap_firewalld_start_time_seconds"), 1795550000 + 123456 / ticks);
  // docker0 from getActiveZones; eth0 unbound, so in the default zone; lo
  // and the bridge port veth-c1 are not asked about.
  EXPECT_EQ(s.Value("portmap_firewalld_interface_zone_info",
                    {{"interface", "docker0"}, {"zone", "docker"}}),
            1);
  EXPECT_EQ(
      s.Value("portmap_firewalld_interface_zone_info", {{"interface", "eth0"}, {"zone", "public"}}),
      1);
  EXPECT_EQ(s.Value("portmap_firewalld_interface_zone_info", {{"interface", "veth-c1"}}), -1);
  EXPECT_EQ(s.Value("portmap_firewalld_interface_zone_info", {{"interface", "lo"}}), -1);
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed", kPort), 0);
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed_approximate", kPort), 0);
  // Only the uplink's zone is checked: docker0 is not an ingress interface.
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed", {{"zone", "docker"}}), -1);
  EXPECT_EQ(s.Value("portmap_firewalld_reloads_total"), 3);
  EXPECT_EQ(s.Value("portmap_firewalld_restarts_total"), 1);
}

TEST(FirewalldCollectorTest, PortOpenedInTheUplinksZone) {
  FakeBus bus = StockPublic();
  bus.bound["eth0"] = "dmz";
  bus.zones["dmz"].strings["target"] = "default";
  bus.zones["dmz"].pairs["ports"] = {{"5000", "tcp"}};
  Scrape s = ScrapeWith(&bus);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed",
                    {{"proto", "tcp"}, {"port", "5000"}, {"zone", "dmz"}}),
            1);
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed", kPort), -1);
}

TEST(FirewalldCollectorTest, DockerForwardingPolicyAllowsIt) {
  FakeBus bus = StockPublic();
  bus.active_policies["docker-forwarding"] = {{"ingress_zones", {"ANY"}},
                                              {"egress_zones", {"docker"}}};
  bus.policies["docker-forwarding"].strings["target"] = "ACCEPT";
  Scrape s = ScrapeWith(&bus);
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed", kPort), 1);
}

TEST(FirewalldCollectorTest, NameWithoutOwnerIsUpZeroAndSuccess) {
  FakeBus bus = StockPublic();
  bus.owned = false;
  Scrape s = ScrapeWith(&bus);
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.Value("portmap_firewalld_up"), 0);
  EXPECT_EQ(s.Value("portmap_firewalld_info"), -1);
  EXPECT_EQ(s.Value("portmap_firewalld_reloads_total"), 3);  // the watcher still counts
}

TEST(FirewalldCollectorTest, NoSystemBusIsNoData) {
  FakeBus bus = StockPublic();
  bus.open = CallStatus::Errno(ENOENT, "connecting to the system bus");
  Scrape s = ScrapeWith(&bus);
  EXPECT_EQ(s.status.code(), Status::Code::kNoData);
  EXPECT_EQ(s.Value("portmap_firewalld_up"), 0);
}

TEST(FirewalldCollectorTest, StoppedFirewalldTimesOutAsAnError) {
  FakeBus bus = StockPublic();
  bus.state_status = CallStatus::Errno(ETIMEDOUT, "Properties.Get");
  Scrape s = ScrapeWith(&bus);
  EXPECT_EQ(s.status.code(), Status::Code::kError);
  EXPECT_EQ(s.Value("portmap_firewalld_up"), -1);  // unknown, not 0
}

TEST(FirewalldCollectorTest, NotYetRunningStopsAfterUp) {
  FakeBus bus = StockPublic();
  bus.state = "INIT";
  Scrape s = ScrapeWith(&bus);
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.Value("portmap_firewalld_up"), 0);
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed", kPort), -1);
}

TEST(FirewalldCollectorTest, BackendFromFirewalldConfWhenTheConfigObjectFails) {
  FakeBus bus = StockPublic();
  bus.config_fails = true;
  bus.backend = "nftables";  // not used
  Scrape s = ScrapeWith(&bus);
  EXPECT_EQ(s.Value("portmap_firewalld_info", {{"backend", "iptables"}}), 1);
}

TEST(FirewalldCollectorTest, AFailingZoneCallFailsTheScrapeButKeepsTheRest) {
  FakeBus bus = StockPublic();
  bus.zones.clear();
  Scrape s = ScrapeWith(&bus);
  EXPECT_EQ(s.status.code(), Status::Code::kError);
  EXPECT_NE(s.status.message().find("INVALID_ZONE"), std::string::npos);
  EXPECT_EQ(s.Value("portmap_firewalld_up"), 1);
}

TEST(FirewalldCollectorTest, NoPortsNoPortSeries) {
  FakeBus bus = StockPublic();
  Scrape s = ScrapeWith(&bus, {});
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.Value("portmap_firewalld_port_allowed"), -1);
}

TEST(FirewalldCacheTest, NoCallWhileFirewalldSentNoSignal) {
  FakeBus bus = StockPublic();
  FakeWatch watch{.synced = true, .changes = 7};
  std::vector<PublishedPortRef> ports = {{"tcp", 5000}};
  Watched w(&bus, &watch, &ports);
  Scrape first = w.Collect();
  ASSERT_TRUE(first.status.ok()) << first.status.message();
  EXPECT_EQ(first.Value("portmap_firewalld_port_allowed", kPort), 0);
  EXPECT_EQ(first.Value("portmap_firewalld_state_reads_total"), 1);
  const int calls = bus.calls;
  Scrape again = w.Collect();
  EXPECT_EQ(bus.calls, calls) << "no D-Bus call while nothing changed";
  EXPECT_TRUE(again.status.ok());
  EXPECT_EQ(again.Value("portmap_firewalld_up"), 1);
  EXPECT_EQ(again.Value("portmap_firewalld_port_allowed", kPort), 0);
  EXPECT_EQ(again.Value("portmap_firewalld_state_reads_total"), 1);

  // firewall-cmd --add-port=5000/tcp: firewalld answers differently and
  // sends PortAdded, which the watcher counts.
  bus.zones["public"].pairs["ports"] = {{"5000", "tcp"}};
  ++watch.changes;
  Scrape opened = w.Collect();
  EXPECT_GT(bus.calls, calls);
  EXPECT_EQ(opened.Value("portmap_firewalld_port_allowed", kPort), 1);
  EXPECT_EQ(opened.Value("portmap_firewalld_state_reads_total"), 2);
}

TEST(FirewalldCacheTest, ANewPublishedPortOrInterfaceOrOwnerIsReadAfresh) {
  FakeBus bus = StockPublic();
  FakeWatch watch{.synced = true};
  std::vector<PublishedPortRef> ports = {{"tcp", 5000}};
  Watched w(&bus, &watch, &ports);
  w.Collect();
  ports.push_back({"tcp", 22});
  Scrape more = w.Collect();
  EXPECT_EQ(more.Value("portmap_firewalld_state_reads_total"), 2);
  EXPECT_EQ(more.Value("portmap_firewalld_port_allowed",
                       {{"proto", "tcp"}, {"port", "22"}, {"zone", "public"}}),
            1);
  watch.owner = ":1.99";  // a restart the watcher saw
  EXPECT_EQ(w.Collect().Value("portmap_firewalld_state_reads_total"), 3);
}

TEST(FirewalldCacheTest, NothingIsReusedWithoutTheWatchersWord) {
  FakeBus bus = StockPublic();
  FakeWatch watch{.synced = false};
  std::vector<PublishedPortRef> ports = {{"tcp", 5000}};
  Watched w(&bus, &watch, &ports);
  w.Collect();
  EXPECT_EQ(w.Collect().Value("portmap_firewalld_state_reads_total"), 2);
}

TEST(FirewalldCacheTest, AFailedOrNotRunningReadIsNotKept) {
  FakeBus bus = StockPublic();
  FakeWatch watch{.synced = true};
  std::vector<PublishedPortRef> ports = {{"tcp", 5000}};
  Watched w(&bus, &watch, &ports);
  bus.state = "INIT";
  EXPECT_EQ(w.Collect().Value("portmap_firewalld_up"), 0);
  bus.state = "RUNNING";  // firewalld finished starting: no signal needed
  Scrape running = w.Collect();
  EXPECT_EQ(running.Value("portmap_firewalld_up"), 1);
  EXPECT_EQ(running.Value("portmap_firewalld_state_reads_total"), 2);

  FakeBus failing = StockPublic();
  failing.state_status = CallStatus::Errno(ETIMEDOUT, "stopped");
  Watched f(&failing, &watch, &ports);
  EXPECT_FALSE(f.Collect().status.ok());
  failing.state_status = {};
  Scrape recovered = f.Collect();
  EXPECT_TRUE(recovered.status.ok()) << "a failure is never served again";
  EXPECT_EQ(recovered.Value("portmap_firewalld_up"), 1);
}

TEST(FirewalldCacheTest, NoOwnerWhileListeningNeedsNoCall) {
  FakeBus bus = StockPublic();
  FakeWatch watch{.synced = true, .owner = ""};
  std::vector<PublishedPortRef> ports = {{"tcp", 5000}};
  Watched w(&bus, &watch, &ports);
  Scrape s = w.Collect();
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.Value("portmap_firewalld_up"), 0);
  EXPECT_EQ(bus.calls, 0);
}

TEST(BackendFromConfTest, LastAssignmentWins) {
  EXPECT_EQ(BackendFromConf("# FirewallBackend=x\nFirewallBackend=nftables\n"), "nftables");
  EXPECT_EQ(BackendFromConf("FirewallBackend=nftables\nFirewallBackend=iptables \n"), "iptables");
  EXPECT_EQ(BackendFromConf("DefaultZone=public\n"), "");
}

TEST(FirewalldEventStateTest, FirstOwnerIsNotARestartLaterOnesAre) {
  FirewalldEventState st;
  st.OnConnected(":1.5", /*first=*/true);
  EXPECT_EQ(st.snapshot().restarts, 0u);
  st.OnReloaded();
  EXPECT_EQ(st.snapshot().reloads, 1u);
  st.OnOwnerChanged("");  // killed
  EXPECT_EQ(st.snapshot().owner, "");
  st.OnOwnerChanged(":1.9");  // started again
  EXPECT_EQ(st.snapshot().restarts, 1u);
  // Reconnected to the bus: the same owner is not a restart, a new one is.
  st.OnConnected(":1.9", /*first=*/false);
  EXPECT_EQ(st.snapshot().restarts, 1u);
  st.OnConnected(":1.12", /*first=*/false);
  EXPECT_EQ(st.snapshot().restarts, 2u);
}

TEST(FirewalldEventStateTest, AStartAfterTheExporterCounts) {
  FirewalldEventState st;
  st.OnConnected("", /*first=*/true);  // firewalld not running yet
  st.OnOwnerChanged(":1.3");
  EXPECT_EQ(st.snapshot().restarts, 1u);
}

}  // namespace
}  // namespace portmap
