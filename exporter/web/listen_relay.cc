#include "exporter/web/listen_relay.h"

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

#include "exporter/web/listen_socket.h"
#include "exporter/web/request_head.h"

namespace portmap {

namespace {

using Clock = std::chrono::steady_clock;

// epoll_event.data holds either a small tag (the wake eventfd, a listener) or
// a pointer to a connection side; no object lives at an address this small.
constexpr uint64_t kWakeTag = 0;
constexpr uint64_t kListenTagBase = 1;
constexpr uint64_t kMaxTag = 4096;
constexpr int kClient = 0;
constexpr int kUpstream = 1;
constexpr int kMaxEvents = 64;
constexpr int kMaxAcceptsPerWake = 64;  // so one busy listener cannot starve relayed traffic
// After EMFILE and friends the listener stays readable; pausing it briefly
// keeps a level-triggered loop from spinning until descriptors free up.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
constexpr std::string_view kRequestTimeout =
    "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

// "192.0.2.1" or "2001:db8::1%eth0": the host part of "[host]:port".
std::string HostOf(const SocketAddress& addr) {
  std::string text = addr.ToString();
  const size_t colon = text.rfind(':');
  if (colon != std::string::npos) text.resize(colon);
  if (text.size() >= 2 && text.front() == '[') text = text.substr(1, text.size() - 2);
  return text;
}

void SetInt(int fd, int level, int name, int value) {
  // Best effort: a socket without TCP_NODELAY still relays correctly.
  (void)setsockopt(fd, level, name, &value, sizeof(value));
}

// Makes close() send a reset, not a FIN: a peer must not take a reply cut
// off by a failure for a complete one.
void ResetOnClose(int fd) {
  linger lg{1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

}  // namespace

struct ListenRelay::Conn {
  struct Side {
    Conn* conn = nullptr;
    int index = 0;
    int fd = -1;
    std::vector<char> out;  // read from the other side, not yet written to fd
    size_t out_head = 0;
    bool read_eof = false;    // fd sent FIN
    bool write_shut = false;  // the other side's FIN is forwarded to fd
    bool registered = false;
    uint32_t interest = 0;
    size_t Pending() const { return out.size() - out_head; }
    std::string_view Unsent() const { return {out.data() + out_head, Pending()}; }
  };

  Conn() {
    for (int i = 0; i < 2; ++i) {
      side[i].conn = this;
      side[i].index = i;
    }
  }

  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  // Kill() closes a registered connection's fds; this closes those of one
  // dropped before registration.
  ~Conn() {
    for (Side& s : side) {
      if (s.fd >= 0) close(s.fd);
    }
  }

  Side side[2];
  // Until the head is complete there is no upstream socket: side[kUpstream]
  // only buffers what the client sent.
  bool waiting = true;
  std::list<Conn*>::iterator wait_pos;  // in waiting_, while waiting
  Clock::time_point head_deadline;
  size_t head_scanned = 0;  // bytes already searched for the end of the head
  SocketAddress client;
  uint16_t upstream_port = 0;  // key in clients_ once relayed
  bool connecting = false;     // upstream connect() still in progress
  size_t index = 0;            // position in conns_
  Clock::time_point last_active = Clock::now();
};

ListenRelay::ListenRelay(uint16_t target_port, const Options& options)
    : target_port_(target_port), options_(options), scratch_(options.max_pending) {}

Status ListenRelay::Create(const std::vector<SocketAddress>& listen, uint16_t target_port,
                           std::unique_ptr<ListenRelay>* out) {
  return Create(listen, target_port, Options(), out);
}

Status ListenRelay::Create(const std::vector<SocketAddress>& listen, uint16_t target_port,
                           const Options& options, std::unique_ptr<ListenRelay>* out) {
  // Private constructor, so no make_unique; the destructor closes whatever
  // was opened if we return early.
  std::unique_ptr<ListenRelay> relay(new ListenRelay(target_port, options));
  for (const SocketAddress& addr : listen) {
    int fd = -1;
    SocketAddress got;
    if (Status st = OpenTcpListener(addr, &fd, &got); !st.ok()) return st;
    relay->listen_fds_.push_back(fd);
    relay->bound_ports_.push_back(got.port());
    relay->bound_addresses_.push_back(got);
  }

  relay->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (relay->epoll_fd_ < 0) return Status::Error("listen relay: epoll: " + ErrnoText(errno));
  relay->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (relay->wake_fd_ < 0) return Status::Error("listen relay: eventfd: " + ErrnoText(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (epoll_ctl(relay->epoll_fd_, EPOLL_CTL_ADD, relay->wake_fd_, &ev) != 0) {
    return Status::Error("listen relay: epoll_ctl: " + ErrnoText(errno));
  }
  for (size_t i = 0; i < relay->listen_fds_.size(); ++i) {
    ev.data.u64 = kListenTagBase + i;
    if (epoll_ctl(relay->epoll_fd_, EPOLL_CTL_ADD, relay->listen_fds_[i], &ev) != 0) {
      return Status::Error("listen relay: epoll_ctl: " + ErrnoText(errno));
    }
  }
  *out = std::move(relay);
  return Status::Ok();
}

ListenRelay::~ListenRelay() {
  if (thread_.joinable()) {
    thread_.request_stop();
    const uint64_t one = 1;
    // A failed write would leave epoll_wait to its own timeout (<= 10 s);
    // eventfd writes of 1 do not fail short of a counter overflow.
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  while (!conns_.empty()) Kill(conns_.back().get(), /*abortive=*/true);
  graveyard_.clear();
  for (int fd : listen_fds_) close(fd);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void ListenRelay::Start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](const std::stop_token& stop) {
    // Nothing may escape a thread; on an unexpected failure the relay stops
    // accepting and the destructor still cleans up.
    try {
      Run(stop);
    } catch (...) {  // NOLINT(bugprone-empty-catch): see above
    }
  });
}

ListenRelay::Stats ListenRelay::stats() const {
  Stats s;
  s.accepted = counters_.accepted.load(std::memory_order_relaxed);
  s.rejected = counters_.rejected.load(std::memory_order_relaxed);
  s.evicted = counters_.evicted.load(std::memory_order_relaxed);
  s.head_timeouts = counters_.head_timeouts.load(std::memory_order_relaxed);
  s.waiting = counters_.waiting.load(std::memory_order_relaxed);
  s.upstream_failures = counters_.upstream_failures.load(std::memory_order_relaxed);
  s.idle_closed = counters_.idle_closed.load(std::memory_order_relaxed);
  s.active = counters_.active.load(std::memory_order_relaxed);
  return s;
}

std::optional<std::string> ListenRelay::ClientAddress(uint16_t upstream_port) const {
  std::lock_guard lock(clients_mu_);
  auto it = clients_.find(upstream_port);
  if (it == clients_.end()) return std::nullopt;
  return it->second;
}

void ListenRelay::Run(const std::stop_token& stop) {
  // Coarse idle checks: a connection lives at most idle_timeout plus one period.
  const auto sweep_period = std::clamp<Clock::duration>(
      options_.idle_timeout / 8, std::chrono::milliseconds(10), std::chrono::seconds(10));
  auto next_sweep = Clock::now() + sweep_period;
  epoll_event events[kMaxEvents];
  while (!stop.stop_requested()) {
    auto wake_at = next_sweep;
    if (accept_paused_) wake_at = std::min(wake_at, accept_resume_at_);
    if (!waiting_.empty()) wake_at = std::min(wake_at, waiting_.front()->head_deadline);
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake_at - Clock::now());
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents,
                             static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (n < 0 && errno != EINTR) return;  // only with a broken epoll fd: stop relaying
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        uint64_t count = 0;
        (void)!read(wake_fd_, &count, sizeof(count));
      } else if (tag < kMaxTag) {
        try {
          AcceptAll(listen_fds_[tag - kListenTagBase]);
        } catch (...) {  // bad_alloc: back off as for EMFILE
          SetAcceptPaused(true);
        }
      } else {
        auto* side = static_cast<Conn::Side*>(events[i].data.ptr);
        HandleConn(side->conn, side->index, events[i].events);
      }
    }
    // Killed connections are freed only now: a later event of this batch may
    // still point at them (HandleConn skips them: their fds are -1).
    graveyard_.clear();
    const auto now = Clock::now();
    if (accept_paused_ && now >= accept_resume_at_) SetAcceptPaused(false);
    SweepHeads(now);  // looks at the oldest waiting clients only: cheap
    if (now >= next_sweep) {
      SweepIdle(now);
      graveyard_.clear();
      next_sweep = now + sweep_period;
    }
  }
}

void ListenRelay::AcceptAll(int listen_fd) {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    // The Conn owns its fds from the start, so every early exit closes them.
    auto conn = std::make_unique<Conn>();
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    const int client = conn->side[kClient].fd = accept4(
        listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) {
      const int err = errno;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of descriptors or memory: a client still silent gives way; with
        // none, the new connection waits in the backlog.
        if (EvictOldestWaiting()) continue;
        SetAcceptPaused(true);
      }
      return;  // EAGAIN: drained
    }
    if (conns_.size() >= options_.max_connections && !EvictOldestWaiting()) {
      counters_.rejected.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    conn->client = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
    // The endpoints batch their own writes; Nagle here would only add delay.
    SetInt(client, IPPROTO_TCP, TCP_NODELAY, 1);
    conn->head_deadline = Clock::now() + options_.head_timeout;
    conn->index = conns_.size();
    Conn* raw = conn.get();
    conns_.push_back(std::move(conn));
    raw->wait_pos = waiting_.insert(waiting_.end(), raw);
    counters_.waiting.fetch_add(1, std::memory_order_relaxed);
    counters_.active.fetch_add(1, std::memory_order_relaxed);
    UpdateInterest(raw);
  }
}

