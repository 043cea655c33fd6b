// The verdict: its rules as a table (collectors/verdict/verdict_rules.h), the facts the
// netfilter collector hands it, and the collector's series.
#include "collectors/verdict/verdict.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "collectors/host_facts.h"
#include "collectors/netfilter/netfilter.h"
#include "collectors/published_ports.h"
#include "collectors/verdict/verdict_rules.h"

namespace portmap {
namespace {

using Causes = std::map<std::string, bool>;

// The rules' answer as {cause name: holds} plus the prediction (-1 unknown).
struct Judged {
  Causes causes;
  int reachable = -1;
};

Judged Judge(const PortFacts& f) {
  const PortVerdict v = JudgePort(f);
  Judged j;
  for (const CauseVerdict& c : v.causes) j.causes[std::string(BlockCauseName(c.cause))] = c.holds;
  if (v.reachable) j.reachable = *v.reachable ? 1 : 0;
  return j;
}

// A healthy Docker host with a published port and no firewalld.
PortFacts Healthy() {
  PortFacts f;
  f.ip_forward = true;
  f.nat_docker_present = true;
  f.dnat_present = true;
  f.forward_accepts = true;
  f.firewalld_up = false;
  f.host_listener = true;
  return f;
}

const Causes kNone = {{"ip_forward_disabled", false},
                      {"docker_chain_missing", false},
                      {"dnat_rule_missing", false},
                      {"firewalld_port_closed", false},
                      {"forward_policy_drop", false}};

Causes Holding(std::initializer_list<const char*> names) {
  Causes c = kNone;
  for (const char* n : names) c[n] = true;
  return c;
}

struct Row {
  const char* name;
  PortFacts facts;
  int reachable;
  Causes causes;
};

PortFacts With(PortFacts f, void (*edit)(PortFacts*)) {
  edit(&f);
  return f;
}

TEST(VerdictRulesTest, Table) {
  const Row rows[] = {
      {"healthy", Healthy(), 1, kNone},
      {"ip_forward off: the forwarded SYN is dropped",
       With(Healthy(), [](PortFacts* f) { f->ip_forward = false; }), 0,
       Holding({"ip_forward_disabled"})},
      {"FORWARD drops and Docker's accepts are gone",
       With(Healthy(), [](PortFacts* f) { f->forward_accepts = false; }), 0,
       Holding({"forward_policy_drop"})},
      {"both at once: both named",
       With(Healthy(),
            [](PortFacts* f) {
              f->ip_forward = false;
              f->forward_accepts = false;
            }),
       0, Holding({"ip_forward_disabled", "forward_policy_drop"})},
      {"firewalld (nftables) filters the forwarded SYN, port closed",
       With(Healthy(),
            [](PortFacts* f) {
              f->firewalld_up = true;
              f->firewalld_nftables = true;
              f->firewalld_allowed = false;
            }),
       0, Holding({"firewalld_port_closed"})},
      {"firewalld (iptables) with Docker's rules first: the zone does not matter",
       With(Healthy(),
            [](PortFacts* f) {
              f->firewalld_up = true;
              f->firewalld_nftables = false;
              f->firewalld_allowed = false;
            }),
       1, kNone},
      {"chains wiped, no firewalld, docker-proxy serves",
       With(Healthy(),
            [](PortFacts* f) {
              f->nat_docker_present = false;
              f->dnat_present = false;
            }),
       1, kNone},
      {"chains wiped, no userland proxy",
       With(Healthy(),
            [](PortFacts* f) {
              f->nat_docker_present = false;
              f->dnat_present = false;
              f->host_listener = false;
            }),
       0, Holding({"docker_chain_missing"})},
      {"firewalld wiped the chains, port not in the zone",
       With(Healthy(),
            [](PortFacts* f) {
              f->nat_docker_present = false;
              f->dnat_present = false;
              f->firewalld_up = true;
              f->firewalld_nftables = false;
              f->firewalld_allowed = false;
            }),
       0, Holding({"docker_chain_missing", "firewalld_port_closed"})},
      {"firewalld wiped the chains, port open in the zone: proxy serves",
       With(Healthy(),
            [](PortFacts* f) {
              f->nat_docker_present = false;
              f->dnat_present = false;
              f->firewalld_up = true;
              f->firewalld_allowed = true;
            }),
       1, kNone},
      {"ip_forward off does not matter on the host path",
       With(Healthy(),
            [](PortFacts* f) {
              f->nat_docker_present = false;
              f->dnat_present = false;
              f->ip_forward = false;
            }),
       1, kNone},
      {"the DNAT rule alone is gone, nothing listens",
       With(Healthy(),
            [](PortFacts* f) {
              f->dnat_present = false;
              f->host_listener = false;
            }),
       0, Holding({"dnat_rule_missing"})},
  };
  for (const Row& row : rows) {
    const Judged j = Judge(row.facts);
    EXPECT_EQ(j.reachable, row.reachable) << row.name;
    EXPECT_EQ(j.causes, row.causes) << row.name;
  }
}

TEST(VerdictRulesTest, UnknownFactsLeaveOutWhatDependsOnThem) {
  // No netfilter facts: the path is unknown, so is everything.
  PortFacts f = Healthy();
  f.dnat_present.reset();
  EXPECT_TRUE(JudgePort(f).causes.empty());
  EXPECT_FALSE(JudgePort(f).reachable);

  // ip_forward unknown on the forwarded path: its cause is left out, and so
  // is the prediction.
  f = Healthy();
  f.ip_forward.reset();
  Judged j = Judge(f);
  EXPECT_EQ(j.causes.count("ip_forward_disabled"), 0u);
  EXPECT_EQ(j.reachable, -1);

  // ...unless another known cause already blocks.
  f.forward_accepts = false;
  j = Judge(f);
  EXPECT_EQ(j.reachable, 0);
  EXPECT_TRUE(j.causes["forward_policy_drop"]);

  // firewalld not running settles its cause, whatever else is unknown.
  f = Healthy();
  f.firewalld_up = false;
  f.firewalld_allowed.reset();
  j = Judge(f);
  EXPECT_FALSE(j.causes.at("firewalld_port_closed"));

  // firewalld state unknown (collector failed) on the host path with a
  // listener: no prediction, no firewalld cause.
  f = Healthy();
  f.nat_docker_present = false;
  f.dnat_present = false;
  f.firewalld_up.reset();
  j = Judge(f);
  EXPECT_EQ(j.causes.count("firewalld_port_closed"), 0u);
  EXPECT_EQ(j.reachable, -1);
}

TEST(VerdictRulesTest, CauseNamesAreTheDesignContract) {
  EXPECT_EQ(BlockCauseName(BlockCause::kIpForwardDisabled), "ip_forward_disabled");
  EXPECT_EQ(BlockCauseName(BlockCause::kDockerChainMissing), "docker_chain_missing");
  EXPECT_EQ(BlockCauseName(BlockCause::kDnatRuleMissing), "dnat_rule_missing");
  EXPECT_EQ(BlockCauseName(BlockCause::kFirewalldPortClosed), "firewalld_port_closed");
  EXPECT_EQ(BlockCauseName(BlockCause::kForwardPolicyDrop), "forward_policy_drop");
}

DockerChainState Chain(const char* backend, const char* family, const char* table,
                       const char* chain, bool present, size_t rules) {
  DockerChainState c;
  c.key = {backend, family, table, chain};
  c.present = present;
  c.rules = rules;
  return c;
}

DockerPublishedPort Dnat(const char* host_ip, uint16_t port) {
  DockerPublishedPort p;
  p.backend = "nftables";
  p.mapping.proto = "tcp";
  p.mapping.host_ip = host_ip;
  p.mapping.host_port = port;
  p.mapping.container_ip = "172.17.0.2";
  p.mapping.container_port = port;
  return p;
}

TEST(NetfilterFactsTest, FromDockersView) {
  DockerView view;
  view.chains = {Chain("nftables", "ipv4", "filter", "DOCKER", true, 1),
                 Chain("nftables", "ipv4", "nat", "DOCKER", true, 2),
                 Chain("nftables", "ipv6", "nat", "DOCKER", false, 0)};
  view.policies = {{{"nftables", "ipv4", "filter", "FORWARD"}, false}};
  view.ports = {Dnat("0.0.0.0", 5000), Dnat("::", 6000)};
  NetfilterFacts f = NetfilterFactsOf(view);
  EXPECT_TRUE(f.nat_docker_present);
  EXPECT_TRUE(f.forward_accepts) << "filter DOCKER holds the per-port ACCEPTs";
  EXPECT_EQ(f.dnat_ports, (std::set<PublishedPortRef>{{"tcp", 5000}})) << "IPv4 DNATs only";

  // Wiped: filter DOCKER empty and FORWARD drops.
  view.chains = {Chain("nftables", "ipv4", "filter", "DOCKER", true, 0),
                 Chain("nftables", "ipv4", "nat", "DOCKER", false, 0)};
  view.ports.clear();
  f = NetfilterFactsOf(view);
  EXPECT_FALSE(f.nat_docker_present);
  EXPECT_FALSE(f.forward_accepts);
  EXPECT_TRUE(f.dnat_ports.empty());

  // FORWARD accepting by policy accepts whatever filter DOCKER holds.
  view.policies = {{{"nftables", "ipv4", "filter", "FORWARD"}, true}};
  EXPECT_TRUE(NetfilterFactsOf(view).forward_accepts);
}

// The collector: facts recorded by the others, sealed, plus a fixture procfs
// whose net/tcp has docker-proxy on 0.0.0.0:5000 and nothing on 6000.
TEST(VerdictCollectorTest, JudgesEachRememberedPort) {
  const std::string procfs = ::testing::TempDir() + "verdict_proc";
  std::filesystem::create_directories(procfs + "/net");
  std::ofstream(procfs + "/net/tcp")
      << "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
         "timeout inode\n"
         "   0: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
         "      0 1001 1 0000000000000000 100 0 0 10 0\n";
  std::ofstream(procfs + "/net/tcp6")
      << "  sl  local_address                         remote_address                        st "
         "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

  CollectorOptions options;
  options.paths.procfs = procfs;
  options.published_ports = std::make_shared<PublishedPorts>(nullptr);
  options.published_ports->Remember({{"tcp", 5000}, {"tcp", 6000}});
  std::unique_ptr<Collector> c = NewVerdictCollector(options);

  HostFacts facts;
  facts.SetIpForwardV4(true);
  NetfilterFacts nf;  // firewalld wiped the chains
  facts.SetNetfilter(nf);
  FirewalldFacts fw;
  fw.up = true;
  fw.backend = "iptables";
  fw.allowed = {{{"tcp", 5000}, true}, {{"tcp", 6000}, true}};
  facts.SetFirewalld(fw);
  facts.Seal();
  facts.SetIpForwardV4(false);  // sealed: ignored

  std::stop_source stop;
  ScrapeContext ctx{options.paths, Clock::now() + std::chrono::seconds(5), stop.get_token(),
                    &facts};
  std::vector<prometheus::MetricFamily> out;
  ASSERT_TRUE(c->Collect(ctx, &out).ok());
  std::map<std::string, double> got;
  for (const auto& f : out) {
    for (const auto& m : f.metric) {
      std::string key = f.name;
      for (const auto& l : m.label) key += " " + l.value;
      got[key] = m.gauge.value;
    }
  }
  EXPECT_EQ(got["portmap_published_port_reachable_predicted tcp 5000"], 1) << "proxy serves";
  EXPECT_EQ(got["portmap_published_port_reachable_predicted tcp 6000"], 0) << "nothing serves";
  EXPECT_EQ(got["portmap_published_port_blocked tcp 6000 docker_chain_missing"], 1);
  EXPECT_EQ(got["portmap_published_port_blocked tcp 5000 docker_chain_missing"], 0);
  EXPECT_EQ(got["portmap_published_port_blocked tcp 6000 ip_forward_disabled"], 0);
}

TEST(VerdictCollectorTest, NoFactsIsNoData) {
  CollectorOptions options;
  options.published_ports = std::make_shared<PublishedPorts>(nullptr);
  std::unique_ptr<Collector> c = NewVerdictCollector(options);
  std::stop_source stop;
  ScrapeContext ctx{options.paths, Clock::now() + std::chrono::seconds(5), stop.get_token()};
  std::vector<prometheus::MetricFamily> out;
  EXPECT_EQ(c->Collect(ctx, &out).code(), Status::Code::kNoData);
}

}  // namespace
}  // namespace portmap
