#include "collectors/verdict/verdict_rules.h"

#include <span>

namespace portmap {

namespace {

// Three-valued logic: nullopt is "unknown", and a known operand that settles
// the result wins over an unknown one (false AND unknown = false).
using Tri = std::optional<bool>;

Tri Not(Tri a) { return a ? Tri(!*a) : std::nullopt; }
Tri And(Tri a, Tri b) {
  if (a == false || b == false) return false;
  if (!a || !b) return std::nullopt;
  return true;
}
Tri Or(Tri a, Tri b) { return Not(And(Not(a), Not(b))); }

// firewalld rejects new connections to the port: it runs, and the port is
// not open in the ingress zone.  Not running settles it.
Tri FirewalldCloses(const PortFacts& f) { return And(f.firewalld_up, Not(f.firewalld_allowed)); }

// The host path cuts the port off when nothing serves it on the host, or
// firewalld's INPUT rejects it first.
Tri HostPathCutOff(const PortFacts& f) { return Or(Not(f.host_listener), FirewalldCloses(f)); }

struct Rule {
  BlockCause cause;
  Tri (*holds)(const PortFacts&);
};

// The SYN is DNATed and forwarded to the container.  The host path's causes
// are settled: the DNAT (so the chain) is there.
constexpr Rule kForwardedPath[] = {
    {BlockCause::kIpForwardDisabled, [](const PortFacts& f) { return Not(f.ip_forward); }},
    {BlockCause::kDockerChainMissing, [](const PortFacts&) { return Tri(false); }},
    {BlockCause::kDnatRuleMissing, [](const PortFacts&) { return Tri(false); }},
    {BlockCause::kFirewalldPortClosed,
     [](const PortFacts& f) { return And(f.firewalld_nftables, FirewalldCloses(f)); }},
    {BlockCause::kForwardPolicyDrop, [](const PortFacts& f) { return Not(f.forward_accepts); }},
};

// No DNAT: the SYN is for the host itself.  Forwarding does not matter.
constexpr Rule kHostPath[] = {
    {BlockCause::kIpForwardDisabled, [](const PortFacts&) { return Tri(false); }},
    {BlockCause::kDockerChainMissing,
     [](const PortFacts& f) { return And(Not(f.nat_docker_present), HostPathCutOff(f)); }},
    {BlockCause::kDnatRuleMissing,
     [](const PortFacts& f) { return And(f.nat_docker_present, HostPathCutOff(f)); }},
    {BlockCause::kFirewalldPortClosed, &FirewalldCloses},
    {BlockCause::kForwardPolicyDrop, [](const PortFacts&) { return Tri(false); }},
};

}  // namespace

std::string_view BlockCauseName(BlockCause cause) {
  switch (cause) {
    case BlockCause::kIpForwardDisabled:
      return "ip_forward_disabled";
    case BlockCause::kDockerChainMissing:
      return "docker_chain_missing";
    case BlockCause::kDnatRuleMissing:
      return "dnat_rule_missing";
    case BlockCause::kFirewalldPortClosed:
      return "firewalld_port_closed";
    case BlockCause::kForwardPolicyDrop:
      return "forward_policy_drop";
  }
  return "unknown";
}

PortVerdict JudgePort(const PortFacts& facts) {
  PortVerdict verdict;
  if (!facts.dnat_present) return verdict;  // the path is unknown: so is everything
  Tri blocked = false;
  for (const Rule& rule : *facts.dnat_present ? std::span<const Rule>(kForwardedPath)
                                              : std::span<const Rule>(kHostPath)) {
    const Tri holds = rule.holds(facts);
    blocked = Or(blocked, holds);
    if (holds) verdict.causes.push_back({rule.cause, *holds});
  }
  verdict.reachable = Not(blocked);
  return verdict;
}

}  // namespace portmap
