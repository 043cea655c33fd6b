// x_tables matches and targets on payloads built from the kernel's uapi
// structs, each checked both ways (match, no match, inverted, unknown).
#include "pathtrace/xt_eval.h"

// clang-format off
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_iprange.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_physdev.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>
#include <linux/rtnetlink.h>
// clang-format on

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <string>

namespace portmap::pathtrace {
namespace {

using MK = XtMatchResult::Kind;
using TK = XtTargetResult::Kind;

Addr A(const std::string& text) {
  Addr a;
  if (text.find(':') != std::string::npos) {
    a.family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), a.bytes.data()), 1) << text;
  } else {
    a.family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), a.bytes.data()), 1) << text;
  }
  return a;
}

// The struct as iptables stores it: padded to XT_ALIGN.
template <typename T>
Bytes Payload(const T& t) {
  Bytes b(XT_ALIGN(sizeof(T)), 0);
  std::memcpy(b.data(), &t, sizeof(T));
  return b;
}

class FakeKernel : public KernelView {
 public:
  std::set<std::pair<std::string, uint32_t>> local;  // address text, dev (0: any)
  std::map<std::string, RouteAnswer> routes;         // by destination text
  bool fail = false;

  Status Route(const RouteQuery& q, RouteAnswer* answer) override {
    if (fail) return Status::Error("netlink down");
    char buf[64];
    inet_ntop(q.dst.family, q.dst.bytes.data(), buf, sizeof buf);
    auto it = routes.find(buf);
    *answer = it != routes.end() ? it->second : RouteAnswer{};
    if (it == routes.end()) answer->type = RTN_UNICAST;
    return Status::Ok();
  }
  Status Listening(uint8_t, uint8_t, const Addr&, uint16_t, bool* l) override {
    *l = false;
    return Status::Ok();
  }
  Status LinkByIndex(uint32_t index, Interface* link) override {
    if (index != 1) return Status::NoData("no link");
    *link = Interface{1, "lo", 772};
    return Status::Ok();
  }
  Status LinkByName(const std::string&, Interface*) override { return Status::NoData("no link"); }
  Status IsLocalAddress(const Addr& addr, uint32_t dev, bool* is_local) override {
    if (fail) return Status::Error("netlink down");
    char buf[64];
    inet_ntop(addr.family, addr.bytes.data(), buf, sizeof buf);
    *is_local = local.count({buf, 0}) > 0 || (dev != 0 && local.count({buf, dev}) > 0);
    if (dev == 0) {
      for (const auto& [a, d] : local) *is_local = *is_local || a == buf;
    }
    return Status::Ok();
  }
  Status NetSysctl(const std::string&, int64_t*) override { return Status::NoData("none"); }
};

// A SYN from 192.0.2.10:40000 to 198.51.100.1:5000 arriving on eth0 (2).
Packet Syn() {
  Packet p;
  p.saddr = A("192.0.2.10");
  p.daddr = A("198.51.100.1");
  p.sport = 40000;
  p.dport = 5000;
  p.iif = Interface{2, "eth0", 1};
  // As conntrack (priority -200) leaves a new connection's first packet.
  p.ct.attached = true;
  p.ct.orig_src = p.ct.reply_dst = p.saddr;
  p.ct.orig_dst = p.ct.reply_src = p.daddr;
  p.ct.orig_sport = p.ct.reply_dport = p.sport;
  p.ct.orig_dport = p.ct.reply_sport = p.dport;
  return p;
}

Packet Syn6() {
  Packet p = Syn();
  p.nfproto = NFPROTO_IPV6;
  p.saddr = A("2001:db8::10");
  p.daddr = A("2001:db8:1::1");
  return p;
}

XtMatchResult::Kind M(const std::string& name, uint32_t rev, const Bytes& info, const Packet& p,
                      FakeKernel* k = nullptr, uint32_t hook = NF_INET_PRE_ROUTING) {
  FakeKernel none;
  return EvalXtMatch(name, rev, info, p, hook, k != nullptr ? k : &none).kind;
}

