// ListenAddress: one --web.listen-address value, parsed the way users of
// exporter-toolkit write it, and split into the IPv4 and the IPv6 socket
// address that ListenRelay binds (every address goes through the relay, see
// http_server.h; Debian's civetweb 1.15 is also built without IPv6).
//
// Accepted forms and what each listens on:
//   ":9806"            all IPv4 and all IPv6 addresses (exporter-toolkit's
//                      default and meaning): "0.0.0.0:9806" and "[::]:9806",
//                      the latter with IPV6_V6ONLY=1 so the two sockets share
//                      the port.
//   "0.0.0.0:9806"     all IPv4 addresses only.
//   "127.0.0.1:9806"   that IPv4 address.
//   "localhost:9806"   127.0.0.1 only, without a DNS lookup (start-up must not
//                      depend on a resolver; Go also picks 127.0.0.1 here).
//   "[::]:9806"        all IPv6 addresses only (IPV6_V6ONLY=1).
//   "[::1]:9806"       that IPv6 address.
//   "[fe80::1%eth0]:9806"  a link-local address with its zone; the zone must
//                      name an existing interface (or be its index).
// Differs from Go on purpose: Go's net.Listen turns "0.0.0.0" and "[::]" into
// a dual-stack socket; here an address literal names one family, so a user
// can pick one family, and ":PORT" is the way to ask for both.
// ":0" asks each family for an ephemeral port, and the two get different ones
// unless the caller copies the IPv4 port into Ipv6Address()
// (SocketAddress::set_port) before binding it.
// Rejected, with a message naming the value: no colon ("9806"), a port that
// is missing, not a number or above 65535, unbalanced brackets, an IPv6
// address without brackets, an IPv4 address in brackets, an unknown zone,
// and host names other than "localhost" (give an address instead).
//
// Thread-safety: plain values and pure functions; safe from any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace portmap {

// A numeric IPv4 or IPv6 socket address (no names), ready for bind/connect.
class SocketAddress {
 public:
  SocketAddress() = default;  // AF_UNSPEC; ok() is false.
  static SocketAddress Ipv4(const in_addr& addr, uint16_t port);
  static SocketAddress Ipv6(const in6_addr& addr, uint16_t port, uint32_t scope_id = 0);
  static SocketAddress Ipv4Loopback(uint16_t port);
  static SocketAddress Ipv6Loopback(uint16_t port);
  // Copies what getsockname/accept filled in; AF_UNSPEC for other families.
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len);

  bool ok() const { return storage_.ss_family == AF_INET || storage_.ss_family == AF_INET6; }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  void set_port(uint16_t port);
  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const;
  // "127.0.0.1:9806", "[::1]:9806", "[fe80::1%eth0]:9806".
  std::string ToString() const;

 private:
  sockaddr_storage storage_{};
};

struct ListenAddress {
  enum class Family { kIpv4, kIpv6, kAny };

  Family family = Family::kAny;
  // Numeric host without brackets or zone: "" for ":PORT", "127.0.0.1" for
  // "localhost", "::1", "fe80::1".
  std::string host;
  uint16_t port = 0;
  uint32_t scope_id = 0;  // IPv6 zone as an interface index; 0 without a zone.

  bool ServesIpv4() const { return family != Family::kIpv6; }
  bool ServesIpv6() const { return family != Family::kIpv4; }
  // The IPv4 address to bind ("0.0.0.0:9806" for kAny); not ok() when
  // !ServesIpv4().
  SocketAddress Ipv4Address() const;
  // The IPv6 address the relay binds ("[::]:9806" for kAny); not ok() when
  // !ServesIpv6().
  SocketAddress Ipv6Address() const;
  // Canonical spelling for logs: ":9806", "127.0.0.1:9806", "[::1]:9806".
  std::string ToString() const;
};

// Parses `text` into *out. On error returns Status::Error whose message
// quotes `text` and says what is wrong; *out is then unspecified.
Status ParseListenAddress(std::string_view text, ListenAddress* out);

}  // namespace portmap
