// The exporter's listening TCP sockets (ListenRelay, listen_relay.h).
#pragma once

#include "exporter/web/listen_address.h"
#include "util/status.h"

namespace portmap {

// A nonblocking, close-on-exec TCP listener on `addr`, backlog 4096 (the
// kernel caps it at net.core.somaxconn): a /probe burst must not lose SYNs.
// SO_REUSEADDR lets a restart bind while old connections sit in TIME_WAIT
// (on Linux it never lets two listeners share a port); IPv6 listeners are V6ONLY, so "[::]:PORT"
// coexists with an IPv4 one.
// `*bound` is the address it got (the kernel's pick for port 0).  Errors
// name the address, with a hint where errno alone leaves the user guessing:
// "listen on [::1]:9806: Address already in use".
Status OpenTcpListener(const SocketAddress& addr, int* fd, SocketAddress* bound);

}  // namespace portmap
