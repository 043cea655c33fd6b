// packet: the one packet a trace follows, and the conntrack entry the kernel
// would hold for it.
//
// Header fields are kept as the wire has them and the header bytes are built
// on demand (NetworkHeader, TransportHeader), so an nf_tables payload load
// reads exactly the bytes the kernel's would: no per-field table of offsets
// to get wrong.  Addresses are 16 bytes in network order; an IPv4 address
// uses the first 4.
//
// Conntrack is modelled as the kernel sets it on the packet's way: a new
// connection's first packet is IP_CT_NEW in the original direction with no
// status bits; a DNAT rewrite sets IPS_DST_NAT; the reply packet is
// IP_CT_ESTABLISHED_REPLY with IPS_SEEN_REPLY and IPS_CONFIRMED added.
//
// Thread safety: a plain value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portmap::pathtrace {

// An IPv4 or IPv6 address, network byte order.
struct Addr {
  uint8_t family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};

  size_t size() const { return family == 10 /* AF_INET6 */ ? 16 : 4; }
  bool operator==(const Addr&) const = default;
};

// Parses "192.0.2.1" or "2001:db8::1"; nullopt otherwise.
std::optional<Addr> ParseAddr(const std::string& text);
std::string AddrString(const Addr& a);

// The kernel's conntrack view of the packet (include/uapi/linux/netfilter/
// nf_conntrack_common.h): ctinfo as in enum ip_conntrack_info, status as in
// enum ip_conntrack_status, both host order.
struct Conntrack {
  bool attached = false;   // conntrack (priority -200) has seen the packet
  bool untracked = false;  // a notrack rule ran in raw
  uint32_t ctinfo = 2;     // IP_CT_NEW
  uint32_t status = 0;     // IPS_* bits
  uint32_t mark = 0;
  bool reply = false;  // the packet travels in the reply direction
  // The connection's tuples, as `ct original/reply saddr ...` read them: the
  // original is the first packet as it arrived; the reply is its inverse
  // with any NAT applied (a DNAT to C makes the reply's source C).
  Addr orig_src, orig_dst, reply_src, reply_dst;
  uint16_t orig_sport = 0, orig_dport = 0, reply_sport = 0, reply_dport = 0;
};

struct Interface {
  uint32_t index = 0;
  std::string name;
  uint16_t type = 1;  // ARPHRD_ETHER
};

// netfilter's protocol families (linux/netfilter.h), without its header.
inline constexpr uint8_t kNfprotoIpv4 = 2;
inline constexpr uint8_t kNfprotoIpv6 = 10;

// The netfilter family of an address family (AF_INET6 or else AF_INET).
uint8_t NfprotoOf(int address_family);

struct Packet {
  uint8_t nfproto = kNfprotoIpv4;  // or kNfprotoIpv6
  uint8_t l4proto = 6;             // IPPROTO_TCP (6) or IPPROTO_UDP (17)
  Addr saddr;
  Addr daddr;
  uint16_t sport = 0;  // host order
  uint16_t dport = 0;
  uint8_t tcp_flags = 0x02;  // TH_SYN; 0x12 for the SYN-ACK reply
  uint8_t ttl = 64;
  Interface iif;  // index 0: locally generated
  Interface oif;  // set by the routing decision
  uint32_t mark = 0;
  uint8_t pkttype = 0;  // PACKET_HOST
  Conntrack ct;

  bool ipv6() const { return nfproto == kNfprotoIpv6; }
  // The IPv4 (20 bytes, no options) or IPv6 (40 bytes) header, checksum 0.
  std::vector<uint8_t> NetworkHeader() const;
  // The TCP (20 bytes) or UDP (8 bytes) header.
  std::vector<uint8_t> TransportHeader() const;
};

// DNAT as nf_nat applies it: the destination rewritten (the address when
// `addr` has a family, the port when `port` is not 0), IPS_DST_NAT set, and
// the connection's reply now coming from the new destination.  One place for
// nft's dnat, iptables-nft's and iptables-legacy's DNAT target.
void ApplyDnat(Packet* pkt, const Addr& addr, uint16_t port);

// "192.0.2.1:5000", "[2001:db8::1]:5000".
std::string EndpointString(const Addr& a, uint16_t port);

// The packet's five-tuple for humans: "tcp 192.0.2.1:40000 -> 198.51.100.1:5000".
std::string DescribePacket(const Packet& p);

}  // namespace portmap::pathtrace
