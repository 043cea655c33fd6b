// LiveKernel: the KernelView of the caller's network namespace, asked over
// rtnetlink (routes, interfaces, addresses), NETLINK_SOCK_DIAG (listeners)
// and <procfs>/sys/net (sysctls).
//
//   Status st;
//   std::unique_ptr<LiveKernel> kernel = LiveKernel::Open(paths, &st);
//   if (!st.ok()) return st;
//
// Every method is one request/answer exchange (or a dump) bounded by the
// timeout given to Open (default 1 s); a late answer to an earlier request
// is discarded before the next one.  A Status error means the kernel could
// not be asked (socket, timeout, malformed answer); what the kernel answers
// is a value.  The namespace is the one of the thread that called Open: the
// netlink sockets keep it.  <procfs>/sys/net, too, shows the namespace of the
// reading task, whatever --path.procfs mounts it.
//
// Route(): RTM_GETROUTE (netlink/rtroute.h).  With q.iif the kernel runs its
// input route lookup for a packet arriving on that interface, as it would at
// the routing step after prerouting; RouteAnswer.error is the errno the
// kernel answered with instead of a route.  An input lookup wants q.src:
// without it the kernel takes the source as 0.0.0.0, a martian.
//   IPv4 (ip_route_input_slow, then inet_rtm_getroute turns the resulting
//   route's dst.error into the answer; each measured on 6.18 in a lab
//   namespace, the same answers `ip route get ... iif IIF` prints):
//     EHOSTUNREACH  the destination is not local and forwarding is off on the
//                   input interface (net.ipv4.conf.IIF.forwarding, which
//                   ip_forward=0 turns off everywhere) — also any failed
//                   lookup while forwarding is off
//     ENETUNREACH   no route (forwarding on), or a "throw" route with no
//                   later rule matching; an "unreachable" route answers
//                   EHOSTUNREACH, "prohibit" EACCES, "blackhole" EINVAL
//     EXDEV         reverse path filter, kernels before 6.13 only: rp_filter
//                   (max of all and IIF) is on and the source is not
//                   reachable back through IIF (1, strict) or at all (2,
//                   loose).  Since 6.13 ip_route_input_slow returns a drop
//                   reason and inet_rtm_getroute answers EINVAL for every
//                   drop, so a refused source is EINVAL like a martian: tell
//                   them apart by the rp_filter sysctls (measured: 6.18
//                   answers EINVAL in both modes)
//     EINVAL        a martian: zero, multicast or limited-broadcast source,
//                   one of this host's addresses as the source (unless
//                   accept_local), a loopback source or destination without
//                   route_localnet (on lo too: looped-back packets never
//                   take this path), a multicast destination nothing
//                   joined, or a blackhole route
//     ENODEV        q.iif is not an interface
//   A local destination (RTN_LOCAL) answers with oif = the loopback
//   interface (or the VRF device), not the interface owning the address.
//   RouteAnswer.table is the table the lookup matched (RTM_F_LOOKUP_TABLE),
//   with one quirk: until a custom policy rule exists the kernel keeps table
//   local merged into main (fib_unmerge), and a local route answers 254.
//
//   IPv6 is different (ip6_route_input_lookup): the input lookup does NOT
//   check forwarding and has no reverse path filter — a packet to forward
//   gets its RTN_UNICAST route whatever the sysctls say.  The kernel decides
//   later, in ip6_forward() (net/ipv6/ip6_output.c): the packet is dropped
//   silently (IPSTATS_MIB_INADDRERRORS, no ICMP) unless
//     net.ipv6.conf.all.forwarding != 0, or
//     net.ipv6.conf.IIF.force_forwarding != 0 (kernel 6.17+; writing 0 to
//     all.forwarding clears it on every interface)
//   net.ipv6.conf.IIF.forwarding is NOT consulted there (it is the interface's
//   host/router switch for neighbour discovery).  The tracer reads those two
//   knobs with NetSysctl.  Measured with datagrams on 6.18: with
//   all.forwarding=0 a packet is forwarded when IIF.force_forwarding=1, and
//   dropped when only IIF.forwarding=1 or only the output interface's
//   force_forwarding=1; all.forwarding=1 forwards even with IIF.forwarding=0.
//   IPv6 lookup errors are the route's (measured): ENETUNREACH (no route, or
//   throw), EHOSTUNREACH (unreachable), EACCES (prohibit), EINVAL (blackhole).
//
//   Policy routing sees what the packet would carry: q.mark (fwmark rules),
//   q.l4proto / q.sport / q.dport (ipproto / sport / dport rules, measured).
//
// Listening(): sock_diag dumps (netlink/sock_diag.h): TCP sockets in LISTEN,
// UDP sockets in any state, filtered by SocketAccepts() below — the bound
// port, then the address the way the kernel's socket lookup matches it.  A
// socket bound to a device (SO_BINDTODEVICE) only takes packets arriving
// there; KernelView::Listening has no device, so such a socket counts as
// listening on every device.  Listeners() returns the matching sockets with
// their bound_if, for a caller that knows the device.
//
// IsLocalAddress(): what the kernel's address-type lookups answer.  IPv4:
// inet_dev_addr_type — the longest prefix in the local routing table (an
// RTM_GETROUTE dump) is RTN_LOCAL, and with dev, its next hop is dev.  That
// counts all of 127.0.0.0/8 (the local table's "local 127.0.0.0/8 dev lo",
// so only with dev 0 or lo) and any "local" route added by hand (AnyIP).
// IPv6: ipv6_chk_addr — an address of an RTM_GETADDR dump, on dev when dev is
// not 0, not tentative (DAD in progress; optimistic addresses count).
//
// Thread safety: one thread at a time (KernelView's contract).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netlink/rtlink.h"
#include "netlink/rtroute.h"
#include "netlink/sock_diag.h"
#include "netlink/socket.h"
#include "pathtrace/kernel.h"
#include "pathtrace/packet.h"
#include "util/paths.h"
#include "util/status.h"