TEST(XtEvalMatchTest, TcpPortsFlagsAndInversion) {
  xt_tcp t{};
  t.spts[1] = 0xffff;
  t.dpts[0] = t.dpts[1] = 5000;
  EXPECT_EQ(M("tcp", 0, Payload(t), Syn()), MK::kMatch);
  t.dpts[0] = t.dpts[1] = 5001;
  EXPECT_EQ(M("tcp", 0, Payload(t), Syn()), MK::kNoMatch);
  t.invflags = XT_TCP_INV_DSTPT;
  EXPECT_EQ(M("tcp", 0, Payload(t), Syn()), MK::kMatch);
  // --syn: SYN,RST,ACK,FIN SYN
  t.invflags = 0;
  t.dpts[0] = 0, t.dpts[1] = 0xffff;
  t.flg_mask = 0x17, t.flg_cmp = 0x02;
  EXPECT_EQ(M("tcp", 0, Payload(t), Syn()), MK::kMatch);
  Packet synack = Syn();
  synack.tcp_flags = 0x12;
  EXPECT_EQ(M("tcp", 0, Payload(t), synack), MK::kNoMatch);
  t.invflags = XT_TCP_INV_FLAGS;
  EXPECT_EQ(M("tcp", 0, Payload(t), synack), MK::kMatch);
  t.option = 2;
  EXPECT_EQ(M("tcp", 0, Payload(t), synack), MK::kUnknown);
  Packet udp = Syn();
  udp.l4proto = IPPROTO_UDP;
  EXPECT_EQ(M("tcp", 0, Payload(t), udp), MK::kUnknown);
  EXPECT_EQ(M("tcp", 0, Bytes(4, 0), Syn()), MK::kUnknown);  // short payload
}

TEST(XtEvalMatchTest, Udp) {
  Packet p = Syn();
  p.l4proto = IPPROTO_UDP;
  xt_udp u{};
  u.spts[1] = 0xffff;
  u.dpts[0] = 5000, u.dpts[1] = 5010;
  EXPECT_EQ(M("udp", 0, Payload(u), p), MK::kMatch);
  u.invflags = XT_UDP_INV_DSTPT;
  EXPECT_EQ(M("udp", 0, Payload(u), p), MK::kNoMatch);
}

TEST(XtEvalMatchTest, ConntrackState) {
  xt_conntrack_mtinfo3 c{};
  c.match_flags = XT_CONNTRACK_STATE;
  c.state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) | XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
  Packet p = Syn();  // IP_CT_NEW
  EXPECT_EQ(M("conntrack", 3, Payload(c), p), MK::kNoMatch);
  p.ct.ctinfo = IP_CT_ESTABLISHED_REPLY;
  EXPECT_EQ(M("conntrack", 3, Payload(c), p), MK::kMatch);
  c.invert_flags = XT_CONNTRACK_STATE;
  EXPECT_EQ(M("conntrack", 3, Payload(c), p), MK::kNoMatch);
  // --ctstate DNAT on a packet the nat table rewrote.
  c = {};
  c.match_flags = XT_CONNTRACK_STATE;
  c.state_mask = XT_CONNTRACK_STATE_DNAT;
  p = Syn();
  EXPECT_EQ(M("conntrack", 3, Payload(c), p), MK::kNoMatch);
  p.ct.status |= IPS_DST_NAT;
  EXPECT_EQ(M("conntrack", 3, Payload(c), p), MK::kMatch);
  // Untracked: the state bit is UNTRACKED; without a state option no match.
  p = Syn();
  p.ct.untracked = true;
  c.state_mask = XT_CONNTRACK_STATE_UNTRACKED;
  EXPECT_EQ(M("conntrack", 3, Payload(c), p), MK::kMatch);
  c.match_flags = XT_CONNTRACK_STATUS;
  c.status_mask = IPS_ASSURED;
  c.invert_flags = XT_CONNTRACK_STATUS;
  EXPECT_EQ(M("conntrack", 3, Payload(c), p), MK::kNoMatch);

  // Revision 1 keeps u8 masks: the same state test.
  xt_conntrack_mtinfo1 c1{};
  c1.match_flags = XT_CONNTRACK_STATE;
  c1.state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
  EXPECT_EQ(M("conntrack", 1, Payload(c1), Syn()), MK::kMatch);
  EXPECT_EQ(M("conntrack", 3, Payload(c1), Syn()), MK::kUnknown);  // too short for rev 3
}

