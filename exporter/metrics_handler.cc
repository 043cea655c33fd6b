#include "exporter/metrics_handler.h"

#include <prometheus/text_serializer.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "exporter/build_info.h"
#include "exporter/process_metrics.h"
#include "util/logging.h"
#include "util/metrics.h"

namespace portmap {

namespace {

constexpr const char* kTextFormat = "text/plain; version=0.0.4; charset=utf-8";

prometheus::MetricFamily BuildInfoFamily() {
  const BuildInfo& info = GetBuildInfo();
  auto f = MakeFamily("portmap_exporter_build_info",
                      "A metric with a constant '1' value labeled by version, revision and "
                      "compiler from which portmap_exporter was built.",
                      MetricType::Gauge);
  AddSample(
      &f, {{"compiler", info.compiler}, {"revision", info.revision}, {"version", info.version}}, 1);
  return f;
}

}  // namespace

bool CollectorBudget(std::string_view header, std::chrono::duration<double>* budget,
                     std::string* error) {
  double seconds = kDefaultScrapeTimeoutSeconds;
  if (!header.empty()) {
    std::string text(header);
    char* end = nullptr;
    seconds = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !std::isfinite(seconds) || seconds <= 0) {
      *error = "invalid X-Prometheus-Scrape-Timeout-Seconds \"" + text +
               "\": want a positive number of seconds";
      return false;
    }
  }
  // Keep the offset only where it leaves something: a 0.4 s timeout gets all
  // of its 0.4 s rather than nothing.
  if (seconds > kScrapeTimeoutOffsetSeconds) seconds -= kScrapeTimeoutOffsetSeconds;
  *budget = std::chrono::duration<double>(seconds);
  return true;
}

std::string Exposition(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);
  return text.str();
}

HttpResponse ExpositionResponse(std::string body) {
  HttpResponse response;
  response.content_type = kTextFormat;
  response.body = std::move(body);
  response.compressible = true;
  return response;
}

HttpResponse MetricsHandler::operator()(const HttpRequest& request) const {
  std::chrono::duration<double> budget;
  std::string error;
  if (!CollectorBudget(request.Header("X-Prometheus-Scrape-Timeout-Seconds"), &budget, &error)) {
    return HttpResponse::Text(400, error);
  }
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(budget);
  std::shared_ptr<const std::string> body =
      flight_->Do(deadline, [this, deadline] { return Collect(deadline); });
  return ExpositionResponse(*body);
}

std::string MetricsHandler::Collect(Clock::time_point deadline) const {
  std::vector<prometheus::MetricFamily> families = runner_->Scrape(deadline);
  families.push_back(BuildInfoFamily());
  if (extra_) {
    for (auto& f : extra_()) families.push_back(std::move(f));
  }
  Status st = AppendProcessMetrics(proc_self_, proc_root_, &families);
  if (!st.ok()) LogWarn("process metrics incomplete", {{"err", st.message()}});
  MergeAndSort(&families);
  return Exposition(families);
}

}  // namespace portmap
