// probe: TCP connect probes to every published port from this host (the
// `local` vantage, or whatever --probe.vantage says), plus the static targets
// of --config.file, all at once within the scrape's deadline.
//
// Targets, in one batch (prober.h, tcp_connect.h):
//   discovery.netfilter  each TCP port Docker publishes (collectors/published_ports.h) on
//                        127.0.0.1 and each host IPv4 address (local_targets.h)
//   discovery.docker     the same for the ports the Docker Engine API lists
//                        (off by default; collectors/docker_api.h)
//   targets              the configured ones, with their module and labels
// A target found twice is probed once.
//
// Exports the probe series of probe_metrics.h.  A probe that fails is data
// (success 0 and its outcome), not a collector failure; the collector fails
// only when it could not find its targets (the Docker API unreadable, the
// host addresses unreadable) and still probes the rest.
//
// Thread safety: Collect() may run concurrently; the histograms are guarded.
#pragma once

#include <memory>

#include "collectors/collector.h"

namespace portmap {

std::unique_ptr<Collector> NewProbeCollector(const CollectorOptions& options);

}  // namespace portmap
