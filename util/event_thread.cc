#include "util/event_thread.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace portmap {

EventThread::EventThread() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

EventThread::~EventThread() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void EventThread::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  const uint64_t one = 1;
  // An eventfd write of 1 cannot fail here (the counter is far from its
  // maximum), and the thread polls wake_fd_ wherever it blocks.
  (void)!::write(wake_fd_, &one, sizeof one);
  thread_.join();
}

bool EventThread::Sleep(std::chrono::milliseconds delay) const {
  pollfd pfd{wake_fd_, POLLIN, 0};
  return ::poll(&pfd, 1, static_cast<int>(delay.count())) > 0;
}

}  // namespace portmap
