#include "collectors/probe/tcp_connect.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <queue>
#include <utility>

#include "util/status.h"

namespace portmap {

namespace {

// The longest epoll_wait sleep, so a stop request is noticed within this
// much even when every deadline is seconds away.
constexpr auto kStopPollInterval = std::chrono::milliseconds(100);
// Bounds of the RLIMIT_NOFILE-derived concurrency: at least enough to probe a
// handful of ports in parallel under a tiny limit, at most what one epoll
// round usefully handles (more only trades memory for nothing: the kernel's
// SYN queue, not us, is the bottleneck beyond that).
constexpr size_t kMinDerivedInFlight = 16;
constexpr size_t kMaxDerivedInFlight = 4096;
constexpr int kMaxEventsPerWait = 256;

// Owns one file descriptor; closes it on every path.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // A plain close: with the default linger a connected socket ends with a FIN,
  // which the service sees as a client that went away, not as an abort (an
  // RST from SO_LINGER 0 would show up in its logs as a connection reset).
  // Close errors carry nothing for a socket we never wrote to.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

size_t DerivedMaxInFlight() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return kMaxDerivedInFlight;
  }
  // Half the soft limit leaves the other half to the HTTP server, the
  // netlink and D-Bus sockets and concurrent scrapes.
  return std::clamp<size_t>(static_cast<size_t>(limit.rlim_cur / 2), kMinDerivedInFlight,
                            kMaxDerivedInFlight);
}

// "1.5s", "200ms": the budget a timeout detail names.  Rounded to the
// millisecond because start and deadline are taken at different instants.
std::string FormatBudget(Clock::duration budget) {
  const auto ms = std::chrono::round<std::chrono::milliseconds>(budget).count();
  if (ms < 1000) return std::to_string(std::max<long long>(ms, 0)) + "ms";
  char text[32];
  (void)std::snprintf(text, sizeof(text), "%.3f", static_cast<double>(ms) / 1000.0);
  std::string s(text);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + "s";
}

// The source address without its port, for a bind error.
std::string AddressText(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text,
              sizeof(text));
  }
  return text;
}

// One TcpConnectAll call: the requests, their results, and the sockets in
// flight, indexed by request.
class ConnectRound {
 public:
  ConnectRound(std::span<const TcpConnectRequest> requests, std::stop_token stop, size_t limit)
      : requests_(requests),
        stop_(std::move(stop)),
        limit_(std::max<size_t>(limit, 1)),
        results_(requests.size()),
        fds_(requests.size()),
        starts_(requests.size()) {}

