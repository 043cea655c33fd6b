// Would firewalld let a connection to a published port through, from a given
// zone?  The decision the `firewalld_port_closed` cause rests on, computed
// from firewalld's own runtime settings (as read over D-Bus) without I/O, so it
// is unit-tested on plain values.
//
// A port is allowed from zone Z (the zone of the ingress interface) when any
// of these holds, checked in this order (the first one is reported as `by`):
//   target   Z's target is ACCEPT (e.g. `trusted`, or Docker's `docker` zone)
//   port     Z has a port entry covering it ("5000"/tcp, "5000-5010"/tcp)
//   protocol Z allows the whole protocol ("tcp")
//   service  Z has a service whose ports (or included services' ports, up to
//            kMaxServiceIncludeDepth deep) cover it
//   policy   an active policy whose ingress zones hold Z (or ANY) and whose
//            egress zones hold `docker`, HOST or ANY accepts it by target
//            ACCEPT or by a port entry / service (Docker's `docker-forwarding`
//            policy: ingress ANY, egress docker, target ACCEPT)
// Anything else is not allowed: firewalld's zone targets default, DROP and
// %%REJECT%% all end in a reject or a drop for new connections.
//
// Approximated, and reported as such (`approximate` = true) rather than
// guessed: a rich rule in Z or in a matching policy that may concern the port
// (RichRuleMayMatch; it may accept, reject, limit or log it for some sources
// only), and a forward-port in Z whose port covers it (the connection is
// redirected before the port is checked).  Policies are only looked at when
// the zone itself does not allow the port.
// Source-based zones (a zone bound to a source address, not an interface) are
// not considered: the verdict is per ingress interface.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/dbus/decode.h"

namespace portmap {

inline constexpr int kMaxServiceIncludeDepth = 4;

struct PublishedPort {
  std::string proto;  // "tcp" | "udp" | "sctp"
  uint16_t port = 0;
  bool operator<(const PublishedPort& o) const {
    return proto != o.proto ? proto < o.proto : port < o.port;
  }
  bool operator==(const PublishedPort& o) const = default;
};

using PortEntries = std::vector<std::pair<std::string, std::string>>;  // (port, proto)

// The runtime settings of a zone (getZoneSettings2).
struct ZoneSettings {
  std::string target;  // "default" | "ACCEPT" | "DROP" | "%%REJECT%%"
  std::vector<std::string> services;
  PortEntries ports;
  std::vector<std::string> protocols;
  std::vector<std::string> rich_rules;
  std::vector<std::array<std::string, 4>> forward_ports;  // (port, proto, toport, toaddr)
};

// A service definition (getServiceSettings2).
struct ServiceSettings {
  PortEntries ports;
  std::vector<std::string> protocols;
  std::vector<std::string> includes;
};

// An active policy (getActivePolicies for the zones, getPolicySettings for
// the rest).
struct PolicySettings {
  std::string target;  // "CONTINUE" | "ACCEPT" | "DROP" | "REJECT"
  std::vector<std::string> services;
  PortEntries ports;
  std::vector<std::string> rich_rules;
  std::vector<std::string> ingress_zones;
  std::vector<std::string> egress_zones;
};

ZoneSettings ZoneFromSettings(const dbus::Settings& s);
ServiceSettings ServiceFromSettings(const dbus::Settings& s);
// Zones come from getActivePolicies when firewalld lists them there; the
// settings' own ingress_zones / egress_zones are used otherwise.
PolicySettings PolicyFromSettings(const dbus::Settings& s);

// Whether firewalld's port string ("5000" or "5000-5010") covers `port`.
// A malformed string covers nothing.
bool PortStringCovers(const std::string& spec, uint16_t port);

// Whether a rich rule (firewalld's text form) could concern `port`: false
// for ICMP and masquerade rules and for rules naming only other ports or
// another protocol; true otherwise (a service, a source-only rule, ...).
bool RichRuleMayMatch(const std::string& rule, const PublishedPort& port);

struct PortVerdict {
  bool allowed = false;
  std::string by;  // "target", "port", "protocol", "service:NAME", "policy:NAME"; "" when not
  bool approximate = false;
};

struct FirewalldView {
  std::map<std::string, ServiceSettings> services;  // by name; missing ones cover nothing
  std::map<std::string, PolicySettings> policies;   // active policies by name
};

PortVerdict EvaluatePort(const PublishedPort& port, const std::string& zone_name,
                         const ZoneSettings& zone, const FirewalldView& view);

// The names of services `zone` and the policies refer to directly; the
// collector fetches these (and their includes) before evaluating.
std::vector<std::string> ReferencedServices(const ZoneSettings& zone, const FirewalldView& view);

}  // namespace portmap
