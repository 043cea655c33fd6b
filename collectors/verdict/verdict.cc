#include "collectors/verdict/verdict.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collectors/docker_api.h"
#include "collectors/host_facts.h"
#include "collectors/published_ports.h"
#include "collectors/verdict/causes.h"
#include "collectors/verdict/uplinks.h"
#include "config/probe_config.h"
#include "util/logging.h"
#include "util/metrics.h"

namespace portmap {

namespace {

using pathtrace::Addr;
using pathtrace::Packet;
using pathtrace::TraceResult;

constexpr uint16_t kClientPort = 40000;  // the traced client's source port
// NFPROTO_IPV4 / NFPROTO_IPV6 (linux/netfilter.h clashes with netinet/in.h).

// One traced path of one port and its verdict.
struct PathResult {
  uint8_t family = 0;
  std::string interface;
  std::string client;
  std::string address;  // the destination traced
  PathVerdict verdict;
  TraceResult trace;
};

// A published port as the verdict traces it: the families and destination
// addresses (family 0 in dst: the uplink's own address).
struct PortPlan {
  PublishedPortDetail detail;
  std::vector<Addr> destinations;
};

bool IsLoopback(const Addr& a) {
  if (a.family == AF_INET) return a.bytes[0] == 127;
  static const Addr kLoopback6 = *pathtrace::ParseAddr("::1");
  return a == kLoopback6;
}

// What to trace for one port: "0.0.0.0" and "::" are every uplink's address
// of the family; a specific address is itself; loopback is left out.
PortPlan PlanOf(const PublishedPortDetail& d) {
  PortPlan plan{d, {}};
  std::set<std::pair<uint8_t, std::array<uint8_t, 16>>> seen;
  auto add = [&](const Addr& a) {
    if (seen.insert({a.family, a.bytes}).second) plan.destinations.push_back(a);
  };
  if (d.host_ips.empty()) add(Addr{AF_INET, {}});
  for (const std::string& ip : d.host_ips) {
    const auto a = pathtrace::ParseAddr(ip);
    if (!a || IsLoopback(*a)) continue;
    const bool any =
        std::all_of(a->bytes.begin(), a->bytes.end(), [](uint8_t b) { return b == 0; });
    add(any ? Addr{a->family, {}} : *a);
  }
  return plan;
}

bool IsAny(const Addr& a) {
  return std::all_of(a.bytes.begin(), a.bytes.end(), [](uint8_t b) { return b == 0; });
}

std::string FamilyName(uint8_t family) { return family == AF_INET6 ? "ipv6" : "ipv4"; }

class VerdictCollector : public Collector {
 public:
  VerdictCollector(const CollectorOptions& options, std::unique_ptr<PathTracer> tracer)
      : paths_(options.paths),
        published_(options.published_ports),
        config_(options.config),
        tracer_(std::move(tracer)) {}

  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) override {
    if (published_ == nullptr) return Status::NoData("no published ports to judge");
    const std::shared_ptr<const ProbeConfig> config =
        config_ ? config_->Get() : std::make_shared<const ProbeConfig>(DefaultProbeConfig());
    std::string errors;
    if (config->docker.enabled) {
      std::vector<DockerApiPort> api;
      const Status st = ReadDockerApiPorts(config->docker.socket, ctx.deadline, &api);
      if (st.ok()) {
        published_->RememberApi(api);
      } else {
        errors = "discovery.docker: " + st.message();
      }
    }
    std::vector<PublishedPortRef> named;
    for (const VerdictPort& p : config->verdict.ports) named.push_back({p.proto, p.port});
    published_->Remember(named);

    std::vector<PortPlan> plans;
    for (const PublishedPortDetail& d : published_->Details()) plans.push_back(PlanOf(d));
    std::map<PublishedPortRef, std::vector<PathResult>> results;
    std::map<PublishedPortRef, std::string> not_traced;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const Status st = TraceAll(ctx, *config, plans, &results, &not_traced);
      if (!st.ok()) return Status::Error(st.message() + (errors.empty() ? "" : "; " + errors));
    }
    Emit(plans, results, not_traced, out);
    if (!errors.empty()) return Status::Error(errors);
    return Status::Ok();
  }

