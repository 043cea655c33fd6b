// nft_text: a rule as the kernel holds it, in the words of
// `nft --debug=netlink` (libnftnl's expression printers), so a trace shows
// the exact expressions that matched, not a re-derived nft(8) syntax:
//
//   [ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ]
//   [ payload load 2b @ transport header + 2 => reg 1 ]
//   [ cmp eq reg 1 0x00005000 ] [ counter ] [ immediate reg 0 accept ]
//
// Values print as libnftnl does: 32-bit words of the data in host order
// (0x00005000 is port 80 on a little-endian host).  Where the model keeps
// less than the dump (nft_model.h), the text says less than nft does:
//   - passive expressions print their name only: `[ counter ]`, `[ log ]`,
//     `[ limit ]`, `[ quota ]`, `[ dynset ]`... (no counter values, prefix,
//     rate);
//   - a payload write omits its checksum fields;
//   - an expression the decoder kept as UnknownExpr prints that name
//     (`[ numgen ]`, `[ limit over ]`).
// Everything else is character for character what nft 1.0.6 / libnftnl
// 1.2.4 print, one expression after the other on one line.
//
// Thread safety: stateless functions.
#pragma once

#include <string>

#include "pathtrace/nft_model.h"

namespace portmap::pathtrace {

// One expression: "[ cmp eq reg 1 0x00000006 ]".
std::string NftExprText(const NftExpr& e);

// A rule's expressions, separated by one space.
std::string NftRuleText(const NftRuleModel& rule);

// A base chain's header as nft(8) writes it, priority and policy numeric:
// "type filter hook forward priority 0; policy drop;" (with
// `device "eth0"` before the priority for ingress chains); "" for a chain
// that is not a base chain.
std::string NftChainText(const NftChainModel& chain);

}  // namespace portmap::pathtrace
