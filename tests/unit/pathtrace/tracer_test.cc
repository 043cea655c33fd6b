// The tracer's path through the hooks, on rulesets built by hand the way the
// kernel holds them and a kernel whose routes and sockets the test states.
#include "pathtrace/tracer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <cerrno>

#include "tests/unit/pathtrace/fakes.h"

namespace portmap::pathtrace {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the fakes' helpers

class TracerTest : public ::testing::Test {
 protected:
  TracerTest() {
    kernel_.local_addrs = {*ParseAddr("198.51.100.1"), *ParseAddr("203.0.113.1")};
    syn_.saddr = *ParseAddr("198.51.100.2");
    syn_.daddr = *ParseAddr("198.51.100.1");
    syn_.sport = 40000;
    syn_.dport = 5000;
    syn_.iif = Interface{2, "eth0", 1};
  }

  // Docker's DNAT of 5000 to the container, in an ip nat table.
  void AddDockerDnat() {
    auto& pre = rules_.AddChain(
        Base(NFPROTO_IPV4, "nat", "PREROUTING", NF_INET_PRE_ROUTING, -100, NF_ACCEPT, "nat"));
    pre.rules.push_back(Rule(1, {}, {Verdict(-3, "DOCKER")}));
    auto& docker = rules_.AddChain(User(NFPROTO_IPV4, "nat", "DOCKER"));
    docker.rules.push_back(
        Rule(2, {IifName("docker0", false), TcpDport(5000)}, DnatTo("203.0.113.2", 5000)));
  }

  TraceResult Trace() {
    TraceResult r;
    Tracer tracer(&rules_, &kernel_);
    EXPECT_TRUE(tracer.Trace(syn_, &r).ok());
    return r;
  }

  FakeRuleset rules_;
  FakeKernel kernel_;
  Packet syn_;
};

TEST_F(TracerTest, NoRulesNoDnatNothingListeningIsRefused) {
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kRefused) << r.reason;
}

TEST_F(TracerTest, HostListenerConnects) {
  kernel_.listeners = {{Addr{}, 5000}};
  EXPECT_EQ(Trace().outcome, Outcome::kConnected);
}

TEST_F(TracerTest, DnatForwardsAndTheReplyReturns) {
  AddDockerDnat();
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kConnected) << r.reason;
  EXPECT_FALSE(r.notes.empty());
  bool saw_dnat = false;
  for (const auto& s : r.steps)
    saw_dnat = saw_dnat || s.verdict.find("dnat to 203.0.113.2:5000") == 0;
  EXPECT_TRUE(saw_dnat);
}

TEST_F(TracerTest, ContainerNamespaceWithNothingListeningIsRefused) {
  AddDockerDnat();
  kernel_.peer = PeerAnswer{true, false, "/run/docker/netns/abc"};
  TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kRefused) << r.reason;
  kernel_.peer.listening = true;
  r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kConnected) << r.reason;
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("/run/docker/netns/abc"), std::string::npos);
  // udp dport 5000 dnat to the same container.
  const NftChainModel* docker = nullptr;
  ASSERT_TRUE(rules_.Chain(NFPROTO_IPV4, "nat", "DOCKER", &docker).ok());
  NftRuleModel udp = Rule(
      3,
      {{MetaExpr{NFT_META_L4PROTO, NFT_REG_1, std::nullopt}, CmpExpr{NFT_REG_1, NFT_CMP_EQ, {17}}}},
      DnatTo("203.0.113.2", 5000));
  const_cast<NftChainModel*>(docker)->rules.push_back(udp);  // NOLINT: the fake owns it
  syn_.l4proto = 17;
  kernel_.peer.listening = false;
  r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kUnreachable);
  EXPECT_TRUE(r.approximate);
}

TEST_F(TracerTest, ForeignForwardPolicyDropTimesOut) {
  AddDockerDnat();
  rules_.AddChain(Base(NFPROTO_INET, "filter", "forward", NF_INET_FORWARD, 0, NF_DROP));
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  ASSERT_TRUE(r.stopped_at.has_value());
  EXPECT_EQ(r.stopped_at->family, "inet");
  EXPECT_EQ(r.stopped_at->table, "filter");
  EXPECT_EQ(r.stopped_at->chain, "forward");
  EXPECT_TRUE(r.stopped_at->policy);
}

TEST_F(TracerTest, AcceptEndsOnlyItsOwnBaseChain) {
  AddDockerDnat();
  auto& a = rules_.AddChain(Base(NFPROTO_IPV4, "filter", "FORWARD", NF_INET_FORWARD, 0));
  a.rules.push_back(Rule(1, {}, {Verdict(NF_ACCEPT)}));
  auto& b = rules_.AddChain(Base(NFPROTO_INET, "late", "fwd", NF_INET_FORWARD, 10));
  b.rules.push_back(Rule(9, {TcpDport(5000)}, {Verdict(NF_DROP)}));
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  ASSERT_TRUE(r.stopped_at.has_value());
  EXPECT_EQ(r.stopped_at->table, "late");
  EXPECT_EQ(r.stopped_at->handle, 9U);
}