 private:
  Status TraceAll(const ScrapeContext& ctx, const ProbeConfig& config,
                  const std::vector<PortPlan>& plans,
                  std::map<PublishedPortRef, std::vector<PathResult>>* results,
                  std::map<PublishedPortRef, std::string>* not_traced) {
    if (tracer_ == nullptr) {
      Status st;
      tracer_ = PathTracer::OpenLive(paths_, &st);
      if (!st.ok()) return Status::Error("the tracer could not be opened: " + st.message());
    }
    std::set<std::pair<uint8_t, uint16_t>> ports;
    for (const PortPlan& p : plans) {
      if (p.detail.ref.proto == "tcp") ports.insert({IPPROTO_TCP, p.detail.ref.port});
      if (p.detail.ref.proto == "udp") ports.insert({IPPROTO_UDP, p.detail.ref.port});
    }
    Status st = tracer_->Refresh(ports, Clock::now());
    if (!st.ok()) {
      return Status::Error("the ruleset or the kernel could not be read: " + st.message());
    }
    // The uplinks and their clients, found again only when something the
    // routing depends on changed (or the configuration did).
    if (tracer_->epoch() != origins_epoch_ || config.verdict.interfaces != origins_interfaces_ ||
        config.verdict.sources != origins_sources_) {
      origins_.clear();
      for (uint8_t family : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
        std::vector<std::string> skipped;
        st = FindOrigins(tracer_->kernel(), family, config.verdict.interfaces,
                         config.verdict.sources, &origins_[family], &skipped);
        if (!st.ok()) {
          origins_.clear();
          return Status::Error("uplinks: " + st.message());
        }
        for (const std::string& why : skipped) LogDebug("verdict: not traced from " + why);
      }
      origins_epoch_ = tracer_->epoch();
      origins_interfaces_ = config.verdict.interfaces;
      origins_sources_ = config.verdict.sources;
    }
    std::map<uint8_t, std::vector<TraceOrigin>>& origins = origins_;
    const std::map<uint8_t, bool> chain_present = {
        {AF_INET, DockerNatChainPresent(ctx, AF_INET)},
        {AF_INET6, DockerNatChainPresent(ctx, AF_INET6)}};
    for (const PortPlan& plan : plans) {
      const PublishedPortRef& ref = plan.detail.ref;
      if (ref.proto != "tcp" && ref.proto != "udp") {
        (*not_traced)[ref] = ref.proto + " is not traced (TCP and UDP are)";
        continue;
      }
      for (const Addr& dst : plan.destinations) {
        for (const TraceOrigin& o : origins[dst.family]) {
          if (ctx.Expired()) return Status::Error("the scrape's deadline passed while tracing");
          Packet pkt;
          pkt.nfproto = pathtrace::NfprotoOf(dst.family);
          pkt.l4proto = ref.proto == "udp" ? IPPROTO_UDP : IPPROTO_TCP;
          pkt.saddr = o.client;
          pkt.daddr = IsAny(dst) ? o.uplink.addr : dst;
          pkt.sport = kClientPort;
          pkt.dport = ref.port;
          pkt.iif = o.uplink.link;
          PathResult r;
          r.family = dst.family;
          r.interface = o.uplink.link.name;
          r.client = pathtrace::AddrString(o.client);
          r.address = pathtrace::AddrString(pkt.daddr);
          st = tracer_->Trace(pkt, &r.trace);
          if (!st.ok()) return Status::Error("trace: " + st.message());
          // A port named as published is Docker's to DNAT even when no rule
          // shows it now (an exporter started after a wipe); a port only the
          // Engine API lists may never be DNATed ("iptables": false).
          r.verdict = JudgeTrace(
              r.trace, {plan.detail.dnat || plan.detail.named, chain_present.at(dst.family)});
          (*results)[ref].push_back(std::move(r));
        }
      }
      // Nothing to trace from: no uplink of the port's families (with a
      // client routed back through it).  Say so rather than stay silent.
      if (!plan.destinations.empty() && results->count(ref) == 0) {
        (*not_traced)[ref] =
            "no uplink with an address of the port's family and a client routed back through it "
            "(verdict: interfaces: names them)";
      }
    }
    return Status::Ok();
  }

  // Docker's nat chain exists in `family` (AF_INET/AF_INET6): from the
  // netfilter collector's facts of this scrape, else from nf_tables itself.
  bool DockerNatChainPresent(const ScrapeContext& ctx, uint8_t family) {
    if (ctx.facts != nullptr) {
      const HostFactsSnapshot host = ctx.facts->Snapshot();
      if (host.netfilter) return host.netfilter->nat_docker_families.contains(FamilyName(family));
    }
    const uint8_t nfproto = pathtrace::NfprotoOf(family);
    const pathtrace::NftChainModel* chain = nullptr;
    return tracer_->ruleset()->Chain(nfproto, "nat", "DOCKER", &chain).ok() ||
           tracer_->ruleset()
               ->Chain(nfproto, "docker-bridges", "nat-prerouting-and-output", &chain)
               .ok();
  }

  static void Emit(const std::vector<PortPlan>& plans,
                   const std::map<PublishedPortRef, std::vector<PathResult>>& results,
                   const std::map<PublishedPortRef, std::string>& not_traced,
                   std::vector<prometheus::MetricFamily>* out);

