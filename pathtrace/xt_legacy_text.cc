// A legacy entry as iptables-save prints it (iptables' print_rule4 and the
// libxt_* save functions), so a trace step reads like the ruleset its user
// wrote.  Options it does not render leave "-m NAME" / "-j NAME".
#include <arpa/inet.h>

// glibc's netinet/in.h before any linux/ header.
// clang-format off
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/xt_LOG.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
// clang-format on

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "pathtrace/xt_eval_internal.h"
#include "pathtrace/xt_legacy.h"

namespace portmap::pathtrace {

namespace {

std::string V4(const uint8_t* b) {
  Addr a;
  a.family = AF_INET;
  std::memcpy(a.bytes.data(), b, 4);
  return XtAddrText(a);
}

std::string Not(bool invert) { return invert ? " !" : ""; }

// print_ip: "-s 172.17.0.0/16", a non-contiguous mask dotted.
std::string Ip(const char* opt, const std::array<uint8_t, 4>& ip, const std::array<uint8_t, 4>& m,
               bool invert) {
  const uint32_t mask = (uint32_t{m[0]} << 24) | (m[1] << 16) | (m[2] << 8) | m[3];
  if (mask == 0 && ip == std::array<uint8_t, 4>{} && !invert) return "";
  int len = 0;
  while (len < 32 && (mask & (0x80000000u >> len))) ++len;
  const bool contiguous = len == 32 || (mask << len) == 0;
  return Not(invert) + " " + opt + " " + V4(ip.data()) + "/" +
         (contiguous ? std::to_string(len) : V4(m.data()));
}

// print_iface: the name up to where the mask ends; "+" for a wildcard.
std::string Iface(char letter, const std::array<uint8_t, 16>& name,
                  const std::array<uint8_t, 16>& mask, bool invert) {
  if (mask[0] == 0) return "";
  std::string s = Not(invert) + " -" + letter + " ";
  for (size_t i = 0; i < 16; ++i) {
    if (mask[i] == 0) {
      if (name[i - 1] != 0) s += '+';
      break;
    }
    if (name[i] != 0) s += static_cast<char>(name[i]);
  }
  return s;
}

std::string ProtoName(uint16_t p) {
  switch (p) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 33:
      return "dccp";
    case 50:
      return "esp";
    case 51:
      return "ah";
    case 58:
      return "ipv6-icmp";
    case 132:
      return "sctp";
    case 136:
      return "udplite";
    default:
      return std::to_string(p);
  }
}

// Names of the set bits of `mask`, comma-separated, in table order.
std::string Flags(uint32_t mask, std::initializer_list<std::pair<uint32_t, const char*>> names) {
  std::string s;
  for (const auto& [bit, name] : names) {
    if (mask & bit) s += (s.empty() ? "" : ",") + std::string(name);
  }
  return s;
}

std::string Ports(const char* opt, uint16_t lo, uint16_t hi, bool invert) {
  if (lo == 0 && hi == 0xffff && !invert) return "";
  return Not(invert) + " " + opt + " " + std::to_string(lo) +
         (hi != lo ? ":" + std::to_string(hi) : "");
}

std::string Tcpflags(uint8_t f) {
  if (f == 0) return "NONE";
  return Flags(f, {{0x01, "FIN"},
                   {0x02, "SYN"},
                   {0x04, "RST"},
                   {0x08, "PSH"},
                   {0x10, "ACK"},
                   {0x20, "URG"},
                   {0x40, "ECE"},
                   {0x80, "CWR"}});
}

std::string Quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return q + "\"";
}

