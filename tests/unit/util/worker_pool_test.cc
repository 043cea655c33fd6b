#include "util/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <vector>

namespace portmap {
namespace {

using std::chrono::milliseconds;

TEST(WorkerPoolTest, ReusesAnIdleThreadInsteadOfStartingOne) {
  WorkerPool pool(4);
  for (int i = 0; i < 50; ++i) {
    std::promise<void> done;
    pool.Run([] {}, [&done] { done.set_value(); });
    done.get_future().wait();  // the thread is idle again by then
  }
  EXPECT_EQ(pool.Threads(), 1U) << "sequential tasks share one thread";
}

TEST(WorkerPoolTest, ABusyThreadNeverDelaysANewTask) {
  WorkerPool pool(4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.Run([released] { released.wait(); });  // stuck until released
  std::promise<void> ran;
  pool.Run([&ran] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(pool.Threads(), 2U);
  release.set_value();
}

TEST(WorkerPoolTest, ABurstDoesNotLeaveMoreThanMaxIdleThreads) {
  WorkerPool pool(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  for (int i = 0; i < 8; ++i) {
    pool.Run([released, &started] {
      ++started;
      released.wait();
    });
  }
  for (int spin = 0; spin < 500 && started.load() < 8; ++spin) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_EQ(started.load(), 8);
  EXPECT_EQ(pool.Threads(), 8U);
  release.set_value();
  for (int spin = 0; spin < 500 && pool.Threads() > 2; ++spin) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_LE(pool.Threads(), 2U);
}

TEST(WorkerPoolTest, DestructionWaitsForRunningTasks) {
  std::atomic<bool> finished{false};
  {
    WorkerPool pool(1);
    pool.Run([&finished] {
      std::this_thread::sleep_for(milliseconds(50));
      finished = true;
    });
  }
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace portmap