TEST(XtEvalMatchTest, ConntrackStatusDirectionAndTuples) {
  xt_conntrack_mtinfo2 c{};
  Packet p = Syn();
  c.match_flags = XT_CONNTRACK_DIRECTION;  // --ctdir ORIGINAL
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kMatch);
  c.invert_flags = XT_CONNTRACK_DIRECTION;  // --ctdir REPLY
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kNoMatch);

  c = {};
  c.match_flags = XT_CONNTRACK_ORIGDST | XT_CONNTRACK_ORIGDST_PORT | XT_CONNTRACK_PROTO;
  c.l4proto = IPPROTO_TCP;
  std::memcpy(&c.origdst_addr, A("198.51.100.0").bytes.data(), 4);
  std::memcpy(&c.origdst_mask, A("255.255.255.0").bytes.data(), 4);
  c.origdst_port = htons(5000);
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kMatch);
  c.origdst_port = htons(5001);
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kNoMatch);
  c.invert_flags = XT_CONNTRACK_ORIGDST_PORT;
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kMatch);
  // After DNAT the packet goes to the container; the original tuple keeps
  // the address the client connected to, the reply's source is the new one.
  p.daddr = A("203.0.113.2");
  p.ct.reply_src = p.daddr;
  p.ct.status |= IPS_DST_NAT;
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kMatch);
  c.l4proto = IPPROTO_UDP;
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kNoMatch);
  c = {};
  c.match_flags = XT_CONNTRACK_REPLSRC;
  std::memcpy(&c.replsrc_addr, A("203.0.113.2").bytes.data(), 4);
  std::memset(&c.replsrc_mask, 0xff, 4);
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kMatch);
  // Source NAT is not kept in the reply tuple: its destination is unknown.
  p.ct.status |= IPS_SRC_NAT;
  c.match_flags = XT_CONNTRACK_REPLDST;
  const XtMatchResult r = EvalXtMatch("conntrack", 2, Payload(c), p, 0, nullptr);
  EXPECT_EQ(r.kind, MK::kUnknown);
  EXPECT_NE(r.reason.find("after SNAT"), std::string::npos) << r.reason;
  c.match_flags = XT_CONNTRACK_REPLSRC;
  c.match_flags |= XT_CONNTRACK_EXPIRES;
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kUnknown);
  c.match_flags = 1 << 15;
  EXPECT_EQ(M("conntrack", 2, Payload(c), p), MK::kUnknown);
}

TEST(XtEvalMatchTest, ConntrackRev3PortRange) {
  xt_conntrack_mtinfo3 c{};
  c.match_flags = XT_CONNTRACK_ORIGDST_PORT;
  c.origdst_port = 4000, c.origdst_port_high = 6000;  // host order in rev 3
  EXPECT_EQ(M("conntrack", 3, Payload(c), Syn()), MK::kMatch);
  c.origdst_port_high = 4500;
  EXPECT_EQ(M("conntrack", 3, Payload(c), Syn()), MK::kNoMatch);
}

TEST(XtEvalMatchTest, State) {
  xt_state_info s{};
  s.statemask = XT_STATE_BIT(IP_CT_NEW);
  EXPECT_EQ(M("state", 0, Payload(s), Syn()), MK::kMatch);
  s.statemask = XT_STATE_BIT(IP_CT_ESTABLISHED) | XT_STATE_INVALID;
  EXPECT_EQ(M("state", 0, Payload(s), Syn()), MK::kNoMatch);
  Packet p = Syn();
  p.ct.untracked = true;
  s.statemask = XT_STATE_UNTRACKED;
  EXPECT_EQ(M("state", 0, Payload(s), p), MK::kMatch);
}

TEST(XtEvalMatchTest, AddrtypeLocal) {
  FakeKernel k;
  k.local.insert({"198.51.100.1", 2});
  xt_addrtype_info_v1 a{};
  a.dest = XT_ADDRTYPE_LOCAL;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn(), &k), MK::kMatch);
  a.flags = XT_ADDRTYPE_INVERT_DEST;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn(), &k), MK::kNoMatch);
  // --limit-iface-in: the local route must be on the input interface.
  a.flags = XT_ADDRTYPE_LIMIT_IFACE_IN;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn(), &k), MK::kMatch);
  Packet other = Syn();
  other.iif.index = 3;
  EXPECT_EQ(M("addrtype", 1, Payload(a), other, &k), MK::kNoMatch);
  // The source is not local: --src-type LOCAL fails, ! --src-type LOCAL holds.
  a = {};
  a.source = XT_ADDRTYPE_LOCAL;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn(), &k), MK::kNoMatch);
  a.flags = XT_ADDRTYPE_INVERT_SOURCE;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn(), &k), MK::kMatch);
  // Loopback range and revision 0.
  Packet lo = Syn();
  lo.daddr = A("127.0.0.5");
  xt_addrtype_info a0{};
  a0.dest = XT_ADDRTYPE_LOCAL;
  EXPECT_EQ(M("addrtype", 0, Payload(a0), lo, &k), MK::kMatch);
  a0.invert_dest = 1;
  EXPECT_EQ(M("addrtype", 0, Payload(a0), lo, &k), MK::kNoMatch);
  k.fail = true;
  a.flags = 0;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn(), &k), MK::kUnknown);
}

