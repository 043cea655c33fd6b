#include "exporter/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

namespace portmap {
namespace {

std::map<std::string, double> Values(const std::vector<prometheus::MetricFamily>& fams) {
  std::map<std::string, double> v;
  for (const auto& f : fams) {
    const auto& m = f.metric.at(0);
    v[f.name] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  return v;
}

TEST(ProcessMetricsTest, FixtureWithSpacesAndParensInComm) {
  std::vector<prometheus::MetricFamily> fams;
  Status st =
      AppendProcessMetrics(PORTMAP_FIXTURES "/proc_self", PORTMAP_FIXTURES "/proc_root", &fams);
  ASSERT_TRUE(st.ok()) << st.message();
  auto v = Values(fams);
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  EXPECT_DOUBLE_EQ(v["process_cpu_seconds_total"], 300 / hz);
  EXPECT_DOUBLE_EQ(v["process_start_time_seconds"], 1795550000 + 360000 / hz);
  EXPECT_DOUBLE_EQ(v["process_virtual_memory_bytes"], 104857600);
  EXPECT_DOUBLE_EQ(v["process_resident_memory_bytes"], 2560 * page);
  EXPECT_DOUBLE_EQ(v["process_max_fds"], 1024);
  EXPECT_DOUBLE_EQ(v["process_open_fds"], 3);
}

TEST(ProcessMetricsTest, RealSelf) {
  std::vector<prometheus::MetricFamily> fams;
  ASSERT_TRUE(AppendProcessMetrics("/proc/self", "/proc", &fams).ok());
  auto v = Values(fams);
  EXPECT_GT(v["process_resident_memory_bytes"], 0);
  EXPECT_GT(v["process_open_fds"], 2);
  EXPECT_GT(v["process_start_time_seconds"], 1.6e9);
}

TEST(ProcessMetricsTest, MissingDirIsAnErrorNotACrash) {
  std::vector<prometheus::MetricFamily> fams;
  Status st = AppendProcessMetrics("/nonexistent/self", "/nonexistent", &fams);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/nonexistent/self/stat"), std::string::npos);
}

}  // namespace
}  // namespace portmap
