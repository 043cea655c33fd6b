// portmap_lab_tcp: the lab's TCP endpoints, run inside network namespaces.
//
//   portmap_lab_tcp listen [--bind ADDR] [--peer] PORT...
//       The "registry" in a container namespace.  Every accepted connection
//       gets one line, "portmap-lab <port>\n", and is closed.  With --peer the
//       line is "portmap-lab <port> peer <addr>\n": the container then tells a
//       test whether the client reached it through DNAT (it sees the client's
//       own address) or through the userland proxy (it sees the bridge
//       address), which is exactly the difference the lab is about.
//       All ports are served by one epoll loop, so hundreds of listeners cost
//       one process.
//
//   portmap_lab_tcp proxy LISTEN_ADDR:PORT TARGET_ADDR:PORT
//       Plays docker-proxy in the dockerhost namespace: it is what makes
//       127.0.0.1:PORT answer on a Docker host, where the nat OUTPUT rule
//       excludes 127.0.0.0/8.  Each accepted connection is relayed by two
//       threads (one per direction) with blocking I/O; that is the simplest
//       relay that is obviously correct about half-closes.
//
// Both modes exit 0 on SIGTERM or SIGINT.  Only the IPv4 addresses the lab uses
// are accepted; everything else is a usage error (exit 2).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr int kUsageExit = 2;
constexpr int kErrorExit = 1;
// How long the proxy waits for the container before giving up on one client;
// a real docker-proxy gives up after the kernel's connect timeout, which would
// keep a test waiting for minutes.
constexpr int kBackendConnectTimeoutSeconds = 5;

void Usage() {
  (void)std::fprintf(stderr,
                     "usage: portmap_lab_tcp listen [--bind ADDR] [--peer] PORT...\n"
                     "       portmap_lab_tcp proxy LISTEN_ADDR:PORT TARGET_ADDR:PORT\n");
}

[[noreturn]] void Die(const std::string& what) {
  (void)std::fprintf(stderr, "portmap_lab_tcp: %s: %s\n", what.c_str(), strerrordesc_np(errno));
  std::exit(kErrorExit);  // NOLINT(concurrency-mt-unsafe): the error path ends the tool
}

std::optional<uint16_t> ParsePort(std::string_view s) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

std::optional<sockaddr_in> ParseAddr(const std::string& addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) return std::nullopt;
  return sa;
}

// "ADDR:PORT" -> sockaddr_in.
std::optional<sockaddr_in> ParseEndpoint(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto port = ParsePort(s.substr(colon + 1));
  if (!port) return std::nullopt;
  return ParseAddr(std::string(s.substr(0, colon)), *port);
}

std::string AddrToString(const sockaddr_in& sa) {
  char buf[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof(buf));
  return buf;
}

int ListenOn(const sockaddr_in& sa) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die("socket");
  const int one = 1;
  // A killed earlier run can leave TIME_WAIT sockets on the port.
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) Die("SO_REUSEADDR");
  if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) < 0) {
    Die("bind " + AddrToString(sa) + ":" + std::to_string(ntohs(sa.sin_port)));
  }
  if (listen(fd, SOMAXCONN) < 0) Die("listen");
  return fd;
}

// SIGTERM/SIGINT become readable events on a signalfd, so both modes can wait
// for "a client or a signal" in one place instead of racing a handler.
int BlockTermSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  // Blocked before any thread starts, so every relay thread inherits the mask
  // and the signal can only be consumed through the signalfd.
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) Die("pthread_sigmask");
  const int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) Die("signalfd");
  // A client that goes away mid-write must not kill the whole process.
  (void)signal(SIGPIPE, SIG_IGN);
  return fd;
}

// A later test opens 500 listeners; the soft limit is often 1024, and the
// proxy holds two descriptors per client.
void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void EpollAdd(int epfd, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) Die("epoll_ctl");
}