TEST(XtEvalMatchTest, AddrtypeBroadcastMulticastUnicast) {
  FakeKernel k;
  RouteAnswer bcast;
  bcast.type = RTN_BROADCAST;
  bcast.oif = 4;
  k.routes["172.17.255.255"] = bcast;
  xt_addrtype_info_v1 a{};
  a.dest = XT_ADDRTYPE_BROADCAST;
  Packet p = Syn();
  p.daddr = A("172.17.255.255");
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kMatch);
  p.daddr = A("255.255.255.255");
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kMatch);
  p.daddr = A("198.51.100.1");
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kNoMatch);
  a.dest = XT_ADDRTYPE_UNICAST;
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kMatch);
  p.daddr = A("239.1.1.1");
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kNoMatch);
  a.dest = XT_ADDRTYPE_MULTICAST;
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kMatch);
  a.dest = XT_ADDRTYPE_UNSPEC;  // inet_addr_type never answers RTN_UNSPEC
  p.daddr = A("0.0.0.0");
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kNoMatch);
  a.dest = XT_ADDRTYPE_BLACKHOLE;
  EXPECT_EQ(M("addrtype", 1, Payload(a), p, &k), MK::kUnknown);
}

TEST(XtEvalMatchTest, AddrtypeIpv6) {
  FakeKernel k;
  k.local.insert({"2001:db8:1::1", 0});
  xt_addrtype_info_v1 a{};
  a.dest = XT_ADDRTYPE_LOCAL;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn6(), &k), MK::kMatch);
  a.dest = XT_ADDRTYPE_MULTICAST;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn6(), &k), MK::kNoMatch);
  a.dest = XT_ADDRTYPE_UNICAST;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn6(), &k), MK::kMatch);
  a.dest = XT_ADDRTYPE_ANYCAST;
  EXPECT_EQ(M("addrtype", 1, Payload(a), Syn6(), &k), MK::kUnknown);
}

TEST(XtEvalMatchTest, CommentMultiportMarkIprangePhysdev) {
  EXPECT_EQ(M("comment", 0, Bytes(256, 0), Syn()), MK::kMatch);

  xt_multiport_v1 mp{};
  mp.flags = XT_MULTIPORT_DESTINATION;
  mp.count = 3;
  mp.ports[0] = 22, mp.ports[1] = 4000, mp.ports[2] = 6000;
  mp.pflags[1] = 1;  // 4000:6000
  EXPECT_EQ(M("multiport", 1, Payload(mp), Syn()), MK::kMatch);
  mp.invert = 1;
  EXPECT_EQ(M("multiport", 1, Payload(mp), Syn()), MK::kNoMatch);
  mp.invert = 0;
  mp.flags = XT_MULTIPORT_SOURCE;
  EXPECT_EQ(M("multiport", 1, Payload(mp), Syn()), MK::kNoMatch);
  xt_multiport m0{};
  m0.flags = XT_MULTIPORT_EITHER;
  m0.count = 1;
  m0.ports[0] = 40000;
  EXPECT_EQ(M("multiport", 0, Payload(m0), Syn()), MK::kMatch);

  xt_mark_mtinfo1 mk{};
  mk.mark = 0x10, mk.mask = 0xf0;
  Packet p = Syn();
  p.mark = 0x1f;
  EXPECT_EQ(M("mark", 1, Payload(mk), p), MK::kMatch);
  mk.invert = 1;
  EXPECT_EQ(M("mark", 1, Payload(mk), p), MK::kNoMatch);

  xt_iprange_mtinfo ir{};
  ir.flags = IPRANGE_SRC;
  std::memcpy(&ir.src_min, A("192.0.2.1").bytes.data(), 4);
  std::memcpy(&ir.src_max, A("192.0.2.10").bytes.data(), 4);
  EXPECT_EQ(M("iprange", 1, Payload(ir), Syn()), MK::kMatch);
  std::memcpy(&ir.src_max, A("192.0.2.9").bytes.data(), 4);
  EXPECT_EQ(M("iprange", 1, Payload(ir), Syn()), MK::kNoMatch);
  ir.flags |= IPRANGE_SRC_INV;
  EXPECT_EQ(M("iprange", 1, Payload(ir), Syn()), MK::kMatch);
  xt_iprange_mtinfo ir6{};
  ir6.flags = IPRANGE_DST;
  std::memcpy(&ir6.dst_min, A("2001:db8:1::").bytes.data(), 16);
  std::memcpy(&ir6.dst_max, A("2001:db8:1::ff").bytes.data(), 16);
  EXPECT_EQ(M("iprange", 1, Payload(ir6), Syn6()), MK::kMatch);

  xt_physdev_info pd{};
  pd.bitmask = XT_PHYSDEV_OP_BRIDGED;
  EXPECT_EQ(M("physdev", 0, Payload(pd), Syn()), MK::kNoMatch);
  pd.invert = XT_PHYSDEV_OP_BRIDGED;
  EXPECT_EQ(M("physdev", 0, Payload(pd), Syn()), MK::kMatch);
  pd.bitmask |= XT_PHYSDEV_OP_IN;
  EXPECT_EQ(M("physdev", 0, Payload(pd), Syn()), MK::kNoMatch);

  const XtMatchResult r = EvalXtMatch("hashlimit", 3, Bytes(8, 0), Syn(), 0, nullptr);
  EXPECT_EQ(r.kind, MK::kUnknown);
  EXPECT_EQ(r.reason, "x_tables match hashlimit rev 3 is not modelled");
}

