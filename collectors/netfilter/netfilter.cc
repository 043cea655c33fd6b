#include "collectors/netfilter/netfilter.h"

#include <linux/netfilter.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "collectors/host_facts.h"
#include "collectors/netfilter/nf_docker.h"
#include "collectors/published_ports.h"
#include "netlink/nftables.h"
#include "netlink/xtables.h"
#include "util/metrics.h"

namespace portmap {

namespace {

constexpr const char* kDockerTables[] = {"nat", "filter"};

std::string PermissionReason(const NetlinkStatus& st) {
  return "reading netfilter needs CAP_NET_ADMIN (and CAP_NET_RAW for legacy iptables): " +
         st.message;
}

// The kernel lacks the backend entirely: no data for it, not a fault.
bool IsAbsent(int err) {
  return err == EPROTONOSUPPORT || err == EOPNOTSUPP || err == ENOENT || err == EAFNOSUPPORT;
}

class KernelSource : public NetfilterSource {
 public:
  explicit KernelSource(Paths paths) : paths_(std::move(paths)) {}

  // Reads Docker's chains (by name, rules included); the last read is
  // reused while the ruleset generation stays the same, for at most
  // kCounterRefresh: a commit changes the generation, but rule counters
  // move without one.
  NetlinkStatus ReadNftables(std::chrono::steady_clock::time_point deadline,
                             std::vector<NfChain>* chains) override {
    std::lock_guard<std::mutex> lock(mu_);
    NetlinkStatus st;
    if (!reader_.valid()) {
      reader_ = NftablesReader::Open(&st);
      if (!st.ok()) return st;
    }
    NftGeneration gen;
    st = reader_.ReadGeneration(deadline, &gen);
    const auto now = std::chrono::steady_clock::now();
    if (st.ok() && cached_ && cached_generation_ == gen.id && now - cached_at_ < kCounterRefresh) {
      *chains = *cached_;
      return st;
    }
    uint32_t generation = 0;
    if (st.ok()) st = ReadAll(deadline, chains, &generation);
    if (!st.ok()) {
      reader_ = NftablesReader();  // a read cut short may leave answers queued
      cached_.reset();
      return st;
    }
    cached_ = *chains;
    cached_generation_ = generation;
    cached_at_ = now;
    return st;
  }

  NetlinkStatus ReadLegacy(std::chrono::steady_clock::time_point deadline,
                           std::vector<NfChain>* chains, bool* loaded) override {
    *loaded = false;
    std::vector<std::string> tables;
    NetlinkStatus st = XtLoadedTables(paths_, &tables);
    if (st.err == EACCES) {
      // The kernel makes the list 0440 root:root, whatever the capabilities.
      st.message +=
          " (readable by root and group root only: a non-root exporter needs group "
          "root to see which legacy tables exist)";
    }
    if (!st.ok()) return st;
    chains->clear();
    for (const char* table : kDockerTables) {
      // Never probe a table that is not loaded: the probe would create it.
      if (std::find(tables.begin(), tables.end(), table) == tables.end()) continue;
      *loaded = true;
      XtTableBlob blob;
      st = XtReadTable(table, deadline, &blob);
      if (!st.ok()) return st;
      std::vector<NfChain> decoded;
      st = DecodeXtTable(blob, &decoded);
      if (!st.ok()) return st;
      for (NfChain& c : decoded) chains->push_back(std::move(c));
    }
    return NetlinkStatus::Ok();
  }

