#include "netlink/xt_payload.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <netinet/in.h>

#include <cstring>

namespace portmap {

bool DecodeXtPortMatch(std::string_view name, const void* info, size_t len, std::string* proto,
                       uint16_t* dport) {
  if (name == "tcp" && len >= sizeof(xt_tcp)) {
    xt_tcp m{};
    std::memcpy(&m, info, sizeof m);
    if ((m.invflags & XT_TCP_INV_DSTPT) == 0) *dport = m.dpts[0];
    if (proto->empty()) *proto = "tcp";
    return true;
  }
  if (name == "udp" && len >= sizeof(xt_udp)) {
    xt_udp m{};
    std::memcpy(&m, info, sizeof m);
    if ((m.invflags & XT_UDP_INV_DSTPT) == 0) *dport = m.dpts[0];
    if (proto->empty()) *proto = "udp";
    return true;
  }
  return false;
}

bool DecodeXtDnat(int rev, const void* info, size_t len, bool ipv6, std::string* ip,
                  uint16_t* port) {
  if (rev == 0 && !ipv6) {
    nf_nat_ipv4_multi_range_compat r{};
    if (len < sizeof r) return false;
    std::memcpy(&r, info, sizeof r);
    if (r.rangesize < 1) return false;
    const nf_nat_ipv4_range& range = r.range[0];
    if ((range.flags & NF_NAT_RANGE_MAP_IPS) != 0) *ip = XtAddrString(&range.min_ip, 4);
    if ((range.flags & NF_NAT_RANGE_PROTO_SPECIFIED) != 0) *port = ntohs(range.min.all);
    return true;
  }
  if (rev == 1 || rev == 2) {
    // nf_nat_range2 starts with nf_nat_range's fields.
    nf_nat_range r{};
    if (len < sizeof r) return false;
    std::memcpy(&r, info, sizeof r);
    if ((r.flags & NF_NAT_RANGE_MAP_IPS) != 0) {
      *ip = ipv6 ? XtAddrString(&r.min_addr.in6, 16) : XtAddrString(&r.min_addr.in, 4);
    }
    if ((r.flags & NF_NAT_RANGE_PROTO_SPECIFIED) != 0) *port = ntohs(r.min_proto.all);
    return true;
  }
  return false;
}

std::string XtAddrString(const void* bytes, size_t len) {
  if (len != 4 && len != 16) return {};
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(len == 4 ? AF_INET : AF_INET6, bytes, buf, sizeof buf) == nullptr) return {};
  return buf;
}

std::string XtProtoName(uint8_t proto) {
  switch (proto) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    case IPPROTO_SCTP:
      return "sctp";
    default:
      return std::to_string(proto);
  }
}

}  // namespace portmap
