// RunProbes: resolve and connect a batch of probe jobs under one deadline —
// what the probe collector does for every published port at a scrape, and
// the /probe handler for its one target (blackbox_exporter's prober.go: one
// entry point for a probe kind).
//
// Each job's connect gets min(its module's timeout, the deadline).  A job
// whose target does not parse or resolve, or names an unknown module, is an
// `error` outcome with the reason as its detail: one bad target costs its own
// series, not the batch.
//
// Thread safety: reentrant.
#pragma once

#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/probe/probe_metrics.h"
#include "config/probe_config.h"
#include "config/probe_target.h"
#include "util/metrics.h"

namespace portmap {

struct ProbeJob {
  std::string target;  // "HOST:PORT"
  std::string module = kDefaultModule;
  Labels extra;  // extra labels for its series
  // Already resolved (and checked against --probe.allow) by the caller: the
  // connect goes to exactly that address, without a second lookup.
  std::optional<ResolvedTarget> resolved;
};

// One result per job, in order.  When `log` is not null, each step is
// appended to it as a line (for /probe?debug=true).
std::vector<ProbeRecord> RunProbes(const std::vector<ProbeJob>& jobs, const ProbeConfig& config,
                                   Clock::time_point deadline, std::stop_token stop,
                                   std::vector<std::string>* log = nullptr);

}  // namespace portmap
