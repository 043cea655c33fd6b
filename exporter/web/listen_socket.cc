#include "exporter/web/listen_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

namespace portmap {

namespace {

// civetweb's own listen_backlog was 4096 for the same reason.
constexpr int kListenBacklog = 4096;

Status ListenError(const SocketAddress& addr, std::string_view step, int err) {
  std::string msg = "listen on ";
  msg += addr.ToString();
  msg += ": ";
  msg += step;
  msg += ErrnoText(err);
  if (err == EAFNOSUPPORT) msg += " (IPv6 is disabled on this host)";
  if (err == EADDRNOTAVAIL) msg += " (no interface has this address)";
  if (err == EACCES) msg += " (ports below 1024 need CAP_NET_BIND_SERVICE)";
  return Status::Error(std::move(msg));
}

void SetOne(int fd, int level, int name) {
  const int one = 1;
  (void)setsockopt(fd, level, name, &one, sizeof(one));
}

}  // namespace

Status OpenTcpListener(const SocketAddress& addr, int* fd, SocketAddress* bound) {
  if (!addr.ok()) return Status::Error("listen relay: an address is neither IPv4 nor IPv6");
  const int s = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return ListenError(addr, "", errno);
  auto fail = [&](std::string_view step) {
    const int err = errno;
    close(s);
    return ListenError(addr, step, err);
  };
  SetOne(s, SOL_SOCKET, SO_REUSEADDR);
  if (addr.family() == AF_INET6) SetOne(s, IPPROTO_IPV6, IPV6_V6ONLY);
  if (bind(s, addr.data(), addr.size()) != 0) return fail("");
  if (listen(s, kListenBacklog) != 0) return fail("listen: ");
  sockaddr_storage got{};
  socklen_t len = sizeof(got);
  if (getsockname(s, reinterpret_cast<sockaddr*>(&got), &len) != 0) return fail("getsockname: ");
  *bound = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&got), len);
  *fd = s;
  return Status::Ok();
}

}  // namespace portmap