 private:
  // Both reads on reader_; *generation is the generation they share, or 0
  // when a commit fell between them (the next scrape then reads again).
  NetlinkStatus ReadAll(std::chrono::steady_clock::time_point deadline,
                        std::vector<NfChain>* chains, uint32_t* generation) {
    NftRuleset rs;
    // By name, not by listing: cost independent of foreign chains.
    NetlinkStatus st = reader_.ReadNamed(
        {NFPROTO_IPV4, NFPROTO_IPV6}, {std::begin(kDockerTables), std::end(kDockerTables)},
        {std::begin(kDockerChainNames), std::end(kDockerChainNames)}, &IsDockerChainName, deadline,
        &rs);
    if (!st.ok()) return st;
    *chains = std::move(rs.chains);
    // Docker 29's nftables backend: its own table, chains of fixed names.
    NftRuleset native;
    st = reader_.ReadNamed(
        {NFPROTO_IPV4, NFPROTO_IPV6}, {kDocker29Table},
        {std::begin(kDocker29ChainNames), std::end(kDocker29ChainNames)},
        [](const std::string&) { return false; }, deadline, &native);
    if (!st.ok()) return st;
    for (NfChain& c : native.chains) chains->push_back(std::move(c));
    *generation = rs.generation == native.generation ? rs.generation : 0;
    return st;
  }

  // See ReadNftables: counters are at most this old.
  static constexpr auto kCounterRefresh = std::chrono::seconds(10);

  const Paths paths_;
  std::mutex mu_;                                    // one nf_tables read at a time
  NftablesReader reader_;                            // GUARDED_BY(mu_); kept open
  std::optional<std::vector<NfChain>> cached_;       // GUARDED_BY(mu_)
  uint32_t cached_generation_ = 0;                   // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point cached_at_;  // GUARDED_BY(mu_)
};

Labels ChainLabels(const NfChainKey& key) {
  return {{"backend", std::get<0>(key)},
          {"family", std::get<1>(key)},
          {"table", std::get<2>(key)},
          {"chain", std::get<3>(key)}};
}

class NetfilterCollector : public Collector {
 public:
  NetfilterCollector(std::unique_ptr<NetfilterSource> source,
                     std::unique_ptr<NetfilterEvents> events,
                     std::shared_ptr<PublishedPorts> published)
      : source_(std::move(source)), events_(std::move(events)), published_(std::move(published)) {}

  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) override {
    DockerView view;
    std::string errors;
    std::string denied;
    bool any_backend = false;

    std::vector<NfChain> chains;
    NetlinkStatus st = source_->ReadNftables(ctx.deadline, &chains);
    if (st.ok()) {
      any_backend = true;
      Add("nftables", chains, &view);
    } else if (st.err == EPERM || st.err == EACCES) {
      denied = PermissionReason(st);
    } else if (!IsAbsent(st.err)) {
      AppendError(&errors, "nftables: " + st.message);
    }

    bool loaded = false;
    chains.clear();
    st = source_->ReadLegacy(ctx.deadline, &chains, &loaded);
    if (st.ok()) {
      if (loaded) {
        any_backend = true;
        Add("legacy", chains, &view);
      }
    } else if (st.err == EPERM) {
      // nf_tables was read (or is absent): most likely the raw socket was refused.
      if (denied.empty()) {
        denied = "reading legacy iptables needs CAP_NET_RAW (and CAP_NET_ADMIN): " + st.message;
      }
    } else if (st.err == EACCES) {
      if (denied.empty()) denied = "reading legacy iptables: " + st.message;
    } else {
      AppendError(&errors, "legacy: " + st.message);
    }

    Emit(view, published_ ? published_->LastApiPorts() : std::vector<DockerApiPort>{}, out);
    // Facts only from a complete read: a half-read ruleset would let the
    // verdict blame a chain that is merely unread.
    if (ctx.facts != nullptr && errors.empty() && denied.empty() && any_backend) {
      ctx.facts->SetNetfilter(NetfilterFactsOf(view));
    }
    if (published_) {
      std::vector<NfPortMapping> mappings;
      for (const DockerPublishedPort& p : view.ports) mappings.push_back(p.mapping);
      published_->RememberMappings(mappings);
    }
    if (events_ != nullptr) {
      const NetfilterEventSnapshot snap = events_->Snapshot();
      if (snap.listening) {
        EmitEvents(snap, out);
      } else if (denied.empty()) {
        AppendError(&errors, "nf_tables watcher not listening: " + snap.error);
      }
    }
    if (!denied.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (denied_reported_) return Status::NoData(denied);
      denied_reported_ = true;
      return Status::Error(denied);
    }
    if (!errors.empty()) return Status::Error(errors);
    if (!any_backend) return Status::NoData("no nf_tables and no legacy iptables table loaded");
    return Status::Ok();
  }

