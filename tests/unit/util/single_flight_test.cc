#include "util/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace portmap {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SingleFlightTest, ConcurrentCallersShareOneRun) {
  SingleFlight<std::string> flight;
  std::atomic<int> runs{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  const auto deadline = Clock::now() + seconds(5);
  auto run = [&] {
    ++runs;
    released.wait();
    return std::string("body");
  };
  std::atomic<int> joined{0};
  std::vector<std::thread> callers;
  callers.reserve(16);
  std::thread leader([&] { EXPECT_EQ(*flight.Do(deadline, run), "body"); });
  while (runs.load() == 0) std::this_thread::sleep_for(milliseconds(1));
  for (int i = 0; i < 16; ++i) {
    callers.emplace_back([&, i] {
      bool shared = false;
      EXPECT_EQ(*flight.Do(deadline + milliseconds(i), run, &shared), "body");
      if (shared) ++joined;
    });
  }
  for (int spin = 0; spin < 5000 && flight.Waiters() < 16; ++spin) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_EQ(flight.Waiters(), 16U);
  release.set_value();
  leader.join();
  for (auto& t : callers) t.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(joined.load(), 16);
}

TEST(SingleFlightTest, AnEarlierDeadlineDoesNotWaitForALongerRun) {
  SingleFlight<int> flight;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  std::thread slow([&] {
    flight.Do(Clock::now() + seconds(10), [&] {
      started = true;
      released.wait();
      return 1;
    });
  });
  while (!started.load()) std::this_thread::sleep_for(milliseconds(1));
  bool shared = true;
  auto result = flight.Do(
      Clock::now() + milliseconds(100), [] { return 2; }, &shared);
  EXPECT_FALSE(shared);
  EXPECT_EQ(*result, 2);
  release.set_value();
  slow.join();
}

TEST(SingleFlightTest, AResultIsNotKeptPastItsRun) {
  SingleFlight<int> flight;
  int n = 0;
  const auto deadline = Clock::now() + seconds(5);
  EXPECT_EQ(*flight.Do(deadline, [&] { return ++n; }), 1);
  EXPECT_EQ(*flight.Do(deadline, [&] { return ++n; }), 2);
}

TEST(SingleFlightTest, AnExceptionReachesEveryCaller) {
  SingleFlight<int> flight;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  const auto deadline = Clock::now() + seconds(5);
  auto boom = [&]() -> int {
    started = true;
    released.wait();
    throw std::runtime_error("boom");
  };
  std::thread leader([&] { EXPECT_THROW(flight.Do(deadline, boom), std::runtime_error); });
  while (!started.load()) std::this_thread::sleep_for(milliseconds(1));
  std::thread joiner([&] { EXPECT_THROW(flight.Do(deadline, boom), std::runtime_error); });
  for (int spin = 0; spin < 5000 && flight.Waiters() < 1; ++spin) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  release.set_value();
  leader.join();
  joiner.join();
  EXPECT_EQ(*flight.Do(deadline, [] { return 3; }), 3) << "the next caller runs afresh";
}

}  // namespace
}  // namespace portmap
