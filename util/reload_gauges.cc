#include "util/reload_gauges.h"

#include <chrono>
#include <utility>

#include "util/metrics.h"

namespace portmap {

ReloadGauges::ReloadGauges(std::string prefix, std::string successful_help,
                           std::string timestamp_help)
    : prefix_(std::move(prefix)),
      successful_help_(std::move(successful_help)),
      timestamp_help_(std::move(timestamp_help)) {}

void ReloadGauges::Record(bool successful) {
  std::lock_guard<std::mutex> lock(mu_);
  successful_ = successful;
  if (successful) {
    success_time_ =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
}

std::vector<prometheus::MetricFamily> ReloadGauges::Families() const {
  bool successful;
  double success_time;
  {
    std::lock_guard<std::mutex> lock(mu_);
    successful = successful_;
    success_time = success_time_;
  }
  std::vector<prometheus::MetricFamily> families;
  families.push_back(
      MakeFamily(prefix_ + "_last_reload_successful", successful_help_, MetricType::Gauge));
  AddSample(&families.back(), {}, successful ? 1 : 0);
  families.push_back(MakeFamily(prefix_ + "_last_reload_success_timestamp_seconds", timestamp_help_,
                                MetricType::Gauge));
  AddSample(&families.back(), {}, success_time);
  return families;
}

}  // namespace portmap
