#include "collectors/firewalld/firewalld_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "collectors/dbus/bus.h"
#include "collectors/dbus/decode.h"
#include "collectors/firewalld/firewalld_client.h"

namespace portmap {

namespace {

constexpr char kOwnerMatch[] =
    "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
    "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
    "arg0='org.fedoraproject.FirewallD1'";

// Frees match slots when a connection's life ends.
class Slot {
 public:
  Slot() = default;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() { sd_bus_slot_unref(slot_); }
  sd_bus_slot** out() { return &slot_; }

 private:
  sd_bus_slot* slot_ = nullptr;
};

// Milliseconds until sd-bus' next internal timeout (absolute CLOCK_MONOTONIC
// usec), -1 for none, capped so a stop is noticed even without the eventfd.
int PollTimeoutMs(sd_bus* bus) {
  uint64_t until = 0;
  if (sd_bus_get_timeout(bus, &until) < 0 || until == UINT64_MAX) return 60000;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  if (until <= now) return 0;
  return static_cast<int>(std::min<uint64_t>((until - now + 999) / 1000, 60000));
}

}  // namespace

void FirewalldEventState::OnOwnerChanged(const std::string& new_owner) {
  snap_.owner = new_owner;
  if (new_owner.empty()) return;
  if (new_owner != last_owner_) ++snap_.restarts;
  last_owner_ = new_owner;
}

void FirewalldEventState::OnConnected(const std::string& owner, bool first) {
  snap_.owner = owner;
  if (owner.empty()) return;
  if (!first && owner != last_owner_) ++snap_.restarts;
  last_owner_ = owner;
}

// The sd-bus callbacks, with access to the watcher's state.
struct FirewalldWatcherCallbacks {
  static int OnReloaded(sd_bus_message* /*m*/, void* userdata, sd_bus_error* /*err*/) {
    auto* w = static_cast<FirewalldWatcher*>(userdata);
    std::lock_guard<std::mutex> lock(w->mu_);
    w->state_.OnReloaded();
    return 0;
  }
  static int OnAnySignal(sd_bus_message* /*m*/, void* userdata, sd_bus_error* /*err*/) {
    auto* w = static_cast<FirewalldWatcher*>(userdata);
    std::lock_guard<std::mutex> lock(w->mu_);
    w->state_.OnSignal();
    return 0;
  }
  // An error reply counts too: it was sent after what came before it.
  static int OnPing(sd_bus_message* /*m*/, void* userdata, sd_bus_error* /*err*/) {
    auto* w = static_cast<FirewalldWatcher*>(userdata);
    {
      std::lock_guard<std::mutex> lock(w->mu_);
      if (w->pings_.empty()) return 0;
      w->sync_done_ = std::max(w->sync_done_, w->pings_.front());
      w->pings_.pop_front();
    }
    w->sync_cv_.notify_all();
    return 0;
  }
  static int OnOwnerChanged(sd_bus_message* m, void* userdata, sd_bus_error* /*err*/) {
    const char* name = nullptr;
    const char* old_owner = nullptr;
    const char* new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
    if (std::strcmp(name, kFirewalldName) != 0) return 0;
    auto* w = static_cast<FirewalldWatcher*>(userdata);
    std::lock_guard<std::mutex> lock(w->mu_);
    w->state_.OnOwnerChanged(new_owner);
    w->state_.OnSignal();
    return 0;
  }
};

FirewalldWatcher::FirewalldWatcher() : sync_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!thread_.ok() || sync_fd_ < 0) {
    state_.mutable_snapshot()->error = "eventfd failed; firewalld watcher not started";
    return;
  }
  thread_.Start([this](const std::stop_token& stop) { Run(stop); });
}

FirewalldWatcher::~FirewalldWatcher() {
  thread_.Stop();
  if (sync_fd_ >= 0) close(sync_fd_);
}

bool FirewalldWatcher::Sync(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!state_.snapshot().listening || sync_fd_ < 0) return false;
  const uint64_t ticket = ++sync_asked_;
  const uint64_t one = 1;
  if (write(sync_fd_, &one, sizeof one) < 0 && errno != EAGAIN) return false;
  return sync_cv_.wait_until(lock, deadline, [&] {
    return sync_done_ >= ticket || !state_.snapshot().listening;
  }) && sync_done_ >= ticket;
}

