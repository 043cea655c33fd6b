// TcpConnectAll against loopback listeners: no root, no network.  The silent
// drop behind a timeout comes from a listener with backlog 0 whose accept
// queue is full of connections nobody accepts: the kernel then drops further
// SYNs without an answer, exactly like a DROP rule.
#include "collectors/probe/tcp_connect.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

namespace portmap {
namespace {

using std::chrono::milliseconds;

// A socket closed by the test's end.
struct Socket {
  int fd = -1;
  explicit Socket(int f) : fd(f) {}
  Socket(Socket&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Socket(const Socket&) = delete;
  ~Socket() {
    if (fd >= 0) close(fd);
  }
};

sockaddr_storage Loopback4(uint16_t port) {
  sockaddr_storage ss{};
  auto& sin = reinterpret_cast<sockaddr_in&>(ss);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  return ss;
}

uint16_t PortOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port);  // same offset in sockaddr_in6
}

// A listener on 127.0.0.1 (or ::1), on a port the kernel picks.
Socket Listen(int backlog = SOMAXCONN, int family = AF_INET) {
  Socket s(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return s;
  sockaddr_storage ss{};
  socklen_t len = sizeof(sockaddr_in);
  if (family == AF_INET) {
    ss = Loopback4(0);
  } else {
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(ss);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  }
  if (bind(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(s.fd, backlog) != 0) {
    close(std::exchange(s.fd, -1));
  }
  return s;
}

// A loopback port nothing listens on, and nothing else can take while the
// returned socket lives: bound but never listening, so a SYN to it gets a RST
// just as for a closed port (closing it instead would let a parallel test's
// listener reuse the port).
Socket RefusingPort(uint16_t* port) {
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage ss = Loopback4(0);
  EXPECT_EQ(bind(s.fd, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in)), 0);
  *port = PortOf(s.fd);
  return s;
}

TcpConnectRequest Request(uint16_t port, milliseconds timeout = milliseconds(2000)) {
  TcpConnectRequest request;
  request.address = Loopback4(port);
  request.address_len = sizeof(sockaddr_in);
  request.deadline = Clock::now() + timeout;
  return request;
}

// A listener whose accept queue is full: its port silently drops SYNs.
// `fillers` keeps the connections that fill it.  Fails the test if the
// kernel still answers after a few fillers.
Socket SilentListener(std::vector<Socket>* fillers) {
  Socket listener = Listen(/*backlog=*/0);
  const sockaddr_storage ss = Loopback4(PortOf(listener.fd));
  for (int i = 0; i < 8; ++i) {
    Socket s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    (void)connect(s.fd, reinterpret_cast<const sockaddr*>(&ss), sizeof(sockaddr_in));
    pollfd p{s.fd, POLLOUT, 0};
    const bool answered = poll(&p, 1, 100) > 0;
    fillers->push_back(std::move(s));
    if (!answered) return listener;  // this SYN went unanswered: full
  }
  ADD_FAILURE() << "a backlog-0 listener kept accepting; no silent drop on this kernel";
  return listener;
}

TEST(ClassifyConnectErrorTest, EveryListedErrno) {
  const struct {
    int err;
    ProbeOutcome outcome;
  } cases[] = {
      {0, ProbeOutcome::kConnected},
      {ECONNREFUSED, ProbeOutcome::kRefused},
      {EHOSTUNREACH, ProbeOutcome::kUnreachable},
      {ENETUNREACH, ProbeOutcome::kUnreachable},
      {EHOSTDOWN, ProbeOutcome::kUnreachable},
      {ENONET, ProbeOutcome::kUnreachable},
      {ENETDOWN, ProbeOutcome::kUnreachable},
      {ETIMEDOUT, ProbeOutcome::kTimeout},
      {EACCES, ProbeOutcome::kError},
      {EPERM, ProbeOutcome::kError},
      {EADDRNOTAVAIL, ProbeOutcome::kError},
      {EMFILE, ProbeOutcome::kError},
      {ECONNRESET, ProbeOutcome::kError},
      {EINVAL, ProbeOutcome::kError},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ClassifyConnectError(c.err), c.outcome) << ErrnoText(c.err);
  }
}

TEST(TcpConnectTest, OutcomeNames) {
  EXPECT_EQ(ProbeOutcomeName(ProbeOutcome::kConnected), "connected");
  EXPECT_EQ(ProbeOutcomeName(ProbeOutcome::kRefused), "refused");
  EXPECT_EQ(ProbeOutcomeName(ProbeOutcome::kUnreachable), "unreachable");
  EXPECT_EQ(ProbeOutcomeName(ProbeOutcome::kTimeout), "timeout");
  EXPECT_EQ(ProbeOutcomeName(ProbeOutcome::kError), "error");
}

TEST(TcpConnectTest, NoRequests) { EXPECT_TRUE(TcpConnectAll({}).empty()); }

TEST(TcpConnectTest, Connected) {
  Socket listener = Listen();
  ASSERT_GE(listener.fd, 0);
  const TcpConnectRequest request = Request(PortOf(listener.fd));
  const auto results = TcpConnectAll({&request, 1});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kConnected) << results[0].detail;
  EXPECT_EQ(results[0].err, 0);
  EXPECT_GT(results[0].elapsed.count(), 0);
  EXPECT_LT(results[0].elapsed, std::chrono::seconds(2));
}