bool ListenRelay::EvictOldestWaiting() {
  if (waiting_.empty()) return false;
  counters_.evicted.fetch_add(1, std::memory_order_relaxed);
  Kill(waiting_.front(), /*abortive=*/true);
  return true;
}

bool ListenRelay::HeadComplete(Conn* conn) const {
  const Conn::Side& up = conn->side[kUpstream];
  return RequestHeadComplete(up.Unsent(), options_.max_pending, &conn->head_scanned);
}

bool ListenRelay::OpenUpstream(Conn* conn) {
  waiting_.erase(conn->wait_pos);
  conn->waiting = false;
  counters_.waiting.fetch_sub(1, std::memory_order_relaxed);
  const int upstream = conn->side[kUpstream].fd =
      socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (upstream < 0) {
    counters_.upstream_failures.fetch_add(1, std::memory_order_relaxed);
    Kill(conn, /*abortive=*/true);
    return false;
  }
  SetInt(upstream, IPPROTO_TCP, TCP_NODELAY, 1);
  const SocketAddress target = SocketAddress::Ipv4Loopback(target_port_);
  conn->connecting = connect(upstream, target.data(), target.size()) != 0;
  if (conn->connecting && errno != EINPROGRESS) {
    counters_.upstream_failures.fetch_add(1, std::memory_order_relaxed);
    Kill(conn, /*abortive=*/true);
    return false;
  }
  // connect() has picked the local port, even while still in progress.
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(upstream, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    conn->upstream_port =
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len).port();
    std::lock_guard lock(clients_mu_);
    clients_[conn->upstream_port] = HostOf(conn->client);
  }
  counters_.accepted.fetch_add(1, std::memory_order_relaxed);
  return FlushSide(conn, kUpstream);  // the head, if connected already
}

