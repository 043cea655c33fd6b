#include "collectors/docker.h"

#include <unistd.h>

#include <charconv>
#include <string_view>
#include <vector>

#include "collectors/metrics.h"

namespace portmap {

namespace {

bool ParseInt(std::string_view s, int64_t* out) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

ReadResult Malformed(const std::string& path, const std::string& why) {
  ReadResult r;
  r.code = ReadResult::Code::kError;
  r.error = "parse " + path + ": " + why;
  return r;
}

// btime from <procfs>/stat: the boot time, Unix seconds.
ReadResult BootTime(const Paths& paths, int64_t* btime) {
  const std::string path = paths.Proc("stat");
  std::string text;
  ReadResult r = ReadFile(path, &text);
  if (!r.ok()) return r;
  const size_t at = text.find("\nbtime ");
  if (at == std::string::npos) return Malformed(path, "no btime line");
  const size_t begin = at + 7;
  const size_t end = text.find('\n', begin);
  if (!ParseInt(std::string_view(text).substr(begin, end - begin), btime)) {
    return Malformed(path, "bad btime");
  }
  return {};
}

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
    auto up = MakeFamily("portmap_dockerd_up",
                         "Whether a dockerd process is running (pid file, else a /proc scan).",
                         MetricType::Gauge);
    auto start = MakeFamily("portmap_dockerd_start_time_seconds",
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

ReadResult ProcessComm(const Paths& paths, int64_t pid, std::string* comm) {
  ReadResult r = ReadFile(paths.Proc(std::to_string(pid) + "/comm"), comm);
  if (r.ok() && !comm->empty() && comm->back() == '\n') comm->pop_back();
  return r;
}

ReadResult ProcessStartTimeSeconds(const Paths& paths, int64_t pid, int64_t ticks_per_second,
                                   double* seconds) {
  const std::string path = paths.Proc(std::to_string(pid) + "/stat");
  std::string text;
  ReadResult r = ReadFile(path, &text);
  if (!r.ok()) return r;
  // comm (field 2) may hold spaces and parentheses: fields resume after the
  // last ')'.  starttime is field 22, the 20th after it.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return Malformed(path, "no ')' after comm");
  std::string_view rest = std::string_view(text).substr(close + 1);
  std::string_view field;
  for (int i = 0; i < 20; ++i) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t end = rest.find(' ');
    field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  int64_t ticks = 0;
  if (!ParseInt(field, &ticks) || ticks_per_second <= 0) return Malformed(path, "bad starttime");
  int64_t btime = 0;
  r = BootTime(paths, &btime);
  if (!r.ok()) return r;
  *seconds = static_cast<double>(btime) +
             static_cast<double>(ticks) / static_cast<double>(ticks_per_second);
  return {};
}

ReadResult FindDockerd(const Paths& paths, const std::string& pidfile, int64_t* pid) {
  *pid = 0;
  std::string text;
  if (!pidfile.empty() && ReadFile(paths.Root(pidfile), &text).ok()) {
    int64_t candidate = 0;
    if (ParseInt(text, &candidate) && candidate > 0 && IsDockerd(paths, candidate)) {
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
    if (!ParseInt(name, &candidate) || candidate <= 0) continue;
    if ((best == 0 || candidate < best) && IsDockerd(paths, candidate)) best = candidate;
  }
  *pid = best;
  return {};
}

std::unique_ptr<Collector> NewDockerCollector(const CollectorOptions& options) {
  return std::make_unique<DockerCollector>(options);
}

}  // namespace portmap
