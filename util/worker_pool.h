// WorkerPool: threads kept for the next task instead of one created per task.
//
// A scrape runs every collector at once; creating those threads anew on every
// scrape costs a clone each and spreads allocations over fresh malloc arenas.
// The pool hands a task to an idle thread and starts a new one only when all
// are busy (a collector that overran its deadline still holds its thread), so
// a task never waits behind another.  A thread that finds more than
// `max_idle` idle threads beside itself exits, so a burst does not leave its
// threads behind.
//
// Thread safety: Run() may be called from any thread.  The destructor waits
// for every running task to return (tasks watch their own stop tokens).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace portmap {

class WorkerPool {
 public:
  explicit WorkerPool(size_t max_idle) : max_idle_(max_idle) {}
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();

  // Runs `work` on an idle thread, or on a new one when none is idle; never
  // blocks on other tasks.  `done` (may be empty) runs after `work`, once the
  // thread counts as idle again: a caller woken by it that hands over the
  // next task finds that thread free instead of starting another.
  void Run(std::function<void()> work, std::function<void()> done = nullptr);

  // Threads alive now (busy or idle); for tests and metrics.
  size_t Threads() const;

 private:
  struct Worker {
    std::thread thread;
    bool exited = false;
  };
  void Loop(Worker* self);
  void ReapExited();  // joins threads that have left Loop; mu_ not held

  const size_t max_idle_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Task {
    std::function<void()> work;
    std::function<void()> done;
  };
  std::deque<Task> tasks_;     // GUARDED_BY(mu_)
  size_t idle_ = 0;            // GUARDED_BY(mu_)
  bool quit_ = false;          // GUARDED_BY(mu_)
  std::list<Worker> workers_;  // GUARDED_BY(mu_)
};

}  // namespace portmap