void ListenRelay::HandleConn(Conn* conn, int side, uint32_t events) {
  if (conn->side[side].fd < 0) return;  // killed earlier in this batch
  try {
    if (side == kUpstream && conn->connecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(conn->side[kUpstream].fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        counters_.upstream_failures.fetch_add(1, std::memory_order_relaxed);
        Kill(conn, /*abortive=*/true);
        return;
      }
      conn->connecting = false;
      if (!FlushSide(conn, kUpstream)) return;
    } else if ((events & EPOLLERR) != 0) {
      Kill(conn, /*abortive=*/true);
      return;
    }
    if ((events & (EPOLLIN | EPOLLHUP)) != 0 && (conn->side[side].interest & EPOLLIN) != 0) {
      if (!ReadSide(conn, side)) return;
    }
    if (conn->waiting) {
      const bool eof = conn->side[kClient].read_eof;
      if (eof && conn->side[kUpstream].Pending() == 0) {
        Kill(conn, /*abortive=*/false);  // came and went without a byte
        return;
      }
      // A half-closed client sent all it will: let civetweb judge it.
      if ((eof || HeadComplete(conn)) && !OpenUpstream(conn)) return;
    }
    if ((events & EPOLLOUT) != 0 && !FlushSide(conn, side)) return;
    if (conn->side[kClient].write_shut && conn->side[kUpstream].write_shut) {
      Kill(conn, /*abortive=*/false);  // both directions finished cleanly
      return;
    }
    UpdateInterest(conn);
  } catch (...) {  // bad_alloc growing a buffer: drop this connection only
    if (conn->side[kClient].fd >= 0) Kill(conn, /*abortive=*/true);
  }
}

