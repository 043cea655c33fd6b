// xtables: reads legacy (x_tables) iptables tables from the kernel with
// getsockopt, and decodes their rule blob into chains.
//
// This is what iptables-legacy and libiptc do: IPT_SO_GET_INFO names the
// table's size and hook offsets, IPT_SO_GET_ENTRIES copies every ipt_entry
// at once.  The kernel answers EAGAIN when the table was replaced between the
// two calls; the read is then redone, at most kXtReadAttempts times.
//
// Never probe a table that is not loaded: asking for "nat" makes the kernel
// load iptable_nat and create the table in this network namespace, the very
// "iptables-legacy tables present" state the exporter reports on.
// XtLoadedTables() reads the list first, from <procfs>/self/net/ip_tables_names:
// /proc/net is /proc/self/net, so "self" names the exporter's own network
// namespace (the one its sockets see) even under --path.procfs=/host/proc.
//
// The blob is split into chains as libiptc does: a base chain starts at its
// hook_entry offset and ends with its policy at the underflow offset (a
// standard target, not a rule); a user chain starts after an ERROR target
// naming it and ends with an implicit RETURN (not a rule); the last entry is
// an ERROR target named "ERROR".  A standard verdict >= 0 is the offset of
// the first rule of the chain jumped to.
//
// IPv4 only (ip_tables); ip6_tables uses different structures and is not
// read yet.  Needs CAP_NET_ADMIN (and CAP_NET_RAW for the socket): EPERM.
//
// Thread safety: stateless functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "netlink/nf_ruleset.h"
#include "netlink/socket.h"  // NetlinkStatus: an errno and a message
#include "util/paths.h"

namespace portmap {

inline constexpr int kXtReadAttempts = 4;
inline constexpr int kXtNumHooks = 5;  // NF_INET_NUMHOOKS

// One table as the kernel hands it over: IPT_SO_GET_INFO's fields that the
// decoder needs, and IPT_SO_GET_ENTRIES' blob.
struct XtTableBlob {
  std::string name;
  uint32_t valid_hooks = 0;
  uint32_t hook_entry[kXtNumHooks] = {};
  uint32_t underflow[kXtNumHooks] = {};
  uint32_t num_entries = 0;
  std::vector<uint8_t> entries;
};

// The tables listed in <procfs>/self/net/ip_tables_names ("nat", "filter",
// ...).  A missing file (ip_tables not loaded) is an empty list, not an error.
NetlinkStatus XtLoadedTables(const Paths& paths, std::vector<std::string>* tables);

// The same for ip6_tables (<procfs>/self/net/ip6_tables_names): which
// ip6tables-legacy tables exist.  Their rules are not read.
NetlinkStatus XtLoadedIp6Tables(const Paths& paths, std::vector<std::string>* tables);

// Reads one loaded table.  Stops at `deadline` between attempts.
NetlinkStatus XtReadTable(const std::string& table, std::chrono::steady_clock::time_point deadline,
                          XtTableBlob* blob);

// Splits a blob into chains (family "ipv4", table blob.name).  Pure; an
// entry that does not fit or lies about its size is EINVAL, and nothing from
// a malformed blob is returned.
NetlinkStatus DecodeXtTable(const XtTableBlob& blob, std::vector<NfChain>* chains);

// For recording test data: the blob as text (header line, then the entries
// as hex) and back.
std::string XtTableBlobToText(const XtTableBlob& blob);
NetlinkStatus XtTableBlobFromText(const std::string& text, XtTableBlob* blob);

}  // namespace portmap
