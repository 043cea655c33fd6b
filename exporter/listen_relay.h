// ListenRelay: listens on addresses civetweb cannot (IPv6: Debian's
// libcivetweb 1.15 is built without it) and relays each accepted TCP
// connection, byte for byte, to civetweb's internal listener on
// 127.0.0.1:<target_port>. TLS passes through untouched, so civetweb still
// terminates it.
//
// What is lost across the relay: the client's address. civetweb sees every
// relayed request as coming from 127.0.0.1, so nothing may trust the peer
// address for access control, and logs show 127.0.0.1 for IPv6 clients.
//
// Behaviour, per connection: non-blocking sockets on one epoll loop; each
// direction buffers at most Options::max_pending bytes and stops reading its
// source while the buffer is full (backpressure); a FIN from one side is
// forwarded as shutdown(SHUT_WR) once its bytes are written, so half-closed
// connections keep working in the other direction; an error on either side
// closes both, the other one with a reset so a truncated reply is not
// mistaken for a complete one. Beyond Options::max_connections, a new
// connection is accepted and closed at once; a connection with no traffic for
// Options::idle_timeout is closed (checked coarsely, within ~1/8 of it).
// Each relayed connection uses two descriptors: RLIMIT_NOFILE must allow
// 2 * max_connections plus the rest of the process.
//
// IPv6 addresses are bound with IPV6_V6ONLY=1, so "[::]:9806" here shares the
// port with civetweb's IPv4 "9806" (see listen_address.h for the mapping).
//
// Thread-safety: Create, Start and the destructor are called by the owner,
// from one thread. BoundPorts, BoundAddresses and stats may be called from any
// thread at any time. The relay owns its sockets and its one thread; nothing
// is detached.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <thread>
#include <vector>

#include "collectors/status.h"
#include "exporter/listen_address.h"

namespace portmap {

class ListenRelay {
 public:
  struct Options {
    size_t max_connections = 1024;
    std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
    size_t max_pending = size_t{64} * 1024;  // bytes buffered per direction
  };

  // Counters since Create; each read is a separate relaxed load.
  struct Stats {
    uint64_t accepted = 0;           // connections relayed
    uint64_t rejected = 0;           // closed at once: over max_connections or out of fds
    uint64_t upstream_failures = 0;  // could not connect to 127.0.0.1:target_port
    uint64_t idle_closed = 0;        // closed by the idle timeout
    uint64_t active = 0;             // open now
  };

  // Binds and listens on every address in `listen` now, so "address in use"
  // is reported at start-up, naming the address; nothing is accepted until
  // Start(). On error *out is untouched and every socket opened is closed.
  // A port 0 gets an ephemeral port (see BoundPorts).
  static Status Create(const std::vector<SocketAddress>& listen, uint16_t target_port,
                       std::unique_ptr<ListenRelay>* out);
  static Status Create(const std::vector<SocketAddress>& listen, uint16_t target_port,
                       const Options& options, std::unique_ptr<ListenRelay>* out);

  ListenRelay(const ListenRelay&) = delete;
  ListenRelay& operator=(const ListenRelay&) = delete;
  // Stops the thread (wakes it through an eventfd), joins it and closes every
  // listening and relayed socket; open relayed connections are reset.
  ~ListenRelay();

  // Starts the one background thread that accepts and relays. Call once.
  void Start();

  // The port each listening socket got, in the order of `listen`.
  std::vector<uint16_t> BoundPorts() const { return bound_ports_; }
  // The addresses as bound (with the ports filled in), for logs.
  std::vector<SocketAddress> BoundAddresses() const { return bound_addresses_; }

  Stats stats() const;

 private:
  struct Conn;
  struct Counters {
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> rejected{0};
    std::atomic<uint64_t> upstream_failures{0};
    std::atomic<uint64_t> idle_closed{0};
    std::atomic<uint64_t> active{0};
  };

  ListenRelay(uint16_t target_port, const Options& options);

  // All below run on the relay thread (or in the destructor after the join).
  void Run(const std::stop_token& stop);
  void AcceptAll(int listen_fd);
  void HandleConn(Conn* conn, int side, uint32_t events);
  // Each returns false when it closed the connection.
  bool ReadSide(Conn* conn, int side);
  bool FlushSide(Conn* conn, int side);
  void UpdateInterest(Conn* conn);
  // Closes both sockets (with a reset when abortive) and moves the Conn to
  // graveyard_, freed after the current batch of epoll events.
  void Kill(Conn* conn, bool abortive);
  void SweepIdle(std::chrono::steady_clock::time_point now);
  void SetAcceptPaused(bool paused);

  const uint16_t target_port_;
  const Options options_;
  std::vector<int> listen_fds_;
  std::vector<uint16_t> bound_ports_;
  std::vector<SocketAddress> bound_addresses_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the destructor writes it to end epoll_wait
  // Owned by the relay thread while it runs; the destructor frees what is left.
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> graveyard_;
  bool accept_paused_ = false;
  std::chrono::steady_clock::time_point accept_resume_at_{};
  Counters counters_;
  std::jthread thread_;  // last: joined before the members above are destroyed
};

}  // namespace portmap
