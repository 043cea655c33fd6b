// Which TCP ports something on this host listens on, from <procfs>/net/tcp
// and <procfs>/net/tcp6 (the exporter's network namespace).
//
// The verdict needs it: when Docker's DNAT rule for a published port is gone
// (a firewalld wipe), a connection from outside reaches the host itself, and
// is still served if docker-proxy (the userland proxy) listens on the port.
//
// Thread safety: pure functions; the reader only reads files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/paths.h"
#include "util/status.h"

namespace portmap {

struct TcpListener {
  std::string address;  // "0.0.0.0", "127.0.0.1", "::", "::1", "2001:db8::1"
  uint16_t port = 0;
};

// The LISTEN (state 0A) sockets of one /proc/net/tcp or tcp6 text (`ipv6`
// says which: the address columns differ in width).  A header line that is
// not the kernel's or a malformed row is an error naming its line.  Appends
// to *out, so tcp and tcp6 can share one vector; rows are kept in file order
// and not deduplicated (SO_REUSEPORT sockets repeat a port).
Status ParseProcNetTcp(std::string_view text, bool ipv6, std::vector<TcpListener>* out);

// Both files; a missing tcp6 (IPv6 disabled) is not an error.  Replaces *out;
// errors name the file and line.
Status ReadTcpListeners(const Paths& paths, std::vector<TcpListener>* out);

// Whether a listener on `port` accepts connections from other hosts: bound
// to a wildcard or to an address outside 127.0.0.0/8 and ::1 (IPv4-mapped
// ::ffff:127.x.y.z counts as loopback too).
bool ListensBeyondLoopback(const std::vector<TcpListener>& listeners, uint16_t port);

}  // namespace portmap
