// xt_eval: x_tables matches and targets on the traced packet — what
// iptables-nft carries in nft "match"/"target" expressions and iptables-legacy
// in ipt_entry, evaluated with the kernel's semantics (net/netfilter/xt_*.c,
// net/ipv4/netfilter/ipt_*.c).  One evaluator for both backends; payload
// layouts are the kernel's uapi structs.
//
// Known matches: tcp, udp, conntrack (rev 1-3), state, addrtype (rev 1),
// comment, multiport (rev 1), mark (rev 1), iprange (rev 1), physdev.
// Known targets: DNAT (rev 0-2), REJECT (IPv4 and IPv6), MASQUERADE, SNAT, LOG,
// NFLOG, MARK (rev 2), CT --notrack, CHECKSUM, TCPMSS, and the standard
// verdicts ("" / "ACCEPT" etc. as iptables-legacy writes them).  Anything else,
// or an option of a known one that is not modelled, is kUnknown naming it.
//
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>

#include "pathtrace/kernel.h"
#include "pathtrace/nft_model.h"
#include "pathtrace/packet.h"

namespace portmap::pathtrace {

struct XtMatchResult {
  enum class Kind : uint8_t { kMatch, kNoMatch, kUnknown } kind = Kind::kUnknown;
  std::string reason;  // kUnknown: what could not be evaluated
};

// `hook` is the NF_INET_* hook being traversed (addrtype's limit-iface
// options depend on it).
XtMatchResult EvalXtMatch(const std::string& name, uint32_t rev, const Bytes& info,
                          const Packet& pkt, uint32_t hook, KernelView* kernel);

// How a reject answers: a TCP reset, or an ICMP(v6) error of type/code.
struct RejectAction {
  bool tcp_reset = false;
  uint8_t icmp_type = 3;  // ICMP_DEST_UNREACH (v6: ICMPV6_DEST_UNREACH = 1)
  uint8_t icmp_code = 3;  // ICMP_PORT_UNREACH (v6: ICMPV6_PORT_UNREACH = 4)
};

struct XtTargetResult {
  enum class Kind : uint8_t {
    kContinue,  // no effect on the path (LOG, NFLOG, CHECKSUM, TCPMSS)
    kVerdict,   // a standard verdict: accept, drop, queue, return; SNAT and MASQUERADE
                // accept as nf_nat_setup_info does (their source rewrite is not modelled).
                // A legacy jump (a blob offset) is kUnknown: xt_legacy follows it.
    kDnat,      // rewrite the destination, then accept (a nat chain's verdict)
    kReject,    // answer with `reject`, drop the packet
    kMark,      // set the packet mark: mark = (mark & ~mask) ^ value
    kNotrack,   // CT --notrack: the packet becomes untracked
    kUnknown,
  } kind = Kind::kUnknown;
  NftVerdict verdict;      // kVerdict
  Addr dnat_addr;          // kDnat; family 0 when the target keeps the address
  uint16_t dnat_port = 0;  // kDnat; 0 when the target keeps the port
  RejectAction reject;     // kReject
  uint32_t mark = 0, mask = 0;
  std::string reason;  // kUnknown: what could not be evaluated
};

XtTargetResult EvalXtTarget(const std::string& name, uint32_t rev, const Bytes& info,
                            const Packet& pkt, uint32_t hook);

}  // namespace portmap::pathtrace
