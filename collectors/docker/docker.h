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
//   2. the dockerd found at an earlier scrape, if <procfs>/PID still is that
//      process: comm "dockerd" and the same start time;
//   3. otherwise the lowest pid under --path.procfs whose comm is "dockerd".
// Without a pid file (not mounted into the exporter's container, or written
// elsewhere: dockerd --pidfile) step 3 would read the comm of every process at every
// scrape; step 2 makes it one scan per dockerd start, and two small reads in
// between.  A scan that finds no dockerd is not repeated for kRescanAfter
// (10 s): a host without dockerd costs one scan per 10 s, not one per scrape,
// and a dockerd started meanwhile shows at once through its pid file, else
// within 10 s.
// No dockerd is a state of the host, not a fault: up 0 and success 1.  An
// unreadable procfs is an error.
//
// The start time is what ps reports: field 22 of <procfs>/<pid>/stat (clock
// ticks since boot, sysconf(_SC_CLK_TCK)) plus btime from <procfs>/stat.
//
// Thread safety: Collect() may run concurrently; the dockerd it remembers is
// guarded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "collectors/collector.h"
#include "util/procfs.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricDockerdUp[] = "portmap_dockerd_up";
inline constexpr char kMetricDockerdStartTimeSeconds[] = "portmap_dockerd_start_time_seconds";

inline constexpr char kDockerdComm[] = "dockerd";

std::unique_ptr<Collector> NewDockerCollector(const CollectorOptions& options);

// Finds dockerd as described above, remembering the process it found.
//
// Thread safety: Find may be called concurrently.
class DockerdFinder {
 public:
  static constexpr std::chrono::milliseconds kRescanAfter{10000};

  DockerdFinder(Paths paths, std::string pidfile,
                std::chrono::milliseconds rescan_after = kRescanAfter)
      : paths_(std::move(paths)), pidfile_(std::move(pidfile)), rescan_after_(rescan_after) {}
  DockerdFinder(const DockerdFinder&) = delete;
  DockerdFinder& operator=(const DockerdFinder&) = delete;

  // dockerd's pid; *pid = 0 when there is none.
  ReadResult Find(int64_t* pid);

 private:
  // Whether `pid` is a dockerd; if so, remembers it with its start time.
  bool Remember(int64_t pid);
  // Whether the remembered process is still there: the same pid and start.
  bool StillRunning() const;

  const Paths paths_;
  const std::string pidfile_;
  const std::chrono::milliseconds rescan_after_;
  std::mutex mu_;                      // one Find at a time: a concurrent scrape waits for the scan
  int64_t pid_ = 0;                    // GUARDED_BY(mu_); 0 = none remembered
  int64_t start_ticks_ = 0;            // GUARDED_BY(mu_)
  Clock::time_point no_scan_until_{};  // GUARDED_BY(mu_); after a scan found none
};

}  // namespace portmap
