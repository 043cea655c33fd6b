// The netfilter collector and the Docker model (collectors/netfilter/nf_docker.h) over chains
// decoded from the lab's recordings, through a fake source.
#include "collectors/netfilter/netfilter.h"

#include <gtest/gtest.h>
#include <linux/netfilter.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/netfilter/nf_docker.h"
#include "netlink/nftables.h"
#include "netlink/xtables.h"
#include "tests/support/nft_recording.h"

namespace portmap {
namespace {

std::string Fixture(const std::string& rel) {
  std::ifstream in(std::string(PORTMAP_FIXTURES) + "/" + rel);
  EXPECT_TRUE(in.good()) << rel;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What NftablesReader::Read builds, from recorded messages.
std::vector<NfChain> NftChains(const std::string& name) {
  std::string error;
  std::vector<NfChain> chains =
      testing::ChainsFromNftRecording(Fixture("nftables/" + name), &error);
  EXPECT_EQ(error, "") << name;
  return chains;
}

std::vector<NfChain> XtChains(const std::vector<std::string>& names) {
  std::vector<NfChain> out;
  for (const std::string& name : names) {
    XtTableBlob blob;
    EXPECT_TRUE(XtTableBlobFromText(Fixture("xtables/" + name), &blob).ok());
    std::vector<NfChain> chains;
    EXPECT_TRUE(DecodeXtTable(blob, &chains).ok());
    out.insert(out.end(), chains.begin(), chains.end());
  }
  return out;
}

class FakeSource : public NetfilterSource {
 public:
  NetlinkStatus nft_status;
  std::vector<NfChain> nft;
  NetlinkStatus legacy_status;
  bool legacy_loaded = false;
  std::vector<NfChain> legacy;

  NetlinkStatus ReadNftables(std::chrono::steady_clock::time_point /*deadline*/,
                             std::vector<NfChain>* chains) override {
    *chains = nft;
    return nft_status;
  }
  NetlinkStatus ReadLegacy(std::chrono::steady_clock::time_point /*deadline*/,
                           std::vector<NfChain>* chains, bool* loaded) override {
    *chains = legacy;
    *loaded = legacy_loaded;
    return legacy_status;
  }
};

struct Scrape {
  Status status;
  std::map<std::string, double> samples;  // "name{k=v,...}" -> value
};

Scrape ScrapeOnce(Collector* c) {
  Paths paths;
  std::stop_source stop;
  ScrapeContext ctx{paths, Clock::now() + std::chrono::seconds(5), stop.get_token()};
  std::vector<prometheus::MetricFamily> families;
  Scrape s;
  s.status = c->Collect(ctx, &families);
  for (const auto& f : families) {
    for (const auto& m : f.metric) {
      std::string key = f.name + "{";
      for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
      key += "}";
      double v = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      s.samples[key] = v;
    }
  }
  return s;
}

std::string ChainKey(const char* name, const char* backend, const char* table, const char* chain,
                     const char* family = "ipv4") {
  return std::string(name) + "{backend=" + backend + ",family=" + family + ",table=" + table +
         ",chain=" + chain + ",}";
}

TEST(NetfilterTest, NftablesLabRuleset) {
  auto src = std::make_unique<FakeSource>();
  src->nft = NftChains("lab_docker_ipt189.hex");
  auto collector = NewNetfilterCollectorWithSource(std::move(src));
  Scrape s = ScrapeOnce(collector.get());
  EXPECT_TRUE(s.status.ok()) << s.status.message();
  const char* p = "portmap_netfilter_chain_present";
  const char* r = "portmap_netfilter_chain_rules";
  EXPECT_EQ(s.samples[ChainKey(p, "nftables", "nat", "DOCKER")], 1);
  EXPECT_EQ(s.samples[ChainKey(r, "nftables", "nat", "DOCKER")], 2);
  EXPECT_EQ(s.samples[ChainKey(r, "nftables", "filter", "DOCKER-USER")], 1);
  EXPECT_EQ(s.samples[ChainKey(r, "nftables", "filter", "DOCKER-ISOLATION-STAGE-1")], 2);
  EXPECT_EQ(s.samples[ChainKey(r, "nftables", "filter", "DOCKER-ISOLATION-STAGE-2")], 2);
  // The classic layout: the 28.1 chains are not expected.
  EXPECT_EQ(s.samples.count(ChainKey(p, "nftables", "filter", "DOCKER-FORWARD")), 0u);
  EXPECT_EQ(
      s.samples[ChainKey("portmap_netfilter_chain_policy_accept", "nftables", "filter", "FORWARD")],
      0);
  EXPECT_EQ(s.samples.count("portmap_published_port_info{proto=tcp,host_ip=0.0.0.0,"
                            "host_port=5000,container_ip=203.0.113.2,container_port=5000,"
                            "backend=nftables,}"),
            1u);
}

TEST(NetfilterTest, RealDockerdRuleset) {
  // Debian's dockerd 20.10.24 with iptables-nft 1.8.9: `docker run -p 8080:80`.
  auto src = std::make_unique<FakeSource>();
  src->nft = NftChains("dockerd_20.10_ipt189.hex");
  auto collector = NewNetfilterCollectorWithSource(std::move(src));
  Scrape s = ScrapeOnce(collector.get());
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.samples.count("portmap_published_port_info{proto=tcp,host_ip=0.0.0.0,"
                            "host_port=8080,container_ip=192.0.2.2,container_port=80,"
                            "backend=nftables,}"),
            1u);
  EXPECT_EQ(s.samples[ChainKey("portmap_netfilter_chain_rules", "nftables", "filter", "DOCKER")],
            1);
  EXPECT_EQ(s.samples[ChainKey("portmap_netfilter_chain_present", "nftables", "filter",
                               "DOCKER-ISOLATION-STAGE-2")],
            1);
}

TEST(NetfilterTest, FlushBetweenScrapesReadsAsPresentZero) {
  auto src = std::make_unique<FakeSource>();
  FakeSource* fake = src.get();
  fake->nft = NftChains("lab_docker_ipt189.hex");
  auto collector = NewNetfilterCollectorWithSource(std::move(src));
  ScrapeOnce(collector.get());
  fake->nft = NftChains("lab_after_flush.hex");
  Scrape s = ScrapeOnce(collector.get());
  EXPECT_TRUE(s.status.ok());
  const char* p = "portmap_netfilter_chain_present";
  for (const char* chain :
       {"DOCKER-USER", "DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2"}) {
    EXPECT_EQ(s.samples.at(ChainKey(p, "nftables", "filter", chain)), 0) << chain;
  }
  EXPECT_EQ(s.samples.at(ChainKey(p, "nftables", "nat", "DOCKER")), 0);
  EXPECT_EQ(s.samples.count(ChainKey("portmap_netfilter_chain_rules", "nftables", "nat", "DOCKER")),
            0u);
}

TEST(NetfilterTest, BothBackendsAtOnce) {
  auto src = std::make_unique<FakeSource>();
  src->nft = NftChains("lab_docker_ipt189.hex");
  src->legacy_loaded = true;
  src->legacy = XtChains({"lab_nat.txt", "lab_filter.txt"});
  auto collector = NewNetfilterCollectorWithSource(std::move(src));
  Scrape s = ScrapeOnce(collector.get());
  EXPECT_TRUE(s.status.ok());
  const char* r = "portmap_netfilter_chain_rules";
  EXPECT_EQ(s.samples[ChainKey(r, "nftables", "nat", "DOCKER")], 2);
  EXPECT_EQ(s.samples[ChainKey(r, "legacy", "nat", "DOCKER")], 2);
  EXPECT_EQ(s.samples[ChainKey(r, "legacy", "filter", "DOCKER-USER")], 1);
  EXPECT_EQ(s.samples.count("portmap_published_port_info{proto=tcp,host_ip=0.0.0.0,"
                            "host_port=5000,container_ip=203.0.113.2,container_port=5000,"
                            "backend=legacy,}"),
            1u);
}

TEST(NetfilterTest, PermissionDeniedIsAnErrorOnceThenNoData) {
  auto src = std::make_unique<FakeSource>();
  src->nft_status = NetlinkStatus::Errno(EPERM, "nf_tables GETGEN");
  src->legacy_status = NetlinkStatus::Errno(EPERM, "IPT_SO_GET_INFO nat");
  auto collector = NewNetfilterCollectorWithSource(std::move(src));
  Scrape first = ScrapeOnce(collector.get());
  EXPECT_EQ(first.status.code(), Status::Code::kError);
  EXPECT_NE(first.status.message().find("CAP_NET_ADMIN"), std::string::npos);
  Scrape second = ScrapeOnce(collector.get());
  EXPECT_EQ(second.status.code(), Status::Code::kNoData);
  EXPECT_EQ(second.status.message(), first.status.message());
}

TEST(NetfilterTest, NothingLoadedIsNoData) {
  auto src = std::make_unique<FakeSource>();
  src->nft_status = NetlinkStatus::Errno(EPROTONOSUPPORT, "netlink socket");
  auto collector = NewNetfilterCollectorWithSource(std::move(src));
  EXPECT_EQ(ScrapeOnce(collector.get()).status.code(), Status::Code::kNoData);
}

class FakeEvents : public NetfilterEvents {
 public:
  NetfilterEventSnapshot snap;
  NetfilterEventSnapshot Snapshot() const override { return snap; }
};

TEST(NetfilterTest, EventFamilies) {
  auto events = std::make_unique<FakeEvents>();
  events->snap.listening = true;
  events->snap.ruleset_changes = 5;
  events->snap.resyncs = 1;
  events->snap.last_process = "firewalld";
  events->snap.last_change_seconds = 1700000000;
  events->snap.deletions[{"ipv4", "filter", "DOCKER-USER"}] = 2;
  events->snap.rule_deletions[{"ipv4", "nat", "DOCKER"}] = 3;
  auto src = std::make_unique<FakeSource>();
  src->nft = NftChains("lab_docker_ipt189.hex");
  auto collector = NewNetfilterCollectorWithSource(std::move(src), std::move(events));
  Scrape s = ScrapeOnce(collector.get());
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.samples["portmap_netfilter_ruleset_changes_total{}"], 5);
  EXPECT_EQ(s.samples["portmap_netfilter_resyncs_total{}"], 1);
  EXPECT_EQ(s.samples["portmap_netfilter_last_change_info{process=firewalld,}"], 1);
  EXPECT_EQ(s.samples["portmap_netfilter_last_change_timestamp_seconds{}"], 1700000000);
  EXPECT_EQ(
      s.samples
          ["portmap_netfilter_chain_deletions_total{family=ipv4,table=filter,chain=DOCKER-USER,}"],
      2);
  EXPECT_EQ(
      s.samples["portmap_netfilter_rule_deletions_total{family=ipv4,table=nat,chain=DOCKER,}"], 3);
}

TEST(NetfilterTest, WatcherNotListeningIsAnError) {
  auto events = std::make_unique<FakeEvents>();
  events->snap.error = "join netlink group 8: Operation not supported";
  auto src = std::make_unique<FakeSource>();
  auto collector = NewNetfilterCollectorWithSource(std::move(src), std::move(events));
  Scrape s = ScrapeOnce(collector.get());
  EXPECT_EQ(s.status.code(), Status::Code::kError);
  EXPECT_NE(s.status.message().find("watcher not listening"), std::string::npos);
  EXPECT_EQ(s.samples.count("portmap_netfilter_ruleset_changes_total{}"), 0u);
}

TEST(NfDockerTest, NewerLayoutIsExpectedWhenJumpedTo) {
  NfChain forward{"ipv4", "filter", "FORWARD", true, true, {}};
  NfRule jump;
  jump.jump = "DOCKER-FORWARD";
  forward.rules.push_back(jump);
  std::set<NfChainKey> remembered;
  DockerView view;
  AddDockerView("nftables", {forward}, &remembered, &view);
  std::vector<std::string> names;
  for (const DockerChainState& c : view.chains) {
    EXPECT_FALSE(c.present);
    names.push_back(std::get<2>(c.key) + "/" + std::get<3>(c.key));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"filter/DOCKER", "filter/DOCKER-BRIDGE",
                                             "filter/DOCKER-CT", "filter/DOCKER-FORWARD",
                                             "filter/DOCKER-USER", "nat/DOCKER"}));
  ASSERT_EQ(view.policies.size(), 1u);
  EXPECT_TRUE(view.policies[0].accept);
}

