// nf_docker: which of Docker's chains a ruleset should hold, and what it
// publishes — the model the netfilter collector exports, as a pure function
// over chains from either backend (netlink/nf_ruleset.h).
//
// Docker's layout (both iptables generations):
//   always        nat DOCKER, filter DOCKER, filter DOCKER-USER
//   up to 28.0    filter DOCKER-ISOLATION-STAGE-1, DOCKER-ISOLATION-STAGE-2
//   28.1+         filter DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT
//                 (DOCKER-INTERNAL only where internal networks exist)
// The newer set is chosen when any of its chains exists or is jumped to.
//   29.x nftables backend (--firewall-backend=nftables): its own tables
//                 `ip docker-bridges` and `ip6 docker-bridges`, base chains
//                 filter-FORWARD, nat-PREROUTING, nat-OUTPUT, nat-POSTROUTING,
//                 raw-PREROUTING and the DNATs in nat-prerouting-and-output
//                 (moby's nftablesdoc); read by name like the others
//                 (kDocker29ChainNames).
//
// A chain is *expected* in a (backend, family) when Docker's rules are there
// at all — a DOCKER* chain exists or a rule jumps to one — or when it was
// expected at an earlier scrape (`remembered`): firewalld's wipe removes the
// chains and the jumps together, and "the chain is gone" must read as
// chain_present 0, not as a series that vanished.  One exception: dockerd
// writes either its iptables chains or its docker-bridges table; when one set
// appears in a family and the other is absent there, dockerd switched its
// firewall backend, and the absent set is forgotten for that family.
//
// Thread safety: pure; the caller guards `remembered`.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "netlink/nf_ruleset.h"

namespace portmap {

// (backend, family, table, chain)
using NfChainKey = std::tuple<std::string, std::string, std::string, std::string>;

struct DockerChainState {
  NfChainKey key;
  bool present = false;
  size_t rules = 0;
  uint64_t packets = 0;  // summed over the chain's rules
  uint64_t bytes = 0;
};

struct DockerPolicy {
  NfChainKey key;  // a base chain Docker depends on: filter FORWARD
  bool accept = false;
};

struct DockerPublishedPort {
  std::string backend;
  NfPortMapping mapping;
};

struct DockerView {
  std::vector<DockerChainState> chains;  // expected chains, sorted by key
  std::vector<DockerPolicy> policies;
  std::vector<DockerPublishedPort> ports;  // nat DOCKER's DNAT rules, in order
};

// The chains to look up by name in nat and filter: Docker's known chains and
// the base chains that jump to them.  Other DOCKER* chains are found by
// following jumps (IsDockerChainName).
inline constexpr const char* kDockerChainNames[] = {"PREROUTING",
                                                    "OUTPUT",
                                                    "FORWARD",
                                                    "DOCKER",
                                                    "DOCKER-USER",
                                                    "DOCKER-ISOLATION-STAGE-1",
                                                    "DOCKER-ISOLATION-STAGE-2",
                                                    "DOCKER-FORWARD",
                                                    "DOCKER-BRIDGE",
                                                    "DOCKER-CT",
                                                    "DOCKER-INTERNAL"};

// Docker 29's nftables table, and its chains of fixed names; the per-network
// chains (filter-forward-in__docker0, ...) are reached through verdict maps
// and are not part of the model.
inline constexpr char kDocker29Table[] = "docker-bridges";
inline constexpr char kDocker29DnatChain[] = "nat-prerouting-and-output";
inline constexpr const char* kDocker29ChainNames[] = {"filter-FORWARD", "nat-PREROUTING",
                                                      "nat-OUTPUT",     "nat-POSTROUTING",
                                                      "raw-PREROUTING", kDocker29DnatChain};

// Where Docker's DNAT rules live: nat DOCKER (iptables, both backends) or
// docker-bridges nat-prerouting-and-output (Docker 29's nftables).
bool IsDockerDnatChain(const std::string& table, const std::string& chain);

// Docker's own chain names: DOCKER and DOCKER-*.
bool IsDockerChainName(const std::string& name);

// Whether a chain may matter to the model: Docker's own (DOCKER*) and the
// base chains that jump to them (PREROUTING, OUTPUT, FORWARD).  The readers
// fetch only these chains' rules.
bool IsDockerRelevantChain(const std::string& name, bool base);

// Adds what `chains` (all from one backend) say to *view, and records the
// expected chains in *remembered.
void AddDockerView(const std::string& backend, const std::vector<NfChain>& chains,
                   std::set<NfChainKey>* remembered, DockerView* view);

}  // namespace portmap
