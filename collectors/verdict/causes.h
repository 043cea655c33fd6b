// causes: where a traced packet stopped (pathtrace/trace_result.h), named as
// the causes users page on.
//
// A trace that connects (or delivers a datagram) is reachable; one whose
// outcome is unknown stays unknown with the tracer's reason; anything else
// is blocked, with one or two causes:
//
//   the packet was not DNATed and was routed to this host, for a port a
//   Docker DNAT rule published (or that the configuration names):
//     docker_chain_missing   Docker's nat chain is gone (nat DOCKER, or
//                            docker-bridges nat-prerouting-and-output)
//     dnat_rule_missing      the chain is there without the port's rule
//   then, or alone, what stopped it:
//     ip_forward_disabled    the route lookup refused to forward (IPv4:
//                            ip_forward or the input interface's switch;
//                            IPv6: all.forwarding)
//     rp_filter              reverse-path filtering refused the client
//     no_route               no route, an unreachable/prohibit/blackhole
//                            route, or no way back for the reply
//     no_listener            nothing listens where it arrived (a container's
//                            namespace, or the host for a port never DNATed);
//                            after a DNAT cause this adds nothing
//   a rule or a chain's policy, by whose it is (RuleCause):
//     firewalld_port_closed  firewalld's: table `firewalld` (nftables
//                            backend), its chains (iptables backend:
//                            INPUT_ZONES, IN_<zone>..., FWDI_/FWDO_<zone>...,
//                            *_direct) or the final reject of a base chain
//                            that jumped to them
//     raw_drop               table raw, Docker 29's raw-PREROUTING, or an nft
//                            chain at raw priority (-300) or before
//     docker_user_drop       DOCKER-USER
//     docker_rule_drop       Docker's own chains (DOCKER*, table docker-bridges)
//     forward_policy_drop    the policy of iptables' filter FORWARD
//     foreign_rule_drop      anything else: a hand-written nftables.conf, ufw,
//                            another tool's table
//
// Thread safety: pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pathtrace/trace_result.h"

namespace portmap {

enum class BlockCause {
  kIpForwardDisabled,
  kRpFilter,
  kNoRoute,
  kRawDrop,
  kFirewalldPortClosed,
  kDockerUserDrop,
  kDockerRuleDrop,
  kForwardPolicyDrop,
  kForeignRuleDrop,
  kDockerChainMissing,
  kDnatRuleMissing,
  kNoListener,
};

// The label value: "ip_forward_disabled", "docker_chain_missing", ...
std::string_view BlockCauseName(BlockCause cause);

// What the trace alone does not say.
struct PathContext {
  // A Docker DNAT rule published the port at some point, or it is named as
  // published (configuration, diagnose --port).
  bool dnat_expected = false;
  // Docker's nat chain exists now (decides chain vs rule missing).
  bool docker_nat_chain_present = false;
};

struct PathVerdict {
  enum class State { kReachable, kBlocked, kUnknown };
  State state = State::kUnknown;
  std::vector<BlockCause> causes;  // kBlocked: one or two, in the order above
  std::string place;               // kBlocked: where, for humans
  std::string reason;              // kUnknown: why
};

PathVerdict JudgeTrace(const pathtrace::TraceResult& trace, const PathContext& ctx);

// The cause a rule that stopped `trace` (trace.stopped_at) stands for.
BlockCause RuleCause(const pathtrace::TraceResult& trace);

// "nf_tables inet filter forward: policy drop", "x_tables filter INPUT: rule
// 5 rejects", ...: the rule or policy that stopped `trace`.
std::string RulePlace(const pathtrace::TraceResult& trace);

}  // namespace portmap
