// netfilter: are Docker's chains in the kernel, and what do they publish?
//
// The DOCKER chains decide whether a published port can be reached from
// outside, and they disappear when firewalld starts or reloads after dockerd.
// Read straight from the kernel at scrape time, never by exec'ing iptables:
//   backend="nftables"  nf_tables over netlink (netlink/nftables.h): the
//                       rules iptables-nft writes, ip and ip6 families
//   backend="legacy"    x_tables over getsockopt (netlink/xtables.h), IPv4,
//                       only tables listed in <procfs>/self/net/ip_tables_names
// Both can hold rules at once (the "iptables-legacy tables present" mix-up);
// both are reported.  Only nat and filter are read, and in them only the
// DOCKER* chains and the base chains that jump to them (nf_docker.h), so
// foreign rules (kube-proxy's thousands) cost nothing on nf_tables.
//
// Exports, labelled {backend,family,table,chain}:
//   portmap_netfilter_chain_present       1, or 0 for an expected chain that
//                                         is missing (nf_docker.h: which are
//                                         expected, and why they stay so)
//   portmap_netfilter_chain_rules         rule count (as `iptables -S` lists)
//   portmap_netfilter_chain_packets_total summed rule counters
//   portmap_netfilter_chain_bytes_total
//   portmap_netfilter_chain_policy_accept filter FORWARD's policy: 1 ACCEPT,
//                                         0 DROP (dockerd sets DROP when it
//                                         enables forwarding itself)
//   portmap_published_port_info{proto,host_ip,host_port,container_ip,
//                               container_port,backend}
//                                         1 per DNAT rule in nat DOCKER
//
// From the nf_tables event watcher started with the collector
// (nf_watcher.h), since the exporter started:
//   portmap_netfilter_ruleset_changes_total  commits (NFT_MSG_NEWGEN)
//   portmap_netfilter_chain_deletions_total{family,table,chain}
//                                         deletions of watched chains, 0 for
//                                         every watched chain ever seen
//   portmap_netfilter_rule_deletions_total{family,table,chain}
//                                         rules deleted from watched chains
//                                         (NFT_MSG_DELRULE; a flush that
//                                         keeps the chain), same chains
//   portmap_netfilter_last_change_info{process}
//                                         1; the process that made the last
//                                         commit (NFTA_GEN_PROC_NAME, e.g.
//                                         "firewalld", "iptables-nft");
//                                         absent until a commit is seen
//   portmap_netfilter_last_change_timestamp_seconds
//                                         Unix time of the last commit; 0: none
//   portmap_netfilter_resyncs_total       re-reads after lost events (ENOBUFS)
// When the watcher is not listening these are left out, and the scrape
// fails saying why (unless it already failed for lack of CAP_NET_ADMIN).
//
// Errors: without CAP_NET_ADMIN every read fails with EPERM; the scrape then
// reports success 0 with that reason, logged as an error once and at debug
// level after that (Status::NoData).  A backend that is absent (nf_tables not
// built, no legacy table loaded) is no data for that backend, not an error.
// The per-scrape deadline bounds every dump.
//
// Thread safety: Collect() may run concurrently; the remembered expected
// chains and the once-only flag are guarded by a mutex.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "collectors/collector.h"
#include "collectors/host_facts.h"
#include "collectors/netfilter/nf_docker.h"
#include "collectors/netfilter/nf_watcher.h"
#include "netlink/nf_ruleset.h"
#include "netlink/socket.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricNetfilterChainRules[] = "portmap_netfilter_chain_rules";
inline constexpr char kMetricNetfilterChainPresent[] = "portmap_netfilter_chain_present";
inline constexpr char kMetricNetfilterChainPolicyAccept[] = "portmap_netfilter_chain_policy_accept";
inline constexpr char kMetricPublishedPortInfo[] = "portmap_published_port_info";

// Where the collector's chains come from: the kernel, or a fake in tests.
// Each read returns the chains IsDockerRelevantChain() selects (a source may
// return more) of nat and filter, or an errno-carrying status.
class NetfilterSource {
 public:
  virtual ~NetfilterSource() = default;
  virtual NetlinkStatus ReadNftables(std::chrono::steady_clock::time_point deadline,
                                     std::vector<NfChain>* chains) = 0;
  // *loaded is false when no legacy table is loaded (nothing was probed).
  virtual NetlinkStatus ReadLegacy(std::chrono::steady_clock::time_point deadline,
                                   std::vector<NfChain>* chains, bool* loaded) = 0;
};

// The kernel source for this process's network namespace.
std::unique_ptr<NetfilterSource> NewKernelNetfilterSource(const Paths& paths);

// The source options.netfilter_source names, else the kernel's.
std::unique_ptr<NetfilterSource> NewNetfilterSource(const CollectorOptions& options);

std::unique_ptr<Collector> NewNetfilterCollector(const CollectorOptions& options);

// For tests: the collector over a given source and event source (nullptr:
// the event families are left out, without an error).  Every scrape adds
// the ports it sees to `published` (may be null).
std::unique_ptr<Collector> NewNetfilterCollectorWithSource(
    std::unique_ptr<NetfilterSource> source, std::unique_ptr<NetfilterEvents> events = nullptr,
    std::shared_ptr<PublishedPorts> published = nullptr);

// The facts the verdict needs from Docker's rules (collectors/host_facts.h).
NetfilterFacts NetfilterFactsOf(const DockerView& view);

}  // namespace portmap
