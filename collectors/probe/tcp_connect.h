// TCP connect probes: many non-blocking connects multiplexed on one epoll,
// each under its own deadline, classified the way the verdict and the alerts
// need (blackbox_exporter's tcp prober reduced to the connect, with the
// failure kept apart instead of folded into probe_success 0).
//
// Outcomes (connect(2)'s result, read with SO_ERROR once the socket is
// writable):
//   connected    the handshake completed (the socket is closed at once)
//   refused      ECONNREFUSED: a RST (nothing listens, or reject with tcp-reset)
//                or an ICMP port-unreachable — what firewalld's zone reject
//                sends (measured in the lab: tests/lab/probe_test.sh)
//   unreachable  EHOSTUNREACH / ENETUNREACH / EHOSTDOWN / ENONET / ENETDOWN:
//                ICMP host/net unreachable or admin-prohibited (firewalld's
//                catch-all reject, nftables' `reject with icmpx
//                admin-prohibited`), no route, no ARP answer
//   timeout      no answer before the deadline (a silent drop)
//   error        anything else (EACCES from a local OUTPUT rule, EADDRNOTAVAIL
//                for a bad source address, no file descriptors, ...)
// Times are taken from CLOCK_MONOTONIC (steady_clock) around connect() and
// the wake-up that ended it.
//
// Thread safety: TcpConnectAll may run concurrently from several threads; it
// shares nothing.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"

namespace portmap {

enum class ProbeOutcome { kConnected, kRefused, kUnreachable, kTimeout, kError };

// "connected", "refused", "unreachable", "timeout", "error".
std::string_view ProbeOutcomeName(ProbeOutcome outcome);

// The outcome of a connect that ended with errno `err` (0 = connected).
// ETIMEDOUT (the kernel's own SYN retries ran out) is a timeout.
ProbeOutcome ClassifyConnectError(int err);

struct TcpConnectRequest {
  sockaddr_storage address{};
  socklen_t address_len = 0;
  sockaddr_storage source{};  // bound before connect when source_len > 0
  socklen_t source_len = 0;
  Clock::time_point deadline;
};

struct TcpConnectResult {
  ProbeOutcome outcome = ProbeOutcome::kError;
  int err = 0;  // the errno behind the outcome; ETIMEDOUT for our own timeout
  std::chrono::nanoseconds elapsed{0};  // connect() to the outcome
  std::string detail;                   // for logs and debug output: "connect: Connection refused"
};

// Connects to every request concurrently and returns one result per request,
// in order.  At most `max_in_flight` sockets are open at once (0 = chosen
// from RLIMIT_NOFILE, leaving room for the rest of the exporter); the others
// start as earlier ones finish, and one whose deadline passes before it could
// start is a timeout with a detail saying so.  A stop request ends every
// pending connect as an error ("abandoned").
std::vector<TcpConnectResult> TcpConnectAll(std::span<const TcpConnectRequest> requests,
                                            std::stop_token stop = {}, size_t max_in_flight = 0);

}  // namespace portmap
