// verdict: per published port, does the host's state let other hosts in, and
// if not, why (verdict_rules.h)?  Beyond any probe: an exporter alone on the
// Docker host names the cause of "answers here, times out from elsewhere".
//
// Exports, for every published port Docker publishes (or did since the
// exporter started: collectors/published_ports.h):
//   portmap_published_port_reachable_predicted{proto,host_port}  1/0
//   portmap_published_port_blocked{proto,host_port,cause}         1 for each
//       cause that cuts the port off, 0 for each cause evaluated that does
//       not; a cause that could not be evaluated (its collector is disabled
//       or failed this scrape) is absent, and so is the prediction unless a
//       known cause already blocks.
//
// It judges what the other collectors recorded in the same scrape
// (collectors/host_facts.h: forwarding, netfilter, firewalld), so it runs after them
// (CollectorPhase::kJudge), plus one read of its own: who listens on each
// port (<procfs>/net/tcp, tcp_listeners.h) — docker-proxy keeps a port
// reachable when its DNAT rule is gone.
//
// Thread safety: Collect() may run concurrently; it shares nothing mutable.
#pragma once

#include <memory>

#include "collectors/collector.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricPublishedPortReachablePredicted[] =
    "portmap_published_port_reachable_predicted";
inline constexpr char kMetricPublishedPortBlocked[] = "portmap_published_port_blocked";

std::unique_ptr<Collector> NewVerdictCollector(const CollectorOptions& options);

}  // namespace portmap
