// tracer: follows one packet through the host's netfilter hooks in the
// kernel's order, asking the kernel for the routing decision, and says what
// the client gets.
//
// A new connection from outside (the SYN, or a UDP datagram) goes:
//   ingress      netdev (and inet, Linux 5.10) chains bound to the input device
//   prerouting   every base chain hooked at NF_INET_PRE_ROUTING (ip/ip6 and
//                inet tables), by priority: raw -300, [conntrack -200],
//                mangle -150, dstnat -100 (type nat chains run only for a new
//                connection), ...
//   routing      RTM_GETROUTE with the input interface, source, destination
//                after DNAT and mark: local delivery, forward, or refused
//                (forwarding off → silently dropped; rp_filter → dropped)
//   input        NF_INET_LOCAL_IN chains, then a listener check (sock_diag):
//                none → TCP reset (refused) / ICMP port unreachable (UDP)
//   forward      NF_INET_FORWARD chains
//   postrouting  NF_INET_POST_ROUTING chains (srcnat for a new connection),
//                then netdev egress chains bound to the output device
// and, for TCP, the reply (SYN-ACK, or the reset) comes back: from a local
// listener through output and postrouting; from a forwarded destination
// through prerouting, routing, forward and postrouting, as an established
// reply of the same connection (nat chains skipped, DNAT undone).
//
// Chains of every family run in one priority order per hook, as the kernel
// registers them; legacy x_tables tables are evaluated at their priorities
// too, when a LegacyRuleset is given.  The first drop ends the trace; an accept
// ends only its base chain.
//
// A forwarded packet is assumed answered by its destination (another host
// or namespace the tracer cannot look into); the result's notes say so.
//
// Thread safety: a Tracer is used by one thread at a time.
#pragma once

#include <cstdint>

#include "pathtrace/kernel.h"
#include "pathtrace/packet.h"
#include "pathtrace/ruleset.h"
#include "pathtrace/trace_result.h"
#include "pathtrace/xt_legacy_source.h"

namespace portmap::pathtrace {

inline constexpr int kTraceAttempts = 4;  // restarts when the ruleset changes mid-trace

class Tracer {
 public:
  // `legacy` may be null (no iptables-legacy tables are evaluated).
  Tracer(RulesetSource* ruleset, KernelView* kernel, LegacyRuleset* legacy = nullptr)
      : ruleset_(ruleset), legacy_(legacy), kernel_(kernel) {}

  // Traces `pkt` (a SYN or UDP datagram arriving on pkt.iif from outside).
  // A Status error only when the kernel could not be read at all; anything
  // the tracer cannot evaluate is an Outcome::kUnknown result.
  Status Trace(const Packet& pkt, TraceResult* result);

 private:
  RulesetSource* ruleset_;
  LegacyRuleset* legacy_;
  KernelView* kernel_;
};

}  // namespace portmap::pathtrace
