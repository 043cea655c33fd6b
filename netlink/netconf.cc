#include "netlink/netconf.h"

#include <libmnl/libmnl.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace portmap {

namespace {

using AttrTable = std::array<const nlattr*, NETCONFA_MAX + 1>;

// libmnl's attribute callback pattern: skip what this build does not know
// (newer kernels add attributes), validate the size of what it reads, once.
int AttrCallback(const nlattr* attr, void* data) {
  auto* tb = static_cast<AttrTable*>(data);
  if (mnl_attr_type_valid(attr, NETCONFA_MAX) < 0) return MNL_CB_OK;
  const int type = mnl_attr_get_type(attr);
  switch (type) {
    case NETCONFA_IFINDEX:
    case NETCONFA_FORWARDING:
      if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return MNL_CB_ERROR;
      break;
    default:
      break;
  }
  (*tb)[type] = attr;
  return MNL_CB_OK;
}

}  // namespace

int DecodeNetconfMessage(const nlmsghdr* nlh, std::vector<NetconfEvent>* events) {
  if (nlh->nlmsg_type != RTM_NEWNETCONF && nlh->nlmsg_type != RTM_DELNETCONF) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(netconfmsg)) {
    errno = EINVAL;
    return MNL_CB_ERROR;
  }
  netconfmsg ncm{};
  std::memcpy(&ncm, mnl_nlmsg_get_payload(nlh), sizeof ncm);

  AttrTable tb{};
  if (mnl_attr_parse(nlh, sizeof(netconfmsg), &AttrCallback, &tb) < 0) {
    if (errno == 0) errno = EINVAL;
    return MNL_CB_ERROR;
  }
  // Without an interface index the message says nothing we can place.
  if (tb[NETCONFA_IFINDEX] == nullptr) {
    errno = EINVAL;
    return MNL_CB_ERROR;
  }
  NetconfEvent ev;
  ev.deleted = nlh->nlmsg_type == RTM_DELNETCONF;
  ev.family = ncm.ncm_family;
  ev.ifindex = static_cast<int32_t>(mnl_attr_get_u32(tb[NETCONFA_IFINDEX]));
  if (tb[NETCONFA_FORWARDING] != nullptr) {
    ev.forwarding = static_cast<int32_t>(mnl_attr_get_u32(tb[NETCONFA_FORWARDING]));
  }
  events->push_back(ev);
  return MNL_CB_OK;
}

NetlinkStatus DecodeNetconf(const void* buf, size_t len, std::vector<NetconfEvent>* events) {
  // libmnl reads headers in place; copy into 4-byte aligned storage so a
  // recorded or fuzzed buffer at any address is safe.
  std::vector<uint32_t> aligned((len + sizeof(uint32_t) - 1) / sizeof(uint32_t));
  if (len > 0) std::memcpy(aligned.data(), buf, len);
  NetlinkStatus st;
  RunNetlinkCallbacks(
      aligned.data(), len, 0, 0,
      [events](const nlmsghdr* nlh) { return DecodeNetconfMessage(nlh, events); }, &st);
  return st;
}

}  // namespace portmap
