// ListenRelay against a plain TCP echo server, all on loopback (::1 and
// 127.0.0.1). Every wait is bounded by socket timeouts or deadlines.
#include "exporter/listen_relay.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portmap {
namespace {

using std::chrono::milliseconds;

constexpr auto kIoTimeout = std::chrono::seconds(10);
constexpr std::string_view kTrailer = "<eof>";

void SetTimeouts(int fd) {
  timeval tv{};
  tv.tv_sec = kIoTimeout.count();
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int ListenOn(const SocketAddress& addr) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (bind(fd, addr.data(), addr.size()) != 0 || listen(fd, 256) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len).port();
}

bool Ipv6LoopbackWorks() {
  int fd = ListenOn(SocketAddress::Ipv6Loopback(0));
  if (fd < 0) return false;
  close(fd);
  return true;
}

size_t OpenFdCount() {
  return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                       std::filesystem::directory_iterator());
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until `want` bytes, EOF, an error or the socket timeout.
std::string Recv(int fd, size_t want) {
  std::string got;
  char buf[65536];
  while (got.size() < want) {
    ssize_t n = recv(fd, buf, std::min(sizeof(buf), want - got.size()), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// True when the peer ended the connection (FIN or reset) within the timeout.
bool SeesClose(int fd) {
  char c;
  ssize_t n = recv(fd, &c, 1, 0);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// Echoes every byte; after the client's FIN it sends kTrailer, so a test can
// tell the FIN crossed the relay, then closes.
class EchoServer {
 public:
  EchoServer() : fd_(ListenOn(SocketAddress::Ipv4Loopback(0))) {
    acceptor_ = std::jthread([this](const std::stop_token& stop) { AcceptLoop(stop); });
  }
  ~EchoServer() {
    acceptor_.request_stop();
    acceptor_.join();
    std::lock_guard lock(mu_);
    workers_.clear();  // joins; each ends at EOF or its socket timeout
    close(fd_);
  }
  uint16_t port() const { return LocalPort(fd_); }

 private:
  void AcceptLoop(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      SetTimeouts(conn);
      std::lock_guard lock(mu_);
      workers_.emplace_back([conn] { Echo(conn); });
    }
  }
  static void Echo(int fd) {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n < 0) break;
      if (n == 0) {
        SendAll(fd, kTrailer);
        shutdown(fd, SHUT_WR);
        break;
      }
      if (!SendAll(fd, std::string_view(buf, static_cast<size_t>(n)))) break;
    }
    close(fd);
  }

  int fd_;
  std::mutex mu_;
  std::vector<std::jthread> workers_;
  std::jthread acceptor_;
};

class ListenRelayTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!Ipv6LoopbackWorks()) GTEST_SKIP() << "no IPv6 loopback (::1) in this environment";
  }

  // A started relay on [::1]:0 in front of echo_.
  std::unique_ptr<ListenRelay> StartRelay(const ListenRelay::Options& options = {}) {
    std::unique_ptr<ListenRelay> relay;
    Status status =
        ListenRelay::Create({SocketAddress::Ipv6Loopback(0)}, echo_.port(), options, &relay);
    EXPECT_TRUE(status.ok()) << status.message();
    if (relay) relay->Start();
    return relay;
  }

  static int Connect(const ListenRelay& relay) {
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SetTimeouts(fd);
    SocketAddress to = SocketAddress::Ipv6Loopback(relay.BoundPorts().at(0));
    EXPECT_EQ(connect(fd, to.data(), to.size()), 0) << to.ToString();
    return fd;
  }

  // Polls `done` until true or 5 s pass.
  template <typename F>
  static bool Eventually(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return true;
  }

  EchoServer echo_;
};

TEST_F(ListenRelayTest, RoundTripsOneMebibyte) {
  auto relay = StartRelay();
  ASSERT_TRUE(relay);
  EXPECT_NE(relay->BoundPorts().at(0), 0);
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  int fd = Connect(*relay);
  // Write and read at once: the echo fills the buffers otherwise.
  std::jthread writer([&] { EXPECT_TRUE(SendAll(fd, data)); });
  EXPECT_TRUE(Recv(fd, data.size()) == data);
  writer.join();
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(Recv(fd, 64), kTrailer);
  close(fd);
  EXPECT_TRUE(Eventually([&] { return relay->stats().active == 0; }));
  EXPECT_EQ(relay->stats().accepted, 1u);
}

TEST_F(ListenRelayTest, ForwardsHalfCloseBothWays) {
  auto relay = StartRelay();
  ASSERT_TRUE(relay);
  int fd = Connect(*relay);
  ASSERT_TRUE(SendAll(fd, "ping"));
  ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
  // The trailer comes only after the server saw our FIN, and the relay must
  // still carry server-to-client bytes after it; then the server's FIN.
  EXPECT_EQ(Recv(fd, 100), "ping<eof>");
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), 0);
  close(fd);
}

TEST_F(ListenRelayTest, ReportsAddressInUseNamingIt) {
  int taken = ListenOn(SocketAddress::Ipv6Loopback(0));
  ASSERT_GE(taken, 0);
  const uint16_t port = LocalPort(taken);
  const size_t fds_before = OpenFdCount();
  std::unique_ptr<ListenRelay> relay;
  Status status = ListenRelay::Create(
      {SocketAddress::Ipv6Loopback(0), SocketAddress::Ipv6Loopback(port)}, echo_.port(), &relay);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(relay, nullptr);
  const std::string want = "[::1]:" + std::to_string(port);
  EXPECT_NE(status.message().find(want), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("Address already in use"), std::string::npos) << status.message();
  EXPECT_EQ(OpenFdCount(), fds_before);  // the first, successful bind was closed too
  close(taken);
}

