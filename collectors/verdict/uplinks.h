// uplinks: where outside clients come from — the interfaces the verdict
// traces each published port from, and the client address on each.
//
// An uplink is an interface that is up, not loopback, not one of Docker's
// (docker0, docker_gwbridge, br-<12 hex digits>, or any bridge with veth
// ports: a container network under another name), not a port of a bridge
// or bond (its master carries the addresses; Docker's veths are such ports),
// and holds an
// address of the family (IPv4: any but host scope; IPv6: global scope, DAD
// done).  `verdict: interfaces:` in the configuration names them instead;
// a named interface without an address of the family is skipped.
//
// The client on an uplink, by default, is an address the kernel routes back
// through that uplink, so the reverse-path filter and the reply see what they
// would for a real client:
//   - a documentation address (203.0.113.7, 2001:db8:ffff::7) when the
//     uplink holds the route to it (the default route);
//   - else the first address of the uplink's subnet that is not this host's
//     and is routed through the uplink (subnets of /31, /127 and narrower
//     have no such address but the peer's; /32 and /128 have none).
// `verdict: sources:` adds clients: one inside an uplink's subnet arrives on
// that uplink (even where the host routes replies to it elsewhere: what
// rp_filter judges); any other on the interface the host routes it back
// through.
//
// Thread safety: pure over the KernelView, which is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pathtrace/kernel.h"
#include "pathtrace/packet.h"
#include "util/status.h"

namespace portmap {

struct Uplink {
  pathtrace::Interface link;
  pathtrace::Addr addr;  // its first address of the family: the destination traced
  uint8_t prefixlen = 0;
};

// One outside client on one uplink: the start of a trace.
struct TraceOrigin {
  Uplink uplink;
  pathtrace::Addr client;
};

// Docker's own interface names: docker0, docker_gwbridge, br-<12 hex>.
bool IsDockerInterfaceName(const std::string& name);

// The uplinks of `family` (AF_INET or AF_INET6); `names` non-empty restricts
// them to those interfaces, in that order.
Status FindUplinks(pathtrace::KernelView* kernel, uint8_t family,
                   const std::vector<std::string>& names, std::vector<Uplink>* uplinks);

// The default client of `uplink`; false when it has none.
bool DefaultClient(pathtrace::KernelView* kernel, const Uplink& uplink, pathtrace::Addr* client);

// The origins to trace for `family`: each uplink's default client, and each
// of `sources` of the family where it arrives (above; a source routed through
// an interface that is not an uplink arrives there, with that interface's
// address as the destination), each client and uplink once.  *skipped
// gets one line per uplink or source that could not be used, and why.
Status FindOrigins(pathtrace::KernelView* kernel, uint8_t family,
                   const std::vector<std::string>& names, const std::vector<std::string>& sources,
                   std::vector<TraceOrigin>* origins, std::vector<std::string>* skipped);

}  // namespace portmap
