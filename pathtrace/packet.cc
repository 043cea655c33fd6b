// The packet's header bytes, built as the wire carries them.
#include "pathtrace/packet.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <sys/socket.h>

#include <cstring>

namespace portmap::pathtrace {

namespace {

void PutU16(std::vector<uint8_t>* b, size_t at, uint16_t host) {
  (*b)[at] = static_cast<uint8_t>(host >> 8);
  (*b)[at + 1] = static_cast<uint8_t>(host & 0xff);
}

}  // namespace

std::optional<Addr> ParseAddr(const std::string& text) {
  Addr a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

std::string AddrString(const Addr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family != AF_INET && a.family != AF_INET6) return "";
  if (inet_ntop(a.family, a.bytes.data(), buf, sizeof buf) == nullptr) return "";
  return buf;
}

std::vector<uint8_t> Packet::NetworkHeader() const {
  const size_t l4len = l4proto == 6 ? 20 : 8;
  if (ipv6()) {
    std::vector<uint8_t> h(40, 0);
    h[0] = 0x60;  // version 6, traffic class 0, flow label 0
    PutU16(&h, 4, static_cast<uint16_t>(l4len));
    h[6] = l4proto;
    h[7] = ttl;
    std::memcpy(&h[8], saddr.bytes.data(), 16);
    std::memcpy(&h[24], daddr.bytes.data(), 16);
    return h;
  }
  std::vector<uint8_t> h(20, 0);
  h[0] = 0x45;  // version 4, IHL 5
  PutU16(&h, 2, static_cast<uint16_t>(20 + l4len));
  PutU16(&h, 6, 0x4000);  // DF, as Linux sets on a SYN
  h[8] = ttl;
  h[9] = l4proto;
  std::memcpy(&h[12], saddr.bytes.data(), 4);
  std::memcpy(&h[16], daddr.bytes.data(), 4);
  return h;
}

std::vector<uint8_t> Packet::TransportHeader() const {
  if (l4proto == 6) {
    std::vector<uint8_t> h(20, 0);
    PutU16(&h, 0, sport);
    PutU16(&h, 2, dport);
    h[12] = 0x50;  // data offset 5 words
    h[13] = tcp_flags;
    PutU16(&h, 14, 64240);  // window
    return h;
  }
  std::vector<uint8_t> h(8, 0);
  PutU16(&h, 0, sport);
  PutU16(&h, 2, dport);
  PutU16(&h, 4, 8);
  return h;
}

void ApplyDnat(Packet* pkt, const Addr& addr, uint16_t port) {
  if (addr.family != 0) pkt->daddr = addr;
  if (port != 0) pkt->dport = port;
  pkt->ct.status |= IPS_DST_NAT;
  pkt->ct.reply_src = pkt->daddr;
  pkt->ct.reply_sport = pkt->dport;
}

uint8_t NfprotoOf(int address_family) {
  return address_family == AF_INET6 ? kNfprotoIpv6 : kNfprotoIpv4;
}

std::string EndpointString(const Addr& a, uint16_t port) {
  const std::string addr = AddrString(a);
  return (a.family == 10 /* AF_INET6 */ ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

std::string DescribePacket(const Packet& p) {
  const char* proto = p.l4proto == 6 ? "tcp" : p.l4proto == 17 ? "udp" : "l4?";
  std::string s = std::string(proto) + " " + EndpointString(p.saddr, p.sport) + " -> " +
                  EndpointString(p.daddr, p.dport);
  if (!p.iif.name.empty()) s += " in " + p.iif.name;
  return s;
}

}  // namespace portmap::pathtrace
