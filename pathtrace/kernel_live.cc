#include "pathtrace/kernel_live.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "pathtrace/netns_peer.h"
#include "util/procfs.h"

namespace portmap::pathtrace {

namespace {

constexpr uint8_t kTcpListen = 10;  // TCP_LISTEN
constexpr uint32_t kTableLocal = 255;

// Request buffers: 4-byte aligned for libmnl, large enough for every builder.
using RequestBuffer = std::array<uint32_t, 64>;
static_assert(sizeof(RequestBuffer) >= kRouteRequestBytes &&
              sizeof(RequestBuffer) >= kLinkRequestBytes &&
              sizeof(RequestBuffer) >= kInetDiagRequestBytes);

bool IsZero(const uint8_t* bytes, size_t len) {
  return std::all_of(bytes, bytes + len, [](uint8_t b) { return b == 0; });
}

bool ValidFamily(uint8_t family) { return family == AF_INET || family == AF_INET6; }

// Whether the first `bits` bits of a and b agree.
bool PrefixMatch(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// An AF_INET6 socket's address as an IPv4 packet reaches it: :: (any), or
// ::ffff:a.b.c.d naming the IPv4 address.
bool MappedMatches(const std::array<uint8_t, 16>& src, const Addr& v4) {
  if (IsZero(src.data(), 16)) return true;
  static constexpr std::array<uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(kMapped.begin(), kMapped.end(), src.begin()) &&
         std::memcmp(src.data() + 12, v4.bytes.data(), 4) == 0;
}

Status NetlinkError(const std::string& what, const NetlinkStatus& st) {
  return Status::Error(what + ": " + st.message);
}

}  // namespace

bool SocketAccepts(const InetSocket& s, uint8_t nfproto, uint8_t l4proto, const Addr& addr,
                   uint16_t port) {
  if (s.sport != port) return false;
  if (l4proto == IPPROTO_TCP) {
    if (s.state != kTcpListen) return false;
  } else if (l4proto == IPPROTO_UDP) {
    if (s.dport != 0 || !IsZero(s.dst.data(), s.dst.size())) return false;
  } else {
    return false;
  }
  if (nfproto == kNfprotoIpv4) {
    if (addr.family != AF_INET) return false;
    if (s.family == AF_INET) {
      return IsZero(s.src.data(), 4) || std::memcmp(s.src.data(), addr.bytes.data(), 4) == 0;
    }
    return s.family == AF_INET6 && !s.v6only.value_or(false) && MappedMatches(s.src, addr);
  }
  if (nfproto == kNfprotoIpv6) {
    return addr.family == AF_INET6 && s.family == AF_INET6 &&
           (IsZero(s.src.data(), 16) || s.src == addr.bytes);
  }
  return false;
}

bool LocalTableSaysLocal(const std::vector<RouteInfo>& routes, const Addr& addr, uint32_t dev) {
  if (addr.family != AF_INET) return false;
  const RouteInfo* best = nullptr;
  for (const RouteInfo& r : routes) {
    if (r.family != AF_INET || r.table != kTableLocal || r.dst_len > 32) continue;
    if (!PrefixMatch(r.dst.data(), addr.bytes.data(), r.dst_len)) continue;
    // The first of equally long prefixes: the dump lists a prefix's aliases
    // in the order fib_table_lookup tries them.
    if (best == nullptr || r.dst_len > best->dst_len) best = &r;
  }
  return best != nullptr && best->type == RTN_LOCAL && (dev == 0 || best->oif == dev);
}

bool AddressListSaysLocal(const std::vector<AddrInfo>& addrs, const Addr& addr, uint32_t dev) {
  if (addr.family != AF_INET6) return false;
  for (const AddrInfo& a : addrs) {
    if (a.family != AF_INET6 || a.local != addr.bytes) continue;
    if (dev != 0 && a.index != dev) continue;
    // ipv6_chk_addr bans tentative addresses, but an optimistic one is usable.
    if ((a.flags & IFA_F_TENTATIVE) != 0 && (a.flags & IFA_F_OPTIMISTIC) == 0) continue;
    return true;
  }
  return false;
}

std::unique_ptr<LiveKernel> LiveKernel::Open(const Paths& paths, Status* status,
                                             std::chrono::milliseconds timeout) {
  NetlinkStatus st;
  NetlinkSocket route = NetlinkSocket::Open(NETLINK_ROUTE, &st);
  if (!st.ok()) {
    *status = NetlinkError("rtnetlink", st);
    return nullptr;
  }
  NetlinkSocket diag = NetlinkSocket::Open(NETLINK_SOCK_DIAG, &st);
  if (!st.ok()) {
    *status = NetlinkError("sock_diag", st);
    return nullptr;
  }
  *status = Status::Ok();
  return std::unique_ptr<LiveKernel>(
      new LiveKernel(paths, timeout, std::move(route), std::move(diag)));
}

LiveKernel::LiveKernel(Paths paths, std::chrono::milliseconds timeout, NetlinkSocket route,
                       NetlinkSocket diag)
    : paths_(std::move(paths)),
      timeout_(timeout),
      route_(std::move(route)),
      diag_(std::move(diag)) {}

NetlinkStatus LiveKernel::Exchange(NetlinkSocket* sock, nlmsghdr* request,
                                   const NetlinkCallback& cb) {
  // An answer that arrived after an earlier timeout would fail this
  // exchange's sequence check.
  NetlinkStatus st = sock->DiscardPending();
  if (!st.ok()) return st;
  return sock->Dump(request, cb, std::chrono::steady_clock::now() + timeout_);
}

Status LiveKernel::Route(const RouteQuery& q, RouteAnswer* answer) {
  *answer = RouteAnswer{};
  if (!ValidFamily(q.dst.family) || (q.src.family != 0 && q.src.family != q.dst.family)) {
    return Status::Error("route lookup: destination and source must be one IPv4 or IPv6 family");
  }
  RouteLookup lookup;
  lookup.family = q.dst.family;
  lookup.dst = q.dst.bytes;
  lookup.has_src = q.src.family != 0;
  lookup.src = q.src.bytes;
  lookup.iif = q.iif;
  lookup.mark = q.mark;
  lookup.ip_proto = q.l4proto;
  lookup.sport = q.sport;
  lookup.dport = q.dport;
  RequestBuffer buf{};
  nlmsghdr* nlh = BuildRouteLookup(lookup, route_.NextSeq(), buf.data());
  std::vector<RouteInfo> routes;
  bool callback_failed = false;
  NetlinkStatus st = Exchange(&route_, nlh, [&](const nlmsghdr* m) {
    if (DecodeRouteMessage(m, &routes) != MNL_CB_OK) {
      callback_failed = true;
      return MNL_CB_ERROR;
    }
    return routes.empty() ? MNL_CB_OK : MNL_CB_STOP;  // one answer, no NLMSG_DONE
  });
  if (const int err = KernelErrno(st, callback_failed); err != 0) {
    answer->error = err;
    return Status::Ok();
  }
  if (!st.ok()) return NetlinkError("route lookup", st);
  if (routes.empty()) return Status::Error("route lookup: the kernel sent no route");
  const RouteInfo& r = routes.front();
  answer->type = r.type;
  answer->oif = r.oif;
  answer->table = r.table;
  if (r.gateway_family != 0) {
    answer->gateway.family = r.gateway_family;
    answer->gateway.bytes = r.gateway;
  }
  if (r.has_prefsrc) {
    answer->prefsrc.family = r.family;
    answer->prefsrc.bytes = r.prefsrc;
  }
  return Status::Ok();
}

Status LiveKernel::Listeners(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                             std::vector<InetSocket>* sockets) {
  sockets->clear();
  if (l4proto != IPPROTO_TCP && l4proto != IPPROTO_UDP) {
    return Status::Error("listening: protocol " + std::to_string(l4proto) + " is not TCP or UDP");
  }
  if ((nfproto != kNfprotoIpv4 || addr.family != AF_INET) &&
      (nfproto != kNfprotoIpv6 || addr.family != AF_INET6)) {
    return Status::Error("listening: the address is not of the packet's family");
  }
  // An IPv4 packet also reaches dual-stack AF_INET6 sockets.
  std::vector<uint8_t> families{AF_INET6};
  if (nfproto == kNfprotoIpv4) families.insert(families.begin(), AF_INET);
  const uint32_t states = l4proto == IPPROTO_TCP ? 1u << kTcpListen : kAllSocketStates;
  for (uint8_t family : families) {
    RequestBuffer buf{};
    nlmsghdr* nlh = BuildInetDiagDump(family, l4proto, states, diag_.NextSeq(), buf.data());
    std::vector<InetSocket> dumped;
    NetlinkStatus st =
        Exchange(&diag_, nlh, [&](const nlmsghdr* m) { return DecodeInetDiagMessage(m, &dumped); });
    if (!st.ok()) return NetlinkError("sock_diag dump", st);
    for (const InetSocket& s : dumped) {
      if (SocketAccepts(s, nfproto, l4proto, addr, port)) sockets->push_back(s);
    }
  }
  return Status::Ok();
}

Status LiveKernel::PeerListening(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                                 PeerAnswer* answer) {
  return FindPeerListener(paths_, nfproto, l4proto, addr, port, answer);
}

Status LiveKernel::Listening(uint8_t nfproto, uint8_t l4proto, const Addr& addr, uint16_t port,
                             bool* listening) {
  std::vector<InetSocket> sockets;
  Status st = Listeners(nfproto, l4proto, addr, port, &sockets);
  *listening = st.ok() && !sockets.empty();
  return st;
}

Status LiveKernel::GetLink(uint32_t index, const std::string& name, Interface* link) {
  const std::string what = name.empty() ? "index " + std::to_string(index) : "name " + name;
  RequestBuffer buf{};
  nlmsghdr* nlh = BuildLinkGet(index, name, route_.NextSeq(), buf.data());
  // ifi_index is a signed int: the kernel has no interface above INT32_MAX.
  if (nlh == nullptr || (name.empty() && (index == 0 || index > INT32_MAX))) {
    return Status::NoData("no interface with " + what);
  }
  std::vector<LinkInfo> links;
  bool callback_failed = false;
  NetlinkStatus st = Exchange(&route_, nlh, [&](const nlmsghdr* m) {
    if (DecodeLinkMessage(m, &links) != MNL_CB_OK) {
      callback_failed = true;
      return MNL_CB_ERROR;
    }
    return links.empty() ? MNL_CB_OK : MNL_CB_STOP;
  });
  if (KernelErrno(st, callback_failed) == ENODEV) {
    return Status::NoData("no interface with " + what);
  }
  if (!st.ok()) return NetlinkError("interface " + what, st);
  if (links.empty()) return Status::Error("interface " + what + ": the kernel sent no link");
  link->index = links.front().index;
  link->name = links.front().name;
  link->type = links.front().type;
  return Status::Ok();
}

Status LiveKernel::LinkByIndex(uint32_t index, Interface* link) { return GetLink(index, "", link); }

Status LiveKernel::LinkByName(const std::string& name, Interface* link) {
  if (name.empty()) return Status::NoData("no interface with an empty name");
  return GetLink(0, name, link);
}

Status LiveKernel::IsLocalAddress(const Addr& addr, uint32_t dev, bool* local) {
  *local = false;
  if (!ValidFamily(addr.family)) return Status::Error("address type: not an IPv4 or IPv6 address");
  RequestBuffer buf{};
  if (addr.family == AF_INET) {
    nlmsghdr* nlh = BuildRouteDump(AF_INET, route_.NextSeq(), buf.data());
    std::vector<RouteInfo> routes;
    NetlinkStatus st =
        Exchange(&route_, nlh, [&](const nlmsghdr* m) { return DecodeRouteMessage(m, &routes); });
    if (!st.ok()) return NetlinkError("route dump", st);
    *local = LocalTableSaysLocal(routes, addr, dev);
    return Status::Ok();
  }
  nlmsghdr* nlh = BuildAddrDump(AF_INET6, route_.NextSeq(), buf.data());
  std::vector<AddrInfo> addrs;
  NetlinkStatus st =
      Exchange(&route_, nlh, [&](const nlmsghdr* m) { return DecodeAddrMessage(m, &addrs); });
  if (!st.ok()) return NetlinkError("address dump", st);
  *local = AddressListSaysLocal(addrs, addr, dev);
  return Status::Ok();
}

Status LiveKernel::Links(std::vector<LinkInfo>* links) {
  links->clear();
  RequestBuffer buf{};
  nlmsghdr* nlh = BuildLinkDump(route_.NextSeq(), buf.data());
  NetlinkStatus st =
      Exchange(&route_, nlh, [&](const nlmsghdr* m) { return DecodeLinkMessage(m, links); });
  if (!st.ok()) return NetlinkError("link dump", st);
  return Status::Ok();
}

Status LiveKernel::Addresses(uint8_t family, std::vector<AddrInfo>* addrs) {
  addrs->clear();
  if (!ValidFamily(family)) return Status::Error("address dump: not AF_INET or AF_INET6");
  RequestBuffer buf{};
  nlmsghdr* nlh = BuildAddrDump(family, route_.NextSeq(), buf.data());
  NetlinkStatus st =
      Exchange(&route_, nlh, [&](const nlmsghdr* m) { return DecodeAddrMessage(m, addrs); });
  if (!st.ok()) return NetlinkError("address dump", st);
  return Status::Ok();
}

Status LiveKernel::Sockets(uint8_t l4proto, std::vector<InetSocket>* sockets) {
  sockets->clear();
  if (l4proto != IPPROTO_TCP && l4proto != IPPROTO_UDP) {
    return Status::Error("sockets: protocol " + std::to_string(l4proto) + " is not TCP or UDP");
  }
  const uint32_t states = l4proto == IPPROTO_TCP ? 1u << kTcpListen : kAllSocketStates;
  for (uint8_t family : {AF_INET, AF_INET6}) {
    RequestBuffer buf{};
    nlmsghdr* nlh = BuildInetDiagDump(family, l4proto, states, diag_.NextSeq(), buf.data());
    NetlinkStatus st =
        Exchange(&diag_, nlh, [&](const nlmsghdr* m) { return DecodeInetDiagMessage(m, sockets); });
    if (!st.ok()) return NetlinkError("sock_diag dump", st);
  }
  return Status::Ok();
}

Status LiveKernel::NetSysctl(const std::string& key, int64_t* value) {
  // A key names a file below sys/net, never a way out of it.
  if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos) {
    return Status::Error("sysctl: bad key \"" + key + "\"");
  }
  ReadResult r = ReadInt64(paths_.Proc("sys/net/" + key), value);
  switch (r.code) {
    case ReadResult::Code::kOk:
      return Status::Ok();
    case ReadResult::Code::kNotFound:
      return Status::NoData(r.error);
    case ReadResult::Code::kError:
      break;
  }
  return Status::Error(r.error);
}

}  // namespace portmap::pathtrace
