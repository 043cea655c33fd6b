// The x_tables matches that read more than the packet's headers: conntrack
// (the connection's state and tuples) and addrtype (the host's addresses).
#include <optional>

// glibc's netinet/in.h before any linux/ header.
// clang-format off
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/rtnetlink.h>
// clang-format on

#include "pathtrace/xt_eval_internal.h"

namespace portmap::pathtrace {

namespace {

using Kind = XtMatchResult::Kind;

// A conjunction of checks, three-valued: one definite failure is no match
// (whatever the unknown ones would say), otherwise one unknown is unknown.
class Conj {
 public:
  void Check(bool ok) { failed_ = failed_ || !ok; }
  void Unknown(const std::string& why) {
    if (why_.empty()) why_ = why;
  }
  XtMatchResult Result() const {
    if (failed_) return {Kind::kNoMatch, ""};
    if (!why_.empty()) return {Kind::kUnknown, why_};
    return {Kind::kMatch, ""};
  }

 private:
  bool failed_ = false;
  std::string why_;
};

// xt_conntrack_mtinfo1/2/3 brought to one shape.  Revisions 1 and 2 carry
// single ports in network order, revision 3 host-order ranges.
struct CtInfo {
  nf_inet_addr addr[4], mask[4];  // origsrc, origdst, replsrc, repldst
  uint16_t port_lo[4], port_hi[4];
  uint16_t l4proto, match_flags, invert_flags, state_mask, status_mask;
};

template <typename T>
void CopyCommon(const T& m, CtInfo* c) {
  c->addr[0] = m.origsrc_addr, c->mask[0] = m.origsrc_mask;
  c->addr[1] = m.origdst_addr, c->mask[1] = m.origdst_mask;
  c->addr[2] = m.replsrc_addr, c->mask[2] = m.replsrc_mask;
  c->addr[3] = m.repldst_addr, c->mask[3] = m.repldst_mask;
  c->l4proto = m.l4proto;
  c->match_flags = m.match_flags;
  c->invert_flags = m.invert_flags;
  c->state_mask = m.state_mask;
  c->status_mask = m.status_mask;
  const uint16_t ports[4] = {m.origsrc_port, m.origdst_port, m.replsrc_port, m.repldst_port};
  for (int i = 0; i < 4; ++i) c->port_lo[i] = c->port_hi[i] = ports[i];
}

bool LoadCt(uint32_t rev, const Bytes& info, CtInfo* c) {
  if (rev == 1) {
    xt_conntrack_mtinfo1 m;
    if (!LoadXt(info, &m)) return false;
    CopyCommon(m, c);
  } else if (rev == 2) {
    xt_conntrack_mtinfo2 m;
    if (!LoadXt(info, &m)) return false;
    CopyCommon(m, c);
  } else {
    xt_conntrack_mtinfo3 m;
    if (!LoadXt(info, &m)) return false;
    CopyCommon(m, c);
    const uint16_t hi[4] = {m.origsrc_port_high, m.origdst_port_high, m.replsrc_port_high,
                            m.repldst_port_high};
    for (int i = 0; i < 4; ++i) c->port_hi[i] = hi[i];
    return true;
  }
  for (int i = 0; i < 4; ++i) c->port_lo[i] = c->port_hi[i] = ntohs(c->port_lo[i]);
  return true;
}

// One side of the connection's tuples as the packet shows it.
struct TupleEnd {
  std::optional<Addr> addr;
  uint16_t port = 0;
  std::string why;  // when addr is unknown
};

// The original and reply tuples, as the packet model's conntrack keeps
// them (packet.h): the original as the connection's first packet arrived,
// the reply with DNAT applied.  Source NAT is not rewritten into the reply
// tuple, so the reply's destination under SNAT is unknown.
void CtTuples(const Packet& pkt, TupleEnd t[4]) {
  const Conntrack& ct = pkt.ct;
  t[0].addr = ct.orig_src, t[0].port = ct.orig_sport;
  t[1].addr = ct.orig_dst, t[1].port = ct.orig_dport;
  t[2].addr = ct.reply_src, t[2].port = ct.reply_sport;
  if (ct.status & IPS_SRC_NAT) {
    t[3].why = "conntrack: the reply destination after SNAT is not kept by the packet model";
  } else {
    t[3].addr = ct.reply_dst, t[3].port = ct.reply_dport;
  }
}

// conntrack_addrcmp: ((k ^ u) & m) == 0 over the family's length.
bool AddrMaskEq(const Addr& k, const nf_inet_addr& u, const nf_inet_addr& m) {
  const auto* ub = reinterpret_cast<const uint8_t*>(&u);
  const auto* mb = reinterpret_cast<const uint8_t*>(&m);
  for (size_t i = 0; i < k.size(); ++i) {
    if (((k.bytes[i] ^ ub[i]) & mb[i]) != 0) return false;
  }
  return true;
}

// ---- addrtype ----

constexpr uint16_t kAddrtypeModelled = XT_ADDRTYPE_UNSPEC | XT_ADDRTYPE_UNICAST |
                                       XT_ADDRTYPE_LOCAL | XT_ADDRTYPE_BROADCAST |
                                       XT_ADDRTYPE_MULTICAST;

// inet_dev_addr_type (net/ipv4/fib_frontend.c): the RTN_* type of `a` in the
// local table, UNICAST when its local route is on another device than `dev`.
// Local addresses come from IsLocalAddress (and the 127.0.0.0/8 local route
// on lo); a directed broadcast from the kernel's own route lookup (the local
// table is the first the default rules consult).
Status InetAddrType(const Addr& a, uint32_t dev, uint16_t mask, KernelView* kernel, int* type) {
  const uint8_t* b = a.bytes.data();
  if (b[0] == 0 || (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)) {
    *type = RTN_BROADCAST;  // ipv4_is_zeronet / ipv4_is_lbcast
    return Status::Ok();
  }
  if ((b[0] & 0xf0) == 0xe0) {
    *type = RTN_MULTICAST;
    return Status::Ok();
  }
  bool local = false;
  if (Status st = kernel->IsLocalAddress(a, dev, &local); !st.ok()) return st;
  if (!local && b[0] == 127) {  // "local 127.0.0.0/8 dev lo"
    Interface link;
    local = dev == 0 || (kernel->LinkByIndex(dev, &link).ok() && link.type == 772 /* loopback */);
  }
  *type = local ? RTN_LOCAL : RTN_UNICAST;
  if (local || !(mask & (XT_ADDRTYPE_UNICAST | XT_ADDRTYPE_BROADCAST))) return Status::Ok();
  RouteQuery q;
  q.dst = a;
  RouteAnswer ans;
  if (Status st = kernel->Route(q, &ans); !st.ok()) return st;
  if (ans.error == 0 && ans.type == RTN_BROADCAST && (dev == 0 || ans.oif == dev)) {
    *type = RTN_BROADCAST;
  }
  return Status::Ok();
}

// ipv6_addr_type (net/ipv6/addrconf_core.c), reduced to the classes
// match_type6 asks about.
enum class V6Class { kAny, kUnicast, kMulticast, kMapped };
V6Class Ipv6AddrClass(const Addr& a) {
  const uint8_t* b = a.bytes.data();
  if ((b[0] & 0xe0) != 0 && (b[0] & 0xe0) != 0xe0) return V6Class::kUnicast;
  if (b[0] == 0xff) return V6Class::kMulticast;
  bool zero8 = true;
  for (int i = 0; i < 8; ++i) zero8 = zero8 && b[i] == 0;
  if (zero8) {
    const bool w2_zero = b[8] == 0 && b[9] == 0 && b[10] == 0 && b[11] == 0;
    if (w2_zero) {
      const bool w3_zero = b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] == 0;
      return w3_zero ? V6Class::kAny : V6Class::kUnicast;  // loopback, v4-compatible
    }
    if (b[8] == 0 && b[9] == 0 && b[10] == 0xff && b[11] == 0xff) return V6Class::kMapped;
  }
  return V6Class::kUnicast;  // fe80::/10, fec0::/10, fc00::/7 and the rest
}

// match_type6 (xt_addrtype.c).  LOCAL stands for match_lookup_rt6's
// nf_ipv6_chk_addr on `dev` / RTF_LOCAL route; ANYCAST and UNREACHABLE
// need the IPv6 route and are not modelled.
XtMatchResult MatchType6(const Addr& a, uint32_t dev, uint16_t mask, KernelView* kernel) {
  const V6Class c = Ipv6AddrClass(a);
  if ((mask & XT_ADDRTYPE_MULTICAST) && c != V6Class::kMulticast) return {Kind::kNoMatch, ""};
  if ((mask & XT_ADDRTYPE_UNICAST) && c != V6Class::kUnicast) return {Kind::kNoMatch, ""};
  if ((mask & XT_ADDRTYPE_UNSPEC) && c != V6Class::kAny) return {Kind::kNoMatch, ""};
  if (mask & (XT_ADDRTYPE_ANYCAST | XT_ADDRTYPE_UNREACHABLE)) {
    return {Kind::kUnknown, "addrtype ANYCAST/UNREACHABLE for IPv6 is not modelled"};
  }
  if (!(mask & XT_ADDRTYPE_LOCAL)) return {Kind::kMatch, ""};
  bool local = false;
  if (Status st = kernel->IsLocalAddress(a, dev, &local); !st.ok()) {
    return {Kind::kUnknown, "addrtype: " + st.message()};
  }
  return {local ? Kind::kMatch : Kind::kNoMatch, ""};
}

// One address against one type mask, before inversion.
XtMatchResult MatchType(const Packet& pkt, const Addr& a, uint32_t dev, uint16_t mask,
                        KernelView* kernel) {
  if (pkt.ipv6()) return MatchType6(a, dev, mask, kernel);
  if (mask & ~kAddrtypeModelled) {
    return {Kind::kUnknown, "addrtype types 0x" + HexU32(mask & ~kAddrtypeModelled) +
                                " (anycast, blackhole, unreachable, ...) are not modelled"};
  }
  int type = 0;
  if (Status st = InetAddrType(a, dev, mask, kernel, &type); !st.ok()) {
    return {Kind::kUnknown, "addrtype: " + st.message()};
  }
  return {(mask & (1u << type)) ? Kind::kMatch : Kind::kNoMatch, ""};
}

XtMatchResult Invert(XtMatchResult r, bool invert) {
  if (invert && r.kind != Kind::kUnknown) {
    r.kind = r.kind == Kind::kMatch ? Kind::kNoMatch : Kind::kMatch;
  }
  return r;
}

// ret &= a ^ b, three-valued.
void And(Conj* c, const XtMatchResult& r) {
  if (r.kind == Kind::kUnknown) {
    c->Unknown(r.reason);
  } else {
    c->Check(r.kind == Kind::kMatch);
  }
}

}  // namespace

