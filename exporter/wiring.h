// The collectors a run of the exporter or of `diagnose` scrapes: the ones
// --collector.* enables, built on options made from the flags.  One place,
// so the exporter and its troubleshooting report always look at the same
// thing in the same way.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "collectors/collector.h"
#include "collectors/registry.h"
#include "collectors/scrape_runner.h"
#include "exporter/flags.h"

namespace portmap {

// What a test may put in place of the machine.  The golden /metrics test
// runs the whole exporter on fixture trees and recorded netfilter messages,
// with no event watchers (their counters would depend on the machine);
// `diagnose` runs without watchers too (it sees no events, and a watcher
// still subscribing during its only scrape would read as a failed
// collector).
struct ExporterSeams {
  NetfilterSourceFactory netfilter_source;  // null: the kernel's
  bool watch_events = true;
};

struct BuiltCollectors {
  CollectorOptions options;  // options.published_ports: shared by the collectors
  std::vector<NamedCollector> enabled;
};

// Docker's published ports are read once here, while its rules are surely
// there: a firewalld start later wipes them exactly when they must be
// checked.  `log_enabled` logs each collector built.
BuiltCollectors BuildCollectors(const Flags& flags, std::shared_ptr<ConfigStore> config,
                                std::span<const CollectorSpec> specs, const ExporterSeams& seams,
                                bool log_enabled);

}  // namespace portmap
