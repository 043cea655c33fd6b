// The /probe handler: one TCP connect probe of ?target=HOST:PORT with
// ?module=NAME (default tcp_connect), blackbox_exporter's multi-target
// pattern, so an exporter on another host can be the `external` vantage of a
// Docker host's published ports.
//
//   200  the probe series (collectors/probe/probe_metrics.h: the histogram only
//        when the module sets `histogram: true`) plus portmap_probe_duration_seconds
//        (resolution + connect); a failed probe is a 200 with success 0
//   400  a missing, repeated or malformed target, an unknown module, a
//        malformed query or X-Prometheus-Scrape-Timeout-Seconds — with a
//        one-line message saying which
//   403  a target --probe.allow does not allow
// debug=true answers text/plain: the probe's log, the metrics it would have
// returned, and the module.
//
// The deadline is min(module timeout, scrape timeout header − 0.5 s).
//
// Thread safety: operator() runs on several civetweb threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/probe/allow_list.h"
#include "collectors/probe/probe_metrics.h"
#include "config/probe_config.h"
#include "exporter/web/http_server.h"

namespace portmap {

// Splits a query string into decoded (name, value) pairs ('+' is a space,
// %XX a byte).  A malformed escape is an error naming it.
Status ParseQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>* out);

class ProbeHandler {
 public:
  ProbeHandler(std::shared_ptr<ConfigStore> config, ProbeAllowList allow, std::string vantage)
      : config_(std::move(config)),
        allow_(std::move(allow)),
        vantage_(std::move(vantage)),
        histograms_(std::make_shared<ConnectHistograms>()) {}

  HttpResponse operator()(const HttpRequest& request) const;

 private:
  const std::shared_ptr<ConfigStore> config_;
  const ProbeAllowList allow_;
  const std::string vantage_;
  // Shared by the copies civetweb's route table keeps.
  const std::shared_ptr<ConnectHistograms> histograms_;
};

}  // namespace portmap
