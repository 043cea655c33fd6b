// SingleFlight: concurrent callers of the same computation share one run.
//
// Sixty-four scrapers arriving at once would otherwise collect everything
// sixty-four times: the same answer at sixty-four times the CPU and memory.
// A caller that finds a run under way waits for it and takes its result, as
// long as that run ends by the caller's own deadline; one whose deadline comes
// earlier starts a run of its own (and later callers join that one).  A result
// is never kept past its run: the next caller after it starts a fresh one.
//
// Thread safety: Do() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>

#include "util/clock.h"

namespace portmap {

template <typename T>
class SingleFlight {
 public:
  // Runs `run` (bounded by `deadline`, the caller's business) or joins a run
  // under way that is bounded by the same or an earlier deadline.  `*shared`,
  // when given, says which.  An exception of the run reaches every caller.
  std::shared_ptr<const T> Do(Clock::time_point deadline, const std::function<T()>& run,
                              bool* shared = nullptr) {
    std::shared_ptr<Flight> flight;
    bool lead = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (current_ != nullptr && current_->deadline <= deadline) {
        flight = current_;
      } else {
        flight = std::make_shared<Flight>();
        flight->deadline = deadline;
        current_ = flight;
        lead = true;
      }
    }
    if (shared != nullptr) *shared = !lead;
    if (lead) {
      std::shared_ptr<const T> result;
      std::exception_ptr error;
      try {
        result = std::make_shared<const T>(run());
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (current_ == flight) current_ = nullptr;
      }
      {
        std::lock_guard<std::mutex> lock(flight->mu);
        flight->result = result;
        flight->error = error;
        flight->done = true;
      }
      flight->cv.notify_all();
      if (error) std::rethrow_exception(error);
      return result;
    }
    std::unique_lock<std::mutex> lock(flight->mu);
    ++flight->waiters;
    flight->cv.wait(lock, [&] { return flight->done; });
    if (flight->error) std::rethrow_exception(flight->error);
    return flight->result;
  }

  // Callers waiting for the run under way; for tests.
  size_t Waiters() {
    std::shared_ptr<Flight> flight;
    {
      std::lock_guard<std::mutex> lock(mu_);
      flight = current_;
    }
    if (flight == nullptr) return 0;
    std::lock_guard<std::mutex> lock(flight->mu);
    return flight->waiters;
  }

 private:
  struct Flight {
    Clock::time_point deadline;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;                // GUARDED_BY(mu)
    size_t waiters = 0;               // GUARDED_BY(mu)
    std::shared_ptr<const T> result;  // GUARDED_BY(mu)
    std::exception_ptr error;         // GUARDED_BY(mu)
  };

  std::mutex mu_;
  std::shared_ptr<Flight> current_;  // GUARDED_BY(mu_); the run new callers may join
};

}  // namespace portmap
