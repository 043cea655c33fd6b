#include "netlink/rtroute.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace portmap {

namespace {

using AttrTable = std::array<const nlattr*, RTA_MAX + 1>;

size_t AddrLen(uint8_t family) { return family == AF_INET6 ? 16 : 4; }

nlmsghdr* PutRouteHeader(void* buf, uint16_t flags, uint8_t family, uint32_t seq) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = family;
  return nlh;
}

// The kernel answers TCP, UDP and ICMP of the request's family, and
// -EOPNOTSUPP for anything else (rtm_getroute_parse_ip_proto).
bool ProtoAccepted(uint8_t family, uint8_t proto) {
  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) return true;
  return family == AF_INET ? proto == IPPROTO_ICMP : proto == IPPROTO_ICMPV6;
}

int AttrCallback(const nlattr* attr, void* data) {
  auto* tb = static_cast<AttrTable*>(data);
  if (mnl_attr_type_valid(attr, RTA_MAX) < 0) return MNL_CB_OK;  // newer kernels add attributes
  const int type = mnl_attr_get_type(attr);
  switch (type) {
    case RTA_TABLE:
    case RTA_OIF:
    case RTA_IIF:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return MNL_CB_ERROR;
      break;
    default:
      break;
  }
  (*tb)[type] = attr;
  return MNL_CB_OK;
}

// Copies an address attribute of exactly the family's length.
bool GetAddr(const nlattr* attr, uint8_t family, std::array<uint8_t, 16>* out) {
  const size_t len = AddrLen(family);
  if (mnl_attr_get_payload_len(attr) != len) return false;
  std::memcpy(out->data(), mnl_attr_get_payload(attr), len);
  return true;
}

// RTA_VIA: a 16-bit family followed by the address (an IPv6 next hop of an
// IPv4 route, RFC 5549).
bool GetVia(const nlattr* attr, RouteInfo* route) {
  const size_t len = mnl_attr_get_payload_len(attr);
  if (len < sizeof(uint16_t)) return false;
  uint16_t family = 0;
  std::memcpy(&family, mnl_attr_get_payload(attr), sizeof family);
  if ((family != AF_INET && family != AF_INET6) ||
      len - sizeof family != AddrLen(static_cast<uint8_t>(family))) {
    return false;
  }
  route->gateway_family = static_cast<uint8_t>(family);
  std::memcpy(route->gateway.data(), static_cast<const char*>(mnl_attr_get_payload(attr)) + 2,
              len - sizeof family);
  return true;
}

}  // namespace

nlmsghdr* BuildRouteLookup(const RouteLookup& lookup, uint32_t seq, void* buf) {
  nlmsghdr* nlh = PutRouteHeader(buf, NLM_F_REQUEST, lookup.family, seq);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(nlh));
  const size_t len = AddrLen(lookup.family);
  rtm->rtm_dst_len = static_cast<uint8_t>(len * 8);
  if (lookup.family == AF_INET) rtm->rtm_flags = RTM_F_LOOKUP_TABLE;
  mnl_attr_put(nlh, RTA_DST, len, lookup.dst.data());
  if (lookup.has_src) {
    rtm->rtm_src_len = static_cast<uint8_t>(len * 8);
    mnl_attr_put(nlh, RTA_SRC, len, lookup.src.data());
  }
  if (lookup.iif != 0) mnl_attr_put_u32(nlh, RTA_IIF, lookup.iif);
  if (lookup.mark != 0) mnl_attr_put_u32(nlh, RTA_MARK, lookup.mark);
  if (lookup.ip_proto != 0 && ProtoAccepted(lookup.family, lookup.ip_proto)) {
    mnl_attr_put_u8(nlh, RTA_IP_PROTO, lookup.ip_proto);
  }
  if (lookup.sport != 0) mnl_attr_put_u16(nlh, RTA_SPORT, htons(lookup.sport));
  if (lookup.dport != 0) mnl_attr_put_u16(nlh, RTA_DPORT, htons(lookup.dport));
  return nlh;
}

nlmsghdr* BuildRouteDump(uint8_t family, uint32_t seq, void* buf) {
  return PutRouteHeader(buf, NLM_F_REQUEST | NLM_F_DUMP, family, seq);
}

int DecodeRouteMessage(const nlmsghdr* nlh, std::vector<RouteInfo>* routes) {
  if (nlh->nlmsg_type != RTM_NEWROUTE) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  rtmsg rtm{};
  std::memcpy(&rtm, mnl_nlmsg_get_payload(nlh), sizeof rtm);
  AttrTable tb{};
  if (mnl_attr_parse(nlh, sizeof(rtmsg), &AttrCallback, &tb) < 0) {
    if (errno == 0) errno = EINVAL;
    return MNL_CB_ERROR;
  }
  RouteInfo r;
  r.family = rtm.rtm_family;
  r.type = rtm.rtm_type;
  r.dst_len = rtm.rtm_dst_len;
  r.flags = rtm.rtm_flags;
  r.table = tb[RTA_TABLE] != nullptr ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm.rtm_table;
  if (tb[RTA_OIF] != nullptr) r.oif = mnl_attr_get_u32(tb[RTA_OIF]);
  if (tb[RTA_IIF] != nullptr) r.iif = mnl_attr_get_u32(tb[RTA_IIF]);
  bool ok = r.family == AF_INET || r.family == AF_INET6;
  if (ok && tb[RTA_DST] != nullptr) ok = GetAddr(tb[RTA_DST], r.family, &r.dst);
  if (ok && tb[RTA_GATEWAY] != nullptr) {
    ok = GetAddr(tb[RTA_GATEWAY], r.family, &r.gateway);
    r.gateway_family = r.family;
  } else if (ok && tb[RTA_VIA] != nullptr) {
    ok = GetVia(tb[RTA_VIA], &r);
  }
  if (ok && tb[RTA_PREFSRC] != nullptr) {
    ok = GetAddr(tb[RTA_PREFSRC], r.family, &r.prefsrc);
    r.has_prefsrc = true;
  }
  if (!ok) {
    errno = EINVAL;
    return MNL_CB_ERROR;
  }
  routes->push_back(r);
  return MNL_CB_OK;
}

int KernelErrno(const NetlinkStatus& status, bool callback_failed) {
  constexpr std::string_view kPrefix = "netlink message: ";
  if (status.ok() || callback_failed) return 0;
  if (std::string_view(status.message).substr(0, kPrefix.size()) != kPrefix) return 0;
  switch (status.err) {
    case ESRCH:
    case EPROTO:
    case EINTR:
    case EBADMSG:
      return 0;
    default:
      return status.err;
  }
}

}  // namespace portmap
