// xt_legacy: legacy iptables (ip_tables, IPv4) tables evaluated on the traced
// packet as the kernel's ipt_do_table (net/ipv4/netfilter/ip_tables.c) does.
//
// A table is the blob IPT_SO_GET_ENTRIES hands over (netlink/xtables.h),
// decoded entry by entry: the ipt_ip header, the matches and the target, at
// their blob offsets.  The walk is the kernel's: ip_packet_match, then each
// match (EvalXtMatch), then the target; a standard verdict < 0 ends the walk
// (XT_RETURN pops the jump stack, or falls to the hook's underflow = the
// policy); a verdict >= 0 is the offset jumped to, pushing the return address
// unless the rule is a goto (IPT_F_GOTO) or the jump is to the next entry.
// A jump deeper than the table's stack (its number of ERROR entries) drops,
// as the kernel does.
//
// Chain names and rule positions are libiptc's: a built-in chain starts at a
// hook_entry offset and ends with its policy at the underflow offset; a user
// chain starts after an ERROR entry naming it and ends with an implicit
// RETURN; positions count from 1 within the chain (iptables -L
// --line-numbers, and the kernel's TRACE).
//
// DNAT, MARK and CT --notrack rewrite the packet as in the kernel (DNAT also
// sets IPS_DST_NAT).  The raw table runs before conntrack: there the packet
// has no conntrack entry yet, so conntrack/state matches see INVALID (or
// UNTRACKED after --notrack), whatever the packet's Conntrack says.  Whether a nat table runs at
// all (only for a connection's first packet) is the caller's decision.  IPv6 packets never traverse
// ip_tables: they pass untouched.
//
// Thread safety: plain values and stateless functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "netlink/xtables.h"
#include "pathtrace/chain_outcome.h"
#include "pathtrace/kernel.h"
#include "pathtrace/nft_model.h"
#include "pathtrace/packet.h"
#include "pathtrace/trace_result.h"
#include "util/status.h"

namespace portmap::pathtrace {

struct XtLegacyMatch {
  std::string name;
  uint32_t rev = 0;
  Bytes info;  // the payload after struct xt_entry_match
};

struct XtLegacyEntry {
  // What the entry is in libiptc's view of the table.
  enum class Role : uint8_t {
    kRule,         // a rule of `chain`, at `position`
    kPolicy,       // a built-in chain's policy (the hook's underflow)
    kChainReturn,  // the implicit RETURN closing a user chain
    kChainHead,    // an ERROR entry naming the user chain that follows
    kTableEnd,     // the final ERROR entry
  } role = Role::kRule;
  std::string chain;
  uint32_t position = 0;  // 1-based within the chain; 0 unless kRule

  uint32_t offset = 0;       // in the blob
  uint32_t next_offset = 0;  // the entry's size
  // struct ipt_ip, addresses in network order as the kernel compares them.
  std::array<uint8_t, 4> src{}, dst{}, smsk{}, dmsk{};
  std::array<uint8_t, 16> iniface{}, outiface{};  // NUL-padded names
  std::array<uint8_t, 16> iniface_mask{}, outiface_mask{};
  uint16_t proto = 0;
  uint8_t flags = 0;     // IPT_F_FRAG, IPT_F_GOTO
  uint8_t invflags = 0;  // IPT_INV_*
  std::vector<XtLegacyMatch> matches;
  std::string target;  // "" for the standard target, "ERROR", "DNAT", ...
  uint32_t target_rev = 0;
  Bytes target_info;  // the payload after struct xt_entry_target
  // The standard target's verdict: < 0 is -NF_x - 1 or XT_RETURN, >= 0 the
  // offset jumped to.  Meaningful only when `target` is "".
  int32_t verdict = 0;
  std::string error_name;  // an ERROR target's name (the user chain's)

  bool standard() const { return target.empty(); }
  // No address, interface, protocol or flag condition and no match.
  bool unconditional() const;
};

struct XtLegacyTable {
  std::string name;
  uint32_t valid_hooks = 0;
  uint32_t hook_entry[kXtNumHooks] = {};
  uint32_t underflow[kXtNumHooks] = {};
  std::vector<XtLegacyEntry> entries;  // blob order
  uint32_t stacksize = 0;              // ERROR entries: the kernel's jump stack size

  // The index of the entry at blob offset `offset`; entries.size() if none.
  size_t IndexAt(uint32_t offset) const;
};

// Decodes a blob.  An entry that does not fit, lies about its sizes, or a
// hook offset that is no entry is an error, and nothing is returned.
Status DecodeXtLegacyTable(const XtTableBlob& blob, XtLegacyTable* table);

// Runs `table`'s chain at `hook` (NF_INET_*) on *pkt; rewrites *pkt.  Steps
// (phase `phase`) record the chains entered and each rule that matched.
ChainOutcome EvalXtLegacyHook(const XtLegacyTable& table, uint32_t hook, Packet* pkt,
                              KernelView* kernel, const std::string& phase,
                              std::vector<TraceStep>* steps);

// The hook priority ip_tables registers a table at (include/uapi/linux/
// netfilter_ipv4.h): raw -300, mangle -150, nat -100 (PREROUTING, OUTPUT) or
// 100 (INPUT, POSTROUTING), filter 0, security 50.  An unknown table name
// answers 0.
int XtLegacyPriority(const std::string& table, uint32_t hook);

// "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"; "" otherwise.
const char* XtHookChainName(uint32_t hook);

// The entry as iptables-save would print it ("-A DOCKER-USER -i eth0 -p tcp
// -m tcp --dport 5000 -j DROP"; a policy as "-P FORWARD DROP").  A match or
// target option it cannot render shows as "-m NAME" / "-j NAME".
std::string XtLegacyEntryText(const XtLegacyTable& table, const XtLegacyEntry& e);

// The comment of a rule's comment match, or "".
std::string XtLegacyComment(const XtLegacyEntry& e);

}  // namespace portmap::pathtrace
