// hook_walk: one netfilter hook on the packet — every base chain hooked there
// in the kernel's priority order, conntrack attached at its own priority, nat
// chains only for a new connection — and the routing decision.  Internal to
// the tracer (tracer.h), which strings hooks into a path.  nf_tables base
// chains and iptables-legacy tables run in one priority order, as the kernel
// registers both on the same hooks.
//
// Thread safety: used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pathtrace/chain_outcome.h"
#include "pathtrace/kernel.h"
#include "pathtrace/packet.h"
#include "pathtrace/ruleset.h"
#include "pathtrace/trace_result.h"
#include "pathtrace/xt_legacy_source.h"

namespace portmap::pathtrace {

inline constexpr int32_t kPriorityConntrack = -200;  // NF_IP_PRI_CONNTRACK
inline constexpr int32_t kPriorityNatDst = -100;     // NF_IP_PRI_NAT_DST
inline constexpr int32_t kPriorityNatSrc = 100;      // NF_IP_PRI_NAT_SRC

class HookWalk {
 public:
  // `legacy` may be null: no iptables-legacy tables are evaluated.
  HookWalk(RulesetSource* ruleset, LegacyRuleset* legacy, KernelView* kernel, TraceResult* result)
      : ruleset_(ruleset), legacy_(legacy), kernel_(kernel), result_(result) {}

  // Runs hook `hook` (NF_INET_*) on *pkt.  True when the packet goes on;
  // false when it stopped, with result->outcome, stopped_at and reason set.
  bool Run(uint32_t hook, const std::string& phase, Packet* pkt);

  // The ingress hook of the packet's input device, before prerouting:
  // netdev-family chains hooked at ingress and inet chains hooked at
  // NF_INET_INGRESS (Linux 5.10), those bound to pkt->iif's name.  Before
  // conntrack: no connection is attached yet.
  bool RunIngress(const std::string& phase, Packet* pkt);

  // The egress hook of the packet's output device, after postrouting:
  // netdev-family chains hooked at egress bound to pkt->oif's name.
  bool RunEgress(const std::string& phase, Packet* pkt);

  // Ends the trace as `outcome` because of `reason`; kind says what stopped
  // it for programs (kRule when `where` is a rule).
  void Stop(Outcome outcome, std::string reason, std::optional<RuleRef> where = std::nullopt,
            StopKind kind = StopKind::kNone);

  void Note(const std::string& phase, std::string text);

 private:
  // The netdev chains of `netdev_hook` (and inet chains of `inet_hook`)
  // bound to `device`, by priority.
  bool RunDevice(uint32_t netdev_hook, std::optional<uint32_t> inet_hook, const std::string& device,
                 const std::string& phase, Packet* pkt);

  // A chain's outcome that ends the packet's way, as the client sees it.
  void StopOn(const ChainOutcome& c, const Packet& pkt, const std::string& phase, int32_t priority);

  RulesetSource* ruleset_;
  LegacyRuleset* legacy_;
  KernelView* kernel_;
  TraceResult* result_;
};

// What a client sees for a reject, and the errno its connect() (or a
// connected UDP socket) fails with in *client_errno: a TCP reset is refused
// (ECONNREFUSED); an ICMP error is refused when it is port unreachable, else
// unreachable (EHOSTUNREACH, ENETUNREACH, or EACCES for IPv6's
// administratively prohibited); UDP sees unreachable for any ICMP error and
// nothing (a timeout) for a TCP reset.
Outcome RejectOutcome(const RejectAction& r, const Packet& pkt, std::string* client_errno);

// The errno an ICMP(v6) destination-unreachable `code` turns into at the
// client (icmp_err_convert, icmpv6_err_convert).
const char* IcmpErrno(bool ipv6, uint8_t code);

}  // namespace portmap::pathtrace