XtMatchResult EvalXtConntrack(uint32_t rev, const Bytes& info, const Packet& pkt,
                              bool ct_attached) {
  CtInfo ci;
  if (!LoadCt(rev, info, &ci)) {
    return {Kind::kUnknown,
            "x_tables match conntrack rev " + std::to_string(rev) + ": payload too short"};
  }
  const uint16_t flags = ci.match_flags, inv = ci.invert_flags;
  constexpr uint16_t kKnown =
      XT_CONNTRACK_STATE | XT_CONNTRACK_PROTO | XT_CONNTRACK_ORIGSRC | XT_CONNTRACK_ORIGDST |
      XT_CONNTRACK_REPLSRC | XT_CONNTRACK_REPLDST | XT_CONNTRACK_STATUS | XT_CONNTRACK_EXPIRES |
      XT_CONNTRACK_ORIGSRC_PORT | XT_CONNTRACK_ORIGDST_PORT | XT_CONNTRACK_REPLSRC_PORT |
      XT_CONNTRACK_REPLDST_PORT | XT_CONNTRACK_DIRECTION | XT_CONNTRACK_STATE_ALIAS;
  // nf_ct_get is NULL for an untracked packet (ctinfo IP_CT_UNTRACKED) and
  // before conntrack ran (INVALID).
  const bool untracked = pkt.ct.untracked || pkt.ct.ctinfo == kIpCtUntracked;
  const bool has_ct = ct_attached && !untracked;
  unsigned statebit = has_ct      ? XT_CONNTRACK_STATE_BIT(pkt.ct.ctinfo)
                      : untracked ? XT_CONNTRACK_STATE_UNTRACKED
                                  : XT_CONNTRACK_STATE_INVALID;
  if (flags & XT_CONNTRACK_STATE) {
    if (has_ct && (pkt.ct.status & IPS_SRC_NAT)) statebit |= XT_CONNTRACK_STATE_SNAT;
    if (has_ct && (pkt.ct.status & IPS_DST_NAT)) statebit |= XT_CONNTRACK_STATE_DNAT;
    if (!!(ci.state_mask & statebit) ^ !(inv & XT_CONNTRACK_STATE)) return {Kind::kNoMatch, ""};
  }
  if (!has_ct) return {(flags & XT_CONNTRACK_STATE) ? Kind::kMatch : Kind::kNoMatch, ""};

  Conj c;
  if (flags & ~kKnown) c.Unknown("conntrack match flags 0x" + HexU32(flags & ~kKnown));
  if (flags & XT_CONNTRACK_DIRECTION) {
    const bool original = pkt.ct.ctinfo < IP_CT_IS_REPLY;
    c.Check(!(original ^ !(inv & XT_CONNTRACK_DIRECTION)));
  }
  TupleEnd t[4];
  CtTuples(pkt, t);
  static constexpr uint16_t kAddrFlag[4] = {XT_CONNTRACK_ORIGSRC, XT_CONNTRACK_ORIGDST,
                                            XT_CONNTRACK_REPLSRC, XT_CONNTRACK_REPLDST};
  static constexpr uint16_t kPortFlag[4] = {XT_CONNTRACK_ORIGSRC_PORT, XT_CONNTRACK_ORIGDST_PORT,
                                            XT_CONNTRACK_REPLSRC_PORT, XT_CONNTRACK_REPLDST_PORT};
  for (int i = 0; i < 4; ++i) {
    if (!(flags & kAddrFlag[i])) continue;
    if (!t[i].addr) {
      c.Unknown(t[i].why);
    } else {
      c.Check(!(AddrMaskEq(*t[i].addr, ci.addr[i], ci.mask[i]) ^ !(inv & kAddrFlag[i])));
    }
  }
  if (flags & XT_CONNTRACK_PROTO) {
    c.Check(!((pkt.l4proto == ci.l4proto) ^ !(inv & XT_CONNTRACK_PROTO)));
  }
  for (int i = 0; i < 4; ++i) {
    if (!(flags & kPortFlag[i])) continue;
    if (!t[i].addr) {
      c.Unknown(t[i].why);
    } else {
      const bool in = t[i].port >= ci.port_lo[i] && t[i].port <= ci.port_hi[i];
      c.Check(in ^ !!(inv & kPortFlag[i]));
    }
  }
  if (flags & XT_CONNTRACK_STATUS) {
    c.Check(!(!!(ci.status_mask & pkt.ct.status) ^ !(inv & XT_CONNTRACK_STATUS)));
  }
  if (flags & XT_CONNTRACK_EXPIRES) {
    c.Unknown("conntrack --ctexpire: the entry's remaining timeout is not modelled");
  }
  return c.Result();
}