 private:
  void Add(const std::string& backend, const std::vector<NfChain>& chains, DockerView* view) {
    std::lock_guard<std::mutex> lock(mu_);
    AddDockerView(backend, chains, &remembered_, view);
  }

  static void Emit(const DockerView& view, const std::vector<DockerApiPort>& api_ports,
                   std::vector<prometheus::MetricFamily>* out) {
    auto present = MakeFamily(kMetricNetfilterChainPresent,
                              "Whether a chain Docker needs exists (0: expected but missing, as "
                              "after firewalld's flush).",
                              MetricType::Gauge);
    auto rules =
        MakeFamily(kMetricNetfilterChainRules,
                   "Rules in a Docker chain, as `iptables -S` counts them.", MetricType::Gauge);
    auto packets = MakeFamily("portmap_netfilter_chain_packets_total",
                              "Packets matched by a Docker chain's rules (summed rule counters).",
                              MetricType::Counter);
    auto bytes = MakeFamily("portmap_netfilter_chain_bytes_total",
                            "Bytes matched by a Docker chain's rules (summed rule counters).",
                            MetricType::Counter);
    auto policy = MakeFamily(kMetricNetfilterChainPolicyAccept,
                             "Whether a base chain Docker depends on (filter FORWARD) has policy "
                             "ACCEPT (1) or DROP (0).",
                             MetricType::Gauge);
    auto ports = MakeFamily(kMetricPublishedPortInfo,
                            "A port Docker publishes: a DNAT rule in nat DOCKER or docker-bridges "
                            "nat-prerouting-and-output (backend nftables or legacy), or a port the "
                            "Engine API lists (backend docker_api, with discovery.docker).",
                            MetricType::Gauge);
    for (const DockerChainState& c : view.chains) {
      AddSample(&present, ChainLabels(c.key), c.present ? 1 : 0);
      if (!c.present) continue;
      AddSample(&rules, ChainLabels(c.key), static_cast<double>(c.rules));
      AddSample(&packets, ChainLabels(c.key), static_cast<double>(c.packets));
      AddSample(&bytes, ChainLabels(c.key), static_cast<double>(c.bytes));
    }
    for (const DockerPolicy& p : view.policies) {
      AddSample(&policy, ChainLabels(p.key), p.accept ? 1 : 0);
    }
    std::set<Labels> seen;  // two identical rules are one published port
    for (const DockerPublishedPort& p : view.ports) {
      Labels labels = {{"proto", p.mapping.proto},
                       {"host_ip", p.mapping.host_ip},
                       {"host_port", std::to_string(p.mapping.host_port)},
                       {"container_ip", p.mapping.container_ip},
                       {"container_port", std::to_string(p.mapping.container_port)},
                       {"backend", p.backend}};
      if (seen.insert(labels).second) AddSample(&ports, std::move(labels), 1);
    }
    for (const DockerApiPort& p : api_ports) {
      Labels labels = {{"proto", p.proto},
                       {"host_ip", p.host_ip},
                       {"host_port", std::to_string(p.host_port)},
                       {"container_ip", ""},
                       {"container_port", std::to_string(p.container_port)},
                       {"backend", "docker_api"}};
      if (seen.insert(labels).second) AddSample(&ports, std::move(labels), 1);
    }
    out->push_back(std::move(present));
    out->push_back(std::move(rules));
    out->push_back(std::move(packets));
    out->push_back(std::move(bytes));
    out->push_back(std::move(policy));
    out->push_back(std::move(ports));
  }