TEST_F(TracerTest, FirewalldNftablesCtStatusDnatAcceptsUnopenedPort) {
  AddDockerDnat();
  auto& fwd =
      rules_.AddChain(Base(NFPROTO_INET, "firewalld", "filter_FORWARD", NF_INET_FORWARD, 10));
  fwd.rules.push_back(Rule(1, {CtStatusDnat()}, {Verdict(NF_ACCEPT)}));
  fwd.rules.push_back(
      Rule(2, {}, {RejectExpr{NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED}}));
  EXPECT_EQ(Trace().outcome, Outcome::kConnected);
}

TEST_F(TracerTest, RejectAdminProhibitedIsUnreachableAndResetIsRefused) {
  auto& in = rules_.AddChain(Base(NFPROTO_INET, "firewalld", "filter_INPUT", NF_INET_LOCAL_IN, 10));
  in.rules.push_back(
      Rule(4, {}, {RejectExpr{NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED}}));
  kernel_.listeners = {{Addr{}, 5000}};
  EXPECT_EQ(Trace().outcome, Outcome::kUnreachable);
  in.rules[0].exprs.back() = RejectExpr{NFT_REJECT_TCP_RST, 0};
  EXPECT_EQ(Trace().outcome, Outcome::kRefused);
}

TEST_F(TracerTest, ClientErrnoFollowsTheKernelsIcmpTables) {
  auto& in = rules_.AddChain(Base(NFPROTO_INET, "f", "input", NF_INET_LOCAL_IN, 0));
  in.rules.push_back(
      Rule(1, {}, {RejectExpr{NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED}}));
  TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kUnreachable);
  EXPECT_EQ(r.client_errno, "EHOSTUNREACH");  // ICMP code 13
  // IPv6's administratively prohibited is EACCES at the client.
  syn_.nfproto = NFPROTO_IPV6;
  syn_.saddr = *ParseAddr("2001:db8::2");
  syn_.daddr = *ParseAddr("2001:db8::1");
  kernel_.local_addrs = {syn_.daddr};
  r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kUnreachable);
  EXPECT_EQ(r.client_errno, "EACCES");
  in.rules[0].exprs.back() = RejectExpr{NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_PORT_UNREACH};
  r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kRefused);
  EXPECT_EQ(r.client_errno, "ECONNREFUSED");
  in.rules[0].exprs.back() = Verdict(NF_DROP);
  EXPECT_EQ(Trace().client_errno, "ETIMEDOUT");
}

TEST_F(TracerTest, ForwardingOffOnTheInputInterfaceIsASilentDrop) {
  AddDockerDnat();
  kernel_.sysctls["ipv4/conf/eth0/forwarding"] = 0;
  kernel_.route = [](const RouteQuery&) {
    RouteAnswer a;
    a.error = EHOSTUNREACH;
    return a;
  };
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  EXPECT_NE(r.reason.find("forwarding is off on eth0"), std::string::npos) << r.reason;
}

TEST_F(TracerTest, RpFilterIsASilentDrop) {
  kernel_.route = [](const RouteQuery&) {
    RouteAnswer a;
    a.error = EXDEV;
    return a;
  };
  EXPECT_EQ(Trace().outcome, Outcome::kTimeout);
}

TEST_F(TracerTest, RawDropRunsBeforeNat) {
  AddDockerDnat();
  auto& raw = rules_.AddChain(Base(NFPROTO_IPV4, "raw", "PREROUTING", NF_INET_PRE_ROUTING, -300));
  raw.rules.push_back(Rule(3, {TcpDport(5000)}, {Verdict(NF_DROP)}));
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  EXPECT_EQ(r.stopped_at->table, "raw");
}

TEST_F(TracerTest, ReplyDroppedOnItsWayBackTimesOut) {
  AddDockerDnat();
  auto& fwd = rules_.AddChain(Base(NFPROTO_IPV4, "filter", "FORWARD", NF_INET_FORWARD, 0, NF_DROP));
  fwd.rules.push_back(Rule(1, {OifName("docker0"), TcpDport(5000)}, {Verdict(NF_ACCEPT)}));
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  bool reply_phase = false;
  for (const auto& s : r.steps) reply_phase = reply_phase || s.phase == "reply forward";
  EXPECT_TRUE(reply_phase);
  fwd.rules.push_back(Rule(2, {CtEstablished()}, {Verdict(NF_ACCEPT)}));
  EXPECT_EQ(Trace().outcome, Outcome::kConnected);
}

TEST_F(TracerTest, NatChainsAreSkippedForTheReply) {
  AddDockerDnat();
  // A nat chain at postrouting that would drop: nat chains see only the
  // first packet, and the first packet is not TCP-flagged SYN-ACK.
  auto& post = rules_.AddChain(
      Base(NFPROTO_IPV4, "nat", "POSTROUTING", NF_INET_POST_ROUTING, 100, NF_ACCEPT, "nat"));
  NftRuleModel synack = Rule(5, {},
                             {PayloadExpr{NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1, {}},
                              CmpExpr{NFT_REG_1, NFT_CMP_EQ, {0x12}}, Verdict(NF_DROP)});
  post.rules.push_back(synack);
  EXPECT_EQ(Trace().outcome, Outcome::kConnected);
}

