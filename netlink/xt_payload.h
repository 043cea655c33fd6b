// xt_payload: the x_tables match and target payloads both backends carry
// verbatim — iptables-nft stores them in nft "match"/"target" expressions,
// iptables-legacy in ipt_entry — decoded once for both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portmap {

// A "tcp" or "udp" match (struct xt_tcp / xt_udp, ports in host byte
// order): sets *dport to the low end of a non-inverted destination port
// match, and *proto to the match's protocol when *proto is still empty.
// False for another match or a short payload.
bool DecodeXtPortMatch(std::string_view name, const void* info, size_t len, std::string* proto,
                       uint16_t* dport);

// A DNAT target's payload, revision 0 (nf_nat_ipv4_multi_range_compat, IPv4
// only), 1 (nf_nat_range) or 2 (nf_nat_range2): the address and port it
// rewrites to (the low ends of ranges; left untouched when not mapped).
// False when it cannot be read.
bool DecodeXtDnat(int rev, const void* info, size_t len, bool ipv6, std::string* ip,
                  uint16_t* port);

// inet_ntop over 4 (IPv4) or 16 (IPv6) bytes; "" otherwise.
std::string XtAddrString(const void* bytes, size_t len);

// "tcp", "udp", "sctp", or the number.
std::string XtProtoName(uint8_t proto);

}  // namespace portmap