std::string Addrtypes(uint16_t m) {
  return Flags(m, {{XT_ADDRTYPE_UNSPEC, "UNSPEC"},
                   {XT_ADDRTYPE_UNICAST, "UNICAST"},
                   {XT_ADDRTYPE_LOCAL, "LOCAL"},
                   {XT_ADDRTYPE_BROADCAST, "BROADCAST"},
                   {XT_ADDRTYPE_ANYCAST, "ANYCAST"},
                   {XT_ADDRTYPE_MULTICAST, "MULTICAST"},
                   {XT_ADDRTYPE_BLACKHOLE, "BLACKHOLE"},
                   {XT_ADDRTYPE_UNREACHABLE, "UNREACHABLE"},
                   {XT_ADDRTYPE_PROHIBIT, "PROHIBIT"},
                   {XT_ADDRTYPE_THROW, "THROW"},
                   {XT_ADDRTYPE_NAT, "NAT"},
                   {XT_ADDRTYPE_XRESOLVE, "XRESOLVE"}});
}

// Port ranges (host order) of a conntrack match: origsrc, origdst, replsrc,
// repldst.  Revisions 1 and 2 hold one port in network order.
using CtPorts = std::array<std::pair<uint16_t, uint16_t>, 4>;
template <typename T>
CtPorts SinglePorts(const T& c) {
  const uint16_t p[4] = {c.origsrc_port, c.origdst_port, c.replsrc_port, c.repldst_port};
  CtPorts r;
  for (int i = 0; i < 4; ++i) r[i] = {ntohs(p[i]), ntohs(p[i])};
  return r;
}

// conntrack_dump's options, in its order; revisions 1-3 share the layout up
// to the masks.
template <typename T>
std::string Conntrack(const T& c, const CtPorts& ports) {
  const uint16_t f = c.match_flags, inv = c.invert_flags;
  std::string s;
  if (f & XT_CONNTRACK_STATE) {
    s += Not(inv & XT_CONNTRACK_STATE) + " --ctstate " +
         Flags(c.state_mask, {{XT_CONNTRACK_STATE_INVALID, "INVALID"},
                              {XT_CONNTRACK_STATE_BIT(IP_CT_NEW), "NEW"},
                              {XT_CONNTRACK_STATE_BIT(IP_CT_RELATED), "RELATED"},
                              {XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED), "ESTABLISHED"},
                              {XT_CONNTRACK_STATE_UNTRACKED, "UNTRACKED"},
                              {XT_CONNTRACK_STATE_SNAT, "SNAT"},
                              {XT_CONNTRACK_STATE_DNAT, "DNAT"}});
  }
  if (f & XT_CONNTRACK_PROTO) {
    s += Not(inv & XT_CONNTRACK_PROTO) + " --ctproto " + ProtoName(c.l4proto);
  }
  const struct {
    uint16_t flag;
    const char* opt;
    const nf_inet_addr &a, &m;
  } addrs[] = {{XT_CONNTRACK_ORIGSRC, "--ctorigsrc", c.origsrc_addr, c.origsrc_mask},
               {XT_CONNTRACK_ORIGDST, "--ctorigdst", c.origdst_addr, c.origdst_mask},
               {XT_CONNTRACK_REPLSRC, "--ctreplsrc", c.replsrc_addr, c.replsrc_mask},
               {XT_CONNTRACK_REPLDST, "--ctrepldst", c.repldst_addr, c.repldst_mask}};
  for (const auto& a : addrs) {
    if (!(f & a.flag)) continue;
    std::array<uint8_t, 4> ip, m;
    std::memcpy(ip.data(), &a.a, 4);
    std::memcpy(m.data(), &a.m, 4);
    s += Ip(a.opt, ip, m, inv & a.flag);
  }
  static constexpr std::pair<uint16_t, const char*> kPortOpts[4] = {
      {XT_CONNTRACK_ORIGSRC_PORT, "--ctorigsrcport"},
      {XT_CONNTRACK_ORIGDST_PORT, "--ctorigdstport"},
      {XT_CONNTRACK_REPLSRC_PORT, "--ctreplsrcport"},
      {XT_CONNTRACK_REPLDST_PORT, "--ctrepldstport"}};
  for (int i = 0; i < 4; ++i) {
    const auto [flag, opt] = kPortOpts[i];
    if (!(f & flag)) continue;
    s += Not(inv & flag) + " " + opt + " " + std::to_string(ports[i].first) +
         (ports[i].second != ports[i].first ? ":" + std::to_string(ports[i].second) : "");
  }
  if (f & XT_CONNTRACK_STATUS) {
    s += Not(inv & XT_CONNTRACK_STATUS) + " --ctstatus " +
         Flags(c.status_mask, {{IPS_EXPECTED, "EXPECTED"},
                               {IPS_SEEN_REPLY, "SEEN_REPLY"},
                               {IPS_ASSURED, "ASSURED"},
                               {IPS_CONFIRMED, "CONFIRMED"}});
  }
  if (f & XT_CONNTRACK_EXPIRES) s += " --ctexpire";
  if (f & XT_CONNTRACK_DIRECTION) {
    s += std::string(" --ctdir ") + ((inv & XT_CONNTRACK_DIRECTION) ? "REPLY" : "ORIGINAL");
  }
  return s;
}

