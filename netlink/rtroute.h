// rtroute: rtnetlink RTM_GETROUTE requests (one route lookup, or a dump of
// the routing tables) and the RTM_NEWROUTE messages that answer them.
//
// A lookup (NLM_F_REQUEST without NLM_F_DUMP) makes the kernel run its own
// route resolution on a dummy packet: with RTA_IIF the input path
// (ip_route_input / ip6_route_input_lookup, as for a packet arriving on that
// interface), without it the output path.  The kernel answers with one
// RTM_NEWROUTE, or with an NLMSG_ERROR carrying the lookup's errno (see
// KernelErrno below for how that reaches the caller through NetlinkSocket).
//
// Attributes the request may carry, and what the kernel does with them
// (net/ipv4/route.c inet_rtm_getroute, net/ipv6/route.c inet6_rtm_getroute):
//   RTA_DST, RTA_SRC   the addresses (rtm_dst_len / rtm_src_len set to the
//                      full length, as a strict-checking kernel requires)
//   RTA_IIF            the input interface; -ENODEV when it does not exist
//   RTA_MARK           the packet mark, for fwmark policy rules
//   RTA_IP_PROTO, RTA_SPORT, RTA_DPORT
//                      for ipproto / sport / dport policy rules (kernel
//                      4.17+; older kernels parse the request leniently and
//                      ignore attributes they do not know).  The kernel only
//                      accepts TCP, UDP and ICMP (ICMPv6 for IPv6) here and
//                      answers -EOPNOTSUPP for any other protocol, so the
//                      builder leaves RTA_IP_PROTO out for those.  Without
//                      RTA_IP_PROTO the IPv4 kernel assumes UDP.
//   rtm_flags RTM_F_LOOKUP_TABLE (IPv4 only): RTA_TABLE names the table the
//                      lookup matched in; without it IPv4 always answers
//                      RT_TABLE_MAIN.  IPv6 always answers the real table
//                      (and a strict-checking kernel rejects the flag).
//
// Thread safety: stateless functions.
#pragma once

#include <linux/netlink.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "netlink/socket.h"

namespace portmap {

// One route lookup.  Addresses are in network order; an IPv4 address uses
// the first 4 bytes.  Ports are host order; 0 leaves the attribute out.
struct RouteLookup {
  uint8_t family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> dst{};
  std::array<uint8_t, 16> src{};
  bool has_src = false;
  uint32_t iif = 0;  // 0: an output lookup
  uint32_t mark = 0;
  uint8_t ip_proto = 0;  // 0: none sent
  uint16_t sport = 0;
  uint16_t dport = 0;
};

// An RTM_NEWROUTE message: a lookup's answer, or one route of a dump.
struct RouteInfo {
  uint8_t family = 0;
  uint8_t type = 0;  // RTN_UNICAST, RTN_LOCAL, ...
  uint8_t dst_len = 0;
  uint32_t flags = 0;  // rtm_flags
  uint32_t table = 0;  // RTA_TABLE, else rtm_table
  uint32_t oif = 0;    // RTA_OIF, 0 when absent
  uint32_t iif = 0;    // RTA_IIF, 0 when absent
  std::array<uint8_t, 16> dst{};
  // RTA_GATEWAY (the route's family), or RTA_VIA (an IPv6 next hop of an
  // IPv4 route); gateway_family 0 when on-link.
  uint8_t gateway_family = 0;
  std::array<uint8_t, 16> gateway{};
  bool has_prefsrc = false;
  std::array<uint8_t, 16> prefsrc{};
};

// Room for any request built here; the buffer must be 4-byte aligned.
inline constexpr size_t kRouteRequestBytes = 256;

// Writes an RTM_GETROUTE lookup request into `buf` and returns it.
nlmsghdr* BuildRouteLookup(const RouteLookup& lookup, uint32_t seq, void* buf);

// Writes an RTM_GETROUTE dump request of every table of `family`.
nlmsghdr* BuildRouteDump(uint8_t family, uint32_t seq, void* buf);

// Decodes one message: appends RTM_NEWROUTE, ignores other types.  Returns
// MNL_CB_OK, or MNL_CB_ERROR with errno set on a malformed message.
int DecodeRouteMessage(const nlmsghdr* nlh, std::vector<RouteInfo>* routes);

// The errno a kernel NLMSG_ERROR carried, from the status NetlinkSocket::Dump
// or RunNetlinkCallbacks returned; 0 when the status is not one.  libmnl
// handles NLMSG_ERROR itself (the message callback never sees it) and
// RunNetlinkCallbacks reports it as "netlink message: <errno text>"; the
// sequence and sender checks of the same path (ESRCH, EPROTO), an
// interrupted dump (EINTR) and a truncated error (EBADMSG) are not answers.
// `callback_failed`: the caller's own callback returned MNL_CB_ERROR.
int KernelErrno(const NetlinkStatus& status, bool callback_failed);

}  // namespace portmap
