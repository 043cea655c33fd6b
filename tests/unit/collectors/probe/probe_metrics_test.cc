// The probe series (collectors/probe/probe_metrics.h), the local vantage's targets
// (collectors/probe/local_targets.h) and /probe's query parsing (exporter/probe_handler.h).
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

TEST(ProbeMetricsTest, OnlyTheOutcomeThatHoldsAndExtraLabels) {
  ConnectHistograms histograms;
  std::vector<ProbeRecord> records = {
      {"127.0.0.1:5000", {}, Result(ProbeOutcome::kConnected, std::chrono::microseconds(300))},
      {"db:5432",
       {{"service", "db"}},
       Result(ProbeOutcome::kRefused, std::chrono::microseconds(90))},
  };
  std::vector<prometheus::MetricFamily> out;
  AppendProbeFamilies("external", records, &histograms, &out);
  ASSERT_EQ(out.size(), 4u);
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