std::string CommentText(const XtLegacyMatch& m) {
  const char* c = reinterpret_cast<const char*>(m.info.data());
  return std::string(c, strnlen(c, std::min<size_t>(m.info.size(), XT_MAX_COMMENT_LEN)));
}

std::string MatchText(const XtLegacyMatch& m) {
  std::string s = " -m " + m.name;
  if (m.name == "tcp" || m.name == "udp") {
    xt_tcp t{};  // xt_udp is xt_tcp's prefix with invflags where option is
    xt_udp u{};
    if (m.name == "tcp" && LoadXt(m.info, &t)) {
      s += Ports("--sport", t.spts[0], t.spts[1], t.invflags & XT_TCP_INV_SRCPT);
      s += Ports("--dport", t.dpts[0], t.dpts[1], t.invflags & XT_TCP_INV_DSTPT);
      if (t.flg_mask != 0 || (t.invflags & XT_TCP_INV_FLAGS)) {
        s += Not(t.invflags & XT_TCP_INV_FLAGS) + " --tcp-flags " + Tcpflags(t.flg_mask) + " " +
             Tcpflags(t.flg_cmp);
      }
      if (t.option != 0) {
        s += Not(t.invflags & XT_TCP_INV_OPTION) + " --tcp-option " + std::to_string(t.option);
      }
    } else if (m.name == "udp" && LoadXt(m.info, &u)) {
      s += Ports("--sport", u.spts[0], u.spts[1], u.invflags & XT_UDP_INV_SRCPT);
      s += Ports("--dport", u.dpts[0], u.dpts[1], u.invflags & XT_UDP_INV_DSTPT);
    }
  } else if (m.name == "conntrack") {
    xt_conntrack_mtinfo1 c1;
    xt_conntrack_mtinfo2 c2;
    xt_conntrack_mtinfo3 c3;
    if (m.rev == 1 && LoadXt(m.info, &c1)) s += Conntrack(c1, SinglePorts(c1));
    if (m.rev == 2 && LoadXt(m.info, &c2)) s += Conntrack(c2, SinglePorts(c2));
    if (m.rev == 3 && LoadXt(m.info, &c3)) {
      s += Conntrack(c3, CtPorts{{{c3.origsrc_port, c3.origsrc_port_high},
                                  {c3.origdst_port, c3.origdst_port_high},
                                  {c3.replsrc_port, c3.replsrc_port_high},
                                  {c3.repldst_port, c3.repldst_port_high}}});
    }
  } else if (m.name == "state") {
    xt_state_info st;
    if (LoadXt(m.info, &st)) {
      s += " --state " + Flags(st.statemask, {{XT_STATE_INVALID, "INVALID"},
                                              {XT_STATE_BIT(IP_CT_NEW), "NEW"},
                                              {XT_STATE_BIT(IP_CT_RELATED), "RELATED"},
                                              {XT_STATE_BIT(IP_CT_ESTABLISHED), "ESTABLISHED"},
                                              {XT_STATE_UNTRACKED, "UNTRACKED"}});
    }
  } else if (m.name == "addrtype" && m.rev == 1) {
    xt_addrtype_info_v1 a;
    if (LoadXt(m.info, &a)) {
      if (a.source) {
        s += Not(a.flags & XT_ADDRTYPE_INVERT_SOURCE) + " --src-type " + Addrtypes(a.source);
      }
      if (a.dest) s += Not(a.flags & XT_ADDRTYPE_INVERT_DEST) + " --dst-type " + Addrtypes(a.dest);
      if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_IN) s += " --limit-iface-in";
      if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_OUT) s += " --limit-iface-out";
    }
  } else if (m.name == "comment") {
    s += " --comment " + Quote(CommentText(m));
  } else if (m.name == "multiport" && m.rev == 1) {
    xt_multiport_v1 mp;
    if (LoadXt(m.info, &mp)) {
      s += Not(mp.invert) + (mp.flags == XT_MULTIPORT_SOURCE        ? " --sports "
                             : mp.flags == XT_MULTIPORT_DESTINATION ? " --dports "
                                                                    : " --ports ");
      for (unsigned i = 0; i < mp.count && i < XT_MULTI_PORTS; ++i) {
        s += (i != 0 ? "," : "") + std::to_string(mp.ports[i]);
        if (mp.pflags[i] != 0 && i + 1 < XT_MULTI_PORTS) s += ":" + std::to_string(mp.ports[++i]);
      }
    }
  } else if (m.name == "mark" && m.rev == 1) {
    xt_mark_mtinfo1 mk;
    if (LoadXt(m.info, &mk)) {
      s += Not(mk.invert) + " --mark 0x" + HexU32(mk.mark) +
           (mk.mask != 0xffffffff ? "/0x" + HexU32(mk.mask) : "");
    }
  }
  return s;
}

