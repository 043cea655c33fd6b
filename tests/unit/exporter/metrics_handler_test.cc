#include "exporter/metrics_handler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "util/metrics.h"

namespace portmap {
namespace {

double Budget(std::string_view header) {
  std::chrono::duration<double> budget{};
  std::string error;
  EXPECT_TRUE(CollectorBudget(header, &budget, &error)) << error;
  return budget.count();
}

TEST(CollectorBudgetTest, DefaultMinusOffset) { EXPECT_DOUBLE_EQ(Budget(""), 9.5); }

TEST(CollectorBudgetTest, HeaderMinusOffset) {
  EXPECT_DOUBLE_EQ(Budget("10"), 9.5);
  EXPECT_DOUBLE_EQ(Budget("2.5"), 2.0);
}

TEST(CollectorBudgetTest, TinyTimeoutKeepsItsWholeBudget) { EXPECT_DOUBLE_EQ(Budget("0.4"), 0.4); }

TEST(CollectorBudgetTest, MalformedIsAnErrorNamingTheHeader) {
  for (const char* bad : {"abc", "-1", "0", "1s", "nan", "inf", " "}) {
    std::chrono::duration<double> budget{};
    std::string error;
    EXPECT_FALSE(CollectorBudget(bad, &budget, &error)) << bad;
    EXPECT_NE(error.find("X-Prometheus-Scrape-Timeout-Seconds"), std::string::npos) << error;
  }
}

// Counts its calls and takes a while, so concurrent scrapes overlap it.
class SlowCounter : public Collector {
 public:
  explicit SlowCounter(std::atomic<int>* calls) : calls_(calls) {}
  Status Collect(const ScrapeContext&, std::vector<prometheus::MetricFamily>* out) override {
    ++*calls_;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto f = MakeFamily("slow_counter", "h", MetricType::Gauge);
    AddSample(&f, {}, 1);
    out->push_back(std::move(f));
    return Status::Ok();
  }

 private:
  std::atomic<int>* calls_;
};

TEST(MetricsHandlerTest, ConcurrentScrapesShareOneCollection) {
  std::atomic<int> calls{0};
  std::vector<NamedCollector> collectors;
  collectors.push_back({"slow", std::make_unique<SlowCounter>(&calls)});
  ScrapeRunner runner(std::move(collectors), Paths{});
  const MetricsHandler handler(&runner, "/proc/self", "/proc");
  std::vector<std::thread> scrapers;
  std::atomic<int> with_body{0};
  scrapers.reserve(8);
  for (int i = 0; i < 8; ++i) {
    scrapers.emplace_back([&] {
      const HttpResponse r = handler(HttpRequest{});
      if (r.status == 200 && r.body.find("slow_counter 1") != std::string::npos) ++with_body;
    });
  }
  for (auto& t : scrapers) t.join();
  EXPECT_EQ(with_body.load(), 8);
  // All eight start within the first call's 200 ms, so they share it (a
  // thread scheduled late may start a second); single_flight_test.cc pins
  // the exact rule.
  EXPECT_LT(calls.load(), 8);
}

}  // namespace
}  // namespace portmap