  const Paths paths_;
  const std::shared_ptr<PublishedPorts> published_;
  const std::shared_ptr<ConfigStore> config_;
  std::mutex mu_;
  std::unique_ptr<PathTracer> tracer_;  // GUARDED_BY(mu_); opened at the first scrape
  // The origins found at tracer epoch origins_epoch_ for this configuration.
  std::map<uint8_t, std::vector<TraceOrigin>> origins_;  // GUARDED_BY(mu_)
  uint64_t origins_epoch_ = ~uint64_t{0};                // GUARDED_BY(mu_)
  std::vector<std::string> origins_interfaces_;          // GUARDED_BY(mu_)
  std::vector<std::string> origins_sources_;             // GUARDED_BY(mu_)
};

Labels PortLabels(const PublishedPortRef& ref) {
  return {{"proto", ref.proto}, {"host_port", std::to_string(ref.port)}};
}

void VerdictCollector::Emit(const std::vector<PortPlan>& plans,
                            const std::map<PublishedPortRef, std::vector<PathResult>>& results,
                            const std::map<PublishedPortRef, std::string>& not_traced,
                            std::vector<prometheus::MetricFamily>* out) {
  auto reachable = MakeFamily(
      kMetricPublishedPortReachablePredicted,
      "Whether a new connection from another host would get through to this published port on "
      "every traced path (1) or is blocked on one (0); absent when not enough is known.",
      MetricType::Gauge);
  auto blocked = MakeFamily(kMetricPublishedPortBlocked,
                            "1 for each cause that blocks this published port on a traced path.",
                            MetricType::Gauge);
  auto info = MakeFamily(kMetricPublishedPortBlockedInfo,
                         "Where a traced connection to a published port stops: the client, the "
                         "uplink, what the client gets, and the rule or kernel decision.",
                         MetricType::Gauge);
  auto unknown = MakeFamily(kMetricPublishedPortPredictionUnknown,
                            "A traced path to a published port that could not be decided, and why.",
                            MetricType::Gauge);
  for (const PortPlan& plan : plans) {
    const PublishedPortRef& ref = plan.detail.ref;
    if (auto it = not_traced.find(ref); it != not_traced.end()) {
      Labels l = PortLabels(ref);
      l.insert(l.end(), {{"family", ""}, {"interface", ""}, {"reason", it->second}});
      AddSample(&unknown, std::move(l), 1);
      continue;
    }
    auto it = results.find(ref);
    if (it == results.end() || it->second.empty()) continue;  // no outside client to trace from
    bool any_blocked = false, any_unknown = false;
    std::set<std::string> causes;
    std::set<Labels> seen;
    for (const PathResult& r : it->second) {
      const PathVerdict& v = r.verdict;
      if (v.state == PathVerdict::State::kUnknown) {
        any_unknown = true;
        Labels l = PortLabels(ref);
        l.insert(
            l.end(),
            {{"family", FamilyName(r.family)}, {"interface", r.interface}, {"reason", v.reason}});
        if (seen.insert(l).second) AddSample(&unknown, std::move(l), 1);
        continue;
      }
      if (v.state != PathVerdict::State::kBlocked) continue;
      any_blocked = true;
      const auto& at = r.trace.stopped_at;
      for (BlockCause c : v.causes) {
        const std::string cause(BlockCauseName(c));
        causes.insert(cause);
        Labels l = PortLabels(ref);
        l.insert(l.end(), {{"cause", cause},
                           {"family", FamilyName(r.family)},
                           {"interface", r.interface},
                           {"client", r.client},
                           {"address", r.address},
                           {"outcome", pathtrace::OutcomeName(r.trace.outcome)},
                           {"place", v.place},
                           {"backend", at ? at->backend : ""},
                           {"table_family", at ? at->family : ""},
                           {"table", at ? at->table : ""},
                           {"chain", at ? at->chain : ""},
                           {"handle", at && !at->policy ? std::to_string(at->handle) : ""},
                           {"comment", at ? at->comment : ""}});
        if (seen.insert(l).second) AddSample(&info, std::move(l), 1);
      }
    }
    for (const std::string& cause : causes) {
      Labels l = PortLabels(ref);
      l.push_back({"cause", cause});
      AddSample(&blocked, std::move(l), 1);
    }
    if (any_blocked || !any_unknown) AddSample(&reachable, PortLabels(ref), any_blocked ? 0 : 1);
  }
  out->push_back(std::move(reachable));
  out->push_back(std::move(blocked));
  out->push_back(std::move(info));
  out->push_back(std::move(unknown));
}

}  // namespace

std::unique_ptr<Collector> NewVerdictCollector(const CollectorOptions& options) {
  return std::make_unique<VerdictCollector>(options, nullptr);
}

std::unique_ptr<Collector> NewVerdictCollectorWithTracer(const CollectorOptions& options,
                                                         std::unique_ptr<PathTracer> tracer) {
  return std::make_unique<VerdictCollector>(options, std::move(tracer));
}

}  // namespace portmap
