#include "collectors/docker/docker.h"

#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "util/metrics.h"

namespace portmap {

namespace {

bool IsDockerd(const Paths& paths, int64_t pid) {
  std::string comm;
  return ProcessComm(paths, pid, &comm).ok() && comm == kDockerdComm;
}

class DockerCollector : public Collector {
 public:
  explicit DockerCollector(const CollectorOptions& options)
      : paths_(options.paths), finder_(options.paths, options.docker_pidfile) {}

  Status Collect(const ScrapeContext& /*ctx*/,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto up = MakeFamily(kMetricDockerdUp,
                         "Whether a dockerd process is running (pid file, else a /proc scan).",
                         MetricType::Gauge);
    auto start = MakeFamily(kMetricDockerdStartTimeSeconds,
                            "Start time of the dockerd process, Unix seconds.", MetricType::Gauge);
    int64_t pid = 0;
    ReadResult r = finder_.Find(&pid);
    if (!r.ok()) return Status::Error(r.error);
    AddSample(&up, {}, pid > 0 ? 1 : 0);
    Status status;
    if (pid > 0) {
      double seconds = 0;
      ReadResult sr = ProcessStartTimeSeconds(paths_, pid, sysconf(_SC_CLK_TCK), &seconds);
      // dockerd exiting between the scan and the read is "not running".
      if (sr.code == ReadResult::Code::kNotFound) {
        up.metric.clear();
        AddSample(&up, {}, 0);
      } else if (!sr.ok()) {
        status = Status::Error(sr.error);
      } else {
        AddSample(&start, {}, seconds);
      }
    }
    out->push_back(std::move(up));
    out->push_back(std::move(start));
    return status;
  }

 private:
  const Paths paths_;
  DockerdFinder finder_;
};

}  // namespace

bool DockerdFinder::Remember(int64_t pid) {
  int64_t ticks = 0;
  if (!IsDockerd(paths_, pid) || !ProcessStartTicks(paths_, pid, &ticks).ok()) return false;
  pid_ = pid;
  start_ticks_ = ticks;
  return true;
}

bool DockerdFinder::StillRunning() const {
  int64_t ticks = 0;
  return pid_ > 0 && IsDockerd(paths_, pid_) && ProcessStartTicks(paths_, pid_, &ticks).ok() &&
         ticks == start_ticks_;
}

ReadResult DockerdFinder::Find(int64_t* pid) {
  std::lock_guard<std::mutex> lock(mu_);
  *pid = 0;
  std::string text;
  if (!pidfile_.empty() && ReadFile(paths_.Root(pidfile_), &text).ok()) {
    int64_t candidate = 0;
    if (ParseTrimmedInt64(text, &candidate) && candidate > 0 && Remember(candidate)) {
      *pid = pid_;
      return {};
    }
  }
  if (StillRunning()) {
    *pid = pid_;
    return {};
  }
  pid_ = 0;
  const Clock::time_point now = Clock::now();
  if (now < no_scan_until_) return {};  // a scan found none a moment ago
  std::vector<std::string> names;
  ReadResult r = ListDir(paths_.procfs, &names);
  if (!r.ok()) return r;
  // Sorted as strings, so the lowest pid is not necessarily the first dockerd.
  std::vector<int64_t> pids;
  for (const std::string& name : names) {
    int64_t candidate = 0;
    if (ParseTrimmedInt64(name, &candidate) && candidate > 0) pids.push_back(candidate);
  }
  std::sort(pids.begin(), pids.end());
  for (int64_t candidate : pids) {
    if (Remember(candidate)) break;
  }
  no_scan_until_ = pid_ == 0 ? now + rescan_after_ : Clock::time_point{};
  *pid = pid_;
  return {};
}

std::unique_ptr<Collector> NewDockerCollector(const CollectorOptions& options) {
  return std::make_unique<DockerCollector>(options);
}

}  // namespace portmap
