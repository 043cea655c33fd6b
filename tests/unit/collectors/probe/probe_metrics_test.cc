// The probe series (collectors/probe/probe_metrics.h): 3 per target, the
// histogram only where the module asks for it; the local vantage's targets
// (collectors/probe/local_targets.h) and /probe's query parsing
// (exporter/probe_handler.h).
#include "collectors/probe/probe_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "collectors/probe/local_targets.h"
#include "exporter/probe_handler.h"

namespace portmap {
namespace {

TcpConnectResult Result(ProbeOutcome outcome, std::chrono::microseconds elapsed) {
  TcpConnectResult r;
  r.outcome = outcome;
  r.elapsed = elapsed;
  return r;
}

const prometheus::MetricFamily& Family(const std::vector<prometheus::MetricFamily>& fams,
                                       const std::string& name) {
  for (const auto& f : fams) {
    if (f.name == name) return f;
  }
  static const prometheus::MetricFamily kNone;
  ADD_FAILURE() << "no family " << name;
  return kNone;
}

size_t SeriesCount(const std::vector<prometheus::MetricFamily>& fams) {
  size_t n = 0;
  for (const auto& f : fams) {
    for (const auto& m : f.metric) {
      // A histogram is a series per bucket (+Inf included), its sum and its count.
      n += f.type == prometheus::MetricType::Histogram ? m.histogram.bucket.size() + 2 : 1;
    }
  }
  return n;
}

ProbeRecord Record(const std::string& target, ProbeOutcome outcome, bool histogram) {
  ProbeRecord r;
  r.target = target;
  r.result = Result(outcome, std::chrono::microseconds(300));
  r.histogram = histogram;
  return r;
}

TEST(ProbeMetricsTest, OnlyTheOutcomeThatHoldsAndExtraLabels) {
  ConnectHistograms histograms;
  std::vector<ProbeRecord> records = {Record("127.0.0.1:5000", ProbeOutcome::kConnected, false),
                                      Record("db:5432", ProbeOutcome::kRefused, false)};
  records[1].extra = {{"service", "db"}};
  std::vector<prometheus::MetricFamily> out;
  AppendProbeFamilies("external", records, &histograms, &out);
  ASSERT_EQ(out.size(), 3u) << "no histogram family: no module asked for it";
  const auto& success = Family(out, "portmap_probe_success");
  ASSERT_EQ(success.metric.size(), 2u);
  EXPECT_EQ(success.metric[0].gauge.value, 1);
  EXPECT_EQ(success.metric[1].gauge.value, 0);
  ASSERT_EQ(success.metric[1].label.size(), 3u);
  EXPECT_EQ(success.metric[1].label[0].value, "external");
  EXPECT_EQ(success.metric[1].label[2].name, "service");

  const auto& outcome = Family(out, "portmap_probe_outcome");
  ASSERT_EQ(outcome.metric.size(), 2u) << "one series per target: no 0 for the other outcomes";
  EXPECT_EQ(outcome.metric[0].label.back().name, "outcome");
  EXPECT_EQ(outcome.metric[0].label.back().value, "connected");
  EXPECT_EQ(outcome.metric[0].gauge.value, 1);
  EXPECT_EQ(outcome.metric[1].label.back().value, "refused");
  EXPECT_EQ(outcome.metric[1].gauge.value, 1);
  ASSERT_EQ(outcome.metric[1].label.size(), 4u);
  EXPECT_EQ(outcome.metric[1].label[2].name, "service") << "extra labels before outcome";

  const auto& seconds = Family(out, "portmap_probe_connect_seconds");
  EXPECT_DOUBLE_EQ(seconds.metric[0].gauge.value, 0.0003);
}

TEST(ProbeMetricsTest, ThreeSeriesPerTargetByDefault) {
  ConnectHistograms histograms;
  std::vector<ProbeRecord> records;
  for (ProbeOutcome o :
       {ProbeOutcome::kConnected, ProbeOutcome::kRefused, ProbeOutcome::kUnreachable,
        ProbeOutcome::kTimeout, ProbeOutcome::kError}) {
    records.push_back(Record("127.0.0.1:" + std::to_string(5000 + records.size()), o, false));
  }
  std::vector<prometheus::MetricFamily> out;
  AppendProbeFamilies("local", records, &histograms, &out);
  EXPECT_EQ(SeriesCount(out), 3 * records.size());
  for (const auto& f : out) {
    EXPECT_NE(f.name, "portmap_probe_connect_duration_seconds") << "not even described";
  }
  EXPECT_EQ(histograms.size(), 0u) << "nothing kept for targets without a histogram";
}

TEST(ProbeMetricsTest, HistogramOnlyForTargetsWhoseModuleAsks) {
  ConnectHistograms histograms;
  std::vector<prometheus::MetricFamily> out;
  AppendProbeFamilies("local",
                      {Record("127.0.0.1:5000", ProbeOutcome::kConnected, true),
                       Record("127.0.0.1:6000", ProbeOutcome::kConnected, false)},
                      &histograms, &out);
  EXPECT_EQ(SeriesCount(out), 3 * 2 + 19u);
  const auto& h = Family(out, "portmap_probe_connect_duration_seconds");
  ASSERT_EQ(h.metric.size(), 1u);
  EXPECT_EQ(h.metric[0].label[1].value, "127.0.0.1:5000");
  EXPECT_EQ(h.metric[0].histogram.sample_count, 1u);
  EXPECT_EQ(histograms.size(), 1u);

  // The module turned `histogram` off (a reload): the family goes, and the
  // counts kept for it are dropped rather than left to age out.
  out.clear();
  AppendProbeFamilies("local", {Record("127.0.0.1:5000", ProbeOutcome::kConnected, false)},
                      &histograms, &out);
  EXPECT_EQ(SeriesCount(out), 3u);
  EXPECT_EQ(histograms.size(), 0u);
  out.clear();
  AppendProbeFamilies("local", {Record("127.0.0.1:5000", ProbeOutcome::kConnected, true)},
                      &histograms, &out);
  EXPECT_EQ(Family(out, "portmap_probe_connect_duration_seconds").metric[0].histogram.sample_count,
            1u)
      << "on again: counts start over";
}

TEST(ProbeMetricsTest, HistogramAccumulatesConnectedProbesOnly) {
  ConnectHistograms histograms;
  const Labels labels = {{"vantage", "local"}, {"target", "127.0.0.1:5000"}};
  histograms.Update(labels, Result(ProbeOutcome::kConnected, std::chrono::microseconds(200)));
  histograms.Update(labels, Result(ProbeOutcome::kTimeout, std::chrono::seconds(2)));
  auto h =
      histograms.Update(labels, Result(ProbeOutcome::kConnected, std::chrono::milliseconds(3)));
  EXPECT_EQ(h.sample_count, 2u);
  EXPECT_DOUBLE_EQ(h.sample_sum, 0.0032);
  ASSERT_EQ(h.bucket.size(), std::size(kConnectBuckets) + 1);
  EXPECT_EQ(h.bucket[0].cumulative_count, 0u);  // le 0.0001
  EXPECT_EQ(h.bucket[1].cumulative_count, 1u);  // le 0.00025
  EXPECT_EQ(h.bucket[5].cumulative_count, 2u);  // le 0.005
  EXPECT_TRUE(std::isinf(h.bucket.back().upper_bound));
  EXPECT_EQ(h.bucket.back().cumulative_count, 2u);
}

TEST(ProbeMetricsTest, HistogramsAreBoundedLeastRecentlyUsedFirst) {
  ConnectHistograms histograms(2);
  auto labels = [](const char* t) { return Labels{{"target", t}}; };
  const auto ok = Result(ProbeOutcome::kConnected, std::chrono::microseconds(1));
  histograms.Update(labels("a"), ok);
  histograms.Update(labels("b"), ok);
  histograms.Update(labels("a"), ok);  // b is now the least recent
  histograms.Update(labels("c"), ok);  // evicts b
  EXPECT_EQ(histograms.size(), 2u);
  EXPECT_EQ(histograms.Update(labels("a"), ok).sample_count, 3u) << "a kept its counts";
  EXPECT_EQ(histograms.Update(labels("b"), ok).sample_count, 1u) << "b started over";
}

TEST(LocalTargetsTest, LoopbackAndEveryAddressButExcludedInterfaces) {
  const std::vector<HostAddress> addresses = {{"eth0", "198.51.100.1"},
                                              {"docker0", "172.17.0.1"},
                                              {"br-0123456789ab", "172.18.0.1"},
                                              {"eth1", "10.0.0.5"}};
  const InterfacePattern exclude = NetfilterDiscovery{}.exclude_interfaces;
  EXPECT_EQ(LocalTargets({5000, 80}, addresses, exclude),
            (std::vector<std::string>{"10.0.0.5:5000", "10.0.0.5:80", "127.0.0.1:5000",
                                      "127.0.0.1:80", "198.51.100.1:5000", "198.51.100.1:80"}));
  EXPECT_TRUE(LocalTargets({}, addresses, exclude).empty());
  InterfacePattern eth;
  ASSERT_TRUE(InterfacePattern::Compile("eth[0-9]+", &eth).ok());
  EXPECT_EQ(LocalTargets({80}, addresses, eth),
            (std::vector<std::string>{"127.0.0.1:80", "172.17.0.1:80", "172.18.0.1:80"}));
}

TEST(ProbeQueryTest, DecodesAndRejectsMalformedEscapes) {
  std::vector<std::pair<std::string, std::string>> q;
  ASSERT_TRUE(ParseQuery("target=%5B%3A%3A1%5D%3A80&module=tcp_connect&debug=true&&x", &q).ok());
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"target", "[::1]:80"}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"x", ""}));
  ASSERT_TRUE(ParseQuery("target=a%00b", &q).ok());
  EXPECT_EQ(q[0].second, std::string("a\0b", 3));
  EXPECT_FALSE(ParseQuery("target=%4", &q).ok());
  EXPECT_FALSE(ParseQuery("target=%g0", &q).ok());
}

}  // namespace
}  // namespace portmap
