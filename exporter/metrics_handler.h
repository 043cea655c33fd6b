// The /metrics handler: one scrape of every enabled collector under the
// deadline Prometheus asks for, plus the exporter's own metrics
// (portmap_exporter_build_info and process_*), in the text format.
//
// Scrapes that arrive while a collection is under way share it
// (util/single_flight.h) when it ends by their own deadline: sixty-four
// concurrent scrapers cost about one collection, not sixty-four.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/scrape_runner.h"
#include "exporter/web/http_server.h"
#include "util/single_flight.h"

namespace portmap {

// The default when the scraper sends no timeout header, and the safety margin
// subtracted from it so the answer arrives before Prometheus gives up
// (blackbox_exporter's --timeout-offset).
inline constexpr double kDefaultScrapeTimeoutSeconds = 10.0;
inline constexpr double kScrapeTimeoutOffsetSeconds = 0.5;

// The time collectors may use, from the X-Prometheus-Scrape-Timeout-Seconds
// header value ("" = absent).  A malformed, non-positive or non-finite value
// is an error naming it.
bool CollectorBudget(std::string_view header, std::chrono::duration<double>* budget,
                     std::string* error);

// The text exposition format of `families` (merged and sorted), and the 200
// answer carrying it (compressible), as /metrics and /probe send it.
std::string Exposition(const std::vector<prometheus::MetricFamily>& families);
HttpResponse ExpositionResponse(std::string body);

class MetricsHandler {
 public:
  // `runner` and `procfs` must outlive the handler.
  // `extra` (may be empty) adds the exporter's own families, e.g. the
  // configuration reload state.
  using ExtraFamilies = std::function<std::vector<prometheus::MetricFamily>()>;
  MetricsHandler(ScrapeRunner* runner, std::string proc_self, std::string proc_root,
                 ExtraFamilies extra = nullptr)
      : runner_(runner),
        proc_self_(std::move(proc_self)),
        proc_root_(std::move(proc_root)),
        extra_(std::move(extra)),
        flight_(std::make_shared<SingleFlight<std::string>>()) {}

  HttpResponse operator()(const HttpRequest& request) const;

 private:
  std::string Collect(Clock::time_point deadline) const;  // the exposition text

  ScrapeRunner* runner_;
  const std::string proc_self_;
  const std::string proc_root_;
  const ExtraFamilies extra_;
  // Shared by the copies of this handler (routes hold it by value).
  std::shared_ptr<SingleFlight<std::string>> flight_;
};

}  // namespace portmap
