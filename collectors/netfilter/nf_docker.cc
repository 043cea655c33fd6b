#include "collectors/netfilter/nf_docker.h"

#include <algorithm>
#include <map>
#include <span>
#include <string_view>

namespace portmap {

namespace {

constexpr std::string_view kDockerPrefix = "DOCKER";

struct TableChain {
  const char* table;
  const char* chain;
};

constexpr TableChain kAlways[] = {
    {"nat", "DOCKER"}, {"filter", "DOCKER"}, {"filter", "DOCKER-USER"}};
constexpr TableChain kClassic[] = {{"filter", "DOCKER-ISOLATION-STAGE-1"},
                                   {"filter", "DOCKER-ISOLATION-STAGE-2"}};
constexpr TableChain kNewer[] = {
    {"filter", "DOCKER-FORWARD"}, {"filter", "DOCKER-BRIDGE"}, {"filter", "DOCKER-CT"}};
constexpr std::string_view kNewerMarkers[] = {"DOCKER-FORWARD", "DOCKER-BRIDGE", "DOCKER-CT",
                                              "DOCKER-INTERNAL"};

bool IsDockerName(std::string_view name) { return name.starts_with(kDockerPrefix); }

bool IsNat(const std::string& table) { return table == "nat"; }

// Docker's chains live in nat and filter only; a DOCKER* chain elsewhere
// (raw, a user's own table) is not part of its model.  Docker 29's own table
// is all Docker's.
bool IsDockerTable(const std::string& table) {
  return table == "nat" || table == "filter" || table == kDocker29Table;
}

}  // namespace

bool IsDockerDnatChain(const std::string& table, const std::string& chain) {
  return (IsNat(table) && chain == "DOCKER") ||
         (table == kDocker29Table && chain == kDocker29DnatChain);
}

bool IsDockerChainName(const std::string& name) { return IsDockerName(name); }

bool IsDockerRelevantChain(const std::string& name, bool base) {
  if (IsDockerName(name)) return true;
  return base && (name == "PREROUTING" || name == "OUTPUT" || name == "FORWARD");
}

void AddDockerView(const std::string& backend, const std::vector<NfChain>& chains,
                   std::set<NfChainKey>* remembered, DockerView* view) {
  std::map<NfChainKey, const NfChain*> present;
  std::set<std::string> active_families;  // where Docker's rules are seen now
  std::set<NfChainKey> expected;
  std::set<std::string> docker29_families;
  for (const NfChain& c : chains) {
    if (!IsDockerTable(c.table)) continue;
    present[{backend, c.family, c.table, c.name}] = &c;
    if (c.table == kDocker29Table) docker29_families.insert(c.family);
    if (IsDockerName(c.name)) {
      active_families.insert(c.family);
      expected.insert({backend, c.family, c.table, c.name});
    }
    for (const NfRule& r : c.rules) {
      if (IsDockerName(r.jump)) {
        active_families.insert(c.family);
        expected.insert({backend, c.family, c.table, r.jump});
      }
    }
  }
  for (const std::string& family : active_families) {
    for (const TableChain& tc : kAlways) expected.insert({backend, family, tc.table, tc.chain});
    const bool newer = std::any_of(expected.begin(), expected.end(), [&](const NfChainKey& k) {
      return std::get<1>(k) == family &&
             std::find(std::begin(kNewerMarkers), std::end(kNewerMarkers), std::get<3>(k)) !=
                 std::end(kNewerMarkers);
    });
    for (const TableChain& tc :
         newer ? std::span<const TableChain>(kNewer) : std::span<const TableChain>(kClassic)) {
      expected.insert({backend, family, tc.table, tc.chain});
    }
  }
  for (const std::string& family : docker29_families) {
    for (const char* name : kDocker29ChainNames) {
      expected.insert({backend, family, kDocker29Table, name});
    }
  }
  // dockerd writes one firewall backend at a time: when it switches
  // (--firewall-backend), the other one's chains are gone on purpose, not
  // wiped, and stop being expected in that family.
  std::erase_if(*remembered, [&](const NfChainKey& k) {
    const std::string& family = std::get<1>(k);
    const bool native = std::get<2>(k) == kDocker29Table;
    return native ? active_families.contains(family) && !docker29_families.contains(family)
                  : docker29_families.contains(family) && !active_families.contains(family);
  });
  remembered->insert(expected.begin(), expected.end());
  std::set<std::string> families;
  for (const NfChainKey& key : *remembered) {
    if (std::get<0>(key) != backend) continue;
    families.insert(std::get<1>(key));
    DockerChainState state;
    state.key = key;
    auto it = present.find(key);
    if (it != present.end()) {
      state.present = true;
      state.rules = it->second->rules.size();
      for (const NfRule& r : it->second->rules) {
        state.packets += r.packets;
        state.bytes += r.bytes;
      }
    }
    view->chains.push_back(std::move(state));
  }
  for (const NfChain& c : chains) {
    if (c.base && c.table == "filter" && c.name == "FORWARD" && c.policy_accept.has_value() &&
        families.contains(c.family)) {
      view->policies.push_back({{backend, c.family, c.table, c.name}, *c.policy_accept});
    }
    if (IsDockerDnatChain(c.table, c.name)) {
      for (const NfRule& r : c.rules) {
        if (r.dnat.has_value()) view->ports.push_back({backend, *r.dnat});
      }
    }
  }
}

}  // namespace portmap
