#include "exporter/wiring.h"

#include <chrono>
#include <string>
#include <utility>

#include "collectors/published_ports.h"
#include "config/config_yaml.h"
#include "util/logging.h"

namespace portmap {

BuiltCollectors BuildCollectors(const Flags& flags, std::shared_ptr<ConfigStore> config,
                                std::span<const CollectorSpec> specs, const ExporterSeams& seams,
                                bool log_enabled) {
  BuiltCollectors built;
  CollectorOptions& options = built.options;  // fields by name: collectors add options over time
  options.paths = flags.paths;
  options.docker_pidfile = flags.docker_pidfile;
  options.config = std::move(config);
  options.probe_vantage = flags.probe_vantage;
  // Checked with the other flags (flags.cc); a value that slipped past leaves the default.
  (void)config_yaml::ParseDuration(flags.probe_interval, &options.probe_interval);
  options.watch_events = seams.watch_events;
  options.netfilter_source = seams.netfilter_source;
  options.published_ports = NewPublishedPorts(options);
  options.published_ports->Read(Clock::now() + std::chrono::seconds(2));
  for (const CollectorSpec& spec : specs) {
    const auto on = flags.collectors.find(std::string(spec.name));
    if (on == flags.collectors.end() || !on->second) continue;
    if (log_enabled) LogInfo("Enabled collector", {{"collector", std::string(spec.name)}});
    built.enabled.push_back({std::string(spec.name), spec.factory(options), spec.phase});
  }
  return built;
}

}  // namespace portmap