XtTargetResult T(const std::string& name, uint32_t rev, const Bytes& info, const Packet& p) {
  return EvalXtTarget(name, rev, info, p, NF_INET_PRE_ROUTING);
}

Bytes Verdict(int32_t v) {
  Bytes b(8, 0);
  std::memcpy(b.data(), &v, 4);
  return b;
}

TEST(XtEvalTargetTest, StandardVerdicts) {
  XtTargetResult r = T("", 0, Verdict(-NF_ACCEPT - 1), Syn());
  ASSERT_EQ(r.kind, TK::kVerdict);
  EXPECT_EQ(r.verdict.code, NF_ACCEPT);
  EXPECT_EQ(T("", 0, Verdict(-NF_DROP - 1), Syn()).verdict.code, NF_DROP);
  EXPECT_EQ(T("", 0, Verdict(XT_RETURN), Syn()).verdict.code, -5);  // NFT_RETURN
  EXPECT_EQ(T("ACCEPT", 0, {}, Syn()).verdict.code, NF_ACCEPT);
  EXPECT_EQ(T("", 0, Verdict(1234), Syn()).kind, TK::kUnknown);  // a jump by offset
}

TEST(XtEvalTargetTest, Dnat) {
  nf_nat_ipv4_multi_range_compat m{};
  m.rangesize = 1;
  m.range[0].flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
  std::memcpy(&m.range[0].min_ip, A("172.17.0.2").bytes.data(), 4);
  m.range[0].max_ip = m.range[0].min_ip;
  m.range[0].min.all = m.range[0].max.all = htons(80);
  XtTargetResult r = T("DNAT", 0, Payload(m), Syn());
  ASSERT_EQ(r.kind, TK::kDnat) << r.reason;
  EXPECT_EQ(r.dnat_addr, A("172.17.0.2"));
  EXPECT_EQ(r.dnat_port, 80);

  nf_nat_range2 r2{};
  r2.flags = NF_NAT_RANGE_PROTO_SPECIFIED;  // --to-destination :4000-6000
  r2.min_proto.all = htons(4000);
  r2.max_proto.all = htons(6000);
  r = T("DNAT", 2, Payload(r2), Syn());
  ASSERT_EQ(r.kind, TK::kDnat) << r.reason;
  EXPECT_EQ(r.dnat_addr.family, 0);
  EXPECT_EQ(r.dnat_port, 5000);  // in range: kept
  r2.max_proto.all = htons(4500);
  EXPECT_EQ(T("DNAT", 2, Payload(r2), Syn()).kind, TK::kUnknown);

  nf_nat_range r1{};
  r1.flags = NF_NAT_RANGE_MAP_IPS;
  std::memcpy(&r1.min_addr, A("2001:db8:2::2").bytes.data(), 16);
  r1.max_addr = r1.min_addr;
  r = T("DNAT", 1, Payload(r1), Syn6());
  ASSERT_EQ(r.kind, TK::kDnat);
  EXPECT_EQ(r.dnat_addr, A("2001:db8:2::2"));
  EXPECT_EQ(r.dnat_port, 0);
  std::memcpy(&r1.max_addr, A("2001:db8:2::9").bytes.data(), 16);
  EXPECT_EQ(T("DNAT", 1, Payload(r1), Syn6()).kind, TK::kUnknown);  // address range
  r1.flags = NF_NAT_RANGE_NETMAP;
  EXPECT_EQ(T("DNAT", 1, Payload(r1), Syn6()).kind, TK::kUnknown);
}