XtMatchResult EvalXtAddrtype(uint32_t rev, const Bytes& info, const Packet& pkt, uint32_t hook,
                             KernelView* kernel) {
  if (kernel == nullptr) return {Kind::kUnknown, "addrtype: no kernel to ask"};
  uint16_t source = 0, dest = 0;
  bool inv_src = false, inv_dst = false, short_circuit = true;
  uint32_t dev = 0;
  if (rev == 0) {
    xt_addrtype_info a;
    if (!LoadXt(info, &a))
      return {Kind::kUnknown, "x_tables match addrtype rev 0: payload too short"};
    if (pkt.ipv6()) return {Kind::kUnknown, "addrtype rev 0 is IPv4 only"};
    // ret &= match ^ invert_source: only the low bit of the u32 survives.
    source = a.source, dest = a.dest;
    inv_src = a.invert_source & 1, inv_dst = a.invert_dest & 1;
    short_circuit = false;
  } else {
    xt_addrtype_info_v1 a;
    if (!LoadXt(info, &a))
      return {Kind::kUnknown, "x_tables match addrtype rev 1: payload too short"};
    source = a.source, dest = a.dest;
    inv_src = a.flags & XT_ADDRTYPE_INVERT_SOURCE;
    inv_dst = a.flags & XT_ADDRTYPE_INVERT_DEST;
    // par->in exists at PRE_ROUTING, LOCAL_IN and FORWARD; par->out at
    // FORWARD, LOCAL_OUT and POST_ROUTING.
    const bool has_in =
        hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN || hook == NF_INET_FORWARD;
    const bool has_out =
        hook == NF_INET_FORWARD || hook == NF_INET_LOCAL_OUT || hook == NF_INET_POST_ROUTING;
    if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_IN) {
      dev = has_in ? pkt.iif.index : 0;
    } else if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_OUT) {
      dev = has_out ? pkt.oif.index : 0;
    }
  }
  Conj c;
  if (source != 0) And(&c, Invert(MatchType(pkt, pkt.saddr, dev, source, kernel), inv_src));
  if (dest != 0) {
    const XtMatchResult so_far = c.Result();
    if (!short_circuit || so_far.kind != Kind::kNoMatch) {
      And(&c, Invert(MatchType(pkt, pkt.daddr, dev, dest, kernel), inv_dst));
    }
  }
  return c.Result();
}

}  // namespace portmap::pathtrace
