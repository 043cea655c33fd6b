#include "collectors/firewalld/firewalld_ports.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>

namespace portmap {

namespace {

template <typename T>
T Lookup(const std::map<std::string, T>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? T() : it->second;
}

bool ParsePort(std::string_view s, uint32_t* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && *out <= 65535;
}

bool Contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool EntriesCover(const PortEntries& entries, const PublishedPort& port) {
  return std::any_of(entries.begin(), entries.end(), [&port](const auto& e) {
    return e.second == port.proto && PortStringCovers(e.first, port.port);
  });
}

// Whether service `name` (or a service it includes) covers the port.
bool ServiceCovers(const std::string& name, const PublishedPort& port, const FirewalldView& view,
                   int depth, std::set<std::string>* seen) {
  if (depth > kMaxServiceIncludeDepth || !seen->insert(name).second) return false;
  auto it = view.services.find(name);
  if (it == view.services.end()) return false;
  const ServiceSettings& svc = it->second;
  if (EntriesCover(svc.ports, port) || Contains(svc.protocols, port.proto)) return true;
  return std::any_of(svc.includes.begin(), svc.includes.end(), [&](const std::string& inc) {
    return ServiceCovers(inc, port, view, depth + 1, seen);
  });
}

std::string CoveringService(const std::vector<std::string>& services, const PublishedPort& port,
                            const FirewalldView& view) {
  for (const std::string& name : services) {
    std::set<std::string> seen;
    if (ServiceCovers(name, port, view, 0, &seen)) return name;
  }
  return "";
}

// Docker publishes into the `docker` zone; HOST is the userland-proxy path.
bool PolicyApplies(const PolicySettings& p, const std::string& zone) {
  const bool in = Contains(p.ingress_zones, zone) || Contains(p.ingress_zones, "ANY");
  const bool out = Contains(p.egress_zones, "docker") || Contains(p.egress_zones, "HOST") ||
                   Contains(p.egress_zones, "ANY");
  return in && out;
}

bool AnyRuleMayMatch(const std::vector<std::string>& rules, const PublishedPort& port) {
  return std::any_of(rules.begin(), rules.end(),
                     [&port](const std::string& r) { return RichRuleMayMatch(r, port); });
}

}  // namespace

bool RichRuleMayMatch(const std::string& rule, const PublishedPort& port) {
  // ICMP and masquerade rules never decide a TCP/UDP connection.
  if (rule.find("icmp-type") != std::string::npos || rule.find("icmp-block") != std::string::npos ||
      rule.find(" masquerade") != std::string::npos) {
    return false;
  }
  // A rule naming ports concerns only those; a quoted value ends at '"'.
  bool named_port = false;
  for (std::string_view key : {"port port=\"", "forward-port port=\""}) {
    for (size_t at = rule.find(key); at != std::string::npos; at = rule.find(key, at + 1)) {
      named_port = true;
      const size_t begin = at + key.size();
      const size_t end = rule.find('"', begin);
      if (end != std::string::npos &&
          PortStringCovers(rule.substr(begin, end - begin), port.port)) {
        return true;
      }
    }
  }
  if (named_port) return false;
  const std::string proto_key = "protocol value=\"";
  if (size_t at = rule.find(proto_key); at != std::string::npos) {
    return rule.compare(at + proto_key.size(), port.proto.size() + 1, port.proto + "\"") == 0;
  }
  return true;  // a service, or a source/destination-only rule: it may
}

ZoneSettings ZoneFromSettings(const dbus::Settings& s) {
  ZoneSettings z;
  z.target = Lookup(s.strings, "target");
  z.services = Lookup(s.lists, "services");
  z.ports = Lookup(s.pairs, "ports");
  z.protocols = Lookup(s.lists, "protocols");
  z.rich_rules = Lookup(s.lists, "rules_str");  // the zone's key for rich rules
  z.forward_ports = Lookup(s.quads, "forward_ports");
  return z;
}

ServiceSettings ServiceFromSettings(const dbus::Settings& s) {
  ServiceSettings svc;
  svc.ports = Lookup(s.pairs, "ports");
  svc.protocols = Lookup(s.lists, "protocols");
  svc.includes = Lookup(s.lists, "includes");
  return svc;
}

PolicySettings PolicyFromSettings(const dbus::Settings& s) {
  PolicySettings p;
  p.target = Lookup(s.strings, "target");
  p.services = Lookup(s.lists, "services");
  p.ports = Lookup(s.pairs, "ports");
  p.rich_rules = Lookup(s.lists, "rich_rules");  // the policy's key (zones say rules_str)
  p.ingress_zones = Lookup(s.lists, "ingress_zones");
  p.egress_zones = Lookup(s.lists, "egress_zones");
  return p;
}

bool PortStringCovers(const std::string& spec, uint16_t port) {
  const std::string_view s = spec;
  const size_t dash = s.find('-');
  uint32_t lo = 0;
  uint32_t hi = 0;
  if (dash == std::string_view::npos) {
    if (!ParsePort(s, &lo)) return false;
    hi = lo;
  } else if (!ParsePort(s.substr(0, dash), &lo) || !ParsePort(s.substr(dash + 1), &hi)) {
    return false;
  }
  return lo <= port && port <= hi;
}

PortVerdict EvaluatePort(const PublishedPort& port, const std::string& zone_name,
                         const ZoneSettings& zone, const FirewalldView& view) {
  PortVerdict v;
  v.approximate =
      AnyRuleMayMatch(zone.rich_rules, port) ||
      std::any_of(zone.forward_ports.begin(), zone.forward_ports.end(), [&port](const auto& fp) {
        return fp[1] == port.proto && PortStringCovers(fp[0], port.port);
      });
  auto allow = [&v](std::string by) {
    v.allowed = true;
    v.by = std::move(by);
    return v;
  };
  if (zone.target == "ACCEPT") return allow("target");
  if (EntriesCover(zone.ports, port)) return allow("port");
  if (Contains(zone.protocols, port.proto)) return allow("protocol");
  if (std::string svc = CoveringService(zone.services, port, view); !svc.empty()) {
    return allow("service:" + svc);
  }
  for (const auto& [name, policy] : view.policies) {
    if (!PolicyApplies(policy, zone_name)) continue;
    if (AnyRuleMayMatch(policy.rich_rules, port)) v.approximate = true;
    if (policy.target == "ACCEPT" || EntriesCover(policy.ports, port) ||
        !CoveringService(policy.services, port, view).empty()) {
      return allow("policy:" + name);
    }
  }
  return v;
}

std::vector<std::string> ReferencedServices(const ZoneSettings& zone, const FirewalldView& view) {
  std::set<std::string> names(zone.services.begin(), zone.services.end());
  for (const auto& entry : view.policies) {
    names.insert(entry.second.services.begin(), entry.second.services.end());
  }
  return {names.begin(), names.end()};
}

}  // namespace portmap
