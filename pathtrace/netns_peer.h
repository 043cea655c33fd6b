// netns_peer: finds the network namespace of this host that holds a
// forwarded destination — a container's, which Docker bind-mounts under
// /run/docker/netns/, or one made with `ip netns` (/run/netns/) — and asks
// it whether a socket listens there, so a trace to a published port whose
// container has nothing listening says `refused`, as the client sees it.
//
// Each namespace is entered on a short-lived thread of its own (setns only
// moves the calling thread), which opens rtnetlink and sock_diag sockets
// there: sockets belong to the namespace they were created in.  Entering
// needs CAP_SYS_ADMIN; without it nothing is found and the tracer keeps its
// assumption that the destination answers (and says so).
//
// Only sockets are looked at: the container's own firewall rules, if any,
// are not traced.
//
// Thread safety: stateless; each call creates and joins its threads.
#pragma once

#include <cstdint>

#include "pathtrace/kernel.h"
#include "util/paths.h"
#include "util/status.h"

namespace portmap::pathtrace {

// The namespaces' directories below --path.rootfs.
inline constexpr const char* kNetnsDirs[] = {"run/netns", "run/docker/netns",
                                             "var/run/docker/netns"};

Status FindPeerListener(const Paths& paths, uint8_t nfproto, uint8_t l4proto, const Addr& addr,
                        uint16_t port, PeerAnswer* answer);

}  // namespace portmap::pathtrace
