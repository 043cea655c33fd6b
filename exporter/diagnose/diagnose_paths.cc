#include "exporter/diagnose/diagnose_paths.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "collectors/verdict/causes.h"

namespace portmap {

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

void AddOnce(std::vector<std::string>* items, const std::string& item) {
  if (std::find(items->begin(), items->end(), item) == items->end()) items->push_back(item);
}

bool SamePath(const PathReport& a, const PathReport& b) {
  return a.family == b.family && a.interface == b.interface && a.client == b.client &&
         a.address == b.address;
}

std::string RulePlaceOf(const PathReport& p) {
  if (p.backend.empty()) return p.place;
  pathtrace::TraceResult t;
  t.outcome = p.outcome == "timeout" ? pathtrace::Outcome::kTimeout : pathtrace::Outcome::kRefused;
  t.stopped_at = pathtrace::RuleRef{p.backend,
                                    p.table_family,
                                    p.table,
                                    p.chain,
                                    std::strtoull(p.handle.c_str(), nullptr, 10),
                                    p.handle.empty(),
                                    "",
                                    p.comment};
  return RulePlace(t);
}

std::string Places(const std::vector<const PathReport*>& paths) {
  std::vector<std::string> places;
  for (const PathReport* p : paths) AddOnce(&places, RulePlaceOf(*p));
  return Join(places, "; ");
}

std::vector<const PathReport*> DistinctRules(const std::vector<const PathReport*>& paths) {
  std::vector<const PathReport*> out;
  std::set<std::vector<std::string>> seen;
  for (const PathReport* p : paths) {
    if (seen.insert({p->backend, p->table_family, p->table, p->chain, p->handle}).second) {
      out.push_back(p);
    }
  }
  return out;
}

bool ByIptables(const PathReport& p) {
  if (p.backend == "x_tables") return true;
  static const std::set<std::string> kTables = {"filter", "nat", "mangle", "raw", "security"};
  return (p.table_family == "ip" || p.table_family == "ip6") && kTables.count(p.table) != 0;
}

std::string Iptables(const PathReport& p) {
  std::string cmd = p.table_family == "ip6" ? "ip6tables" : "iptables";
  if (p.backend == "x_tables") cmd += "-legacy";
  if (!p.table.empty() && p.table != "filter") cmd += " -t " + p.table;
  return cmd;
}

namespace {

std::string NftChain(const PathReport& p) { return p.table_family + " " + p.table + " " + p.chain; }

}  // namespace

std::string ListCommand(const PathReport& p) {
  if (p.backend == "x_tables") return Iptables(p) + " -L " + p.chain + " -n -v --line-numbers";
  return "nft -a list chain " + NftChain(p);
}

std::string RemoveCommand(const PathReport& p) {
  const bool policy = p.handle.empty();
  if (p.backend == "x_tables") {
    return Iptables(p) +
           (policy ? " -P " + p.chain + " ACCEPT" : " -D " + p.chain + " " + p.handle);
  }
  if (!policy) return "nft delete rule " + NftChain(p) + " handle " + p.handle;
  if (ByIptables(p)) return Iptables(p) + " -P " + p.chain + " ACCEPT";
  return "nft chain " + NftChain(p) + " '{ policy accept; }'";
}

std::string AcceptCommand(const PathReport& p, const PortReport& port, bool dnat) {
  const std::string pp = std::to_string(port.port);
  if (ByIptables(p)) {
    return Iptables(p) + " -I " + p.chain + " " +
           (dnat ? "-m conntrack --ctstate DNAT" : "-p " + port.proto + " --dport " + pp) +
           " -j ACCEPT";
  }
  return "nft insert rule " + NftChain(p) + " " +
         (dnat ? "ct status dnat" : port.proto + " dport " + pp) + " accept";
}

const PublishedMapping* Container(const Report& r, const PortReport& port) {
  for (const PublishedMapping& m : r.docker.published) {
    if (m.proto == port.proto && m.host_port == port.port && !m.container_ip.empty()) return &m;
  }
  return nullptr;
}

bool Dnated(const Report& r, const PortReport& port, const PathReport& p) {
  for (const PathReport& q : port.paths) {
    if (SamePath(p, q) && (q.cause == BlockCauseName(BlockCause::kDockerChainMissing) ||
                           q.cause == BlockCauseName(BlockCause::kDnatRuleMissing))) {
      return false;
    }
  }
  if (Container(r, port) != nullptr) return true;
  return std::none_of(
      r.docker.published.begin(), r.docker.published.end(),
      [&](const PublishedMapping& m) { return m.proto == port.proto && m.host_port == port.port; });
}

}  // namespace portmap
