// netconf: decodes rtnetlink RTM_NEWNETCONF / RTM_DELNETCONF messages.
//
// The kernel sends these to RTNLGRP_IPV4_NETCONF / RTNLGRP_IPV6_NETCONF when a
// per-device configuration value changes (and answers RTM_GETNETCONF dumps with
// them).  Each carries `struct netconfmsg` (the family) and attributes: always
// NETCONFA_IFINDEX (NETCONFA_IFINDEX_ALL = -1 is the global switch,
// NETCONFA_IFINDEX_DEFAULT = -2 the template for new interfaces), plus only the
// values that changed (so a message may lack NETCONFA_FORWARDING: an rp_filter
// change).  One net.ipv4.ip_forward write yields one message for "all", one
// for "default" and one per interface.
//
// Pure: bytes in, events out, through mnl_cb_run, so tests and the fuzzer feed
// recorded datagrams.  Unknown attributes are skipped (newer kernels add
// them); a known attribute of the wrong size is an error (EINVAL).
//
// Thread safety: stateless.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "netlink/socket.h"

namespace portmap {

inline constexpr int kIfindexAll = -1;      // NETCONFA_IFINDEX_ALL
inline constexpr int kIfindexDefault = -2;  // NETCONFA_IFINDEX_DEFAULT

struct NetconfEvent {
  bool deleted = false;  // RTM_DELNETCONF: the interface went away
  int family = 0;        // AF_INET or AF_INET6 (others are passed through)
  int ifindex = 0;
  std::optional<int> forwarding;  // absent when the message does not carry it
};

// Decodes one message; appends an event for RTM_NEWNETCONF / RTM_DELNETCONF
// and ignores other types.  Returns MNL_CB_OK, or MNL_CB_ERROR on a malformed
// message (errno set, as libmnl callbacks do).
int DecodeNetconfMessage(const nlmsghdr* nlh, std::vector<NetconfEvent>* events);

// Decodes a whole datagram (one or more messages).  Events decoded before a
// malformed message are kept.  The buffer need not be aligned.
NetlinkStatus DecodeNetconf(const void* buf, size_t len, std::vector<NetconfEvent>* events);

}  // namespace portmap