// Range "A[-B][:p[-q]]" of a nat target (nf_nat_ipv4_range / nf_nat_range).
std::string NatRange(unsigned flags, const uint8_t* lo, const uint8_t* hi, uint16_t plo,
                     uint16_t phi) {
  std::string s;
  if (flags & NF_NAT_RANGE_MAP_IPS) {
    s += V4(lo);
    if (std::memcmp(lo, hi, 4) != 0) s += "-" + V4(hi);
  }
  if (flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
    s += ":" + std::to_string(ntohs(plo));
    if (plo != phi) s += "-" + std::to_string(ntohs(phi));
  }
  return s;
}

std::string NatText(const XtLegacyEntry& e, const char* opt) {
  std::string s = " -j " + e.target;
  if (e.target_rev == 0) {
    nf_nat_ipv4_multi_range_compat m;
    if (!LoadXt(e.target_info, &m)) return s;
    const nf_nat_ipv4_range& r = m.range[0];
    const std::string range =
        NatRange(r.flags, reinterpret_cast<const uint8_t*>(&r.min_ip),
                 reinterpret_cast<const uint8_t*>(&r.max_ip), r.min.all, r.max.all);
    if (!range.empty()) s += std::string(" ") + opt + " " + range;
  } else {
    nf_nat_range r;
    if (!LoadXt(e.target_info, &r)) return s;
    s += std::string(" ") + opt + " " +
         NatRange(r.flags, reinterpret_cast<const uint8_t*>(&r.min_addr),
                  reinterpret_cast<const uint8_t*>(&r.max_addr), r.min_proto.all, r.max_proto.all);
  }
  return s;
}

