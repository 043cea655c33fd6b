#include "exporter/process_metrics.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "util/metrics.h"
#include "util/procfs.h"

namespace portmap {

namespace {

// strtod rather than std::stod: a surprise in a kernel file must not throw.
bool ToDouble(const std::string& text, double* value) {
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0';
}

// Fields of /proc/PID/stat after the ")" that ends the command name (which may
// itself hold spaces and parentheses), numbered as in proc(5) minus 3.
struct StatFields {
  double utime_ticks = 0;
  double stime_ticks = 0;
  double starttime_ticks = 0;
  double vsize_bytes = 0;
  double rss_pages = 0;
};

bool ParseStat(const std::string& text, StatFields* f) {
  size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream in(text.substr(close + 1));
  std::string field;
  // proc(5): 3 state ... 14 utime 15 stime ... 22 starttime 23 vsize 24 rss
  for (int i = 3; i <= 24 && in >> field; ++i) {
    switch (i) {
      case 14:
        if (!ToDouble(field, &f->utime_ticks)) return false;
        break;
      case 15:
        if (!ToDouble(field, &f->stime_ticks)) return false;
        break;
      case 22:
        if (!ToDouble(field, &f->starttime_ticks)) return false;
        break;
      case 23:
        if (!ToDouble(field, &f->vsize_bytes)) return false;
        break;
      case 24:
        return ToDouble(field, &f->rss_pages);
      default:
        break;
    }
  }
  return false;
}

bool ParseBootTime(const std::string& stat, double* btime) {
  std::istringstream in(stat);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      return ToDouble(line.substr(6), btime);
    }
  }
  return false;
}

// The soft "Max open files" limit from /proc/PID/limits.
bool ParseMaxFds(const std::string& limits, double* max_fds) {
  std::istringstream in(limits);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream fields(line.substr(14));
      std::string soft;
      fields >> soft;
      if (soft == "unlimited") {
        *max_fds = -1;
        return false;
      }
      return ToDouble(soft, max_fds);
    }
  }
  return false;
}

void AddGauge(std::vector<prometheus::MetricFamily>* out, const char* name, const char* help,
              MetricType type, double value) {
  auto f = MakeFamily(name, help, type);
  AddSample(&f, {}, value);
  out->push_back(std::move(f));
}

}  // namespace

Status AppendProcessMetrics(const std::string& proc_self, const std::string& proc_root,
                            std::vector<prometheus::MetricFamily>* out) {
  std::string errors;
  auto fail = [&errors](const std::string& e) { AppendError(&errors, e); };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  std::string text;
  StatFields stat;
  ReadResult r = ReadFile(proc_self + "/stat", &text);
  if (!r.ok()) {
    fail(r.error);
  } else if (!ParseStat(text, &stat)) {
    fail("parse " + proc_self + "/stat: unexpected format");
  } else {
    AddGauge(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             MetricType::Counter, (stat.utime_ticks + stat.stime_ticks) / ticks);
    AddGauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
             MetricType::Gauge, stat.vsize_bytes);
    AddGauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
             MetricType::Gauge, stat.rss_pages * page);
    double btime = 0;
    std::string proc_stat;
    if (ReadFile(proc_root + "/stat", &proc_stat).ok() && ParseBootTime(proc_stat, &btime)) {
      AddGauge(out, "process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
               btime + stat.starttime_ticks / ticks);
    } else {
      fail("read btime from " + proc_root + "/stat");
    }
  }

  std::vector<std::string> fds;
  r = ListDir(proc_self + "/fd", &fds);
  if (r.ok()) {
    // The directory handle ListDir held is closed again, so it is not counted.
    AddGauge(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
             static_cast<double>(fds.size()));
  } else {
    fail(r.error);
  }
  double max_fds = 0;
  if (ReadFile(proc_self + "/limits", &text).ok() && ParseMaxFds(text, &max_fds)) {
    AddGauge(out, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
             max_fds);
  }
  return errors.empty() ? Status::Ok() : Status::Error(errors);
}

}  // namespace portmap
