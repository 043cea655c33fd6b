// The packet's way through the host: in, routed, forwarded or delivered,
// and the reply's way back.
#include "pathtrace/tracer.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pathtrace/hook_walk.h"

namespace portmap::pathtrace {

namespace {

constexpr uint8_t kTcpSynAck = 0x12;
constexpr uint8_t kTcpRstAck = 0x14;

std::string RouteErrorText(int err) {
  switch (err) {
    case EHOSTUNREACH:
      return "host unreachable (EHOSTUNREACH)";
    case ENETUNREACH:
      return "no route (ENETUNREACH)";
    case EXDEV:
      return "the source failed reverse-path filtering (rp_filter, EXDEV)";
    case EINVAL:
      return "invalid (EINVAL)";
    case EACCES:
      return "a prohibit route (EACCES)";
    default:
      return "errno " + std::to_string(err);
  }
}

// The packet travelling back: source and destination swapped, the same
// connection seen in its reply direction.
Packet ReplyOf(const Packet& pkt, uint8_t tcp_flags) {
  Packet r = pkt;
  r.saddr = pkt.daddr;
  r.daddr = pkt.ct.orig_src;
  r.sport = pkt.dport;
  r.dport = pkt.ct.orig_sport;
  r.tcp_flags = tcp_flags;
  r.mark = 0;
  r.iif = Interface{};
  r.oif = Interface{};
  r.ct.reply = true;
  r.ct.ctinfo = IP_CT_ESTABLISHED_REPLY;
  r.ct.status |= IPS_SEEN_REPLY | IPS_CONFIRMED;
  return r;
}

class Walk {
 public:
  Walk(RulesetSource* ruleset, LegacyRuleset* legacy, KernelView* kernel, TraceResult* result)
      : kernel_(kernel), result_(result), hooks_(ruleset, legacy, kernel, result) {}

  void Run(Packet pkt) {
    if (!hooks_.RunIngress("ingress", &pkt)) return;
    if (!hooks_.Run(NF_INET_PRE_ROUTING, "prerouting", &pkt)) return;
    result_->dnat = (pkt.ct.status & IPS_DST_NAT) != 0;
    RouteAnswer route;
    if (!RouteIn(pkt, "routing", &route)) return;
    if (route.type == RTN_LOCAL) {
      result_->local = true;
      Local(&pkt);
    } else {
      Forward(&pkt, route);
    }
  }

 private:
  // Whether the input interface forwards.  IPv4: its own switch (ip_forward
  // sets them all), which the route lookup has already applied.  IPv6: the
  // input lookup ignores forwarding; ip6_forward() then needs
  // all.forwarding, or the input interface's force_forwarding (Linux 6.17).
  bool Forwarding(const Packet& pkt, bool* on) {
    int64_t v = 0;
    if (!pkt.ipv6()) {
      if (!kernel_->NetSysctl("ipv4/conf/" + pkt.iif.name + "/forwarding", &v).ok()) return false;
      *on = v != 0;
      return true;
    }
    if (!kernel_->NetSysctl("ipv6/conf/all/forwarding", &v).ok()) return false;
    *on = v != 0;
    if (!*on && kernel_->NetSysctl("ipv6/conf/" + pkt.iif.name + "/force_forwarding", &v).ok()) {
      *on = v != 0;
    }
    return true;
  }

  // rp_filter's mode for the input interface: the larger of all's and its
  // own (fib_validate_source uses IN_DEV_RPFILTER = max).
  int64_t RpFilter(const Packet& pkt) {
    int64_t all = 0, dev = 0;
    if (!kernel_->NetSysctl("ipv4/conf/all/rp_filter", &all).ok()) all = 0;
    if (!kernel_->NetSysctl("ipv4/conf/" + pkt.iif.name + "/rp_filter", &dev).ok()) dev = 0;
    return std::max(all, dev);
  }

