// sock_diag: NETLINK_SOCK_DIAG dumps of TCP and UDP sockets
// (SOCK_DIAG_BY_FAMILY with struct inet_diag_req_v2), and the inet_diag_msg
// messages answering them.
//
// One dump covers one address family and one protocol, filtered by the
// kernel on the socket states in `states` (a bit per TCP_* state: listeners
// are 1 << TCP_LISTEN; a bound, unconnected UDP socket is TCP_CLOSE, a
// connected one TCP_ESTABLISHED).  The dump lists the sockets of the
// caller's network namespace only.  No privilege is needed.
//
// What each message says (net/ipv4/inet_diag.c inet_diag_msg_common_fill,
// inet_diag_msg_attrs_fill):
//   id.idiag_src / idiag_sport  the bound address and port (network order;
//                               an AF_INET socket uses idiag_src[0])
//   id.idiag_dst / idiag_dport  the peer, all zero when unconnected
//   id.idiag_if                 the device the socket is bound to
//                               (SO_BINDTODEVICE), 0 for none
//   INET_DIAG_SKV6ONLY          AF_INET6 sockets in LISTEN or CLOSE state
//                               only: IPV6_V6ONLY (a :: socket without it
//                               takes IPv4 too)
// The UDP dump needs the udp_diag module, which the kernel loads on demand.
//
// Thread safety: stateless functions.
#pragma once

#include <linux/netlink.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace portmap {

struct InetSocket {
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t state = 0;   // TCP_* (UDP uses TCP_CLOSE / TCP_ESTABLISHED)
  std::array<uint8_t, 16> src{};
  uint16_t sport = 0;  // host order
  std::array<uint8_t, 16> dst{};
  uint16_t dport = 0;  // host order
  uint32_t bound_if = 0;
  std::optional<bool> v6only;  // INET_DIAG_SKV6ONLY, when sent
  uint32_t inode = 0;
};

// Every state, for sock_diag's idiag_states.
inline constexpr uint32_t kAllSocketStates = 0xffffffff;

// Room for the request; the buffer must be 4-byte aligned.
inline constexpr size_t kInetDiagRequestBytes = 128;

// Writes a SOCK_DIAG_BY_FAMILY dump request for `family` / `protocol`
// (IPPROTO_TCP or IPPROTO_UDP) sockets in `states`.
nlmsghdr* BuildInetDiagDump(uint8_t family, uint8_t protocol, uint32_t states, uint32_t seq,
                            void* buf);

// Decodes one message: appends a SOCK_DIAG_BY_FAMILY answer, ignores other
// types.  Returns MNL_CB_OK, or MNL_CB_ERROR with errno set when malformed.
int DecodeInetDiagMessage(const nlmsghdr* nlh, std::vector<InetSocket>* sockets);

}  // namespace portmap
