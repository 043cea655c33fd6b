// HostFacts: what the gathering collectors learned about the host in one
// scrape, handed to the collectors that judge it (the verdict) once all of
// them are done, so the verdict rests on what the same scrape exported
// without reading it twice.  A fact nobody recorded is unknown (its collector
// is disabled, failed or overran): the verdict then finds it out itself.
//
// Today one fact: in which families Docker's nat chain exists (the netfilter
// collector reads both iptables backends and Docker 29's own tables), which
// tells the verdict's docker_chain_missing from dnat_rule_missing.
//
// The scrape runner seals the facts before it starts the judging collectors;
// a collector that overran its deadline and records later is ignored.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace portmap {

// From the netfilter collector: Docker's rules, over every backend.
struct NetfilterFacts {
  // The families ("ipv4", "ipv6") where Docker's nat chain exists: nat
  // DOCKER (either iptables backend) or docker-bridges
  // nat-prerouting-and-output (Docker 29's nftables).
  std::set<std::string> nat_docker_families;
};

struct HostFactsSnapshot {
  std::optional<NetfilterFacts> netfilter;
};

class HostFacts {
 public:
  void SetNetfilter(const NetfilterFacts& facts) {
    Update([&](HostFactsSnapshot* s) { s->netfilter = facts; });
  }

  // Later Set* calls are ignored.
  void Seal() {
    std::lock_guard<std::mutex> lock(mu_);
    sealed_ = true;
  }
  HostFactsSnapshot Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return facts_;
  }

 private:
  template <typename F>
  void Update(F f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!sealed_) f(&facts_);
  }

  mutable std::mutex mu_;
  bool sealed_ = false;      // GUARDED_BY(mu_)
  HostFactsSnapshot facts_;  // GUARDED_BY(mu_)
};

}  // namespace portmap
