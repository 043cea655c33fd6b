#include "collectors/probe/probe_metrics.h"

#include <chrono>
#include <iterator>
#include <limits>
#include <utility>

namespace portmap {

std::string ConnectHistograms::Key(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) {
    key += l.name;
    key += '\0';
    key += l.value;
    key += '\0';
  }
  return key;
}

void ConnectHistograms::Forget(const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  if (series_.empty()) return;  // the default: no module asks for histograms
  auto it = series_.find(Key(labels));
  if (it == series_.end()) return;
  lru_.erase(it->second.lru);
  series_.erase(it);
}

size_t ConnectHistograms::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return series_.size();
}

prometheus::ClientMetric::Histogram ConnectHistograms::Update(const Labels& labels,
                                                              const TcpConnectResult& result) {
  const std::string key = Key(labels);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= max_series_ && !lru_.empty()) {
      series_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    Series fresh;
    fresh.buckets.assign(std::size(kConnectBuckets) + 1, 0);
    fresh.lru = lru_.begin();
    it = series_.emplace(key, std::move(fresh)).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Series& s = it->second;
  if (result.outcome == ProbeOutcome::kConnected) {
    const double seconds = std::chrono::duration<double>(result.elapsed).count();
    size_t i = 0;
    while (i < std::size(kConnectBuckets) && seconds > kConnectBuckets[i]) ++i;
    ++s.buckets[i];
    ++s.count;
    s.sum += seconds;
  }
  prometheus::ClientMetric::Histogram h;
  h.sample_count = s.count;
  h.sample_sum = s.sum;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < std::size(kConnectBuckets); ++i) {
    cumulative += s.buckets[i];
    h.bucket.push_back({cumulative, kConnectBuckets[i]});
  }
  h.bucket.push_back({s.count, std::numeric_limits<double>::infinity()});
  return h;
}

void AppendProbeFamilies(std::string_view vantage, const std::vector<ProbeRecord>& records,
                         ConnectHistograms* histograms,
                         std::vector<prometheus::MetricFamily>* out) {
  auto success = MakeFamily("portmap_probe_success",
                            "Whether the TCP connect to the target succeeded.", MetricType::Gauge);
  auto seconds =
      MakeFamily(kMetricProbeConnectSeconds,
                 "How long the TCP connect took until its outcome, in seconds.", MetricType::Gauge);
  auto outcome = MakeFamily(kMetricProbeOutcome,
                            "The TCP connect's outcome (connected, refused, unreachable, timeout, "
                            "error): one series per target, 1, for the outcome that holds; the "
                            "others have no series.",
                            MetricType::Gauge);
  auto histogram = MakeFamily("portmap_probe_connect_duration_seconds",
                              "Connect times of this exporter's successful probes of the target "
                              "(targets whose module sets histogram: true).",
                              MetricType::Histogram);
  for (const ProbeRecord& r : records) {
    Labels labels = {{"vantage", std::string(vantage)}, {"target", r.target}};
    labels.insert(labels.end(), r.extra.begin(), r.extra.end());
    const bool connected = r.result.outcome == ProbeOutcome::kConnected;
    AddSample(&success, labels, connected ? 1 : 0);
    AddSample(&seconds, labels, std::chrono::duration<double>(r.result.elapsed).count());
    // Only the outcome that holds: a 0 for each of the others would cost four
    // series per target, on every host address of every published port.
    Labels with = labels;
    with.push_back({"outcome", std::string(ProbeOutcomeName(r.result.outcome))});
    AddSample(&outcome, std::move(with), 1);
    if (!r.histogram) {
      histograms->Forget(labels);
      continue;
    }
    prometheus::ClientMetric metric;
    metric.label = labels;
    metric.histogram = histograms->Update(labels, r.result);
    histogram.metric.push_back(std::move(metric));
  }
  for (auto* f : {&success, &seconds, &outcome}) out->push_back(std::move(*f));
  // Opt-in: 19 series per target, so not even described unless asked for.
  if (!histogram.metric.empty()) out->push_back(std::move(histogram));
}

}  // namespace portmap