  // The routing decision for a packet arriving on pkt.iif; false when the
  // packet ends here.
  bool RouteIn(const Packet& pkt, const std::string& phase, RouteAnswer* route) {
    RouteQuery q{pkt.saddr, pkt.daddr, pkt.iif.index, pkt.mark, pkt.l4proto, pkt.sport, pkt.dport};
    const Status st = kernel_->Route(q, route);
    if (!st.ok()) {
      hooks_.Stop(Outcome::kUnknown, "the routing decision could not be read: " + st.message());
      return false;
    }
    if (route->error == 0 && route->type != RTN_LOCAL && route->type != RTN_UNICAST) {
      if (route->type == RTN_BLACKHOLE) {
        hooks_.Note(phase, "route: blackhole");
        hooks_.Stop(Outcome::kTimeout, "a blackhole route to " + AddrString(pkt.daddr),
                    std::nullopt, StopKind::kRoute);
      } else {
        hooks_.Stop(Outcome::kUnknown,
                    "route type " + std::to_string(route->type) + " is not modelled");
      }
      return false;
    }
    bool fwd = true;
    if (route->error != 0 || (pkt.ipv6() && route->type == RTN_UNICAST)) {
      if (!Forwarding(pkt, &fwd)) {
        hooks_.Stop(Outcome::kUnknown,
                    "the forwarding switch of " + pkt.iif.name + " could not be read");
        return false;
      }
    }
    if (route->error != 0) {
      std::string why = "the kernel's route lookup refused it: " + RouteErrorText(route->error);
      if (route->error == EINVAL && !pkt.ipv6()) {
        // Linux 6.13+ answers EINVAL for every input drop reason, rp_filter
        // included (EXDEV before): name what the sysctls make likely.
        const int64_t rp = RpFilter(pkt);
        why += rp != 0 ? "; rp_filter=" + std::to_string(rp) + " on " + pkt.iif.name +
                             " (reverse-path filtering), or a martian or blackhole route"
                       : "; a martian address or a blackhole route";
      }
      hooks_.Note(phase, why);
      // ip_error answers with ICMP only where the input interface forwards;
      // rp_filter and martians are dropped silently.
      const bool icmp = fwd && route->error != EXDEV && route->error != EINVAL;
      // ip_error's ICMP: host unreachable, net unreachable, or packet filtered
      // (code 13) for a prohibit route.
      if (icmp) {
        const uint8_t code = route->error == ENETUNREACH ? 0 : route->error == EACCES ? 13 : 1;
        result_->client_errno = pkt.ipv6() ? IcmpErrno(true, route->error == EACCES        ? 1
                                                             : route->error == ENETUNREACH ? 0
                                                                                           : 3)
                                           : IcmpErrno(false, code);
      }
      // What stopped it: forwarding off answers EHOSTUNREACH (IPv4 only:
      // IPv6 lookups ignore forwarding); rp_filter EXDEV, or EINVAL on 6.13+.
      StopKind kind = StopKind::kRoute;
      if (!fwd && !pkt.ipv6() && route->error == EHOSTUNREACH) kind = StopKind::kForwarding;
      if (route->error == EXDEV || (route->error == EINVAL && !pkt.ipv6() && RpFilter(pkt) != 0)) {
        kind = StopKind::kReversePath;
      }
      result_->stop_phase = phase;
      hooks_.Stop(icmp ? Outcome::kUnreachable : Outcome::kTimeout,
                  why + (fwd ? "" : "; forwarding is off on " + pkt.iif.name), std::nullopt, kind);
      return false;
    }
    if (route->type == RTN_UNICAST && pkt.ipv6() && !fwd) {
      hooks_.Note(phase, "IPv6 forwarding is off (net.ipv6.conf.all.forwarding=0)");
      result_->stop_phase = phase;
      hooks_.Stop(Outcome::kTimeout, "IPv6 forwarding is off", std::nullopt, StopKind::kForwarding);
      return false;
    }
    hooks_.Note(phase, route->type == RTN_LOCAL
                           ? "route: local delivery to " + AddrString(pkt.daddr)
                           : "route: forward to " + AddrString(pkt.daddr) + " via interface " +
                                 std::to_string(route->oif));
    return true;
  }