TEST(TcpConnectTest, Refused) {
  uint16_t closed = 0;
  Socket refusing = RefusingPort(&closed);
  const TcpConnectRequest request = Request(closed);
  const auto results = TcpConnectAll({&request, 1});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kRefused) << results[0].detail;
  EXPECT_EQ(results[0].err, ECONNREFUSED);
  EXPECT_EQ(results[0].detail, "connect: Connection refused");
}

TEST(TcpConnectTest, TimeoutOnSilentDrop) {
  std::vector<Socket> fillers;
  Socket listener = SilentListener(&fillers);
  const TcpConnectRequest request = Request(PortOf(listener.fd), milliseconds(300));
  const auto results = TcpConnectAll({&request, 1});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kTimeout) << results[0].detail;
  EXPECT_EQ(results[0].err, ETIMEDOUT);
  // The budget counts from connect(), a little after the deadline was set.
  EXPECT_THAT(results[0].detail, testing::MatchesRegex("no answer within (300|29[0-9])ms"));
  EXPECT_GE(results[0].elapsed, milliseconds(250));
  EXPECT_LT(results[0].elapsed, std::chrono::seconds(5));
}

// 200 listeners plus a refused port at every tenth position: one result per
// request, in request order, whatever order the answers came in.
TEST(TcpConnectTest, ManyTargetsInOrder) {
  std::vector<Socket> listeners;
  std::vector<TcpConnectRequest> requests;
  uint16_t closed = 0;
  Socket refusing = RefusingPort(&closed);
  for (int i = 0; i < 220; ++i) {
    if (i % 11 == 10) {
      requests.push_back(Request(closed));
      continue;
    }
    listeners.push_back(Listen());
    ASSERT_GE(listeners.back().fd, 0);
    requests.push_back(Request(PortOf(listeners.back().fd), milliseconds(5000)));
  }
  const auto results = TcpConnectAll(requests);
  ASSERT_EQ(results.size(), requests.size());
  for (size_t i = 0; i < results.size(); ++i) {
    const ProbeOutcome want = i % 11 == 10 ? ProbeOutcome::kRefused : ProbeOutcome::kConnected;
    EXPECT_EQ(results[i].outcome, want) << "request " << i << ": " << results[i].detail;
  }
}

TEST(TcpConnectTest, QueuedRequestsCompleteWithSmallMaxInFlight) {
  Socket listener = Listen();
  ASSERT_GE(listener.fd, 0);
  std::vector<TcpConnectRequest> requests(40, Request(PortOf(listener.fd), milliseconds(5000)));
  uint16_t closed = 0;
  Socket refusing = RefusingPort(&closed);
  requests[7] = Request(closed);
  const auto results = TcpConnectAll(requests, {}, /*max_in_flight=*/3);
  ASSERT_EQ(results.size(), requests.size());
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].outcome, i == 7 ? ProbeOutcome::kRefused : ProbeOutcome::kConnected)
        << "request " << i << ": " << results[i].detail;
  }
}

