// rtlink: rtnetlink interfaces (RTM_GETLINK for one interface) and addresses
// (RTM_GETADDR dumps), and the RTM_NEWLINK / RTM_NEWADDR messages answering
// them.
//
// A single RTM_GETLINK (no NLM_F_DUMP) names the interface by ifi_index, or
// by IFLA_IFNAME with ifi_index 0; the kernel answers one RTM_NEWLINK or an
// NLMSG_ERROR (-ENODEV: no such interface).  The request asks the kernel to
// leave out the statistics (IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS), which are
// most of an answer's bytes; kernels that do not know the flag send them.
//
// Addresses: IPv4 puts the host's own address in IFA_LOCAL (IFA_ADDRESS is
// the peer on a point-to-point link); IPv6 puts it in IFA_ADDRESS unless a
// peer is set, then in IFA_LOCAL.  AddrInfo.local is IFA_LOCAL when present,
// else IFA_ADDRESS, so it is the host's address in both families.  flags is
// IFA_FLAGS (32 bits) when present, else the 8-bit ifa_flags.
//
// Thread safety: stateless functions.
#pragma once

#include <linux/netlink.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace portmap {

struct LinkInfo {
  uint32_t index = 0;
  uint16_t type = 0;    // ARPHRD_*
  uint32_t flags = 0;   // IFF_*
  std::string name;     // IFLA_IFNAME
  uint32_t master = 0;  // IFLA_MASTER: the bridge (or bond) it is a port of; 0 if none
  std::string kind;     // IFLA_LINKINFO's IFLA_INFO_KIND ("veth", "bridge", ...); "" if none
};

struct AddrInfo {
  uint8_t family = 0;
  uint8_t prefixlen = 0;
  uint32_t flags = 0;  // IFA_F_*
  uint32_t index = 0;  // the interface
  uint8_t scope = 0;   // RT_SCOPE_UNIVERSE (0), RT_SCOPE_LINK (253), RT_SCOPE_HOST (254)
  std::array<uint8_t, 16> local{};
};

// Room for any request built here; the buffer must be 4-byte aligned.
inline constexpr size_t kLinkRequestBytes = 128;

// Writes an RTM_GETLINK request for one interface: by `name` when it is not
// empty, else by `index`.  Returns nullptr when the name does not fit
// IFNAMSIZ (the kernel could not have such an interface).
nlmsghdr* BuildLinkGet(uint32_t index, const std::string& name, uint32_t seq, void* buf);

// Writes an RTM_GETLINK dump request of every interface (statistics left out).
nlmsghdr* BuildLinkDump(uint32_t seq, void* buf);

// Writes an RTM_GETADDR dump request of every address of `family`.
nlmsghdr* BuildAddrDump(uint8_t family, uint32_t seq, void* buf);

// Decode one message each: append RTM_NEWLINK / RTM_NEWADDR and ignore other
// types.  Return MNL_CB_OK, or MNL_CB_ERROR with errno set when malformed.
int DecodeLinkMessage(const nlmsghdr* nlh, std::vector<LinkInfo>* links);
int DecodeAddrMessage(const nlmsghdr* nlh, std::vector<AddrInfo>* addrs);

}  // namespace portmap