bool WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    const ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int RunListen(int argc, char** argv) {
  std::string bind_addr = "0.0.0.0";
  bool with_peer = false;
  std::vector<uint16_t> ports;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--bind" && i + 1 < argc) {
      bind_addr = argv[++i];
    } else if (arg == "--peer") {
      with_peer = true;
    } else if (auto port = ParsePort(arg)) {
      ports.push_back(*port);
    } else {
      (void)std::fprintf(stderr, "portmap_lab_tcp: bad argument '%s'\n", argv[i]);
      Usage();
      return kUsageExit;
    }
  }
  if (ports.empty()) {
    Usage();
    return kUsageExit;
  }
  RaiseFdLimit();
  const int sigfd = BlockTermSignals();
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) Die("epoll_create1");
  EpollAdd(epfd, sigfd);

  std::unordered_map<int, uint16_t> port_of_fd;
  for (uint16_t port : ports) {
    const auto sa = ParseAddr(bind_addr, port);
    if (!sa) {
      (void)std::fprintf(stderr, "portmap_lab_tcp: bad --bind address '%s'\n", bind_addr.c_str());
      return kUsageExit;
    }
    const int fd = ListenOn(*sa);
    port_of_fd[fd] = port;
    EpollAdd(epfd, fd);
  }
  (void)std::fprintf(stderr, "portmap_lab_tcp: listening on %s, %zu port(s)\n", bind_addr.c_str(),
                     ports.size());

  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  for (;;) {
    const int n = epoll_wait(epfd, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == sigfd) return 0;
      sockaddr_in peer{};
      socklen_t peer_len = sizeof(peer);
      // Nonblocking accept: another event may have drained the queue already.
      const int conn =
          accept4(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (conn < 0) continue;
      std::string line = "portmap-lab " + std::to_string(port_of_fd[fd]);
      if (with_peer) line += " peer " + AddrToString(peer);
      line += "\n";
      // One short line always fits an empty send buffer; a failure here means
      // the client already left, which is its business.
      (void)WriteAll(conn, line.data(), line.size());
      close(conn);
    }
  }
}

// Both ends of one proxied connection; closed when the last relay thread that
// uses them finishes.
struct Connection {
  int client = -1;
  int backend = -1;
  ~Connection() {
    if (client >= 0) close(client);
    if (backend >= 0) close(backend);
  }
};

// Copies from -> to until EOF, then half-closes `to` so the other side sees
// the EOF too (HTTP clients and `cat` rely on it).  On an error both sockets
// are shut down so the opposite relay thread wakes up and ends as well.
void Relay(const std::shared_ptr<Connection>& conn, int from, int to) {
  char buf[16384];
  for (;;) {
    const ssize_t n = read(from, buf, sizeof(buf));
    if (n == 0) {
      shutdown(to, SHUT_WR);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (!WriteAll(to, buf, static_cast<size_t>(n))) break;
  }
  shutdown(conn->client, SHUT_RDWR);
  shutdown(conn->backend, SHUT_RDWR);
}

void ServeClient(int client, sockaddr_in target) {
  auto conn = std::make_shared<Connection>();
  conn->client = client;
  conn->backend = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn->backend < 0) return;
  // A blocking connect honours SO_SNDTIMEO, which bounds the wait when the
  // container is gone.
  timeval tv{.tv_sec = kBackendConnectTimeoutSeconds, .tv_usec = 0};
  setsockopt(conn->backend, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(conn->backend, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) < 0) {
    (void)std::fprintf(stderr, "portmap_lab_tcp: proxy connect %s:%u: %s\n",
                       AddrToString(target).c_str(), ntohs(target.sin_port),
                       strerrordesc_np(errno));
    return;  // Closing the client tells it the backend is unreachable.
  }
  tv = {};
  setsockopt(conn->backend, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::thread(Relay, conn, conn->backend, conn->client).detach();
  Relay(conn, conn->client, conn->backend);
}

int RunProxy(int argc, char** argv) {
  if (argc != 2) {
    Usage();
    return kUsageExit;
  }
  const auto listen_sa = ParseEndpoint(argv[0]);
  const auto target_sa = ParseEndpoint(argv[1]);
  if (!listen_sa || !target_sa) {
    (void)std::fprintf(stderr, "portmap_lab_tcp: proxy endpoints must be IPV4:PORT\n");
    Usage();
    return kUsageExit;
  }
  RaiseFdLimit();
  const int sigfd = BlockTermSignals();
  const int lfd = ListenOn(*listen_sa);
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) Die("epoll_create1");
  EpollAdd(epfd, sigfd);
  EpollAdd(epfd, lfd);
  (void)std::fprintf(stderr, "portmap_lab_tcp: proxy %s -> %s\n", argv[0], argv[1]);

  for (;;) {
    epoll_event ev{};
    const int n = epoll_wait(epfd, &ev, 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("epoll_wait");
    }
    if (n == 0) continue;
    // Relay threads are detached: exiting the process ends them and closes
    // their sockets, which is all a SIGTERM has to achieve.
    if (ev.data.fd == sigfd) return 0;
    const int client = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::thread(ServeClient, client, *target_sa).detach();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return kUsageExit;
  }
  const std::string_view mode = argv[1];
  if (mode == "listen") return RunListen(argc - 2, argv + 2);
  if (mode == "proxy") return RunProxy(argc - 2, argv + 2);
  Usage();
  return kUsageExit;
}
