// The pair of gauges blackbox_exporter exports for its configuration file,
// for each file the exporter reloads (--config.file, --web.config.file):
//   PREFIX_last_reload_successful                1 when the last load succeeded
//   PREFIX_last_reload_success_timestamp_seconds when one last succeeded
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <prometheus/metric_family.h>

#include <mutex>
#include <string>
#include <vector>

namespace portmap {

class ReloadGauges {
 public:
  ReloadGauges(std::string prefix, std::string successful_help, std::string timestamp_help);

  // A load's outcome; a success also stamps the time.
  void Record(bool successful);

  std::vector<prometheus::MetricFamily> Families() const;

 private:
  const std::string prefix_;
  const std::string successful_help_;
  const std::string timestamp_help_;
  mutable std::mutex mu_;
  bool successful_ = true;   // GUARDED_BY(mu_): no load yet is no failure
  double success_time_ = 0;  // GUARDED_BY(mu_), unix seconds
};

}  // namespace portmap
