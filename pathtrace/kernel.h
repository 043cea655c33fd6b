// kernel: what the tracer asks the kernel besides the ruleset — the routing
// decision, whether a socket listens, interfaces and address types — behind
// one narrow seam.  LiveKernel (kernel_live.h) asks rtnetlink and sock_diag in
// the caller's network namespace; unit tests pass a fake.
//
// Routing is asked, never re-implemented: RTM_GETROUTE with RTA_IIF runs the
// kernel's own input route lookup (ip_route_input), so ip_forward, the input
// interface's forwarding switch, rp_filter and policy routing (fwmark rules)
// decide exactly as they would for the real packet.
//
// Thread safety: an implementation is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netlink/rtlink.h"
#include "netlink/sock_diag.h"
#include "pathtrace/packet.h"
#include "util/status.h"

namespace portmap::pathtrace {

struct RouteQuery {
  Addr src;
  Addr dst;
  uint32_t iif = 0;  // 0: an output lookup (a locally generated packet)
  uint32_t mark = 0;
  uint8_t l4proto = 0;  // RTA_IP_PROTO / RTA_SPORT / RTA_DPORT for policy rules
  uint16_t sport = 0;
  uint16_t dport = 0;
};

struct RouteAnswer {
  // 0 when the kernel found a route; otherwise the errno it answered with:
  // EHOSTUNREACH (input: forwarding is off on the input interface, or an
  // unreachable route), ENETUNREACH (no route), EXDEV (rp_filter refused the
  // source; kernels 6.13+ answer EINVAL instead), EINVAL (a martian), EACCES
  // (a prohibit route).  kernel_live.h lists them as measured.
  int error = 0;
  uint8_t type = 0;  // RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_BLACKHOLE, ...
  uint32_t oif = 0;
  Addr gateway;  // family 0 when on-link
  Addr prefsrc;
  uint32_t table = 0;
};

// Where a forwarded destination lives when it is on this host after all: a
// container's (or `ip netns`) network namespace holding the address.
struct PeerAnswer {
  bool found = false;      // a namespace of this host holds the address
  bool listening = false;  // and a socket there takes the connection
  std::string ns;          // the namespace's file, e.g. /run/docker/netns/1a2b3c
};

class KernelView {
 public:
  virtual ~KernelView() = default;

  // The routing decision for q.  A Status error means the kernel could not be
  // asked (socket, permissions, timeout); a refusal is a RouteAnswer.error.
  virtual Status Route(const RouteQuery& q, RouteAnswer* answer) = 0;

  // Whether a socket of `l4proto` listens on addr:port (TCP: LISTEN state;
  // UDP: bound) in this namespace, wildcard binds included (0.0.0.0, and ::
  // without IPV6_V6ONLY for IPv4 too).
  virtual Status Listening(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                           bool* listening) = 0;

  // An interface by index or by name; NoData when there is none.
  virtual Status LinkByIndex(uint32_t index, Interface* link) = 0;
  virtual Status LinkByName(const std::string& name, Interface* link) = 0;

  // Whether `addr` is one of this host's addresses (on any interface, or on
  // `dev` when not 0): what addrtype LOCAL and fib's daddr type answer.
  virtual Status IsLocalAddress(const Addr& addr, uint32_t dev, bool* local) = 0;

  // A sysctl under /proc/sys/net (e.g. "ipv6/conf/all/forwarding"); for what
  // RTM_GETROUTE does not apply (IPv6 forwarding is checked after the lookup).
  virtual Status NetSysctl(const std::string& key, int64_t* value) = 0;

  // Every interface, and every address of `family` (AF_INET or AF_INET6):
  // not used by a trace, but by whoever picks the packets to trace (the
  // verdict's uplinks and clients).  Default: none.
  virtual Status Links(std::vector<LinkInfo>* links) {
    links->clear();
    return Status::Ok();
  }
  virtual Status Addresses(uint8_t family, std::vector<AddrInfo>* addrs) {
    (void)family;
    addrs->clear();
    return Status::Ok();
  }

  // Every socket of `l4proto` that takes new connections or datagrams in
  // this namespace (TCP: LISTEN; UDP: every state), both families: whether a
  // trace's listener checks would answer differently now.  Default: none.
  virtual Status Sockets(uint8_t l4proto, std::vector<InetSocket>* sockets) {
    (void)l4proto;
    sockets->clear();
    return Status::Ok();
  }

  // Whether `addr` belongs to another network namespace of this host and a
  // socket there listens on `port`.  found=false when no namespace is known
  // to hold it or namespaces cannot be entered: the destination is then
  // another host, assumed to answer.  Default: never found.
  virtual Status PeerListening(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                               PeerAnswer* answer) {
    (void)nfproto, (void)l4proto, (void)addr, (void)port;
    *answer = PeerAnswer{};
    return Status::Ok();
  }
};

}  // namespace portmap::pathtrace