  static void EmitEvents(const NetfilterEventSnapshot& snap,
                         std::vector<prometheus::MetricFamily>* out) {
    auto changes = MakeFamily("portmap_netfilter_ruleset_changes_total",
                              "nf_tables commits (NFT_MSG_NEWGEN) seen since the exporter started.",
                              MetricType::Counter);
    auto deletions = MakeFamily("portmap_netfilter_chain_deletions_total",
                                "Deletions of a watched (Docker) nf_tables chain seen since the "
                                "exporter started.",
                                MetricType::Counter);
    auto rule_deletions = MakeFamily("portmap_netfilter_rule_deletions_total",
                                     "Rules deleted from a watched (Docker) nf_tables chain seen "
                                     "since the exporter started.",
                                     MetricType::Counter);
    auto last = MakeFamily("portmap_netfilter_last_change_info",
                           "The process that made the last nf_tables commit "
                           "(NFTA_GEN_PROC_NAME).",
                           MetricType::Gauge);
    auto when = MakeFamily("portmap_netfilter_last_change_timestamp_seconds",
                           "Unix time of the last nf_tables commit; 0 when none was seen.",
                           MetricType::Gauge);
    auto resyncs = MakeFamily("portmap_netfilter_resyncs_total",
                              "Full re-reads after the kernel dropped nf_tables events (ENOBUFS).",
                              MetricType::Counter);
    AddSample(&changes, {}, static_cast<double>(snap.ruleset_changes));
    for (const auto& [key, n] : snap.deletions) {
      AddSample(
          &deletions,
          {{"family", std::get<0>(key)}, {"table", std::get<1>(key)}, {"chain", std::get<2>(key)}},
          static_cast<double>(n));
    }
    for (const auto& [key, n] : snap.rule_deletions) {
      AddSample(
          &rule_deletions,
          {{"family", std::get<0>(key)}, {"table", std::get<1>(key)}, {"chain", std::get<2>(key)}},
          static_cast<double>(n));
    }
    if (snap.ruleset_changes > 0) AddSample(&last, {{"process", snap.last_process}}, 1);
    AddSample(&when, {}, snap.last_change_seconds);
    AddSample(&resyncs, {}, static_cast<double>(snap.resyncs));
    out->push_back(std::move(changes));
    out->push_back(std::move(deletions));
    out->push_back(std::move(rule_deletions));
    out->push_back(std::move(last));
    out->push_back(std::move(when));
    out->push_back(std::move(resyncs));
  }

  const std::unique_ptr<NetfilterSource> source_;
  const std::unique_ptr<NetfilterEvents> events_;
  const std::shared_ptr<PublishedPorts> published_;  // may be null
  std::mutex mu_;
  std::set<NfChainKey> remembered_;  // GUARDED_BY(mu_)
  bool denied_reported_ = false;     // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<NetfilterSource> NewKernelNetfilterSource(const Paths& paths) {
  return std::make_unique<KernelSource>(paths);
}

std::unique_ptr<NetfilterSource> NewNetfilterSource(const CollectorOptions& options) {
  return options.netfilter_source ? options.netfilter_source(options.paths)
                                  : NewKernelNetfilterSource(options.paths);
}

std::unique_ptr<Collector> NewNetfilterCollector(const CollectorOptions& options) {
  return NewNetfilterCollectorWithSource(NewNetfilterSource(options),
                                         options.watch_events ? std::make_unique<NetfilterWatcher>()
                                                              : std::unique_ptr<NetfilterWatcher>(),
                                         options.published_ports);
}

std::unique_ptr<Collector> NewNetfilterCollectorWithSource(
    std::unique_ptr<NetfilterSource> source, std::unique_ptr<NetfilterEvents> events,
    std::shared_ptr<PublishedPorts> published) {
  return std::make_unique<NetfilterCollector>(std::move(source), std::move(events),
                                              std::move(published));
}

NetfilterFacts NetfilterFactsOf(const DockerView& view) {
  NetfilterFacts facts;
  for (const DockerChainState& c : view.chains) {
    const auto& [backend, family, table, chain] = c.key;
    if (c.present && IsDockerDnatChain(table, chain)) facts.nat_docker_families.insert(family);
  }
  return facts;
}

}  // namespace portmap
