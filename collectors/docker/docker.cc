#include "collectors/docker/docker.h"

#include <unistd.h>

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
      : paths_(options.paths), pidfile_(options.docker_pidfile) {}

  Status Collect(const ScrapeContext& /*ctx*/,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto up = MakeFamily(kMetricDockerdUp,
                         "Whether a dockerd process is running (pid file, else a /proc scan).",
                         MetricType::Gauge);
    auto start = MakeFamily(kMetricDockerdStartTimeSeconds,
                            "Start time of the dockerd process, Unix seconds.", MetricType::Gauge);
    int64_t pid = 0;
    ReadResult r = FindDockerd(paths_, pidfile_, &pid);
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
  const std::string pidfile_;
};

}  // namespace

ReadResult FindDockerd(const Paths& paths, const std::string& pidfile, int64_t* pid) {
  *pid = 0;
  std::string text;
  if (!pidfile.empty() && ReadFile(paths.Root(pidfile), &text).ok()) {
    int64_t candidate = 0;
    if (ParseTrimmedInt64(text, &candidate) && candidate > 0 && IsDockerd(paths, candidate)) {
      *pid = candidate;
      return {};
    }
  }
  std::vector<std::string> names;
  ReadResult r = ListDir(paths.procfs, &names);
  if (!r.ok()) return r;
  int64_t best = 0;
  for (const std::string& name : names) {
    int64_t candidate = 0;
    if (!ParseTrimmedInt64(name, &candidate) || candidate <= 0) continue;
    if ((best == 0 || candidate < best) && IsDockerd(paths, candidate)) best = candidate;
  }
  *pid = best;
  return {};
}

std::unique_ptr<Collector> NewDockerCollector(const CollectorOptions& options) {
  return std::make_unique<DockerCollector>(options);
}

}  // namespace portmap