int FirewalldWatcher::SendPing(sd_bus* bus) {
  uint64_t drained = 0;
  if (read(sync_fd_, &drained, sizeof drained) < 0 && errno != EAGAIN) return -errno;
  uint64_t ticket = 0;
  std::string owner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sync_asked_ == sync_sent_) return 0;
    ticket = sync_sent_ = sync_asked_;
    pings_.push_back(ticket);
    owner = state_.snapshot().owner;
  }
  // firewalld itself when it runs: its reply follows every signal it sent
  // before, and a stopped or wedged firewalld does not answer, so a scrape
  // does not take its silence for "nothing changed".  libdbus answers Peer
  // calls below firewalld's Python code.  Else the bus daemon.
  const char* destination = owner.empty() ? dbus::kBusName : owner.c_str();
  const int r = sd_bus_call_method_async(bus, nullptr, destination, dbus::kBusPath,
                                         "org.freedesktop.DBus.Peer", "Ping",
                                         &FirewalldWatcherCallbacks::OnPing, this, "");
  if (r < 0) {
    std::lock_guard<std::mutex> lock(mu_);
    pings_.pop_back();
  }
  return r;
}

FirewalldEventsSnapshot FirewalldWatcher::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.snapshot();
}

bool FirewalldWatcher::WaitListening(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return listening_cv_.wait_for(lock, timeout, [this] { return state_.snapshot().listening; });
}

void FirewalldWatcher::SetBroken(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.mutable_snapshot()->listening = false;
    state_.mutable_snapshot()->error = why;
    // Pings of a lost connection get no reply; their waiters are answered
    // false by `listening` and the next connection starts afresh.
    pings_.clear();
    sync_sent_ = sync_asked_;
  }
  sync_cv_.notify_all();
}

void FirewalldWatcher::Run(const std::stop_token& stop) {
  bool first = true;
  std::chrono::milliseconds backoff = kMinBackoff;
  while (!stop.stop_requested()) {
    if (Listen(stop, &first)) backoff = kMinBackoff;
    if (stop.stop_requested()) return;
    if (thread_.Sleep(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

bool FirewalldWatcher::Listen(const std::stop_token& stop, bool* first) {
  const auto deadline = dbus::Clock::now() + kCallTimeout;
  dbus::CallStatus st;
  dbus::Connection conn = dbus::Connection::OpenSystem(deadline, &st);
  if (!st.ok()) {
    SetBroken(st.message);
    return false;
  }
  Slot reloaded;
  Slot any_signal;
  Slot owner_changed;
  int r = sd_bus_match_signal_async(conn.get(), reloaded.out(), kFirewalldName, kFirewalldPath,
                                    kFirewalldInterface, "Reloaded",
                                    &FirewalldWatcherCallbacks::OnReloaded, nullptr, this);
  if (r >= 0) {
    r = sd_bus_match_signal_async(conn.get(), any_signal.out(), kFirewalldName, nullptr, nullptr,
                                  nullptr, &FirewalldWatcherCallbacks::OnAnySignal, nullptr, this);
  }
  if (r >= 0) {
    r = sd_bus_add_match_async(conn.get(), owner_changed.out(), kOwnerMatch,
                               &FirewalldWatcherCallbacks::OnOwnerChanged, nullptr, this);
  }
  if (r < 0) {
    SetBroken(dbus::CallStatus::Errno(r, "subscribing to firewalld signals").message);
    return false;
  }
  // Read the owner after the AddMatch calls were queued: the bus daemon
  // handles one connection's messages in order, so a change after this read
  // arrives as a signal.
  dbus::Message reply;
  st = conn.Call(
      {dbus::kBusName, dbus::kBusPath, dbus::kBusInterface, "GetNameOwner", {kFirewalldName}},
      deadline, &reply);
  std::string owner;
  if (st.ok()) {
    st = dbus::DecodeString(reply.get(), &owner);
  } else if (IsNoOwner(st)) {
    st = dbus::CallStatus::Ok();
  }
  if (!st.ok()) {
    SetBroken(st.message);
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.OnConnected(owner, *first);
    state_.OnSignal();  // anything may have changed while not listening
    if (!*first) ++state_.mutable_snapshot()->reconnects;
    state_.mutable_snapshot()->listening = true;
    state_.mutable_snapshot()->error.clear();
  }
  *first = false;
  listening_cv_.notify_all();

  while (!stop.stop_requested()) {
    r = sd_bus_process(conn.get(), nullptr);
    if (r < 0) break;
    if (r > 0) continue;  // drain everything queued before waiting
    pollfd fds[3] = {
        {sd_bus_get_fd(conn.get()), static_cast<short>(sd_bus_get_events(conn.get())), 0},
        {thread_.wake_fd(), POLLIN, 0},
        {sync_fd_, POLLIN, 0}};
    if (fds[0].fd < 0 || fds[0].events < 0) {
      r = -ENOTCONN;
      break;
    }
    if (::poll(fds, 3, PollTimeoutMs(conn.get())) < 0 && errno != EINTR) {
      r = -errno;
      break;
    }
    if (fds[1].revents != 0) return true;  // woken to stop
    if (fds[2].revents != 0 && (r = SendPing(conn.get())) < 0) break;
  }
  if (!stop.stop_requested()) {
    SetBroken(
        dbus::CallStatus::Errno(r < 0 ? r : ECONNRESET, "system bus connection lost").message);
  }
  return true;
}

}  // namespace portmap
