#include "collectors/probe/probe.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collectors/docker_api.h"
#include "collectors/probe/local_targets.h"
#include "collectors/probe/probe_metrics.h"
#include "collectors/probe/prober.h"
#include "collectors/published_ports.h"
#include "config/probe_config.h"

namespace portmap {

namespace {

class ProbeCollector : public Collector {
 public:
  explicit ProbeCollector(const CollectorOptions& options)
      : config_(options.config ? options.config : std::make_shared<ConfigStore>()),
        published_(options.published_ports),
        vantage_(options.probe_vantage) {}

  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) override {
    const std::shared_ptr<const ProbeConfig> config = config_->Get();
    std::string errors;
    std::vector<ProbeJob> jobs;
    for (const StaticTarget& t : config->targets) {
      ProbeJob job;
      job.target = t.target;
      job.module = t.module;
      for (const auto& [name, value] : t.labels) job.extra.push_back({name, value});
      jobs.push_back(std::move(job));
    }
    for (ProbeJob& job : Discover(*config, ctx, &errors)) jobs.push_back(std::move(job));
    Dedupe(&jobs);
    const std::vector<ProbeRecord> records = RunProbes(jobs, *config, ctx.deadline, ctx.stop);
    AppendProbeFamilies(vantage_, records, &histograms_, out);
    if (!errors.empty()) return Status::Error(errors);
    return Status::Ok();
  }

 private:
  // The local targets of every published TCP port the discoveries know.
  std::vector<ProbeJob> Discover(const ProbeConfig& config, const ScrapeContext& ctx,
                                 std::string* errors) const {
    std::map<std::string, std::set<uint16_t>> ports_by_module;
    if (config.netfilter.enabled && published_ != nullptr) {
      for (const PublishedPortRef& p : published_->Remembered()) {
        if (p.proto == "tcp") ports_by_module[config.netfilter.module].insert(p.port);
      }
    }
    if (config.docker.enabled) {
      std::vector<DockerApiPort> api_ports;
      Status st = ReadDockerApiPorts(config.docker.socket, ctx.deadline, &api_ports);
      if (!st.ok()) AppendError(errors, "discovery.docker: " + st.message());
      for (const DockerApiPort& p : api_ports) {
        if (p.proto == "tcp") ports_by_module[config.docker.module].insert(p.host_port);
      }
    }
    if (ports_by_module.empty()) return {};
    std::vector<HostAddress> addresses;
    if (Status st = ReadHostAddresses(&addresses); !st.ok()) AppendError(errors, st.message());
    std::vector<ProbeJob> jobs;
    for (const auto& [module, ports] : ports_by_module) {
      for (std::string& target :
           LocalTargets(ports, addresses, config.netfilter.exclude_interfaces)) {
        ProbeJob job;
        job.target = std::move(target);
        job.module = module;
        jobs.push_back(std::move(job));
      }
    }
    return jobs;
  }

  // A target listed twice (configured and discovered) is probed once, as
  // configured (with its module and labels).
  static void Dedupe(std::vector<ProbeJob>* jobs) {
    std::set<std::string> seen;
    std::vector<ProbeJob> unique;
    for (ProbeJob& job : *jobs) {
      if (seen.insert(job.target).second) unique.push_back(std::move(job));
    }
    *jobs = std::move(unique);
  }

  const std::shared_ptr<ConfigStore> config_;
  const std::shared_ptr<PublishedPorts> published_;
  const std::string vantage_;
  ConnectHistograms histograms_;
};

}  // namespace

std::unique_ptr<Collector> NewProbeCollector(const CollectorOptions& options) {
  return std::make_unique<ProbeCollector>(options);
}

}  // namespace portmap
