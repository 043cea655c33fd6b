// The verdict collector end to end over a fake kernel and ruleset: which
// ports and paths it traces, the series it exports, and when it re-traces.
#include "collectors/verdict/verdict.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cerrno>
#include <map>
#include <string>

#include "collectors/host_facts.h"
#include "collectors/netfilter/netfilter.h"
#include "collectors/published_ports.h"
#include "tests/unit/pathtrace/fakes.h"

namespace portmap {
namespace {

using namespace pathtrace::testing;  // NOLINT(google-build-using-namespace): the fakes' helpers
using pathtrace::Addr;
using pathtrace::ParseAddr;
using pathtrace::RouteAnswer;
using pathtrace::RouteQuery;

class NoSource : public NetfilterSource {
 public:
  NetlinkStatus ReadNftables(Clock::time_point, std::vector<NfChain>*) override { return {}; }
  NetlinkStatus ReadLegacy(Clock::time_point, std::vector<NfChain>*, bool* loaded) override {
    *loaded = false;
    return {};
  }
};

class QuietWatch : public ChangeWatch {
 public:
  bool changed = false;
  bool Changed() override { return std::exchange(changed, false); }
};

// dockerhost: eth0 198.51.100.1/24 holds the default route, docker0
// 172.17.0.1/16 with a container 172.17.0.2 that listens, and Docker's
// nat PREROUTING -> DOCKER DNAT of 5000/tcp.
class VerdictCollectorTest : public ::testing::Test {
 protected:
  VerdictCollectorTest() {
    auto ruleset = std::make_unique<FakeRuleset>();
    auto kernel = std::make_unique<FakeKernel>();
    auto watch = std::make_unique<QuietWatch>();
    ruleset_ = ruleset.get();
    kernel_ = kernel.get();
    watch_ = watch.get();
    kernel_->local_addrs = {*ParseAddr("198.51.100.1"), *ParseAddr("172.17.0.1")};
    kernel_->link_dump = {LinkOf(1, "lo", IFF_UP | IFF_LOOPBACK), LinkOf(2, "eth0", IFF_UP),
                          LinkOf(3, "docker0", IFF_UP, "bridge"),
                          LinkOf(4, "veth1", IFF_UP, "veth", 3)};
    kernel_->addr_dump = {AddressOf(1, "127.0.0.1", 8), AddressOf(2, "198.51.100.1", 24),
                          AddressOf(3, "172.17.0.1", 16)};
    kernel_->addr_dump[0].scope = RT_SCOPE_HOST;
    kernel_->route = [this](const RouteQuery& q) {
      RouteAnswer a;
      for (const Addr& l : kernel_->local_addrs) {
        if (l == q.dst) {
          a.type = RTN_LOCAL;
          a.oif = 1;
          return a;
        }
      }
      if (q.iif != 0 && forwarding_off_) {
        a.error = EHOSTUNREACH;
        return a;
      }
      a.type = RTN_UNICAST;
      a.oif = q.dst.bytes[0] == 172 ? 3 : 2;
      return a;
    };
    kernel_->peer = pathtrace::PeerAnswer{true, true, "/run/docker/netns/c1"};
    ruleset_
        ->AddChain(
            Base(NFPROTO_IPV4, "nat", "PREROUTING", NF_INET_PRE_ROUTING, -100, NF_ACCEPT, "nat"))
        .rules.push_back(Rule(1, {}, {Verdict(NFT_JUMP, "DOCKER")}));
    ruleset_->AddChain(User(NFPROTO_IPV4, "nat", "DOCKER"))
        .rules.push_back(Rule(2, {TcpDport(5000), DnatTo("172.17.0.2", 5000)}));

    options_.published_ports = std::make_shared<PublishedPorts>(std::make_unique<NoSource>());
    options_.published_ports->RememberMappings(
        {NfPortMapping{"tcp", "0.0.0.0", 5000, "172.17.0.2", 5000}});
    collector_ = NewVerdictCollectorWithTracer(
        options_, std::make_unique<PathTracer>(std::move(ruleset), std::move(kernel), nullptr,
                                               std::move(watch)));
  }

  // One scrape: series as "name label-values..." -> value.
  std::map<std::string, double> Scrape(bool nat_docker_present = true) {
    HostFacts facts;
    NetfilterFacts nf;
    if (nat_docker_present) nf.nat_docker_families = {"ipv4"};
    facts.SetNetfilter(nf);
    facts.Seal();
    std::stop_source stop;
    ScrapeContext ctx{options_.paths, Clock::now() + std::chrono::seconds(5), stop.get_token(),
                      &facts};
    std::vector<prometheus::MetricFamily> out;
    last_ = collector_->Collect(ctx, &out);
    std::map<std::string, double> got;
    for (const auto& f : out) {
      for (const auto& m : f.metric) {
        std::string key = f.name;
        for (const auto& l : m.label) key += " " + l.name + "=" + l.value;
        got[key] = m.gauge.value;
      }
    }
    return got;
  }