TEST_F(ListenRelayTest, Ipv6WildcardSharesPortWithIpv4) {
  // Stands for civetweb's IPv4 listener; the relay's "[::]" must not claim
  // IPv4 (IPV6_V6ONLY), or this bind conflict would fail start-up.
  int v4 = ListenOn(SocketAddress::Ipv4Loopback(0));
  ASSERT_GE(v4, 0);
  in6_addr any = in6addr_any;
  std::unique_ptr<ListenRelay> relay;
  Status status =
      ListenRelay::Create({SocketAddress::Ipv6(any, LocalPort(v4))}, echo_.port(), &relay);
  EXPECT_TRUE(status.ok()) << status.message();
  close(v4);
}

TEST_F(ListenRelayTest, RelaysTwoHundredConcurrentConnections) {
  constexpr int kConns = 200;
  auto relay = StartRelay();
  ASSERT_TRUE(relay);
  std::vector<int> fds;
  for (int i = 0; i < kConns; ++i) {
    fds.push_back(Connect(*relay));
    ASSERT_TRUE(SendAll(fds.back(), "conn-" + std::to_string(i) + ";"));
  }
  for (int i = 0; i < kConns; ++i) {
    std::string want = "conn-" + std::to_string(i) + ";";
    EXPECT_EQ(Recv(fds[i], want.size()), want);
  }
  EXPECT_EQ(relay->stats().active, static_cast<uint64_t>(kConns));
  for (int fd : fds) close(fd);
  EXPECT_TRUE(Eventually([&] { return relay->stats().active == 0; }));
  EXPECT_EQ(relay->stats().accepted, static_cast<uint64_t>(kConns));
}

TEST_F(ListenRelayTest, BackpressureStallsASenderThatIsNotReadBack) {
  ListenRelay::Options options;
  options.max_pending = size_t{16} * 1024;
  auto relay = StartRelay(options);
  ASSERT_TRUE(relay);
  int fd = Connect(*relay);
  // Send without reading until nothing moves for 300 ms: every buffer on the
  // path is full. An unbounded relay would swallow everything.
  const std::string chunk(size_t{64} * 1024, 'x');
  size_t sent = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last_progress < milliseconds(300) &&
         sent < (256u << 20)) {
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      last_progress = std::chrono::steady_clock::now();
    } else {
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  EXPECT_LT(sent, 256u << 20) << "the relay kept reading without bound";
  // Nothing was lost: every byte comes back once we read.
  EXPECT_EQ(Recv(fd, sent).size(), sent);
  close(fd);
}

TEST_F(ListenRelayTest, ClosesConnectionsBeyondTheLimit) {
  ListenRelay::Options options;
  options.max_connections = 2;
  auto relay = StartRelay(options);
  ASSERT_TRUE(relay);
  int a = Connect(*relay);
  int b = Connect(*relay);
  ASSERT_TRUE(SendAll(a, "a") && SendAll(b, "b"));
  EXPECT_EQ(Recv(a, 1), "a");
  EXPECT_EQ(Recv(b, 1), "b");
  int c = Connect(*relay);  // the kernel completes it; the relay then closes it
  EXPECT_TRUE(SeesClose(c));
  EXPECT_EQ(relay->stats().rejected, 1u);
  EXPECT_TRUE(SendAll(a, "still") && Recv(a, 5) == "still");
  for (int fd : {a, b, c}) close(fd);
}

TEST_F(ListenRelayTest, ClosesIdleConnections) {
  ListenRelay::Options options;
  options.idle_timeout = milliseconds(100);
  auto relay = StartRelay(options);
  ASSERT_TRUE(relay);
  int fd = Connect(*relay);
  ASSERT_TRUE(SendAll(fd, "x"));
  EXPECT_EQ(Recv(fd, 1), "x");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(SeesClose(fd));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(90));
  EXPECT_EQ(relay->stats().idle_closed, 1u);
  close(fd);
}

TEST_F(ListenRelayTest, ResetsClientWhenUpstreamRefuses) {
  int gone = ListenOn(SocketAddress::Ipv4Loopback(0));
  const uint16_t closed_port = LocalPort(gone);
  close(gone);
  std::unique_ptr<ListenRelay> relay;
  ASSERT_TRUE(ListenRelay::Create({SocketAddress::Ipv6Loopback(0)}, closed_port, &relay).ok());
  relay->Start();
  int fd = Connect(*relay);
  EXPECT_TRUE(SeesClose(fd));
  EXPECT_TRUE(Eventually([&] { return relay->stats().upstream_failures == 1; }));
  close(fd);
}

TEST_F(ListenRelayTest, DestructionJoinsAndClosesEverySocket) {
  const size_t fds_before = OpenFdCount();
  std::vector<int> clients;
  {
    auto relay = StartRelay();
    ASSERT_TRUE(relay);
    for (int i = 0; i < 10; ++i) {
      clients.push_back(Connect(*relay));
      ASSERT_TRUE(SendAll(clients.back(), "hi"));
      EXPECT_EQ(Recv(clients.back(), 2), "hi");
    }
  }  // destroyed with ten live connections
  for (int fd : clients) {
    EXPECT_TRUE(SeesClose(fd));
    close(fd);
  }
  // The echo server closes its ends once it sees the resets.
  EXPECT_TRUE(Eventually([&] { return OpenFdCount() == fds_before; }))
      << OpenFdCount() << " open, " << fds_before << " before";
}

TEST_F(ListenRelayTest, DestroysWithoutStart) {
  std::unique_ptr<ListenRelay> idle;
  ASSERT_TRUE(ListenRelay::Create({SocketAddress::Ipv6Loopback(0)}, echo_.port(), &idle).ok());
  idle.reset();
}

}  // namespace
}  // namespace portmap