std::string TargetText(const XtLegacyTable& t, const XtLegacyEntry& e) {
  const char* jg = (e.flags & IPT_F_GOTO) ? " -g " : " -j ";
  if (e.standard()) {
    if (e.verdict >= 0) {
      const size_t to = t.IndexAt(static_cast<uint32_t>(e.verdict));
      return jg + (to < t.entries.size() ? t.entries[to].chain : std::to_string(e.verdict));
    }
    if (e.verdict == XT_RETURN) return " -j RETURN";
    switch (static_cast<uint32_t>(-int64_t{e.verdict}) - 1) {
      case NF_ACCEPT:
        return " -j ACCEPT";
      case NF_DROP:
        return " -j DROP";
      case NF_QUEUE:
        return " -j QUEUE";
      default:
        return " -j " + std::to_string(e.verdict);
    }
  }
  if (e.target == "DNAT") return NatText(e, "--to-destination");
  if (e.target == "SNAT") return NatText(e, "--to-source");
  if (e.target == "REJECT") {
    static constexpr const char* kWith[] = {"icmp-net-unreachable",   "icmp-host-unreachable",
                                            "icmp-proto-unreachable", "icmp-port-unreachable",
                                            "icmp-echo-reply",        "icmp-net-prohibited",
                                            "icmp-host-prohibited",   "tcp-reset",
                                            "icmp-admin-prohibited"};
    uint32_t with = 0;
    if (!LoadXt(e.target_info, &with) || with >= std::size(kWith)) return " -j REJECT";
    return std::string(" -j REJECT --reject-with ") + kWith[with];
  }
  if (e.target == "MARK" && e.target_rev == 2) {
    xt_mark_tginfo2 m;
    if (LoadXt(e.target_info, &m)) {
      return " -j MARK --set-xmark 0x" + HexU32(m.mark) + "/0x" + HexU32(m.mask);
    }
  }
  if (e.target == "CT") {
    uint16_t flags = 0;
    if (LoadXt(e.target_info, &flags) && (flags & XT_CT_NOTRACK)) return " -j CT --notrack";
  }
  if (e.target == "LOG") {
    xt_log_info l;
    if (LoadXt(e.target_info, &l) && l.prefix[0] != 0) {
      return " -j LOG --log-prefix " + Quote(std::string(l.prefix, strnlen(l.prefix, 30)));
    }
  }
  return " -j " + e.target;
}

}  // namespace

std::string XtAddrText(const Addr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int family = a.family == AF_INET6 ? AF_INET6 : AF_INET;
  inet_ntop(family, a.bytes.data(), buf, sizeof buf);
  return buf;
}

std::string XtLegacyComment(const XtLegacyEntry& e) {
  for (const XtLegacyMatch& m : e.matches) {
    if (m.name == "comment") return CommentText(m);
  }
  return "";
}

std::string XtLegacyEntryText(const XtLegacyTable& t, const XtLegacyEntry& e) {
  using Role = XtLegacyEntry::Role;
  if (e.role == Role::kPolicy) return "-P " + e.chain + TargetText(t, e).substr(3);
  if (e.role == Role::kChainHead) return "-N " + e.error_name;
  if (e.role == Role::kTableEnd) return "COMMIT";
  std::string s = "-A " + e.chain;
  s += Ip("-s", e.src, e.smsk, e.invflags & IPT_INV_SRCIP);
  s += Ip("-d", e.dst, e.dmsk, e.invflags & IPT_INV_DSTIP);
  s += Iface('i', e.iniface, e.iniface_mask, e.invflags & IPT_INV_VIA_IN);
  s += Iface('o', e.outiface, e.outiface_mask, e.invflags & IPT_INV_VIA_OUT);
  if (e.proto != 0) s += Not(e.invflags & IPT_INV_PROTO) + " -p " + ProtoName(e.proto);
  if (e.flags & IPT_F_FRAG) s += Not(e.invflags & IPT_INV_FRAG) + " -f";
  for (const XtLegacyMatch& m : e.matches) s += MatchText(m);
  return s + TargetText(t, e);
}

}  // namespace portmap::pathtrace