  FakeRuleset* ruleset_;
  FakeKernel* kernel_;
  QuietWatch* watch_;
  bool forwarding_off_ = false;
  CollectorOptions options_;
  std::unique_ptr<Collector> collector_;
  Status last_;
};

constexpr char kPredicted[] = "portmap_published_port_reachable_predicted proto=tcp host_port=5000";

TEST_F(VerdictCollectorTest, ReachableThroughTheDnat) {
  auto got = Scrape();
  ASSERT_TRUE(last_.ok()) << last_.message();
  EXPECT_EQ(got[kPredicted], 1);
  for (const auto& [k, v] : got) {
    EXPECT_EQ(k.find("portmap_published_port_blocked"), std::string::npos) << k;
  }
}

TEST_F(VerdictCollectorTest, ForeignForwardPolicyDrop) {
  ruleset_->AddChain(Base(NFPROTO_INET, "filter", "forward", NF_INET_FORWARD, 0, NF_DROP));
  auto got = Scrape();
  EXPECT_EQ(got[kPredicted], 0);
  EXPECT_EQ(got["portmap_published_port_blocked proto=tcp host_port=5000 cause=foreign_rule_drop"],
            1);
  EXPECT_EQ(
      got["portmap_published_port_blocked_info proto=tcp host_port=5000 "
          "cause=foreign_rule_drop family=ipv4 interface=eth0 client=203.0.113.7 "
          "address=198.51.100.1 outcome=timeout place=nf_tables inet filter forward: policy drop "
          "backend=nf_tables table_family=inet table=filter chain=forward handle= "
          "comment="],
      1);
}

TEST_F(VerdictCollectorTest, ForwardingOff) {
  forwarding_off_ = true;
  kernel_->sysctls["ipv4/conf/eth0/forwarding"] = 0;
  auto got = Scrape();
  EXPECT_EQ(got[kPredicted], 0);
  EXPECT_EQ(
      got["portmap_published_port_blocked proto=tcp host_port=5000 cause=ip_forward_disabled"], 1);
}

TEST_F(VerdictCollectorTest, WipedChainAndNothingOnTheHost) {
  const pathtrace::NftChainModel* docker = nullptr;
  ASSERT_TRUE(ruleset_->Chain(NFPROTO_IPV4, "nat", "DOCKER", &docker).ok());
  const_cast<pathtrace::NftChainModel*>(docker)->rules.clear();
  auto got = Scrape(/*nat_docker_present=*/false);
  EXPECT_EQ(got[kPredicted], 0);
  EXPECT_EQ(
      got["portmap_published_port_blocked proto=tcp host_port=5000 cause=docker_chain_missing"], 1);
  // docker-proxy listening on the host serves it after all.
  kernel_->listeners = {{Addr{}, 5000}};
  watch_->changed = true;
  got = Scrape(false);
  EXPECT_EQ(got[kPredicted], 1);
}

TEST_F(VerdictCollectorTest, NamedPortsAreDockersApiOnlyPortsMayNeverBeDnated) {
  // 7000/tcp named by the configuration (or diagnose --port) after a wipe,
  // 7001/tcp listed only by the Engine API: no rule for either.
  options_.published_ports->Remember({{"tcp", 7000}});
  DockerApiPort api;
  api.proto = "tcp";
  api.host_ip = "0.0.0.0";
  api.host_port = 7001;
  api.container_port = 80;
  options_.published_ports->RememberApi({api});
  auto got = Scrape(/*nat_docker_present=*/false);
  EXPECT_EQ(
      got["portmap_published_port_blocked proto=tcp host_port=7000 cause=docker_chain_missing"], 1);
  EXPECT_EQ(got["portmap_published_port_blocked proto=tcp host_port=7001 cause=no_listener"], 1)
      << "a daemon with iptables false never DNATs: nothing serves it on the host";
}

TEST_F(VerdictCollectorTest, ContainerNotListening) {
  kernel_->peer.listening = false;
  auto got = Scrape();
  EXPECT_EQ(got[kPredicted], 0);
  EXPECT_EQ(got["portmap_published_port_blocked proto=tcp host_port=5000 cause=no_listener"], 1);
}

TEST_F(VerdictCollectorTest, UnknownLeavesThePredictionOut) {
  ruleset_->AddChain(Base(NFPROTO_INET, "filter", "forward", NF_INET_FORWARD, 0))
      .rules.push_back(Rule(3, {}, {pathtrace::NftExpr{pathtrace::UnknownExpr{"osf"}}}));
  auto got = Scrape();
  EXPECT_EQ(got.count(kPredicted), 0u);
  bool unknown = false;
  for (const auto& [k, v] : got) {
    unknown = unknown || k.starts_with(
                             "portmap_published_port_prediction_unknown_info proto=tcp "
                             "host_port=5000 family=ipv4 interface=eth0 reason=");
  }
  EXPECT_TRUE(unknown);
}

TEST_F(VerdictCollectorTest, LoopbackOnlyPortsAreNotJudged) {
  options_.published_ports->RememberMappings(
      {NfPortMapping{"tcp", "127.0.0.1", 6000, "172.17.0.3", 80}});
  auto got = Scrape();
  for (const auto& [k, v] : got) EXPECT_EQ(k.find("host_port=6000"), std::string::npos) << k;
}

TEST_F(VerdictCollectorTest, NoUplinkIsUnknownNotSilence) {
  kernel_->addr_dump.erase(kernel_->addr_dump.begin() + 1);  // eth0 loses its address
  auto got = Scrape();
  EXPECT_EQ(got.count(kPredicted), 0u);
  bool unknown = false;
  for (const auto& [k, v] : got) {
    unknown = unknown || (k.starts_with("portmap_published_port_prediction_unknown_info proto=tcp "
                                        "host_port=5000 family= interface= reason=no uplink"));
  }
  EXPECT_TRUE(unknown);
}

TEST_F(VerdictCollectorTest, TracesAreCachedUntilSomethingChanges) {
  Scrape();
  Scrape();
  const int begins = ruleset_->begins;
  Scrape();
  // One Begin per Refresh, none for a cached trace.
  EXPECT_EQ(ruleset_->begins, begins + 1);
  ruleset_->AddChain(Base(NFPROTO_INET, "filter", "forward", NF_INET_FORWARD, 0, NF_DROP));
  watch_->changed = true;  // e.g. a route event; a generation change works the same
  auto got = Scrape();
  EXPECT_EQ(got[kPredicted], 0) << "re-traced after the change";
}

}  // namespace
}  // namespace portmap
