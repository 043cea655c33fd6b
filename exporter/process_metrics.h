// The standard process_* metrics every Prometheus client library exports
// (client_golang's process collector), read from /proc/self:
//   process_cpu_seconds_total, process_resident_memory_bytes,
//   process_virtual_memory_bytes, process_open_fds, process_max_fds,
//   process_start_time_seconds.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "util/status.h"

namespace portmap {

// `proc_self` is normally "/proc/self"; `proc_root` ("/proc") supplies
// /proc/stat's btime, which turns the start tick count into a timestamp.
// Reads that fail leave their families out and are reported in the Status.
Status AppendProcessMetrics(const std::string& proc_self, const std::string& proc_root,
                            std::vector<prometheus::MetricFamily>* out);

}  // namespace portmap
