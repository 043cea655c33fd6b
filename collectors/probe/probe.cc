#include "collectors/probe/probe.h"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
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
#include "util/metrics.h"

namespace portmap {

namespace {

class ProbeCollector : public Collector {
 public:
  explicit ProbeCollector(const CollectorOptions& options)
      : config_(options.config ? options.config : std::make_shared<ConfigStore>()),
        published_(options.published_ports),
        vantage_(options.probe_vantage),
        // A one-shot run (diagnose) always probes: its one scrape is the point.
        interval_(options.watch_events ? options.probe_interval : std::chrono::milliseconds(0)) {}

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
    const std::string key = JobsKey(jobs);
    const Clock::time_point now = Clock::now();
    if (!Reuse(config, key, now, out)) {
      const std::vector<ProbeRecord> records = RunProbes(jobs, *config, ctx.deadline, ctx.stop);
      Round round{config, key, Clock::now(), {}};
      AppendProbeFamilies(vantage_, records, &histograms_, &round.families);
      for (const auto& f : round.families) out->push_back(f);
      out->push_back(AgeFamily(0));
      if (interval_.count() > 0) {
        std::lock_guard<std::mutex> lock(mu_);
        last_ = std::move(round);
      }
    }
    if (!errors.empty()) return Status::Error(errors);
    return Status::Ok();
  }

 private:
  // The families of one probing of every target, kept for the scrapes of
  // the next --probe.interval.
  struct Round {
    std::shared_ptr<const ProbeConfig> config;  // the configuration it ran under
    std::string jobs;                           // JobsKey of what it probed
    Clock::time_point at;                       // when it finished
    std::vector<prometheus::MetricFamily> families;
  };

  // The last round's families when it probed exactly these targets under
  // this configuration less than --probe.interval ago.  A new published
  // port, a target gone or a reload makes the scrape probe afresh.
  bool Reuse(const std::shared_ptr<const ProbeConfig>& config, const std::string& key,
             Clock::time_point now, std::vector<prometheus::MetricFamily>* out) const {
    if (interval_.count() <= 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (!last_ || last_->config != config || last_->jobs != key || now - last_->at >= interval_) {
      return false;
    }
    for (const auto& f : last_->families) out->push_back(f);
    out->push_back(AgeFamily(std::chrono::duration<double>(now - last_->at).count()));
    return true;
  }

  static prometheus::MetricFamily AgeFamily(double seconds) {
    auto f = MakeFamily("portmap_probe_age_seconds",
                        "Seconds since the probes this scrape shows ran: 0 when the scrape ran "
                        "them, up to --probe.interval when it shows an earlier round's.",
                        MetricType::Gauge);
    AddSample(&f, {}, seconds);
    return f;
  }

  // Target, module and labels of every job: what decides the series.
  static std::string JobsKey(const std::vector<ProbeJob>& jobs) {
    std::string key;
    for (const ProbeJob& job : jobs) {
      key += job.target;
      key += '\x1f';
      key += job.module;
      for (const Label& l : job.extra) {
        key += '\x1f';
        key += l.name;
        key += '=';
        key += l.value;
      }
      key += '\x1e';
    }
    return key;
  }

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
  const std::chrono::milliseconds interval_;  // 0: probe in every scrape
  ConnectHistograms histograms_;
  mutable std::mutex mu_;
  std::optional<Round> last_;  // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<Collector> NewProbeCollector(const CollectorOptions& options) {
  return std::make_unique<ProbeCollector>(options);
}

}  // namespace portmap
