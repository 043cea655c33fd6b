#include "util/metrics.h"

#include <gtest/gtest.h>

namespace portmap {
namespace {

TEST(MetricsTest, SamplesLandInTheFamilysType) {
  auto g = MakeFamily("g", "help", MetricType::Gauge);
  AddSample(&g, {{"a", "b"}}, 2);
  auto c = MakeFamily("c_total", "help", MetricType::Counter);
  AddSample(&c, {}, 3);
  EXPECT_EQ(g.metric.at(0).gauge.value, 2);
  EXPECT_EQ(g.metric.at(0).label.at(0).name, "a");
  EXPECT_EQ(c.metric.at(0).counter.value, 3);
}

TEST(MetricsTest, MergeAndSortJoinsDuplicateNames) {
  std::vector<prometheus::MetricFamily> fams;
  auto b = MakeFamily("b", "", MetricType::Gauge);
  AddSample(&b, {{"x", "1"}}, 1);
  auto a = MakeFamily("a", "", MetricType::Gauge);
  auto b2 = MakeFamily("b", "", MetricType::Gauge);
  AddSample(&b2, {{"x", "2"}}, 2);
  fams.push_back(b);
  fams.push_back(a);
  fams.push_back(b2);
  MergeAndSort(&fams);
  ASSERT_EQ(fams.size(), 2u);
  EXPECT_EQ(fams[0].name, "a");
  EXPECT_EQ(fams[1].name, "b");
  EXPECT_EQ(fams[1].metric.size(), 2u);
}

}  // namespace
}  // namespace portmap