namespace portmap::pathtrace {

inline constexpr std::chrono::milliseconds kKernelTimeout{1000};

// Whether socket `s` takes a new connection (TCP: it listens) or datagram
// (UDP: bound, and not connected — a connected UDP socket takes only its
// peer's datagrams) for addr:port of family `nfproto`.  Address rules, as
// the kernel's listener and UDP lookups: the same address, or the wildcard
// of the socket's family; for IPv4, also an AF_INET6 socket bound to :: or to
// ::ffff:addr unless it is IPV6_V6ONLY (an AF_INET6 socket without the
// INET_DIAG_SKV6ONLY attribute, which kernels send since 3.x, is taken as
// not v6only: the bindv6only default).  The bound device is not checked.
bool SocketAccepts(const InetSocket& s, uint8_t nfproto, uint8_t l4proto, const Addr& addr,
                   uint16_t port);

// IPv4 address type from a dump of the routing tables: the longest-prefix
// route of table local (255) holding `addr` is RTN_LOCAL and, when dev is
// not 0, goes through dev.
bool LocalTableSaysLocal(const std::vector<RouteInfo>& routes, const Addr& addr, uint32_t dev);

// IPv6 address type from an address dump (see IsLocalAddress above).
bool AddressListSaysLocal(const std::vector<AddrInfo>& addrs, const Addr& addr, uint32_t dev);

class LiveKernel : public KernelView {
 public:
  // Opens the rtnetlink and sock_diag sockets in the caller's namespace.
  // nullptr and a Status error when either cannot be opened.
  static std::unique_ptr<LiveKernel> Open(const Paths& paths, Status* status,
                                          std::chrono::milliseconds timeout = kKernelTimeout);

  LiveKernel(const LiveKernel&) = delete;
  LiveKernel& operator=(const LiveKernel&) = delete;
  ~LiveKernel() override = default;

  Status Route(const RouteQuery& q, RouteAnswer* answer) override;
  Status Listening(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                   bool* listening) override;
  Status LinkByIndex(uint32_t index, Interface* link) override;
  Status LinkByName(const std::string& name, Interface* link) override;
  Status IsLocalAddress(const Addr& addr, uint32_t dev, bool* local) override;
  // <procfs>/sys/net/KEY; NoData when the file does not exist (an interface
  // that went away, or a knob this kernel lacks, e.g. force_forwarding).
  Status NetSysctl(const std::string& key, int64_t* value) override;
  Status Links(std::vector<LinkInfo>* links) override;
  Status Addresses(uint8_t family, std::vector<AddrInfo>* addrs) override;
  Status Sockets(uint8_t l4proto, std::vector<InetSocket>* sockets) override;
  // netns_peer.h: the namespaces under /run/netns and /run/docker/netns.
  Status PeerListening(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                       PeerAnswer* answer) override;

  // The sockets Listening() counts, with their bound device (bound_if).
  Status Listeners(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                   std::vector<InetSocket>* sockets);

 private:
  LiveKernel(Paths paths, std::chrono::milliseconds timeout, NetlinkSocket route,
             NetlinkSocket diag);

  // One exchange on `sock`: stale answers dropped, then the request, bounded
  // by the timeout.
  NetlinkStatus Exchange(NetlinkSocket* sock, nlmsghdr* request, const NetlinkCallback& cb);
  Status GetLink(uint32_t index, const std::string& name, Interface* link);

  Paths paths_;
  std::chrono::milliseconds timeout_;
  NetlinkSocket route_;  // NETLINK_ROUTE
  NetlinkSocket diag_;   // NETLINK_SOCK_DIAG
};

}  // namespace portmap::pathtrace
