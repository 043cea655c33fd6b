// docker: is dockerd running, and since when?
//
// firewalld's iptables backend wipes Docker's chains whenever it starts or
// reloads; dockerd writes them only when it starts (or when it sees firewalld's
// Reloaded signal).  So "firewalld started after dockerd" is the question, and
// with both start times exported it is one PromQL comparison:
//   portmap_firewalld_start_time_seconds > portmap_dockerd_start_time_seconds
//
// Exports:
//   portmap_dockerd_up                  1 when a dockerd process is found
//   portmap_dockerd_start_time_seconds  its start, Unix seconds (only when up)
//
// How dockerd is found, in order:
//   1. the pid in --docker.pidfile (default /var/run/docker.pid), read under
//      --path.rootfs, if that process exists under --path.procfs and its comm
//      is "dockerd" (a stale pid file naming a reused pid is ignored);
//   2. otherwise the lowest pid under --path.procfs whose comm is "dockerd".
// No dockerd is a state of the host, not a fault: up 0 and success 1.  An
// unreadable procfs is an error.
//
// The start time is what ps reports: field 22 of <procfs>/<pid>/stat (clock
// ticks since boot, sysconf(_SC_CLK_TCK)) plus btime from <procfs>/stat.
//
// Thread safety: Collect() reads files only and keeps no state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "collectors/collector.h"
#include "util/procfs.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricDockerdUp[] = "portmap_dockerd_up";
inline constexpr char kMetricDockerdStartTimeSeconds[] = "portmap_dockerd_start_time_seconds";

inline constexpr char kDockerdComm[] = "dockerd";

std::unique_ptr<Collector> NewDockerCollector(const CollectorOptions& options);

// dockerd's pid as described above; *pid = 0 when there is none.
ReadResult FindDockerd(const Paths& paths, const std::string& pidfile, int64_t* pid);

}  // namespace portmap
