#include "collectors/verdict/causes.h"

#include <array>
#include <cstdint>

namespace portmap {

namespace {

using pathtrace::Outcome;
using pathtrace::RuleRef;
using pathtrace::StopKind;
using pathtrace::TraceResult;

constexpr int32_t kPriorityRaw = -300;  // NF_IP_PRI_RAW

// firewalld's iptables backend: its fixed chains, and the per-zone and
// per-policy chain prefixes (firewalld/core/ipXtables.py).
constexpr std::array<std::string_view, 9> kFirewalldChains = {
    "INPUT_ZONES",   "FORWARD_IN_ZONES", "FORWARD_OUT_ZONES", "INPUT_direct",     "FORWARD_direct",
    "OUTPUT_direct", "PREROUTING_ZONES", "POSTROUTING_ZONES", "PREROUTING_direct"};
constexpr std::array<std::string_view, 7> kFirewalldPrefixes = {"IN_",  "FWDI_", "FWDO_", "FWD_",
                                                                "PRE_", "POST_", "OUT_"};

bool IsFirewalldChain(std::string_view chain) {
  for (std::string_view c : kFirewalldChains) {
    if (chain == c) return true;
  }
  for (std::string_view p : kFirewalldPrefixes) {
    if (chain.starts_with(p)) return true;
  }
  return false;
}

// The chain a "jump X" / "goto X" step names; "" otherwise.
std::string_view JumpTarget(std::string_view verdict) {
  for (std::string_view verb : {"jump ", "goto "}) {
    if (verdict.starts_with(verb)) return verdict.substr(verb.size());
  }
  return {};
}

// Whether the packet went through firewalld's iptables chains in the same
// table on its way to `at`: the final REJECT of INPUT / FORWARD that
// firewalld appends after its zone dispatch is firewalld's.
bool PassedFirewalldChains(const TraceResult& trace, const RuleRef& at) {
  for (const pathtrace::TraceStep& s : trace.steps) {
    if (!s.rule || s.rule->table != at.table || s.rule->family != at.family) continue;
    if (IsFirewalldChain(s.rule->chain) || IsFirewalldChain(JumpTarget(s.verdict))) return true;
  }
  return false;
}

bool IsDockerChain(std::string_view chain) { return chain.starts_with("DOCKER"); }

}  // namespace

std::string_view BlockCauseName(BlockCause cause) {
  switch (cause) {
    case BlockCause::kIpForwardDisabled:
      return "ip_forward_disabled";
    case BlockCause::kRpFilter:
      return "rp_filter";
    case BlockCause::kNoRoute:
      return "no_route";
    case BlockCause::kRawDrop:
      return "raw_drop";
    case BlockCause::kFirewalldPortClosed:
      return "firewalld_port_closed";
    case BlockCause::kDockerUserDrop:
      return "docker_user_drop";
    case BlockCause::kDockerRuleDrop:
      return "docker_rule_drop";
    case BlockCause::kForwardPolicyDrop:
      return "forward_policy_drop";
    case BlockCause::kForeignRuleDrop:
      return "foreign_rule_drop";
    case BlockCause::kDockerChainMissing:
      return "docker_chain_missing";
    case BlockCause::kDnatRuleMissing:
      return "dnat_rule_missing";
    case BlockCause::kNoListener:
      return "no_listener";
  }
  return "unknown";
}

BlockCause RuleCause(const TraceResult& trace) {
  if (!trace.stopped_at) return BlockCause::kForeignRuleDrop;
  const RuleRef& at = *trace.stopped_at;
  if (at.table == "firewalld") return BlockCause::kFirewalldPortClosed;  // nftables backend
  const bool iptables = at.backend == "x_tables" || at.family == "ip" || at.family == "ip6";
  if (iptables && IsFirewalldChain(at.chain)) return BlockCause::kFirewalldPortClosed;
  if (at.table == "raw" || at.chain == "raw-PREROUTING") return BlockCause::kRawDrop;
  if (at.backend == "nf_tables" && trace.stop_phase == "prerouting" &&
      trace.stop_priority <= kPriorityRaw) {
    return BlockCause::kRawDrop;
  }
  if (at.chain == "DOCKER-USER") return BlockCause::kDockerUserDrop;
  if (at.table == "docker-bridges" || (iptables && IsDockerChain(at.chain))) {
    return BlockCause::kDockerRuleDrop;
  }
  if (iptables && at.table == "filter" && (at.chain == "INPUT" || at.chain == "FORWARD") &&
      !at.policy && PassedFirewalldChains(trace, at)) {
    return BlockCause::kFirewalldPortClosed;
  }
  if (iptables && at.table == "filter" && at.chain == "FORWARD" && at.policy) {
    return BlockCause::kForwardPolicyDrop;
  }
  return BlockCause::kForeignRuleDrop;
}

std::string RulePlace(const TraceResult& trace) {
  if (!trace.stopped_at) return trace.reason;
  const RuleRef& at = *trace.stopped_at;
  const bool dropped = trace.outcome == Outcome::kTimeout;
  std::string place = at.backend + " " + (at.backend == "x_tables" ? "" : at.family + " ") +
                      at.table + " " + at.chain + ": ";
  if (at.policy) return place + (dropped ? "policy drop" : "policy reject");
  place += "rule " + std::string(at.backend == "x_tables" ? "#" : "handle ") +
           std::to_string(at.handle) + (dropped ? " drops" : " rejects");
  if (!at.comment.empty()) place += " (\"" + at.comment + "\")";
  return place;
}

PathVerdict JudgeTrace(const TraceResult& trace, const PathContext& ctx) {
  PathVerdict v;
  switch (trace.outcome) {
    case Outcome::kConnected:
    case Outcome::kDelivered:
      v.state = PathVerdict::State::kReachable;
      return v;
    case Outcome::kUnknown:
      v.state = PathVerdict::State::kUnknown;
      v.reason = trace.reason;
      return v;
    default:
      break;
  }
  v.state = PathVerdict::State::kBlocked;
  v.place = trace.reason;
  // Served by the host instead of DNATed to the container, and not served.
  const bool dnat_missing = !trace.dnat && trace.local && ctx.dnat_expected;
  if (dnat_missing) {
    v.causes.push_back(ctx.docker_nat_chain_present ? BlockCause::kDnatRuleMissing
                                                    : BlockCause::kDockerChainMissing);
  }
  switch (trace.stop) {
    case StopKind::kRule:
      v.causes.push_back(RuleCause(trace));
      v.place = RulePlace(trace);
      break;
    case StopKind::kForwarding:
      v.causes.push_back(BlockCause::kIpForwardDisabled);
      break;
    case StopKind::kReversePath:
      v.causes.push_back(BlockCause::kRpFilter);
      break;
    case StopKind::kRoute:
      v.causes.push_back(BlockCause::kNoRoute);
      break;
    case StopKind::kNoListener:
    case StopKind::kPeerNoListener:
      if (!dnat_missing) v.causes.push_back(BlockCause::kNoListener);
      break;
    case StopKind::kNone:
      // A blocked outcome always says what stopped it; if not, say so
      // rather than name a cause.
      v.state = PathVerdict::State::kUnknown;
      v.reason = "the trace did not say what stopped the packet: " + trace.reason;
      v.causes.clear();
      break;
  }
  if (dnat_missing && v.state == PathVerdict::State::kBlocked) {
    v.place = "no DNAT for the port; " + v.place;
  }
  return v;
}

}  // namespace portmap
