#include "util/worker_pool.h"

#include <iterator>
#include <utility>

namespace portmap {

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  // No task is added once quit_ is set, so the list only shrinks from here.
  std::list<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.splice(workers.end(), workers_);
  }
  for (Worker& w : workers) {
    if (w.thread.joinable()) w.thread.join();
  }
}

size_t WorkerPool::Threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t alive = 0;
  for (const Worker& w : workers_) alive += w.exited ? 0 : 1;
  return alive;
}

void WorkerPool::ReapExited() {
  std::list<Worker> exited;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      auto next = std::next(it);
      if (it->exited) exited.splice(exited.end(), workers_, it);
      it = next;
    }
  }
  for (Worker& w : exited) w.thread.join();  // it has left Loop: returns at once
}

void WorkerPool::Run(std::function<void()> work, std::function<void()> done) {
  ReapExited();
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back({std::move(work), std::move(done)});
  if (idle_ >= tasks_.size()) {
    cv_.notify_one();
    return;
  }
  // Counted idle from birth: until it reaches Loop, a new thread is as good
  // as an idle one for the next task, and must not make Run start another.
  ++idle_;
  Worker& w = workers_.emplace_back();
  w.thread = std::thread([this, self = &w] { Loop(self); });
}

void WorkerPool::Loop(Worker* self) {
  std::unique_lock<std::mutex> lock(mu_);  // counted idle since Run started it
  for (;;) {
    cv_.wait(lock, [this] { return quit_ || !tasks_.empty(); });
    if (tasks_.empty()) break;  // quit_
    --idle_;
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task.work();
    lock.lock();
    const bool leave = quit_ || idle_ >= max_idle_;
    if (!leave) ++idle_;  // before `done`: whoever it wakes may find this thread free
    lock.unlock();
    if (task.done) task.done();
    task = Task{};  // its captures go now, not when the next task comes
    lock.lock();
    if (leave) {
      self->exited = true;
      return;
    }
  }
  --idle_;
  self->exited = true;
}

}  // namespace portmap