  bool SetOif(Packet* pkt, uint32_t oif) {
    Interface link;
    const Status st = kernel_->LinkByIndex(oif, &link);
    if (!st.ok()) {
      hooks_.Stop(Outcome::kUnknown, "interface " + std::to_string(oif) + ": " + st.message());
      return false;
    }
    pkt->oif = link;
    return true;
  }

  void Forward(Packet* pkt, const RouteAnswer& route) {
    if (!SetOif(pkt, route.oif)) return;
    if (!hooks_.Run(NF_INET_FORWARD, "forward", pkt)) return;
    if (!hooks_.Run(NF_INET_POST_ROUTING, "postrouting", pkt)) return;
    if (!hooks_.RunEgress("egress", pkt)) return;
    hooks_.Note("postrouting", "leaves " + pkt->oif.name + " towards " + AddrString(pkt->daddr));
    const std::string target = EndpointString(pkt->daddr, pkt->dport);
    // The destination may be on this host after all: a container's namespace.
    PeerAnswer peer;
    if (!kernel_->PeerListening(pkt->nfproto, pkt->l4proto, pkt->daddr, pkt->dport, &peer).ok()) {
      peer = PeerAnswer{};
    }
    if (peer.found) {
      hooks_.Note("destination", target + " is in network namespace " + peer.ns + ": " +
                                     (peer.listening ? "a socket listens" : "nothing listens"));
      result_->notes.push_back("the rules inside " + peer.ns + " are not traced");
    } else {
      result_->notes.push_back("assumes " + target + " answers: it is another host or namespace");
    }
    const bool closed = peer.found && !peer.listening;
    if (pkt->l4proto != 6) {
      if (closed) {
        result_->approximate = true;
        result_->notes.push_back("the ICMP port unreachable's way back is not traced");
        Done(Outcome::kUnreachable, "nothing listens on " + target + ": ICMP port unreachable",
             StopKind::kPeerNoListener);
      } else {
        Done(Outcome::kDelivered, "forwarded to " + AddrString(pkt->daddr));
      }
      return;
    }
    // The SYN-ACK (or the destination's reset) comes back in on the
    // interface the SYN left by.
    Packet reply = ReplyOf(*pkt, closed ? kTcpRstAck : kTcpSynAck);
    reply.iif = pkt->oif;
    if (!hooks_.RunIngress("reply ingress", &reply)) return;
    if (!hooks_.Run(NF_INET_PRE_ROUTING, "reply prerouting", &reply)) return;
    RouteAnswer back;
    if (!RouteIn(reply, "reply routing", &back)) return;
    if (back.type == RTN_LOCAL) {
      hooks_.Stop(Outcome::kUnknown, "the reply is routed to this host, not to the client");
      return;
    }
    if (!SetOif(&reply, back.oif)) return;
    if (!hooks_.Run(NF_INET_FORWARD, "reply forward", &reply)) return;
    if (!hooks_.Run(NF_INET_POST_ROUTING, "reply postrouting", &reply)) return;
    if (!hooks_.RunEgress("reply egress", &reply)) return;
    if (closed) {
      Done(Outcome::kRefused, "nothing listens on " + target + ": its reset returns",
           StopKind::kPeerNoListener);
    } else {
      Done(Outcome::kConnected, "forwarded to " + target + " and the reply returns");
    }
  }