TEST(XtEvalTargetTest, Reject) {
  auto with = [](uint32_t w) { return Verdict(static_cast<int32_t>(w)); };
  XtTargetResult r = T("REJECT", 0, with(IPT_ICMP_PORT_UNREACHABLE), Syn());
  ASSERT_EQ(r.kind, TK::kReject);
  EXPECT_FALSE(r.reject.tcp_reset);
  EXPECT_EQ(r.reject.icmp_type, 3);
  EXPECT_EQ(r.reject.icmp_code, 3);
  EXPECT_EQ(T("REJECT", 0, with(IPT_ICMP_HOST_PROHIBITED), Syn()).reject.icmp_code, 10);
  EXPECT_EQ(T("REJECT", 0, with(IPT_ICMP_ADMIN_PROHIBITED), Syn()).reject.icmp_code, 13);
  EXPECT_TRUE(T("REJECT", 0, with(IPT_TCP_RESET), Syn()).reject.tcp_reset);
  Packet udp = Syn();
  udp.l4proto = IPPROTO_UDP;
  r = T("REJECT", 0, with(IPT_TCP_RESET), udp);  // nothing to reset: a plain drop
  EXPECT_EQ(r.kind, TK::kVerdict);
  EXPECT_EQ(r.verdict.code, NF_DROP);
  EXPECT_EQ(T("REJECT", 0, with(IPT_ICMP_ECHOREPLY), Syn()).kind, TK::kUnknown);

  r = T("REJECT", 0, with(IP6T_ICMP6_PORT_UNREACH), Syn6());
  EXPECT_EQ(r.reject.icmp_type, 1);
  EXPECT_EQ(r.reject.icmp_code, 4);
  EXPECT_EQ(T("REJECT", 0, with(IP6T_ICMP6_ADM_PROHIBITED), Syn6()).reject.icmp_code, 1);
  EXPECT_TRUE(T("REJECT", 0, with(IP6T_TCP_RESET), Syn6()).reject.tcp_reset);
}

TEST(XtEvalTargetTest, MarkCtAndPassive) {
  xt_mark_tginfo2 mk{0x100, 0xff00};
  XtTargetResult r = T("MARK", 2, Payload(mk), Syn());
  ASSERT_EQ(r.kind, TK::kMark);
  EXPECT_EQ(r.mark, 0x100u);
  EXPECT_EQ(r.mask, 0xff00u);

  xt_ct_target_info ct{};
  ct.flags = XT_CT_NOTRACK;
  EXPECT_EQ(T("CT", 0, Payload(ct), Syn()).kind, TK::kNotrack);
  xt_ct_target_info_v1 ct1{};
  ct1.flags = XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS;
  EXPECT_EQ(T("CT", 2, Payload(ct1), Syn()).kind, TK::kNotrack);
  ct1.flags = 0;
  ct1.zone = 5;
  EXPECT_EQ(T("CT", 2, Payload(ct1), Syn()).kind, TK::kUnknown);
  EXPECT_EQ(T("NOTRACK", 0, {}, Syn()).kind, TK::kNotrack);

  EXPECT_EQ(T("LOG", 0, Bytes(32, 0), Syn()).kind, TK::kContinue);
  EXPECT_EQ(T("NFLOG", 0, Bytes(88, 0), Syn()).kind, TK::kContinue);
  r = T("MASQUERADE", 0, Bytes(24, 0), Syn());
  EXPECT_EQ(r.kind, TK::kVerdict);
  EXPECT_EQ(r.verdict.code, NF_ACCEPT);
  EXPECT_EQ(T("ERROR", 0, Bytes(32, 0), Syn()).kind, TK::kUnknown);
  r = T("TPROXY", 1, Bytes(24, 0), Syn());
  EXPECT_EQ(r.kind, TK::kUnknown);
  EXPECT_EQ(r.reason, "x_tables target TPROXY rev 1 is not modelled");
}

}  // namespace
}  // namespace portmap::pathtrace
