// ListenRelay: the exporter's front door. It owns every listening socket
// (IPv4 and IPv6: Debian's libcivetweb 1.15 has no IPv6) and relays each
// client, byte for byte, to civetweb's internal listener on
// 127.0.0.1:<target_port>. TLS passes through untouched, so civetweb still
// terminates it.
//
// Why a gate: civetweb gives every accepted connection a worker thread until
// the request arrives or request_timeout_ms passes, so a few hundred clients
// that connect and send nothing starve every scrape (measured: 500 idle
// connections, /metrics unanswered after 20 s). The relay therefore connects
// upstream only once the client sent a complete request head:
//   - TLS (first byte 0x16, a handshake record): one complete TLS record, the
//     ClientHello; the 5-byte record header gives its length;
//   - otherwise, plain HTTP: the bytes buffered so far contain an empty line
//     ("\n\n" or "\n\r\n", so "\r\n\r\n" and bare-LF heads both count);
//   - or the buffer (Options::max_pending) is full, or the client half-closed
//     after sending something: civetweb answers whatever it is (400, 431).
// A client that completes no head within Options::head_timeout after its
// accept (total, not per read, like Go's ReadHeaderTimeout, so trickling one
// byte at a time does not help) is closed; a non-TLS one first gets a
// best-effort "408 Request Timeout". A waiting client costs one descriptor and
// its buffered bytes, no thread.
//
// Beyond Options::max_connections (waiting and relayed together), the client
// that has waited longest for its head is closed to make room; when none is
// waiting, the new connection is closed at once. Out of descriptors
// (EMFILE), the same eviction frees one; with none to evict, accepting pauses
// for 100 ms and new connections wait in the kernel backlog.
//
// What is lost across the relay: the client's address, for civetweb, which
// sees 127.0.0.1. ClientAddress() maps the relay's upstream local port (the
// remote port civetweb reports) back to it while the connection is open.
//
// Behaviour once relayed: non-blocking sockets on one epoll loop; each
// direction buffers at most Options::max_pending bytes and stops reading its
// source while the buffer is full (backpressure); a FIN from one side is
// forwarded as shutdown(SHUT_WR) once its bytes are written, so half-closed
// connections keep working in the other direction; an error on either side
// closes both, the other one with a reset so a truncated reply is not
// mistaken for a complete one. A relayed connection with no traffic for
// Options::idle_timeout is closed (checked coarsely, within ~1/8 of it).
// Each relayed connection uses two descriptors, a waiting one one:
// RaiseOpenFileLimit() lifts the soft RLIMIT_NOFILE to the hard one.
//
// Listening sockets get a backlog of 4096 (capped by net.core.somaxconn):
// Prometheus can fire hundreds of /probe requests at once, and each SYN
// dropped costs the client a 1 s retransmit (bench/README.md).
// IPv6 addresses are bound with IPV6_V6ONLY=1, so "[::]:9806" shares the
// port with "0.0.0.0:9806" (see listen_address.h for the mapping).
//
// Thread-safety: Create, Start and the destructor are called by the owner,
// from one thread. BoundPorts, BoundAddresses, ClientAddress and stats may be
// called from any thread at any time. The relay owns its sockets and its one
// thread; nothing is detached.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "exporter/web/listen_address.h"
#include "util/status.h"

namespace portmap {

class ListenRelay {
 public:
  struct Options {
    size_t max_connections = 16384;  // waiting for a head and relayed
    std::chrono::milliseconds head_timeout = std::chrono::seconds(10);
    std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
    size_t max_pending = size_t{64} * 1024;  // bytes buffered per direction
  };

  // Counters since Create; each read is a separate relaxed load.
  struct Stats {
    uint64_t accepted = 0;           // connections relayed (head complete)
    uint64_t rejected = 0;           // closed at once: over max_connections or out of fds
    uint64_t evicted = 0;            // waiting clients closed to make room
    uint64_t head_timeouts = 0;      // closed by the head timeout
    uint64_t upstream_failures = 0;  // could not connect to 127.0.0.1:target_port
    uint64_t idle_closed = 0;        // relayed, closed by the idle timeout
    uint64_t waiting = 0;            // open now, head not complete
    uint64_t active = 0;             // open now, waiting or relayed
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

  // The client ("192.0.2.1", "2001:db8::1", no port or brackets) of the open
  // relayed connection whose upstream socket has local port
  // `upstream_port`, i.e. what civetweb reports as the remote port; nullopt
  // when none. Answers correctly while the connection is open, which covers
  // every request civetweb is still handling.
  std::optional<std::string> ClientAddress(uint16_t upstream_port) const;

  Stats stats() const;

 private:
  struct Conn;
  struct Counters {
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> rejected{0};
    std::atomic<uint64_t> evicted{0};
    std::atomic<uint64_t> head_timeouts{0};
    std::atomic<uint64_t> upstream_failures{0};
    std::atomic<uint64_t> idle_closed{0};
    std::atomic<uint64_t> waiting{0};
    std::atomic<uint64_t> active{0};
  };

  ListenRelay(uint16_t target_port, const Options& options);

  // All below run on the relay thread (or in the destructor after the join).
  void Run(const std::stop_token& stop);
  void AcceptAll(int listen_fd);
  // Closes the client that has waited longest for its head; false if none.
  bool EvictOldestWaiting();
  void HandleConn(Conn* conn, int side, uint32_t events);
  // While the client's head is incomplete: whether it is complete now.
  bool HeadComplete(Conn* conn) const;
  // Ends the wait: connects upstream. False when it closed the connection.
  bool OpenUpstream(Conn* conn);
  // Each returns false when it closed the connection.
  bool ReadSide(Conn* conn, int side);
  bool FlushSide(Conn* conn, int side);
  void UpdateInterest(Conn* conn);
  // Closes both sockets (with a reset when abortive) and moves the Conn to
  // graveyard_, freed after the current batch of epoll events.
  void Kill(Conn* conn, bool abortive);
  void SweepIdle(std::chrono::steady_clock::time_point now);
  void SweepHeads(std::chrono::steady_clock::time_point now);
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
  std::list<Conn*> waiting_;  // clients without a complete head, oldest first
  // Every recv lands here first, so a connection's buffer grows only to what
  // it holds (a waiting client's few hundred bytes), not to max_pending.
  std::vector<char> scratch_;
  bool accept_paused_ = false;
  std::chrono::steady_clock::time_point accept_resume_at_{};
  Counters counters_;
  mutable std::mutex clients_mu_;
  std::unordered_map<uint16_t, std::string> clients_;  // upstream local port -> client
  std::jthread thread_;  // last: joined before the members above are destroyed
};

// Raises the soft RLIMIT_NOFILE to the hard limit (as Go's runtime does), so
// waiting and relayed connections are bounded by max_connections rather than
// by systemd's default soft limit of 1024. Best effort; call once at start,
// before anything sizes itself from the limit.
void RaiseOpenFileLimit();

}  // namespace portmap