// Docker 29's own table: its chains are expected like DOCKER*, its DNATs
// publish ports, and a switch of dockerd's firewall backend forgets the
// other backend's chains instead of reporting them missing.
TEST(NfDockerTest, Docker29TableAndBackendSwitch) {
  NfChain dnat{"ipv4", "docker-bridges", "nat-prerouting-and-output", false, std::nullopt, {}};
  NfRule r;
  r.dnat = NfPortMapping{"tcp", "0.0.0.0", 5000, "172.17.0.2", 5000};
  dnat.rules.push_back(r);
  NfChain pre{"ipv4", "docker-bridges", "nat-PREROUTING", true, true, {}};
  NfChain nat_docker{"ipv4", "nat", "DOCKER", false, std::nullopt, {}};

  std::set<NfChainKey> remembered;
  DockerView iptables;
  AddDockerView("nftables", {nat_docker}, &remembered, &iptables);
  EXPECT_FALSE(iptables.chains.empty());

  DockerView native;
  AddDockerView("nftables", {dnat, pre}, &remembered, &native);
  std::vector<std::string> names;
  for (const DockerChainState& c : native.chains) {
    names.push_back(std::get<2>(c.key) + "/" + std::get<3>(c.key) +
                    (c.present ? "" : " (missing)"));
  }
  EXPECT_EQ(
      names,
      (std::vector<std::string>{
          "docker-bridges/filter-FORWARD (missing)", "docker-bridges/nat-OUTPUT (missing)",
          "docker-bridges/nat-POSTROUTING (missing)", "docker-bridges/nat-PREROUTING",
          "docker-bridges/nat-prerouting-and-output", "docker-bridges/raw-PREROUTING (missing)"}))
      << "nat DOCKER is no longer expected once dockerd writes its own table";
  ASSERT_EQ(native.ports.size(), 1u);
  EXPECT_EQ(native.ports[0].mapping.host_port, 5000);
  EXPECT_EQ(NetfilterFactsOf(native).nat_docker_families, std::set<std::string>{"ipv4"})
      << "an IPv6 packet meets no Docker nat chain here";
}

TEST(NfDockerTest, NoDockerNoSeries) {
  NfChain forward{"ipv4", "filter", "FORWARD", true, true, {}};
  std::set<NfChainKey> remembered;
  DockerView view;
  AddDockerView("legacy", {forward}, &remembered, &view);
  EXPECT_TRUE(view.chains.empty());
  EXPECT_TRUE(view.policies.empty());
}

}  // namespace
}  // namespace portmap
