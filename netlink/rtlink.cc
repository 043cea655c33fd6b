#include "netlink/rtlink.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace portmap {

namespace {

using LinkAttrs = std::array<const nlattr*, IFLA_MAX + 1>;
using AddrAttrs = std::array<const nlattr*, IFA_MAX + 1>;

int LinkAttrCallback(const nlattr* attr, void* data) {
  auto* tb = static_cast<LinkAttrs*>(data);
  if (mnl_attr_type_valid(attr, IFLA_MAX) < 0) return MNL_CB_OK;
  const int type = mnl_attr_get_type(attr);
  if (type == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) {
    return MNL_CB_ERROR;
  }
  (*tb)[type] = attr;
  return MNL_CB_OK;
}

using LinkInfoAttrs = std::array<const nlattr*, IFLA_INFO_MAX + 1>;

int LinkInfoAttrCallback(const nlattr* attr, void* data) {
  auto* tb = static_cast<LinkInfoAttrs*>(data);
  if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) < 0) return MNL_CB_OK;
  const int type = mnl_attr_get_type(attr);
  if (type == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) {
    return MNL_CB_ERROR;
  }
  (*tb)[type] = attr;
  return MNL_CB_OK;
}

int AddrAttrCallback(const nlattr* attr, void* data) {
  auto* tb = static_cast<AddrAttrs*>(data);
  if (mnl_attr_type_valid(attr, IFA_MAX) < 0) return MNL_CB_OK;
  const int type = mnl_attr_get_type(attr);
  if (type == IFA_FLAGS && mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return MNL_CB_ERROR;
  (*tb)[type] = attr;
  return MNL_CB_OK;
}

int Malformed() {
  errno = EINVAL;
  return MNL_CB_ERROR;
}

}  // namespace

nlmsghdr* BuildLinkGet(uint32_t index, const std::string& name, uint32_t seq, void* buf) {
  if (name.size() >= IFNAMSIZ || name.find('\0') != std::string::npos) return nullptr;
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  if (name.empty()) {
    ifi->ifi_index = static_cast<int>(index);
  } else {
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  }
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return nlh;
}

nlmsghdr* BuildLinkDump(uint32_t seq, void* buf) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return nlh;
}

nlmsghdr* BuildAddrDump(uint8_t family, uint32_t seq, void* buf) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = family;
  return nlh;
}

int DecodeLinkMessage(const nlmsghdr* nlh, std::vector<LinkInfo>* links) {
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifinfomsg)) return Malformed();
  ifinfomsg ifi{};
  std::memcpy(&ifi, mnl_nlmsg_get_payload(nlh), sizeof ifi);
  LinkAttrs tb{};
  if (mnl_attr_parse(nlh, sizeof(ifinfomsg), &LinkAttrCallback, &tb) < 0) return Malformed();
  if (tb[IFLA_IFNAME] == nullptr || ifi.ifi_index <= 0) return Malformed();
  LinkInfo link;
  link.index = static_cast<uint32_t>(ifi.ifi_index);
  link.type = ifi.ifi_type;
  link.flags = ifi.ifi_flags;
  link.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
  if (tb[IFLA_MASTER] != nullptr) {
    if (mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) < 0) return Malformed();
    link.master = mnl_attr_get_u32(tb[IFLA_MASTER]);
  }
  if (tb[IFLA_LINKINFO] != nullptr) {
    LinkInfoAttrs info{};
    if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], &LinkInfoAttrCallback, &info) < 0) {
      return Malformed();
    }
    if (info[IFLA_INFO_KIND] != nullptr) link.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
  }
  links->push_back(std::move(link));
  return MNL_CB_OK;
}

int DecodeAddrMessage(const nlmsghdr* nlh, std::vector<AddrInfo>* addrs) {
  if (nlh->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) return Malformed();
  ifaddrmsg ifa{};
  std::memcpy(&ifa, mnl_nlmsg_get_payload(nlh), sizeof ifa);
  AddrAttrs tb{};
  if (mnl_attr_parse(nlh, sizeof(ifaddrmsg), &AddrAttrCallback, &tb) < 0) return Malformed();
  // Other families (a dump of AF_UNSPEC) carry addresses this does not read.
  if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6) return MNL_CB_OK;
  const nlattr* local = tb[IFA_LOCAL] != nullptr ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  const size_t len = ifa.ifa_family == AF_INET6 ? 16 : 4;
  if (local == nullptr || mnl_attr_get_payload_len(local) != len) return Malformed();
  AddrInfo a;
  a.family = ifa.ifa_family;
  a.prefixlen = ifa.ifa_prefixlen;
  a.flags = tb[IFA_FLAGS] != nullptr ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa.ifa_flags;
  a.index = ifa.ifa_index;
  a.scope = ifa.ifa_scope;
  std::memcpy(a.local.data(), mnl_attr_get_payload(local), len);
  addrs->push_back(a);
  return MNL_CB_OK;
}

}  // namespace portmap
