// HostFacts: what the collectors learned about the host in one scrape, handed
// to the collectors that judge it (the verdict) once all of them are done.
//
// Each gathering collector records the facts only it reads (the forwarding
// collector ip_forward, the netfilter collector Docker's rules, the firewalld
// collector the zones), so the verdict rests on exactly what the same scrape
// exported, without reading anything twice.  A fact nobody recorded is
// unknown (its collector is disabled, failed or overran): the verdict then
// leaves out what depends on it rather than guess.
//
// The scrape runner seals the facts before it starts the judging collectors;
// a collector that overran its deadline and records later is ignored.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "collectors/published_ports.h"

namespace portmap {

// From the netfilter collector: IPv4 Docker rules, over both backends.
struct NetfilterFacts {
  bool nat_docker_present = false;  // nat DOCKER exists
  // Docker's FORWARD path accepts published ports: filter DOCKER exists and
  // holds rules (one ACCEPT per published port), or FORWARD's policy accepts.
  bool forward_accepts = false;
  std::set<PublishedPortRef> dnat_ports;  // ports nat DOCKER DNATs now
};

// From the firewalld collector.
struct FirewalldFacts {
  bool up = false;
  std::string backend;  // "nftables" | "iptables" | ""
  // Per published port: allowed in every ingress zone (collectors/firewalld/firewalld_ports.h).
  std::map<PublishedPortRef, bool> allowed;
};

struct HostFactsSnapshot {
  std::optional<bool> ip_forward_v4;  // net.ipv4.ip_forward at run time
  std::optional<NetfilterFacts> netfilter;
  std::optional<FirewalldFacts> firewalld;
};

class HostFacts {
 public:
  void SetIpForwardV4(bool enabled) {
    Update([&](HostFactsSnapshot* s) { s->ip_forward_v4 = enabled; });
  }
  void SetNetfilter(NetfilterFacts facts) {
    Update([&](HostFactsSnapshot* s) { s->netfilter = std::move(facts); });
  }
  void SetFirewalld(FirewalldFacts facts) {
    Update([&](HostFactsSnapshot* s) { s->firewalld = std::move(facts); });
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
