// verdict: for each published port, would a new connection from another
// host get through, and if not, where does it stop and why?  Beyond any
// probe: an exporter alone on the Docker host names the cause of "answers
// here, times out from elsewhere".
//
// The answer is a trace (pathtrace/, the engine of `portmap_exporter
// trace`): for each published port (collectors/published_ports.h), each
// protocol and family it is published for, and each outside client on each
// uplink (uplinks.h), a SYN (or UDP datagram) is followed through the live
// nf_tables and iptables-legacy rules, the kernel's routing decision and the
// listener check, as the kernel would.  Where it stops is named as a cause
// (causes.h).  Traces are cached while nothing they read changed
// (path_tracer.h).
//
// Exports, per published port (host IP 127.0.0.1 / ::1 only: not meant for
// other hosts, left out):
//   portmap_published_port_reachable_predicted{proto,host_port}
//       1 every traced path gets through; 0 at least one is blocked; absent
//       when no path is blocked and one could not be decided
//   portmap_published_port_blocked{proto,host_port,cause}
//       1 for each cause that blocks the port on some path (causes.h)
//   portmap_published_port_blocked_info{proto,host_port,cause,family,
//       interface,client,address,outcome,place,backend,table_family,table,
//       chain,handle,comment}
//       1 per blocked path and cause: which client on which uplink, to which
//       of the host's addresses, what its connect gets (timeout, refused,
//       unreachable), and the place — the
//       rule or policy (its backend, table family, table, chain, handle,
//       comment) or the kernel's decision
//   portmap_published_port_prediction_unknown_info{proto,host_port,family,
//       interface,reason}
//       1 per path that could not be decided, and why
//
// Runs after the gathering collectors (CollectorPhase::kJudge) for their
// facts: whether Docker's nat chain exists decides docker_chain_missing
// versus dnat_rule_missing.  With discovery.docker on, it reads the Engine
// API's ports itself (RememberApi) so that ports Docker never DNATs are
// judged too.  Fails (success 0, logged) only when the ruleset or the kernel
// cannot be read at all, e.g. without CAP_NET_ADMIN.
//
// Thread safety: Collect() may run concurrently; the tracer and its cache
// are used under a mutex.
#pragma once

#include <memory>

#include "collectors/collector.h"
#include "collectors/verdict/path_tracer.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricPublishedPortReachablePredicted[] =
    "portmap_published_port_reachable_predicted";
inline constexpr char kMetricPublishedPortBlocked[] = "portmap_published_port_blocked";
inline constexpr char kMetricPublishedPortBlockedInfo[] = "portmap_published_port_blocked_info";
inline constexpr char kMetricPublishedPortPredictionUnknown[] =
    "portmap_published_port_prediction_unknown_info";

std::unique_ptr<Collector> NewVerdictCollector(const CollectorOptions& options);

// For tests: the collector over a given tracer (its fakes inside).
std::unique_ptr<Collector> NewVerdictCollectorWithTracer(const CollectorOptions& options,
                                                         std::unique_ptr<PathTracer> tracer);

}  // namespace portmap
