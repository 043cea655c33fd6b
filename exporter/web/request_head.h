// What ListenRelay (listen_relay.h) waits for before it hands a client to
// civetweb: the first bytes of a connection, judged complete enough that a
// worker thread will not sit waiting for the rest.
//
//   plain HTTP  the request head: up to the empty line that ends it (CRLF or
//               a bare LF, both of which HTTP allows)
//   TLS         the first record whole (the ClientHello's, which starts with
//               byte 0x16): the handshake then runs in civetweb
//
// Pure functions over the bytes received so far, fed by unit tests.
#pragma once

#include <cstddef>
#include <string_view>

namespace portmap {

// Whether `got` starts like a TLS handshake record (a ClientHello).
bool IsTlsHandshake(std::string_view got);

// Whether `got` holds a complete request head or first TLS record, or is at
// least `max_bytes` long (civetweb then says what is wrong with it).
// `*scanned` carries how much of `got` earlier calls already searched for
// the head's end; start it at 0 for each connection.  Only the new bytes
// (and the two before them) are searched, so a client trickling its head
// byte by byte costs linear time, not quadratic.
bool RequestHeadComplete(std::string_view got, size_t max_bytes, size_t* scanned);

}  // namespace portmap