bool ListenRelay::ReadSide(Conn* conn, int side) {
  Conn::Side& src = conn->side[side];
  Conn::Side& dst = conn->side[1 - side];
  // Bounded: stops at EAGAIN, EOF, or once max_pending bytes wait in dst.
  while (!src.read_eof && dst.Pending() < options_.max_pending) {
    if (dst.out_head > 0) {  // keep the buffer at most max_pending long
      dst.out.erase(dst.out.begin(), dst.out.begin() + static_cast<ptrdiff_t>(dst.out_head));
      dst.out_head = 0;
    }
    const size_t room = options_.max_pending - dst.out.size();
    const ssize_t n = recv(src.fd, scratch_.data(), room, 0);
    if (n > 0) {
      dst.out.insert(dst.out.end(), scratch_.begin(), scratch_.begin() + n);
      conn->last_active = Clock::now();
    } else if (n == 0) {
      src.read_eof = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      Kill(conn, /*abortive=*/true);
      return false;
    }
  }
  return FlushSide(conn, 1 - side);
}

bool ListenRelay::FlushSide(Conn* conn, int side) {
  if (side == kUpstream && (conn->waiting || conn->connecting)) return true;  // buffered
  Conn::Side& dst = conn->side[side];
  while (dst.Pending() > 0) {
    const std::string_view unsent = dst.Unsent();
    const ssize_t n = send(dst.fd, unsent.data(), unsent.size(), MSG_NOSIGNAL);
    if (n > 0) {
      dst.out_head += static_cast<size_t>(n);
      conn->last_active = Clock::now();
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else if (n < 0 && errno != EINTR) {
      Kill(conn, /*abortive=*/true);
      return false;
    }
  }
  dst.out.clear();
  dst.out_head = 0;
  if (conn->side[1 - side].read_eof && !dst.write_shut) {
    // Forward the FIN only now, after every byte that preceded it.
    if (shutdown(dst.fd, SHUT_WR) != 0) {
      Kill(conn, /*abortive=*/true);
      return false;
    }
    dst.write_shut = true;
  }
  return true;
}

void ListenRelay::UpdateInterest(Conn* conn) {
  for (Conn::Side& s : conn->side) {
    if (s.fd < 0) continue;  // no upstream socket while waiting for the head
    const Conn::Side& other = conn->side[1 - s.index];
    const bool upstream_connecting = s.index == kUpstream && conn->connecting;
    uint32_t want = 0;
    if (!s.read_eof && !upstream_connecting && other.Pending() < options_.max_pending) {
      want |= EPOLLIN;
    }
    if (s.Pending() > 0 || upstream_connecting) want |= EPOLLOUT;
    if (want == s.interest && s.registered == (want != 0)) continue;
    // An fd with nothing wanted leaves epoll: level-triggered EPOLLHUP would
    // otherwise wake us in a loop while it waits for the other side.
    int rc = 0;
    if (want == 0) {
      if (s.registered) rc = epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
      s.registered = false;
    } else {
      epoll_event ev{};
      ev.events = want;
      ev.data.ptr = &s;
      rc = epoll_ctl(epoll_fd_, s.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.fd, &ev);
      s.registered = true;
    }
    s.interest = want;
    if (rc != 0) {
      Kill(conn, /*abortive=*/true);
      return;
    }
  }
}

void ListenRelay::Kill(Conn* conn, bool abortive) {
  if (conn->side[kClient].fd < 0) return;  // already killed
  // Counted before the close, so stats() never lags behind what a client
  // has already seen.
  counters_.active.fetch_sub(1, std::memory_order_relaxed);
  if (conn->waiting) counters_.waiting.fetch_sub(1, std::memory_order_relaxed);
  for (Conn::Side& s : conn->side) {
    if (s.fd < 0) continue;
    if (abortive) ResetOnClose(s.fd);
    // close() alone leaves the registration while another descriptor shares
    // the socket (a child between fork and exec holds a copy): epoll would
    // then report events for a Conn already freed.
    if (s.registered) (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
    s.registered = false;
    close(s.fd);
    s.fd = -1;
  }
  if (conn->waiting) {
    waiting_.erase(conn->wait_pos);
    conn->waiting = false;
  }
  if (conn->upstream_port != 0) {
    std::lock_guard lock(clients_mu_);
    clients_.erase(conn->upstream_port);
  }
  // Swap-remove from conns_; keep the object alive until the batch ends.
  const size_t index = conn->index;
  std::swap(conns_[index], conns_.back());
  conns_[index]->index = index;
  graveyard_.push_back(std::move(conns_.back()));
  conns_.pop_back();
}

void ListenRelay::SweepIdle(Clock::time_point now) {
  std::vector<Conn*> idle;
  for (const auto& conn : conns_) {
    if (conn->waiting) continue;  // the head timeout covers these
    if (now - conn->last_active >= options_.idle_timeout) idle.push_back(conn.get());
  }
  for (Conn* conn : idle) {
    counters_.idle_closed.fetch_add(1, std::memory_order_relaxed);
    Kill(conn, /*abortive=*/true);
  }
}

void ListenRelay::SweepHeads(Clock::time_point now) {
  while (!waiting_.empty() && waiting_.front()->head_deadline <= now) {
    Conn* conn = waiting_.front();
    counters_.head_timeouts.fetch_add(1, std::memory_order_relaxed);
    const Conn::Side& up = conn->side[kUpstream];
    const bool tls = IsTlsHandshake(up.Unsent());
    // Best effort, never blocking: a client too slow for its head may well
    // be too slow to read this, and the close follows regardless.
    if (!tls) {
      (void)send(conn->side[kClient].fd, kRequestTimeout.data(), kRequestTimeout.size(),
                 MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    Kill(conn, /*abortive=*/false);
  }
}

void ListenRelay::SetAcceptPaused(bool paused) {
  accept_paused_ = paused;
  if (paused) accept_resume_at_ = Clock::now() + kAcceptPause;
  epoll_event ev{};
  ev.events = paused ? 0u : static_cast<uint32_t>(EPOLLIN);
  for (size_t i = 0; i < listen_fds_.size(); ++i) {
    ev.data.u64 = kListenTagBase + i;
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fds_[i], &ev);
  }
}

void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);  // best effort: the soft limit stays
}

}  // namespace portmap
