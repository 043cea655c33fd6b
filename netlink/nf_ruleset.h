// nf_ruleset: what the netfilter collector needs to know about a chain, the
// same for both kernel backends.
//
// The nf_tables reader (nftables.h) and the x_tables reader (xtables.h) each
// decode the kernel's own format into these structs, so the Docker model in
// collectors/netfilter/ never sees an expression list or an ipt_entry.
// Only the facts the exporter exports are kept: per-rule counters, the chain
// a rule jumps to, and what a DNAT rule publishes.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portmap {

// What a DNAT rule maps (Docker writes one in nat DOCKER per published port):
//   -d HOST_IP -p PROTO --dport HOST_PORT -j DNAT --to-destination C_IP:C_PORT
struct NfPortMapping {
  std::string proto;            // "tcp", "udp", "sctp"; "" when the rule names none
  std::string host_ip;          // the destination match; "0.0.0.0" / "::" for any
  uint16_t host_port = 0;       // the destination port match (the low end of a range)
  std::string container_ip;     // DNAT's address (the low end of a range)
  uint16_t container_port = 0;  // DNAT's port; the host port when DNAT names none

  bool operator==(const NfPortMapping&) const = default;
};

struct NfRule {
  uint64_t packets = 0;  // the rule's counter; 0 when it has none
  uint64_t bytes = 0;
  std::string jump;                   // the user chain it jumps (or goes) to; "" otherwise
  std::optional<NfPortMapping> dnat;  // set for a DNAT rule that could be read
};

struct NfChain {
  std::string family;  // "ipv4" or "ipv6"
  std::string table;   // "nat", "filter", ...
  std::string name;
  bool base = false;                  // attached to a hook (PREROUTING, FORWARD, ...)
  std::optional<bool> policy_accept;  // base chains only
  std::vector<NfRule> rules;
};

}  // namespace portmap
