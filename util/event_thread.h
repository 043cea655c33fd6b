// EventThread: the background thread every event watcher runs (netconf,
// nf_tables, firewalld's D-Bus signals), with a way to stop it that works
// while it is blocked in poll(): an eventfd it polls beside its own socket.
//
//   EventThread thread_;  // declared last in the owner
//   if (!thread_.ok()) ... // no eventfd: report, don't start
//   thread_.Start([this](std::stop_token stop) { Run(stop); });
//   ~Owner() { thread_.Stop(); }  // before the members Run() uses go away
//
// Inside Run(): poll wake_fd() together with the event source; Sleep(d)
// waits for a retry delay and returns true when woken to stop.
//
// Thread safety: Start and Stop are the owner's, from one thread; wake_fd
// and Sleep are for the running thread.  Nothing is ever detached.
#pragma once

#include <chrono>
#include <stop_token>
#include <thread>
#include <utility>

namespace portmap {

class EventThread {
 public:
  EventThread();  // makes the eventfd; ok() says whether it could
  EventThread(const EventThread&) = delete;
  EventThread& operator=(const EventThread&) = delete;
  ~EventThread();  // Stop(), then closes the eventfd

  bool ok() const { return wake_fd_ >= 0; }
  int wake_fd() const { return wake_fd_; }

  // Runs body(stop_token) on a new thread.  Call once, when ok().
  template <typename Body>
  void Start(Body&& body) {
    thread_ = std::jthread(std::forward<Body>(body));
  }

  // Requests a stop, wakes the thread and joins it; idempotent.
  void Stop();

  // Waits up to `delay`, or until Stop() wakes it: then returns true.
  bool Sleep(std::chrono::milliseconds delay) const;

 private:
  int wake_fd_ = -1;
  std::jthread thread_;
};

}  // namespace portmap
