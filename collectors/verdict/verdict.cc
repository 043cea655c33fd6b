#include "collectors/verdict/verdict.h"

#include <string>
#include <utility>
#include <vector>

#include "collectors/host_facts.h"
#include "collectors/published_ports.h"
#include "collectors/verdict/tcp_listeners.h"
#include "collectors/verdict/verdict_rules.h"
#include "util/metrics.h"

namespace portmap {

namespace {

template <typename T, typename F>
auto Known(const std::optional<T>& facts, F f) -> std::optional<decltype(f(*facts))> {
  if (!facts) return std::nullopt;
  return f(*facts);
}

// The rules' inputs for one port, from the scrape's facts.
PortFacts FactsFor(const PublishedPortRef& port, const HostFactsSnapshot& host,
                   const std::optional<std::vector<TcpListener>>& listeners) {
  PortFacts f;
  f.ip_forward = host.ip_forward_v4;
  f.nat_docker_present =
      Known(host.netfilter, [](const NetfilterFacts& n) { return n.nat_docker_present; });
  f.dnat_present =
      Known(host.netfilter, [&](const NetfilterFacts& n) { return n.dnat_ports.count(port) != 0; });
  f.forward_accepts =
      Known(host.netfilter, [](const NetfilterFacts& n) { return n.forward_accepts; });
  f.firewalld_up = Known(host.firewalld, [](const FirewalldFacts& w) { return w.up; });
  if (host.firewalld && host.firewalld->up) {
    f.firewalld_nftables = host.firewalld->backend != "iptables";  // firewalld's default
    if (auto it = host.firewalld->allowed.find(port); it != host.firewalld->allowed.end()) {
      f.firewalld_allowed = it->second;
    }
  }
  // Only TCP listeners are read; a UDP port's host path stays unknown.
  if (listeners && port.proto == "tcp") {
    f.host_listener = ListensBeyondLoopback(*listeners, port.port);
  }
  return f;
}

class VerdictCollector : public Collector {
 public:
  explicit VerdictCollector(const CollectorOptions& options)
      : paths_(options.paths), published_(options.published_ports) {}

  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) override {
    if (ctx.facts == nullptr || published_ == nullptr) {
      return Status::NoData("no facts or published ports to judge");
    }
    auto reachable = MakeFamily(
        kMetricPublishedPortReachablePredicted,
        "Whether, from the host's state alone, a connection from another host to this published "
        "port would get through (1) or not (0); absent when not enough is known.",
        MetricType::Gauge);
    auto blocked = MakeFamily(kMetricPublishedPortBlocked,
                              "1 for each cause that cuts this published port off from other "
                              "hosts, 0 for each cause checked that does not.",
                              MetricType::Gauge);
    const HostFactsSnapshot host = ctx.facts->Snapshot();
    std::optional<std::vector<TcpListener>> listeners(std::in_place);
    const Status read = ReadTcpListeners(paths_, &*listeners);
    if (!read.ok()) listeners.reset();

    for (const PublishedPortRef& port : published_->Remembered()) {
      const PortVerdict v = JudgePort(FactsFor(port, host, listeners));
      const std::string host_port = std::to_string(port.port);
      for (const CauseVerdict& c : v.causes) {
        AddSample(&blocked,
                  {{"proto", port.proto},
                   {"host_port", host_port},
                   {"cause", std::string(BlockCauseName(c.cause))}},
                  c.holds ? 1 : 0);
      }
      if (v.reachable) {
        AddSample(&reachable, {{"proto", port.proto}, {"host_port", host_port}},
                  *v.reachable ? 1 : 0);
      }
    }
    out->push_back(std::move(reachable));
    out->push_back(std::move(blocked));
    if (!read.ok()) return Status::Error("listeners: " + read.message());
    return Status::Ok();
  }

 private:
  const Paths paths_;
  const std::shared_ptr<PublishedPorts> published_;
};

}  // namespace

std::unique_ptr<Collector> NewVerdictCollector(const CollectorOptions& options) {
  return std::make_unique<VerdictCollector>(options);
}

}  // namespace portmap
