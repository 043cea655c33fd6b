#include "netlink/sock_diag.h"

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace portmap {

namespace {

using DiagAttrs = std::array<const nlattr*, INET_DIAG_MAX + 1>;

int AttrCallback(const nlattr* attr, void* data) {
  auto* tb = static_cast<DiagAttrs*>(data);
  if (mnl_attr_type_valid(attr, INET_DIAG_MAX) < 0) return MNL_CB_OK;
  const int type = mnl_attr_get_type(attr);
  if (type == INET_DIAG_SKV6ONLY && mnl_attr_validate(attr, MNL_TYPE_U8) < 0) {
    return MNL_CB_ERROR;
  }
  (*tb)[type] = attr;
  return MNL_CB_OK;
}

}  // namespace

nlmsghdr* BuildInetDiagDump(uint8_t family, uint8_t protocol, uint32_t states, uint32_t seq,
                            void* buf) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* req =
      static_cast<inet_diag_req_v2*>(mnl_nlmsg_put_extra_header(nlh, sizeof(inet_diag_req_v2)));
  req->sdiag_family = family;
  req->sdiag_protocol = protocol;
  req->idiag_states = states;
  // A dump ignores id (no cookie lookup); the bytecode filter is not used:
  // listeners are few, and matching here keeps the wildcard rules in one place.
  return nlh;
}

int DecodeInetDiagMessage(const nlmsghdr* nlh, std::vector<InetSocket>* sockets) {
  if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(inet_diag_msg)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  inet_diag_msg msg{};
  std::memcpy(&msg, mnl_nlmsg_get_payload(nlh), sizeof msg);
  DiagAttrs tb{};
  if (mnl_attr_parse(nlh, sizeof(inet_diag_msg), &AttrCallback, &tb) < 0) {
    errno = EINVAL;
    return MNL_CB_ERROR;
  }
  if (msg.idiag_family != AF_INET && msg.idiag_family != AF_INET6) {
    errno = EINVAL;
    return MNL_CB_ERROR;
  }
  InetSocket s;
  s.family = msg.idiag_family;
  s.state = msg.idiag_state;
  const size_t len = s.family == AF_INET6 ? 16 : 4;
  std::memcpy(s.src.data(), msg.id.idiag_src, len);
  std::memcpy(s.dst.data(), msg.id.idiag_dst, len);
  s.sport = ntohs(msg.id.idiag_sport);
  s.dport = ntohs(msg.id.idiag_dport);
  s.bound_if = msg.id.idiag_if;
  if (tb[INET_DIAG_SKV6ONLY] != nullptr) s.v6only = mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]) != 0;
  s.inode = msg.idiag_inode;
  sockets->push_back(s);
  return MNL_CB_OK;
}

}  // namespace portmap