TEST_F(TracerTest, UnknownExpressionIsUnknownNamingTheRule) {
  auto& in = rules_.AddChain(Base(NFPROTO_INET, "x", "input", NF_INET_LOCAL_IN, 0));
  in.rules.push_back(Rule(42, {}, {UnknownExpr{"osf"}, Verdict(NF_DROP)}));
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  ASSERT_TRUE(r.stopped_at.has_value());
  EXPECT_EQ(r.stopped_at->handle, 42U);
  EXPECT_NE(r.reason.find("osf"), std::string::npos);
}

TEST_F(TracerTest, NetdevIngressDropOnTheInputDeviceOnly) {
  kernel_.listeners = {{Addr{}, 5000}};
  NftChainModel ingress = Base(NFPROTO_NETDEV, "filter", "ingress", 0, -500);
  ingress.device = "eth1,eth0";
  ingress.rules.push_back(Rule(8, {TcpDport(5000)}, {Verdict(NF_DROP)}));
  rules_.AddChain(ingress);
  TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  ASSERT_TRUE(r.stopped_at.has_value());
  EXPECT_EQ(r.stopped_at->family, "netdev");
  syn_.iif = Interface{3, "docker0", 1};  // bound to other devices: not run
  EXPECT_EQ(Trace().outcome, Outcome::kConnected);
}

TEST_F(TracerTest, NetdevEgressDropOfTheReplyTimesOut) {
  AddDockerDnat();
  NftChainModel egress = Base(NFPROTO_NETDEV, "filter", "egress", 1, 0);
  egress.device = "eth0";  // the reply leaves by eth0
  // ip saddr 198.51.100.1 drop: the reply's source is the published address
  // again once postrouting's nat has undone the DNAT.
  egress.rules.push_back(
      Rule(4, {},
           {PayloadExpr{NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1, {}},
            CmpExpr{NFT_REG_1, NFT_CMP_EQ, AddrBytes("198.51.100.1")}, Verdict(NF_DROP)}));
  rules_.AddChain(egress);
  const TraceResult r = Trace();
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  ASSERT_TRUE(r.stopped_at.has_value());
  EXPECT_EQ(r.stopped_at->chain, "egress");
  bool reply_egress = false;
  for (const auto& s : r.steps) reply_egress = reply_egress || s.phase == "reply egress";
  EXPECT_TRUE(reply_egress);
}

// Legacy tables given as data: IPv4 tables none, ip6tables-legacy ones named.
class FakeLegacy : public LegacyRuleset {
 public:
  Status Begin() override { return Status::Ok(); }
  const std::vector<XtLegacyTable>& Tables() const override { return tables_; }
  const std::vector<std::string>& Ip6Tables() const override { return ip6_; }
  std::vector<XtLegacyTable> tables_;
  std::vector<std::string> ip6_;
};

TEST_F(TracerTest, Ip6tablesLegacyTablesMakeAnIpv6TraceUnknown) {
  FakeLegacy legacy;
  legacy.ip6_ = {"filter"};
  syn_.nfproto = NFPROTO_IPV6;
  syn_.saddr = *ParseAddr("2001:db8::2");
  syn_.daddr = *ParseAddr("2001:db8::1");
  kernel_.local_addrs = {syn_.daddr};
  kernel_.listeners = {{Addr{}, 5000}};
  TraceResult r;
  ASSERT_TRUE(Tracer(&rules_, &kernel_, &legacy).Trace(syn_, &r).ok());
  EXPECT_EQ(r.outcome, Outcome::kUnknown);
  EXPECT_NE(r.reason.find("ip6tables-legacy"), std::string::npos) << r.reason;
  legacy.ip6_.clear();
  ASSERT_TRUE(Tracer(&rules_, &kernel_, &legacy).Trace(syn_, &r).ok());
  EXPECT_EQ(r.outcome, Outcome::kConnected) << r.reason;
}

TEST_F(TracerTest, QueueIsUnknown) {
  auto& in = rules_.AddChain(Base(NFPROTO_INET, "x", "input", NF_INET_LOCAL_IN, 0));
  in.rules.push_back(Rule(1, {}, {Verdict(NF_QUEUE)}));
  EXPECT_EQ(Trace().outcome, Outcome::kUnknown);
}

TEST_F(TracerTest, RulesetChangingMidTraceRestarts) {
  rules_.changes_left = 2;
  Trace();
  EXPECT_EQ(rules_.begins, 3);
  rules_.changes_left = 100;
  EXPECT_EQ(Trace().outcome, Outcome::kUnknown);
}

TEST_F(TracerTest, UdpDeliveredOrUnreachable) {
  syn_.l4proto = 17;
  EXPECT_EQ(Trace().outcome, Outcome::kUnreachable);
  kernel_.listeners = {{Addr{}, 5000}};
  EXPECT_EQ(Trace().outcome, Outcome::kDelivered);
}

}  // namespace
}  // namespace portmap::pathtrace
