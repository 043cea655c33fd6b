// probe_connect_bench: the cost of TcpConnectAll rounds, for probe_bench.sh.
//
//   probe_connect_bench [--rounds N] [--timeout-ms T] [--http SERVER:PORT]
//                       ADDR FIRST_PORT COUNT
//
// Probes ADDR:FIRST_PORT .. ADDR:FIRST_PORT+COUNT-1 in one TcpConnectAll call,
// ROUNDS times (after one warm-up round), and prints one line:
//   targets=COUNT rounds=N wall_ms_median=.. wall_ms_p90=.. cpu_us_per_probe=.. not_connected=..
// CPU is this process's user+system time (getrusage) over the measured
// rounds, divided by the number of probes; it includes the kernel's work for
// the client side of each handshake, which is what a probe costs the host.
//
// With --http, a round is instead COUNT concurrent requests
// "GET /probe?target=ADDR:PORT&module=tcp_connect" to a blackbox_exporter (or a
// portmap_exporter) at
// SERVER:PORT (HTTP/1.1, Connection: close, all sent at once from this one
// process: spawning curl costs more than the probes on a slow fork), and a
// probe that does not report success (ReportsSuccess) counts as not connected.  CPU is then
// this client's, so probe_bench.sh reads the exporter's from /proc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/probe/tcp_connect.h"

namespace {

bool ParseUnsigned(std::string_view s, unsigned* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Whether a /probe answer says the connect succeeded: blackbox_exporter's
// "probe_success 1" or portmap_exporter's "portmap_probe_success{...} 1".
bool ReportsSuccess(const std::string& response) {
  if (response.find("\nprobe_success 1") != std::string::npos) return true;
  const size_t at = response.find("\nportmap_probe_success{");
  if (at == std::string::npos) return false;
  const size_t end = response.find('\n', at + 1);
  const std::string line = response.substr(at + 1, end - at - 1);
  return line.size() >= 2 && line.compare(line.size() - 2, 2, " 1") == 0;
}

// One round of concurrent /probe requests; returns how many did not report
// success.
size_t HttpRound(const sockaddr_in& server, const std::string& addr, unsigned first,
                 unsigned count) {
  struct Conn {
    int fd = -1;
    std::string request;
    size_t sent = 0;
    std::string response;
  };
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(count);
  size_t failed = 0;
  size_t open = 0;
  for (unsigned i = 0; i < count; ++i) {
    Conn& c = conns[i];
    c.request = "GET /probe?target=" + addr + ":" + std::to_string(first + i) +
                "&module=tcp_connect HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0 &&
        errno != EINPROGRESS) {
      close(c.fd);
      c.fd = -1;
      ++failed;
      continue;
    }
    epoll_event event{};
    event.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    event.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &event);
    ++open;
  }
  std::vector<epoll_event> events(256);
  char buffer[16384];
  while (open > 0) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10000);
    if (n <= 0) break;  // ten silent seconds: count the rest as failed
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[e].data.u32];
      if (c.fd < 0) continue;
      bool done = false;
      if (c.sent < c.request.size() && (events[e].events & EPOLLOUT)) {
        const ssize_t w =
            send(c.fd, c.request.data() + c.sent, c.request.size() - c.sent, MSG_NOSIGNAL);
        if (w > 0) c.sent += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) done = true;
        if (c.sent == c.request.size()) {
          epoll_event event{};
          event.events = EPOLLIN | EPOLLRDHUP;
          event.data.u32 = events[e].data.u32;
          epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &event);
        }
      }
      if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (;;) {
          const ssize_t r = read(c.fd, buffer, sizeof(buffer));
          if (r > 0) {
            c.response.append(buffer, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || errno != EAGAIN) done = true;
          break;
        }
      }
      if (done) {
        close(c.fd);
        c.fd = -1;
        --open;
        if (!ReportsSuccess(c.response)) ++failed;
      }
    }
  }
  for (Conn& c : conns) {
    if (c.fd >= 0) {
      close(c.fd);
      ++failed;
    }
  }
  close(ep);
  return failed;
}

int Usage() {
  (void)std::fprintf(
      stderr,
      "usage: probe_connect_bench [--rounds N] [--timeout-ms T] [--http SERVER:PORT]\n"
      "                           ADDR FIRST_PORT COUNT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned rounds = 200;
  unsigned timeout_ms = 5000;
  std::vector<std::string_view> positional;
  std::string_view http;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--http" && i + 1 < argc) {
      http = argv[++i];
    } else if ((arg == "--rounds" || arg == "--timeout-ms") && i + 1 < argc) {
      if (!ParseUnsigned(argv[++i], arg == "--rounds" ? &rounds : &timeout_ms)) return Usage();
    } else {
      positional.push_back(arg);
    }
  }
  unsigned first = 0;
  unsigned count = 0;
  if (positional.size() != 3 || !ParseUnsigned(positional[1], &first) ||
      !ParseUnsigned(positional[2], &count) || count == 0 || first + count > 65536 || rounds == 0) {
    return Usage();
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (inet_pton(AF_INET, std::string(positional[0]).c_str(), &address.sin_addr) != 1) {
    return Usage();
  }

  sockaddr_in server{};
  server.sin_family = AF_INET;
  if (!http.empty()) {
    const size_t colon = http.rfind(':');
    unsigned port = 0;
    if (colon == std::string_view::npos || !ParseUnsigned(http.substr(colon + 1), &port) ||
        inet_pton(AF_INET, std::string(http.substr(0, colon)).c_str(), &server.sin_addr) != 1) {
      return Usage();
    }
    server.sin_port = htons(static_cast<uint16_t>(port));
  }

  std::vector<portmap::TcpConnectRequest> requests(count);
  const auto round = [&] {
    if (!http.empty()) return HttpRound(server, std::string(positional[0]), first, count);
    const auto deadline = portmap::Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (unsigned i = 0; i < count; ++i) {
      address.sin_port = htons(static_cast<uint16_t>(first + i));
      std::memcpy(&requests[i].address, &address, sizeof(address));
      requests[i].address_len = sizeof(address);
      requests[i].deadline = deadline;
    }
    const auto results = portmap::TcpConnectAll(requests);
    return static_cast<size_t>(std::count_if(results.begin(), results.end(), [](const auto& r) {
      return r.outcome != portmap::ProbeOutcome::kConnected;
    }));
  };

  size_t not_connected = round();  // warm-up: page faults, first allocations
  std::vector<double> wall_ms;
  const double cpu_before = CpuSeconds();
  for (unsigned r = 0; r < rounds; ++r) {
    const auto start = portmap::Clock::now();
    not_connected += round();
    wall_ms.push_back(
        std::chrono::duration<double, std::milli>(portmap::Clock::now() - start).count());
  }
  const double cpu = CpuSeconds() - cpu_before;
  std::sort(wall_ms.begin(), wall_ms.end());
  std::printf(
      "targets=%u rounds=%u wall_ms_median=%.3f wall_ms_p90=%.3f cpu_us_per_probe=%.2f "
      "not_connected=%zu\n",
      count, rounds, wall_ms[wall_ms.size() / 2], wall_ms[wall_ms.size() * 9 / 10],
      cpu * 1e6 / (static_cast<double>(rounds) * count), not_connected);
  return not_connected == 0 ? 0 : 1;
}