  std::vector<TcpConnectResult> Run() {
    epoll_ = Fd(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_.valid()) {
      const int err = errno;
      for (auto& result : results_) SetResult(&result, err, "epoll_create1: " + ErrnoText(err));
      return std::move(results_);
    }
    std::vector<epoll_event> events(std::min<size_t>(limit_, kMaxEventsPerWait));
    while (next_ < requests_.size() || in_flight_ > 0) {
      if (stop_.stop_requested()) {
        AbandonRest();
        break;
      }
      while (in_flight_ < limit_ && next_ < requests_.size()) Start(next_++);
      if (in_flight_ == 0) continue;
      const int n =
          epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), WaitTimeoutMs());
      if (n < 0) {
        if (errno == EINTR) continue;
        // Cannot happen with a valid epoll fd and buffer; end every pending
        // connect rather than spin.
        const int err = errno;
        FailInFlight(err, "epoll_wait: " + ErrnoText(err));
        continue;
      }
      const auto now = Clock::now();
      for (int i = 0; i < n; ++i) Complete(events[i].data.u64, now);
      ExpireUntil(now);
    }
    return std::move(results_);
  }

 private:
  static void SetResult(TcpConnectResult* result, int err, std::string detail) {
    result->outcome = ClassifyConnectError(err);
    result->err = err;
    result->detail = std::move(detail);
  }

  void Start(size_t index) {
    const TcpConnectRequest& request = requests_[index];
    TcpConnectResult& result = results_[index];
    if (Clock::now() >= request.deadline) {
      result.outcome = ProbeOutcome::kTimeout;
      result.err = ETIMEDOUT;
      result.detail = "deadline passed before the connect could start";
      return;
    }
    const int family = request.address.ss_family;
    Fd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      const int err = errno;  // EMFILE, EAFNOSUPPORT (no IPv6), ...
      SetResult(&result, err, "socket: " + ErrnoText(err));
      return;
    }
    if (request.source_len > 0) {
      // Defers the source port choice to connect(), which may reuse a port
      // for distinct destinations; bind() alone would reserve one ephemeral
      // port per probe and exhaust the range under many probes.  Best effort:
      // without it the bind still works, only less frugally.
      const int one = 1;
      setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&request.source), request.source_len) !=
          0) {
        const int err = errno;
        // Always an error, whatever the errno: the destination was never
        // tried, so refused/unreachable would be a lie about it.
        result.outcome = ProbeOutcome::kError;
        result.err = err;
        result.detail = "bind " + AddressText(request.source) + ": " + ErrnoText(err);
        return;
      }
    }
    starts_[index] = Clock::now();
    int rc =
        connect(fd.get(), reinterpret_cast<const sockaddr*>(&request.address), request.address_len);
    // A non-blocking connect interrupted by a signal goes on in the
    // background exactly like EINPROGRESS.
    if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
      const int err = errno;
      result.elapsed = Clock::now() - starts_[index];
      SetResult(&result, err, "connect: " + ErrnoText(err));
      return;
    }
    if (rc == 0) {  // loopback may complete the handshake at once
      result.elapsed = Clock::now() - starts_[index];
      SetResult(&result, 0, "connected");
      return;
    }
    epoll_event event{};
    event.events = EPOLLOUT | EPOLLERR | EPOLLHUP;
    event.data.u64 = index;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &event) != 0) {
      const int err = errno;  // ENOMEM, ENOSPC (max_user_watches)
      result.elapsed = Clock::now() - starts_[index];
      result.outcome = ProbeOutcome::kError;
      result.err = err;
      result.detail = "epoll_ctl: " + ErrnoText(err);
      return;
    }
    fds_[index] = std::move(fd);
    deadlines_.emplace(request.deadline, index);
    ++in_flight_;
  }

  // The nearest deadline as an epoll_wait timeout, rounded up so a wake-up is
  // never early, and capped so a stop request is seen.
  int WaitTimeoutMs() {
    while (!deadlines_.empty() && !fds_[deadlines_.top().second].valid()) deadlines_.pop();
    if (deadlines_.empty()) return static_cast<int>(kStopPollInterval.count());
    const auto left = deadlines_.top().first - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left);
    return static_cast<int>(std::min(ms, kStopPollInterval).count());
  }

  void Complete(size_t index, Clock::time_point now) {
    if (index >= fds_.size() || !fds_[index].valid()) return;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fds_[index].get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    TcpConnectResult& result = results_[index];
    result.elapsed = now - starts_[index];
    SetResult(&result, err, err == 0 ? "connected" : "connect: " + ErrnoText(err));
    Finish(index);
  }

  void ExpireUntil(Clock::time_point now) {
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
      const size_t index = deadlines_.top().second;
      deadlines_.pop();
      if (!fds_[index].valid()) continue;
      TcpConnectResult& result = results_[index];
      result.outcome = ProbeOutcome::kTimeout;
      result.err = ETIMEDOUT;
      result.elapsed = now - starts_[index];
      result.detail =
          "no answer within " + FormatBudget(requests_[index].deadline - starts_[index]);
      Finish(index);
    }
  }

  void AbandonRest() {
    const auto now = Clock::now();
    for (size_t index = 0; index < requests_.size(); ++index) {
      const bool pending = fds_[index].valid();
      if (!pending && index < next_) continue;
      TcpConnectResult& result = results_[index];
      result.outcome = ProbeOutcome::kError;
      result.err = ECANCELED;
      result.elapsed = pending ? now - starts_[index] : std::chrono::nanoseconds(0);
      result.detail = "abandoned";
      if (pending) Finish(index);
    }
    next_ = requests_.size();
  }

  void FailInFlight(int err, const std::string& detail) {
    const auto now = Clock::now();
    for (size_t index = 0; index < next_; ++index) {
      if (!fds_[index].valid()) continue;
      results_[index].outcome = ProbeOutcome::kError;
      results_[index].err = err;
      results_[index].elapsed = now - starts_[index];
      results_[index].detail = detail;
      Finish(index);
    }
  }

  // Closing also removes the socket from the epoll set (it was never dup'ed).
  void Finish(size_t index) {
    fds_[index].Reset();
    --in_flight_;
  }

  using Deadline = std::pair<Clock::time_point, size_t>;

  const std::span<const TcpConnectRequest> requests_;
  const std::stop_token stop_;
  const size_t limit_;
  std::vector<TcpConnectResult> results_;
  std::vector<Fd> fds_;  // valid while the request's connect is in flight
  std::vector<Clock::time_point> starts_;
  // In-flight deadlines, nearest first; entries of finished requests are
  // dropped lazily.
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  Fd epoll_;
  size_t next_ = 0;  // the next request to start
  size_t in_flight_ = 0;
};

}  // namespace

std::string_view ProbeOutcomeName(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kConnected:
      return "connected";
    case ProbeOutcome::kRefused:
      return "refused";
    case ProbeOutcome::kUnreachable:
      return "unreachable";
    case ProbeOutcome::kTimeout:
      return "timeout";
    case ProbeOutcome::kError:
      return "error";
  }
  return "error";
}

ProbeOutcome ClassifyConnectError(int err) {
  switch (err) {
    case 0:
      return ProbeOutcome::kConnected;
    case ECONNREFUSED:
      return ProbeOutcome::kRefused;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENONET:
    case ENETDOWN:
      return ProbeOutcome::kUnreachable;
    case ETIMEDOUT:
      return ProbeOutcome::kTimeout;
    default:
      return ProbeOutcome::kError;
  }
}

std::vector<TcpConnectResult> TcpConnectAll(std::span<const TcpConnectRequest> requests,
                                            std::stop_token stop, size_t max_in_flight) {
  if (requests.empty()) return {};
  ConnectRound round(requests, std::move(stop),
                     max_in_flight > 0 ? max_in_flight : DerivedMaxInFlight());
  return round.Run();
}

}  // namespace portmap
