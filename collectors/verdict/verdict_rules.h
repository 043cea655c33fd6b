// The verdict's rules: from the host's state alone, would a connection from
// another host to a published port get through, and if not, why?
//
// The rules follow the SYN from outside to the published port:
//
//   nat DOCKER DNATs the port (the normal case): the SYN is FORWARDED to the
//   container, so it needs
//     ip_forward_disabled    net.ipv4.ip_forward = 1 (else the kernel drops
//                            it silently: the outside times out)
//     forward_policy_drop    Docker's FORWARD accepts (filter DOCKER holds its
//                            per-port ACCEPTs) or FORWARD's policy accepts
//     firewalld_port_closed  with firewalld's nftables backend, firewalld's
//                            own forward chain lets it through (the ingress
//                            zone, or a policy to the docker zone); with the
//                            iptables backend Docker's rules come first
//
//   no DNAT for the port (firewalld wiped the chains, or the rule is gone):
//   the SYN is for the HOST itself, so it is served only if something
//   listens there (docker-proxy, the userland proxy, on 0.0.0.0:PORT) and
//   firewalld's INPUT lets it in:
//     docker_chain_missing   nat DOCKER is gone         } hold when the port is
//     dnat_rule_missing      nat DOCKER lacks the rule  } cut off by it: no
//                                                        listener, or firewalld
//     firewalld_port_closed  firewalld runs and the port is not open in the
//                            zone of the ingress interface
//
// Measured in the lab (tests/lab/probe_test.sh, README.md): ip_forward off
// times out from outside while 127.0.0.1 still answers; a wipe without
// firewalld still connects through the userland proxy; a wipe by firewalld
// with the port not open in zone public is refused (the zone's REJECT sends
// ICMP port-unreachable) while the host itself still connects.
//
// A cause is reported only when it holds on the path the SYN takes, so every
// cause reported is one whose fix would let the port answer (or one of
// several that must all be fixed).  A cause whose inputs are unknown is left
// out, and so is the prediction unless another cause already blocks.
//
// Thread safety: pure.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace portmap {

enum class BlockCause {
  kIpForwardDisabled,
  kDockerChainMissing,
  kDnatRuleMissing,
  kFirewalldPortClosed,
  kForwardPolicyDrop,
};

// The label value: "ip_forward_disabled", "docker_chain_missing", ...
std::string_view BlockCauseName(BlockCause cause);

// Everything the rules read about one published port; nullopt = unknown.
struct PortFacts {
  std::optional<bool> ip_forward;          // net.ipv4.ip_forward
  std::optional<bool> nat_docker_present;  // nat DOCKER exists
  std::optional<bool> dnat_present;        // nat DOCKER DNATs this port
  std::optional<bool> forward_accepts;     // filter DOCKER accepts, or FORWARD's policy
  std::optional<bool> firewalld_up;
  std::optional<bool> firewalld_nftables;  // firewalld's own tables filter forwarded packets
  std::optional<bool> firewalld_allowed;   // open in every ingress zone
  std::optional<bool> host_listener;       // something listens on it beyond loopback
};

struct CauseVerdict {
  BlockCause cause;
  bool holds = false;
};

struct PortVerdict {
  std::vector<CauseVerdict> causes;  // each cause that could be evaluated
  std::optional<bool> reachable;     // nullopt: not enough is known
};

PortVerdict JudgePort(const PortFacts& facts);

}  // namespace portmap