  void Local(Packet* pkt) {
    pkt->oif = Interface{};
    if (!hooks_.Run(NF_INET_LOCAL_IN, "input", pkt)) return;
    bool listening = false;
    const Status st =
        kernel_->Listening(pkt->nfproto, pkt->l4proto, pkt->daddr, pkt->dport, &listening);
    if (!st.ok()) {
      hooks_.Stop(Outcome::kUnknown, "sockets could not be listed: " + st.message());
      return;
    }
    const std::string target = EndpointString(pkt->daddr, pkt->dport);
    hooks_.Note("local",
                listening ? "a socket listens on " + target : "nothing listens on " + target);
    if (pkt->l4proto != 6) {
      if (listening) {
        Done(Outcome::kDelivered, "delivered to a socket on " + target);
      } else {
        Done(Outcome::kUnreachable, "nothing listens on " + target + ": ICMP port unreachable",
             StopKind::kNoListener);
      }
      return;
    }
    // The SYN-ACK (or the reset) leaves the host: output, then postrouting.
    Packet reply = ReplyOf(*pkt, listening ? kTcpSynAck : kTcpRstAck);
    if (!hooks_.Run(NF_INET_LOCAL_OUT, "reply output", &reply)) return;
    RouteAnswer back;
    RouteQuery q{reply.saddr, reply.daddr, 0, reply.mark, reply.l4proto, reply.sport, reply.dport};
    if (!kernel_->Route(q, &back).ok() || back.error != 0) {
      hooks_.Stop(Outcome::kTimeout, "the reply has no route back to " + AddrString(reply.daddr),
                  std::nullopt, StopKind::kRoute);
      return;
    }
    if (!SetOif(&reply, back.oif)) return;
    if (!hooks_.Run(NF_INET_POST_ROUTING, "reply postrouting", &reply)) return;
    if (!hooks_.RunEgress("reply egress", &reply)) return;
    if (listening) {
      Done(Outcome::kConnected, "a local socket listens on " + target);
    } else {
      Done(Outcome::kRefused, "nothing listens on " + target + ": the host answers with a reset",
           StopKind::kNoListener);
    }
  }

  void Done(Outcome o, std::string reason, StopKind kind = StopKind::kNone) {
    result_->outcome = o;
    result_->reason = std::move(reason);
    result_->stop = kind;
  }

  KernelView* kernel_;
  TraceResult* result_;
  HookWalk hooks_;
};

// The errno for outcomes no ICMP decided: a reset is ECONNREFUSED (a
// connected UDP socket reads ECONNREFUSED for port unreachable), a silent
// drop ETIMEDOUT for TCP and nothing for UDP.
void FillClientErrno(const Packet& pkt, TraceResult* r) {
  if (!r->client_errno.empty()) return;
  const bool tcp = pkt.l4proto == 6;
  switch (r->outcome) {
    case Outcome::kRefused:
      r->client_errno = "ECONNREFUSED";
      break;
    case Outcome::kUnreachable:
      r->client_errno = tcp ? "EHOSTUNREACH" : "ECONNREFUSED";
      break;
    case Outcome::kTimeout:
      r->client_errno = tcp ? "ETIMEDOUT" : "";
      break;
    default:
      break;
  }
}

}  // namespace

Status Tracer::Trace(const Packet& pkt, TraceResult* result) {
  for (int attempt = 0; attempt < kTraceAttempts; ++attempt) {
    *result = TraceResult{};
    Status st = ruleset_->Begin(&result->generation);
    if (!st.ok()) return st;
    if (legacy_ != nullptr) {
      st = legacy_->Begin();
      if (!st.ok()) return st;
    }
    Walk(ruleset_, legacy_, kernel_, result).Run(pkt);
    FillClientErrno(pkt, result);
    bool current = false;
    st = ruleset_->StillCurrent(&current);
    if (!st.ok()) return st;
    if (current) return Status::Ok();
  }
  *result = TraceResult{};
  result->outcome = Outcome::kUnknown;
  result->reason = "the ruleset kept changing during " + std::to_string(kTraceAttempts) + " traces";
  return Status::Ok();
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kConnected:
      return "connected";
    case Outcome::kDelivered:
      return "delivered";
    case Outcome::kRefused:
      return "refused";
    case Outcome::kUnreachable:
      return "unreachable";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace portmap::pathtrace
