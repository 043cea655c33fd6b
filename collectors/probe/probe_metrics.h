// The probe series, written the same way by the probe collector (/metrics,
// every published port) and by the /probe handler (one target):
//   portmap_probe_success{vantage,target,...}           1 connected, 0 not
//   portmap_probe_connect_seconds{vantage,target,...}   how long the connect took
//   portmap_probe_outcome{vantage,target,...,outcome}   1, for the outcome that holds only
//       (no series for the others, as portmap_published_port_blocked{cause})
//   portmap_probe_connect_duration_seconds{vantage,target,...}  histogram of the
//       connect times of successful probes, kept across scrapes; only for
//       targets whose module sets `histogram: true` (ProbeModule::histogram)
// `...` are a static target's extra labels.
//
// A target costs 3 series by default, 22 with the histogram (16 buckets,
// +Inf, sum, count).  The local vantage probes every published port on
// 127.0.0.1 and on each host address, so these multiply; the exporter's
// budget is 10 series per published port.
//
// Thread safety: AppendProbeFamilies is reentrant; ConnectHistograms'
// methods may be called concurrently.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/probe/tcp_connect.h"
#include "util/metrics.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricProbeConnectSeconds[] = "portmap_probe_connect_seconds";
inline constexpr char kMetricProbeOutcome[] = "portmap_probe_outcome";

// Upper bounds, in seconds: loopback connects take tens of microseconds, a
// congested WAN a second; timeouts are not observed.
inline constexpr double kConnectBuckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10};

struct ProbeRecord {
  std::string target;  // the `target` label: "127.0.0.1:5000", "registry:5000"
  Labels extra;        // a static target's labels
  TcpConnectResult result;
  bool histogram = false;  // its module's `histogram`: export the connect-time histogram
};

// Histograms of connect times per series, across scrapes, for the targets
// whose module asks for one.  At most `max_series` are kept; beyond that the
// least recently observed is dropped (its counters restart if it comes
// back), so /probe requests for ever new targets cannot grow memory without
// bound.
class ConnectHistograms {
 public:
  explicit ConnectHistograms(size_t max_series = 10000) : max_series_(max_series) {}

  // Adds one observation (connected probes only) and returns the series'
  // histogram as it now stands; for other outcomes only returns it.
  prometheus::ClientMetric::Histogram Update(const Labels& labels, const TcpConnectResult& result);

  // Drops the series' histogram, if one is kept: its module no longer asks
  // for it (a reload turned `histogram` off).  Cheap when none is kept.
  void Forget(const Labels& labels);

  size_t size() const;

 private:
  struct Series {
    std::vector<uint64_t> buckets;  // non-cumulative, one per kConnectBuckets + Inf
    uint64_t count = 0;
    double sum = 0;
    std::list<std::string>::iterator lru;
  };
  static std::string Key(const Labels& labels);

  const size_t max_series_;
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;  // GUARDED_BY(mu_)
  std::list<std::string> lru_;            // GUARDED_BY(mu_), most recent first
};

// Appends the probe families for `records`: success, connect_seconds and
// outcome always (empty ones included, so a scrape with nothing to probe
// still describes them); the histogram family only when some record's
// module asks for it, with a series for those records alone.  The others'
// histograms are forgotten, so turning `histogram` off frees them.
void AppendProbeFamilies(std::string_view vantage, const std::vector<ProbeRecord>& records,
                         ConnectHistograms* histograms, std::vector<prometheus::MetricFamily>* out);

}  // namespace portmap
