#include "collectors/forwarding/forwarding_watcher.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>
#include <vector>

#include "util/paths.h"
#include "util/procfs.h"

namespace portmap {

namespace {

// How long to wait before opening the socket again after a failure.
constexpr std::chrono::milliseconds kRetryDelay{5000};

constexpr std::array<const char*, kIpFamilyCount> kSwitchPaths = {
    "sys/net/ipv4/ip_forward",
    "sys/net/ipv6/conf/all/forwarding",
};

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<IpFamily> FamilyOf(int af) {
  if (af == AF_INET) return IpFamily::kIpv4;
  if (af == AF_INET6) return IpFamily::kIpv6;
  return std::nullopt;
}

}  // namespace

void ForwardingState::Seed(IpFamily family, std::optional<int> value) {
  auto& fam = snap_.families[static_cast<size_t>(family)];
  if (value.has_value()) value = *value != 0 ? 1 : 0;
  fam.value = value;
}

void ForwardingState::Observe(IpFamily family, int value, double now) {
  auto& fam = snap_.families[static_cast<size_t>(family)];
  const int v = value != 0 ? 1 : 0;
  if (fam.value.has_value() && *fam.value != v) {
    ++fam.changes;
    fam.last_change_seconds = now;
  }
  fam.value = v;
}

void ForwardingState::OnEvent(const NetconfEvent& event, double now) {
  if (event.deleted || event.ifindex != kIfindexAll || !event.forwarding.has_value()) return;
  std::optional<IpFamily> family = FamilyOf(event.family);
  if (!family.has_value()) return;
  Observe(*family, *event.forwarding, now);
}

void ForwardingState::OnResync(std::optional<int> ipv4, std::optional<int> ipv6, double now) {
  ++snap_.resyncs;
  if (ipv4.has_value()) Observe(IpFamily::kIpv4, *ipv4, now);
  if (ipv6.has_value()) Observe(IpFamily::kIpv6, *ipv6, now);
}

ForwardingWatcher::ForwardingWatcher(std::string procfs, int receive_buffer)
    : procfs_(std::move(procfs)), receive_buffer_(receive_buffer) {
  if (!thread_.ok()) {
    state_.mutable_snapshot()->error = "eventfd failed; netconf watcher not started";
    return;
  }
  // Open and join here, on the constructing thread: the exporter is listening
  // when the factory returns (no first-scrape race), and the socket is in the
  // caller's network namespace.  A failure is retried by the thread.
  NetlinkSocket sock;
  OpenAndSeed(&sock, /*first=*/true);
  thread_.Start([this, s = std::move(sock)](const std::stop_token& stop) mutable {
    Run(stop, std::move(s));
  });
}

ForwardingWatcher::~ForwardingWatcher() { thread_.Stop(); }

ForwardingSnapshot ForwardingWatcher::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.snapshot();
}

bool ForwardingWatcher::WaitListening(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return listening_cv_.wait_for(lock, timeout, [this] { return state_.snapshot().listening; });
}

std::optional<int> ForwardingWatcher::ReadSwitch(IpFamily family) const {
  int64_t value = 0;
  if (!ReadInt64(Paths::Join(procfs_, kSwitchPaths[static_cast<size_t>(family)]), &value).ok()) {
    return std::nullopt;
  }
  return value != 0 ? 1 : 0;
}

bool ForwardingWatcher::OpenAndSeed(NetlinkSocket* sock, bool first) {
  NetlinkStatus st;
  *sock = NetlinkSocket::Open(NETLINK_ROUTE, &st);
  if (st.ok()) st = sock->JoinGroup(RTNLGRP_IPV4_NETCONF);
  if (st.ok()) st = sock->JoinGroup(RTNLGRP_IPV6_NETCONF);
  if (st.ok()) (void)sock->SetReceiveBuffer(receive_buffer_);  // best effort
  if (!st.ok()) {
    *sock = NetlinkSocket();
    SetBroken(st.message);
    return false;
  }
  // Joined first, then read: a flip between the two arrives as an event.
  std::optional<int> v4 = ReadSwitch(IpFamily::kIpv4);
  std::optional<int> v6 = ReadSwitch(IpFamily::kIpv6);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (first) {
      state_.Seed(IpFamily::kIpv4, v4);
      state_.Seed(IpFamily::kIpv6, v6);
    } else {
      state_.OnResync(v4, v6, WallNow());  // events were lost while closed
    }
    state_.mutable_snapshot()->listening = true;
    state_.mutable_snapshot()->error.clear();
  }
  listening_cv_.notify_all();
  return true;
}

void ForwardingWatcher::Run(const std::stop_token& stop, NetlinkSocket sock) {
  std::vector<NetconfEvent> events;
  // A malformed message is skipped, not fatal: the rest of the stream is good.
  const NetlinkCallback on_message = [&events](const nlmsghdr* nlh) {
    DecodeNetconfMessage(nlh, &events);
    return MNL_CB_OK;
  };
  // Seeded at most once: after a failed first open, the first success seeds.
  bool seeded = sock.valid();
  while (!stop.stop_requested()) {
    if (!sock.valid()) {
      if (!OpenAndSeed(&sock, /*first=*/!seeded)) {
        if (thread_.Sleep(kRetryDelay)) return;
        continue;
      }
      seeded = true;
    }
    NetlinkStatus st;
    while (!stop.stop_requested()) {
      events.clear();
      bool woken = false;
      st = sock.ReceiveEvents(thread_.wake_fd(), std::chrono::milliseconds(-1), on_message, &woken);
      const double now = WallNow();
      if (!events.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        for (const NetconfEvent& ev : events) state_.OnEvent(ev, now);
      }
      if (woken) return;
      if (st.err == ENOBUFS) {
        // What is still queued predates what was lost: drop it, then read.
        st = sock.DiscardPending();
        if (!st.ok()) break;
        std::optional<int> v4 = ReadSwitch(IpFamily::kIpv4);
        std::optional<int> v6 = ReadSwitch(IpFamily::kIpv6);
        std::lock_guard<std::mutex> lock(mu_);
        state_.OnResync(v4, v6, now);
      } else if (!st.ok()) {
        break;  // the socket itself failed: reopen it after a pause
      }
    }
    if (stop.stop_requested()) return;
    sock = NetlinkSocket();
    SetBroken(st.message);
    if (thread_.Sleep(kRetryDelay)) return;
  }
}

void ForwardingWatcher::SetBroken(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.mutable_snapshot()->listening = false;
  state_.mutable_snapshot()->error = why;
}

}  // namespace portmap
