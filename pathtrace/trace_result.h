// trace_result: what a trace says — the outcome a real client would get, the
// rule that decided it, and every step on the way.  The `trace` command
// prints it (text or JSON, docs/trace.md) and the verdict reads it.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portmap::pathtrace {

// What the client's connect() (TCP) or the datagram (UDP) gets.
enum class Outcome : uint8_t {
  kConnected,    // TCP: the SYN reached a listener and its SYN-ACK came back
  kDelivered,    // UDP: the datagram reached a bound socket or left towards it
  kRefused,      // ECONNREFUSED: a TCP reset, or ICMP port unreachable
  kUnreachable,  // EHOSTUNREACH / ENETUNREACH: ICMP host/net unreachable, prohibited
  kTimeout,      // silently dropped, on the way in or the reply's way back
  kUnknown,      // something the tracer cannot evaluate; `reason` says what
};

// "connected", "delivered", "refused", "unreachable", "timeout", "unknown".
const char* OutcomeName(Outcome o);

// What stopped the packet, for a program that names causes (the verdict):
// the same facts `reason` words for humans, as values.
enum class StopKind : uint8_t {
  kNone,            // it got through, or the outcome is unknown
  kRule,            // a rule or a chain's policy: stopped_at says which
  kForwarding,      // the route lookup refused to forward: forwarding is off on the
                    // input interface (IPv4), or IPv6 forwarding is off
  kReversePath,     // rp_filter refused the source (or, on 6.13+, most likely did)
  kRoute,           // no route, an unreachable/prohibit/blackhole route, a martian,
                    // or the reply has no route back
  kNoListener,      // delivered locally and nothing listens on the port
  kPeerNoListener,  // forwarded to a namespace of this host where nothing listens
};

// Where a trace stopped, or a rule it evaluated.
struct RuleRef {
  std::string backend;  // "nf_tables" or "x_tables" (legacy iptables)
  std::string family;   // "ip", "ip6", "inet"
  std::string table;
  std::string chain;
  uint64_t handle = 0;  // nf_tables rule handle; x_tables: the rule's position (1-based)
  bool policy = false;  // the chain's policy, not a rule
  std::string text;     // the rule as its expressions (nft --debug=netlink style)
  std::string comment;  // the rule's comment, when it has one
};

// One line of the trace: a hook entered, a chain entered or left, a rule that
// matched, the routing decision, the listener check.
struct TraceStep {
  std::string phase;  // "prerouting", "routing", "forward", "input", "output",
                      // "postrouting", "local", "reply prerouting", ...
  int depth = 0;      // chain nesting (jumps) for indentation
  std::string text;   // what happened, for humans
  std::optional<RuleRef> rule;
  std::string verdict;  // "accept", "drop", "jump DOCKER", "dnat to ...", ""
};

struct TraceResult {
  Outcome outcome = Outcome::kUnknown;
  std::string reason;                 // one sentence: why this outcome
  std::string client_errno;           // what connect() fails with: "ECONNREFUSED",
                                      // "EHOSTUNREACH", "EACCES", "ETIMEDOUT"...; "" when it works
  std::optional<RuleRef> stopped_at;  // the rule or policy that decided, if one did
  StopKind stop = StopKind::kNone;
  std::string stop_phase;     // the phase it stopped in ("prerouting", "forward", ...)
  int32_t stop_priority = 0;  // the priority of the base chain (or legacy table) that stopped it
  bool dnat = false;          // the destination was rewritten (a DNAT matched) before routing
  bool local = false;         // routed to this host (local delivery), not forwarded
  std::vector<TraceStep> steps;
  uint32_t generation = 0;         // the nf_tables ruleset generation traced
  bool approximate = false;        // a rule that might drop (limit, quota) was passed
  std::vector<std::string> notes;  // what the outcome assumes (e.g. the remote answers)
};

}  // namespace portmap::pathtrace
