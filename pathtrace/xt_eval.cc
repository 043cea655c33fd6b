// x_tables matches and targets with the kernel's semantics.  Each function
// below names the kernel function it follows; a payload shorter than the
// kernel's struct, or an option the packet model cannot answer, is kUnknown.
#include "pathtrace/xt_eval.h"

// glibc's netinet/in.h before any linux/ header: the other order redefines
// struct in_addr.
// clang-format off
#include <netinet/in.h>
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
// clang-format on

#include <cstring>
#include <iterator>

#include "pathtrace/xt_eval_internal.h"

namespace portmap::pathtrace {

namespace {

using Kind = XtMatchResult::Kind;

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

XtMatchResult Bool(bool m) { return {m ? Kind::kMatch : Kind::kNoMatch, ""}; }
XtMatchResult Unknown(std::string why) { return {Kind::kUnknown, std::move(why)}; }

std::string Short(const std::string& name, uint32_t rev) {
  return "x_tables match " + name + " rev " + std::to_string(rev) + ": payload too short";
}

// tcp_mt / udp_mt (xt_tcpudp.c).  The packet is never a fragment and its TCP
// header has no options (doff 5), so tcp_find_option sees optlen 0.
XtMatchResult TcpUdp(bool tcp, const Bytes& info, const Packet& pkt) {
  const uint8_t want = tcp ? kTcp : kUdp;
  if (pkt.l4proto != want) {
    // checkentry ties the match to -p tcp/udp; on another protocol the kernel
    // would read the wrong header.
    return Unknown(std::string(tcp ? "tcp" : "udp") + " match on a packet of protocol " +
                   std::to_string(pkt.l4proto));
  }
  auto port_match = [](uint16_t lo, uint16_t hi, uint16_t port, bool invert) {
    return (port >= lo && port <= hi) ^ invert;
  };
  if (tcp) {
    xt_tcp t;
    if (!LoadXt(info, &t)) return Unknown(Short("tcp", 0));
    if (!port_match(t.spts[0], t.spts[1], pkt.sport, t.invflags & XT_TCP_INV_SRCPT)) {
      return Bool(false);
    }
    if (!port_match(t.dpts[0], t.dpts[1], pkt.dport, t.invflags & XT_TCP_INV_DSTPT)) {
      return Bool(false);
    }
    if (!(((pkt.tcp_flags & t.flg_mask) == t.flg_cmp) ^ !!(t.invflags & XT_TCP_INV_FLAGS))) {
      return Bool(false);
    }
    if (t.option != 0) {
      // The traced SYN is built without options; a real client's carries
      // MSS, SACK, window scale and timestamps.
      return Unknown("tcp match --tcp-option " + std::to_string(t.option) +
                     ": the traced packet's TCP options are not modelled");
    }
    return Bool(true);
  }
  xt_udp u;
  if (!LoadXt(info, &u)) return Unknown(Short("udp", 0));
  return Bool(port_match(u.spts[0], u.spts[1], pkt.sport, u.invflags & XT_UDP_INV_SRCPT) &&
              port_match(u.dpts[0], u.dpts[1], pkt.dport, u.invflags & XT_UDP_INV_DSTPT));
}

// state_mt (xt_state.c): nf_ct_get is NULL for an untracked packet, and
// before conntrack ran.
XtMatchResult State(const Bytes& info, const Packet& pkt, bool ct_attached) {
  xt_state_info s;
  if (!LoadXt(info, &s)) return Unknown(Short("state", 0));
  const bool untracked = pkt.ct.untracked || pkt.ct.ctinfo == kIpCtUntracked;
  const unsigned statebit = untracked      ? XT_STATE_UNTRACKED
                            : !ct_attached ? XT_STATE_INVALID
                                           : XT_STATE_BIT(pkt.ct.ctinfo);
  return Bool((s.statemask & statebit) != 0);
}

// mark_mt (xt_mark.c).
XtMatchResult Mark(const Bytes& info, const Packet& pkt) {
  xt_mark_mtinfo1 m;
  if (!LoadXt(info, &m)) return Unknown(Short("mark", 1));
  return Bool(((pkt.mark & m.mask) == m.mark) ^ (m.invert != 0));
}

// ports_match_v1 / ports_match (xt_multiport.c).
XtMatchResult Multiport(uint32_t rev, const Bytes& info, const Packet& pkt) {
  const uint16_t src = pkt.sport, dst = pkt.dport;
  if (rev == 0) {
    xt_multiport m;
    if (!LoadXt(info, &m)) return Unknown(Short("multiport", 0));
    for (unsigned i = 0; i < m.count && i < XT_MULTI_PORTS; ++i) {
      if (m.flags != XT_MULTIPORT_DESTINATION && m.ports[i] == src) return Bool(true);
      if (m.flags != XT_MULTIPORT_SOURCE && m.ports[i] == dst) return Bool(true);
    }
    return Bool(false);
  }
  xt_multiport_v1 m;
  if (!LoadXt(info, &m)) return Unknown(Short("multiport", 1));
  const bool inv = m.invert != 0;
  for (unsigned i = 0; i < m.count && i < XT_MULTI_PORTS; ++i) {
    uint16_t s = m.ports[i], e = s;
    if (m.pflags[i] != 0 && i + 1 < XT_MULTI_PORTS) e = m.ports[++i];
    const bool in_src = src >= s && src <= e;
    const bool in_dst = dst >= s && dst <= e;
    if (m.flags == XT_MULTIPORT_SOURCE && in_src) return Bool(!inv);
    if (m.flags == XT_MULTIPORT_DESTINATION && in_dst) return Bool(!inv);
    if (m.flags == XT_MULTIPORT_EITHER && (in_src || in_dst)) return Bool(!inv);
  }
  return Bool(inv);
}

// Big-endian compare of two addresses of `len` bytes: -1, 0, 1.
int AddrCmp(const uint8_t* a, const uint8_t* b, size_t len) {
  const int c = std::memcmp(a, b, len);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// iprange_mt4 / iprange_mt6 (xt_iprange.c).
XtMatchResult Iprange(const Bytes& info, const Packet& pkt) {
  xt_iprange_mtinfo r;
  if (!LoadXt(info, &r)) return Unknown(Short("iprange", 1));
  const size_t len = pkt.ipv6() ? 16 : 4;
  auto outside = [&](const Addr& a, const nf_inet_addr& lo, const nf_inet_addr& hi) {
    const auto* l = reinterpret_cast<const uint8_t*>(&lo);
    const auto* h = reinterpret_cast<const uint8_t*>(&hi);
    return AddrCmp(a.bytes.data(), l, len) < 0 || AddrCmp(h, a.bytes.data(), len) < 0;
  };
  if (r.flags & IPRANGE_SRC) {
    if (outside(pkt.saddr, r.src_min, r.src_max) ^ !!(r.flags & IPRANGE_SRC_INV)) {
      return Bool(false);
    }
  }
  if (r.flags & IPRANGE_DST) {
    if (outside(pkt.daddr, r.dst_min, r.dst_max) ^ !!(r.flags & IPRANGE_DST_INV)) {
      return Bool(false);
    }
  }
  return Bool(true);
}

// physdev_mt (xt_physdev.c), its "!nf_bridge_info_exists(skb)" branch: the
// traced packet never carries br_netfilter's bridge info.
XtMatchResult Physdev(const Bytes& info) {
  xt_physdev_info p;
  if (!LoadXt(info, &p)) return Unknown(Short("physdev", 0));
  for (uint8_t op : {XT_PHYSDEV_OP_BRIDGED, XT_PHYSDEV_OP_ISIN, XT_PHYSDEV_OP_ISOUT,
                     XT_PHYSDEV_OP_IN, XT_PHYSDEV_OP_OUT}) {
    if ((p.bitmask & op) && !(p.invert & op)) return Bool(false);
  }
  return Bool(true);
}

// ---- targets ----

XtTargetResult TargetUnknown(std::string why) {
  XtTargetResult r;
  r.kind = XtTargetResult::Kind::kUnknown;
  r.reason = std::move(why);
  return r;
}

XtTargetResult VerdictResult(int32_t code) {
  XtTargetResult r;
  r.kind = XtTargetResult::Kind::kVerdict;
  r.verdict.code = code;
  return r;
}

constexpr int32_t kNftReturn = -5;  // NFT_RETURN

// The standard target as ipt_do_table reads it: verdict < 0 is -NF_x - 1,
// XT_RETURN is -NF_REPEAT - 1; >= 0 is a blob offset (a jump), which only the
// table walker can follow.
XtTargetResult Standard(const std::string& name, const Bytes& info) {
  int32_t v = 0;
  if (info.size() >= sizeof(v)) {
    std::memcpy(&v, info.data(), sizeof(v));
  } else if (name == "ACCEPT") {
    v = -NF_ACCEPT - 1;
  } else if (name == "DROP") {
    v = -NF_DROP - 1;
  } else if (name == "RETURN") {
    v = XT_RETURN;
  } else if (name == "QUEUE") {
    v = -NF_QUEUE - 1;
  } else {
    return TargetUnknown("x_tables standard target without a verdict");
  }
  if (v == XT_RETURN) return VerdictResult(kNftReturn);
  if (v < 0) return VerdictResult(static_cast<int32_t>(static_cast<uint32_t>(-int64_t{v}) - 1));
  return TargetUnknown("x_tables standard target jumps to blob offset " + std::to_string(v) +
                       ": only the legacy table walker follows it");
}

// xt_dnat_target_v0/v1/v2 (xt_nat.c) through nf_nat_setup_info's
// get_unique_tuple: one address is that address; a port range keeps the
// packet's port when it lies inside (l4proto_in_range).  An address range is
// picked by hash (find_best_ips_proto) and is not modelled.
XtTargetResult Dnat(uint32_t rev, const Bytes& info, const Packet& pkt) {
  unsigned flags = 0;
  Addr lo, hi;
  lo.family = hi.family = pkt.ipv6() ? 10 : 2;
  uint16_t plo = 0, phi = 0;  // host order
  if (rev == 0) {
    nf_nat_ipv4_multi_range_compat m;
    if (!LoadXt(info, &m)) return TargetUnknown("x_tables target DNAT rev 0: payload too short");
    if (m.rangesize != 1) return TargetUnknown("x_tables target DNAT rev 0: rangesize != 1");
    const nf_nat_ipv4_range& r = m.range[0];
    flags = r.flags;
    std::memcpy(lo.bytes.data(), &r.min_ip, 4);
    std::memcpy(hi.bytes.data(), &r.max_ip, 4);
    plo = ntohs(r.min.all);
    phi = ntohs(r.max.all);
  } else if (rev == 1 || rev == 2) {
    nf_nat_range r;  // nf_nat_range2 starts with the same fields
    if (!LoadXt(info, &r) || (rev == 2 && info.size() < sizeof(nf_nat_range2))) {
      return TargetUnknown("x_tables target DNAT rev " + std::to_string(rev) +
                           ": payload too short");
    }
    flags = r.flags;
    std::memcpy(lo.bytes.data(), &r.min_addr, lo.size());
    std::memcpy(hi.bytes.data(), &r.max_addr, hi.size());
    plo = ntohs(r.min_proto.all);
    phi = ntohs(r.max_proto.all);
  } else {
    return TargetUnknown("x_tables target DNAT rev " + std::to_string(rev) + " is not modelled");
  }
  constexpr unsigned kModelled = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED |
                                 NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PERSISTENT |
                                 NF_NAT_RANGE_PROTO_RANDOM_FULLY;
  if (flags & ~kModelled) {
    return TargetUnknown("x_tables target DNAT: range flags 0x" + HexU32(flags & ~kModelled) +
                         " (offset or netmap) are not modelled");
  }
  XtTargetResult r;
  r.kind = XtTargetResult::Kind::kDnat;
  if (flags & NF_NAT_RANGE_MAP_IPS) {
    if (!(lo == hi)) return TargetUnknown("x_tables target DNAT to an address range");
    r.dnat_addr = lo;
  }
  if (flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
    if (pkt.l4proto != kTcp && pkt.l4proto != kUdp) {
      return TargetUnknown("x_tables target DNAT with ports on protocol " +
                           std::to_string(pkt.l4proto));
    }
    const bool random = flags & (NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    if (plo == phi) {
      r.dnat_port = plo;
    } else if (!random && pkt.dport >= plo && pkt.dport <= phi) {
      r.dnat_port = pkt.dport;
    } else {
      return TargetUnknown("x_tables target DNAT to a port range the packet's port is not in");
    }
  }
  return r;
}

// reject_tg (ipt_REJECT.c) and reject_tg6 (ip6t_REJECT.c).  nf_send_reset
// answers only a TCP segment without RST; otherwise the packet is just dropped.
XtTargetResult Reject(const Bytes& info, const Packet& pkt) {
  // The ICMP code each `with` sends, by enum ipt_reject_with / ip6t_reject_with;
  // -1 where none is sent (echo-reply is refused at load, tcp-reset below).
  static constexpr int kV4Code[] = {
      0 /* ICMP_NET_UNREACH */,  1 /* ICMP_HOST_UNREACH */, 2 /* ICMP_PROT_UNREACH */,
      3 /* ICMP_PORT_UNREACH */, -1 /* echo-reply */,       9 /* ICMP_NET_ANO */,
      10 /* ICMP_HOST_ANO */,    -1 /* tcp-reset */,        13 /* ICMP_PKT_FILTERED */};
  static constexpr int kV6Code[] = {
      0 /* ICMPV6_NOROUTE */,      1 /* ICMPV6_ADM_PROHIBITED */, 2 /* ICMPV6_NOT_NEIGHBOUR */,
      3 /* ICMPV6_ADDR_UNREACH */, 4 /* ICMPV6_PORT_UNREACH */,   -1 /* echo-reply */,
      -1 /* tcp-reset */,          5 /* ICMPV6_POLICY_FAIL */,    6 /* ICMPV6_REJECT_ROUTE */};
  uint32_t with = 0;
  if (!LoadXt(info, &with)) return TargetUnknown("x_tables target REJECT: payload too short");
  XtTargetResult r;
  r.kind = XtTargetResult::Kind::kReject;
  if (pkt.ipv6() ? with == IP6T_TCP_RESET : with == IPT_TCP_RESET) {
    if (pkt.l4proto != kTcp || (pkt.tcp_flags & 0x04 /* RST */)) return VerdictResult(NF_DROP);
    r.reject.tcp_reset = true;
    return r;
  }
  const int code = pkt.ipv6() ? (with < std::size(kV6Code) ? kV6Code[with] : -1)
                              : (with < std::size(kV4Code) ? kV4Code[with] : -1);
  if (code < 0) return TargetUnknown("x_tables target REJECT with " + std::to_string(with));
  r.reject.icmp_type = pkt.ipv6() ? 1 /* ICMPV6_DEST_UNREACH */ : 3 /* ICMP_DEST_UNREACH */;
  r.reject.icmp_code = static_cast<uint8_t>(code);
  return r;
}

// xt_ct_target_v0/v1 and notrack_tg (xt_CT.c): --notrack ignores every
// other option; zones, helpers and timeouts are not modelled.
XtTargetResult Ct(const std::string& name, uint32_t rev, const Bytes& info) {
  XtTargetResult r;
  r.kind = XtTargetResult::Kind::kNotrack;
  if (name == "NOTRACK") return r;
  if (rev > 2) {
    return TargetUnknown("x_tables target CT rev " + std::to_string(rev) + " is not modelled");
  }
  xt_ct_target_info ct;  // v1 only adds a timeout after the fields read here
  if (!LoadXt(info, &ct)) return TargetUnknown("x_tables target CT: payload too short");
  if (ct.flags & XT_CT_NOTRACK) return r;
  return TargetUnknown(
      "x_tables target CT without --notrack (zone, helper, timeout) is not modelled");
}

}  // namespace

std::string HexU32(uint32_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kHex[v & 15]);
    v >>= 4;
  } while (v != 0);
  return s;
}

XtMatchResult EvalXtMatch(const std::string& name, uint32_t rev, const Bytes& info,
                          const Packet& pkt, uint32_t hook, KernelView* kernel) {
  return EvalXtMatchAt(name, rev, info, pkt, hook, kernel, pkt.ct.attached);
}

XtMatchResult EvalXtMatchAt(const std::string& name, uint32_t rev, const Bytes& info,
                            const Packet& pkt, uint32_t hook, KernelView* kernel,
                            bool ct_attached) {
  if (name == "tcp" && rev == 0) return TcpUdp(true, info, pkt);
  if (name == "udp" && rev == 0) return TcpUdp(false, info, pkt);
  if (name == "conntrack" && rev >= 1 && rev <= 3) {
    return EvalXtConntrack(rev, info, pkt, ct_attached);
  }
  if (name == "state" && rev == 0) return State(info, pkt, ct_attached);
  if (name == "addrtype" && rev <= 1) return EvalXtAddrtype(rev, info, pkt, hook, kernel);
  if (name == "comment" && rev == 0) return Bool(true);
  if (name == "multiport" && rev <= 1) return Multiport(rev, info, pkt);
  if (name == "mark" && rev == 1) return Mark(info, pkt);
  if (name == "iprange" && rev == 1) return Iprange(info, pkt);
  if (name == "physdev" && rev == 0) return Physdev(info);
  return Unknown("x_tables match " + name + " rev " + std::to_string(rev) + " is not modelled");
}

XtTargetResult EvalXtTarget(const std::string& name, uint32_t rev, const Bytes& info,
                            const Packet& pkt, uint32_t hook) {
  (void)hook;
  using TK = XtTargetResult::Kind;
  if (name.empty() || name == "ACCEPT" || name == "DROP" || name == "RETURN" || name == "QUEUE") {
    return Standard(name, info);
  }
  if (name == "DNAT") return Dnat(rev, info, pkt);
  if (name == "REJECT" && rev == 0) return Reject(info, pkt);
  if (name == "MARK" && rev == 2) {
    xt_mark_tginfo2 m;
    if (!LoadXt(info, &m)) return TargetUnknown("x_tables target MARK rev 2: payload too short");
    XtTargetResult r;
    r.kind = TK::kMark;
    r.mark = m.mark;
    r.mask = m.mask;
    return r;
  }
  if (name == "CT" || (name == "NOTRACK" && rev == 0)) return Ct(name, rev, info);
  // SNAT and MASQUERADE return nf_nat_setup_info's NF_ACCEPT (xt_snat_target_v*,
  // masquerade_tg): the nat chain ends there.  The source rewrite itself is
  // not modelled (the reply is matched back by the tracer).
  if (name == "SNAT" || name == "MASQUERADE") return VerdictResult(NF_ACCEPT);
  if (name == "LOG" || name == "NFLOG" || name == "CHECKSUM" || name == "TCPMSS") {
    XtTargetResult r;
    r.kind = TK::kContinue;
    return r;
  }
  if (name == "ERROR") return TargetUnknown("x_tables ERROR target reached");
  return TargetUnknown("x_tables target " + name + " rev " + std::to_string(rev) +
                       " is not modelled");
}

}  // namespace portmap::pathtrace