// Queued behind a silent port, a request whose deadline passes while it
// waits for a slot is a timeout without ever connecting.
TEST(TcpConnectTest, QueuedRequestTimesOutBeforeStarting) {
  std::vector<Socket> fillers;
  Socket silent = SilentListener(&fillers);
  Socket listener = Listen();
  const TcpConnectRequest requests[] = {Request(PortOf(silent.fd), milliseconds(300)),
                                        Request(PortOf(listener.fd), milliseconds(200))};
  const auto results = TcpConnectAll(requests, {}, /*max_in_flight=*/1);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kTimeout) << results[0].detail;
  EXPECT_EQ(results[1].outcome, ProbeOutcome::kTimeout) << results[1].detail;
  EXPECT_EQ(results[1].detail, "deadline passed before the connect could start");
}

TEST(TcpConnectTest, DeadlineAlreadyPassed) {
  Socket listener = Listen();
  TcpConnectRequest request = Request(PortOf(listener.fd));
  request.deadline = Clock::now() - milliseconds(1);
  const auto results = TcpConnectAll({&request, 1});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kTimeout);
  EXPECT_EQ(results[0].err, ETIMEDOUT);
  EXPECT_EQ(results[0].detail, "deadline passed before the connect could start");
}

TEST(TcpConnectTest, StopAbandonsPendingAndQueued) {
  std::vector<Socket> fillers;
  Socket silent = SilentListener(&fillers);
  const std::vector<TcpConnectRequest> requests(3, Request(PortOf(silent.fd), milliseconds(30000)));
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(milliseconds(150));
    stop.request_stop();
  });
  const auto started = Clock::now();
  const auto results = TcpConnectAll(requests, stop.get_token(), /*max_in_flight=*/2);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(10));
  ASSERT_EQ(results.size(), 3u);
  for (const auto& result : results) {
    EXPECT_EQ(result.outcome, ProbeOutcome::kError);
    EXPECT_EQ(result.detail, "abandoned");
  }
  EXPECT_GT(results[0].elapsed.count(), 0);  // was in flight
  EXPECT_EQ(results[2].elapsed.count(), 0);  // never started
}

TEST(TcpConnectTest, StopAlreadyRequested) {
  Socket listener = Listen();
  const TcpConnectRequest request = Request(PortOf(listener.fd));
  std::stop_source stop;
  stop.request_stop();
  const auto results = TcpConnectAll({&request, 1}, stop.get_token());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kError);
  EXPECT_EQ(results[0].detail, "abandoned");
}

TEST(TcpConnectTest, LocalSourceAddress) {
  Socket listener = Listen();
  TcpConnectRequest request = Request(PortOf(listener.fd));
  request.source = Loopback4(0);
  request.source_len = sizeof(sockaddr_in);
  const auto results = TcpConnectAll({&request, 1});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kConnected) << results[0].detail;
}

TEST(TcpConnectTest, NonLocalSourceAddressIsAnError) {
  std::ifstream nonlocal("/proc/sys/net/ipv4/ip_nonlocal_bind");
  int allowed = 0;
  if (nonlocal >> allowed && allowed != 0) GTEST_SKIP() << "net.ipv4.ip_nonlocal_bind is on";
  Socket listener = Listen();
  TcpConnectRequest request = Request(PortOf(listener.fd));
  request.source = Loopback4(0);
  inet_pton(AF_INET, "198.51.100.9", &reinterpret_cast<sockaddr_in&>(request.source).sin_addr);
  request.source_len = sizeof(sockaddr_in);
  const auto results = TcpConnectAll({&request, 1});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kError);
  EXPECT_EQ(results[0].err, EADDRNOTAVAIL);
  EXPECT_EQ(results[0].detail, "bind 198.51.100.9: Cannot assign requested address");
}

TEST(TcpConnectTest, Ipv6Loopback) {
  Socket listener = Listen(SOMAXCONN, AF_INET6);
  if (listener.fd < 0) GTEST_SKIP() << "no IPv6 loopback";
  TcpConnectRequest request;
  auto& sin6 = reinterpret_cast<sockaddr_in6&>(request.address);
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_loopback;
  sin6.sin6_port = htons(PortOf(listener.fd));
  request.address_len = sizeof(sockaddr_in6);
  request.deadline = Clock::now() + milliseconds(2000);
  const auto results = TcpConnectAll({&request, 1});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, ProbeOutcome::kConnected) << results[0].detail;
}

}  // namespace
}  // namespace portmap
