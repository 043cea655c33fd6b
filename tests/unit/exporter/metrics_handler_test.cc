#include "exporter/metrics_handler.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace portmap
