// xt_eval_internal: what the x_tables evaluator's files share (xt_eval.cc,
// xt_eval_state.cc, xt_legacy*.cc); not part of the library's interface.
//
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "pathtrace/xt_eval.h"

namespace portmap::pathtrace {

// IP_CT_UNTRACKED: the kernel's (not uapi) ctinfo of an untracked packet,
// IP_CT_NUMBER + 2.
inline constexpr uint32_t kIpCtUntracked = 7;

// Copies an x_tables payload into its uapi struct.  The payload is the
// struct padded to XT_ALIGN, so anything at least sizeof(T) long is accepted.
template <typename T>
bool LoadXt(const Bytes& info, T* out) {
  if (info.size() < sizeof(T)) return false;
  std::memcpy(out, info.data(), sizeof(T));
  return true;
}

// EvalXtMatch at a hook priority where conntrack may not have run yet: with
// `ct_attached` false (the raw tables, before NF_IP_PRI_CONNTRACK) the packet
// carries no conntrack entry, so conntrack/state see INVALID, or UNTRACKED
// after a notrack rule.
XtMatchResult EvalXtMatchAt(const std::string& name, uint32_t rev, const Bytes& info,
                            const Packet& pkt, uint32_t hook, KernelView* kernel, bool ct_attached);

// conntrack_mt (xt_conntrack.c), revisions 1 to 3.
XtMatchResult EvalXtConntrack(uint32_t rev, const Bytes& info, const Packet& pkt, bool ct_attached);

// addrtype_mt_v0 / addrtype_mt_v1 (xt_addrtype.c).
XtMatchResult EvalXtAddrtype(uint32_t rev, const Bytes& info, const Packet& pkt, uint32_t hook,
                             KernelView* kernel);

// "1f" for 0x1f: lower-case hex without a prefix.
std::string HexU32(uint32_t v);

// "192.0.2.1" / "2001:db8::1" (inet_ntop) for an address of either family.
std::string XtAddrText(const Addr& a);

}  // namespace portmap::pathtrace
