// LiveKernel and its netlink formats (netlink/rtroute, rtlink, sock_diag):
// decoders on hand-built messages, the pure matching rules, then read-only
// checks against the kernel of whatever namespace the test runs in.
//
// Routing checks for a lab namespace (skipped unless set), e.g. run as root:
//   ip netns exec NS portmap_pathtrace_tests --gtest_filter='LiveKernelLab*'
// with PORTMAP_LIVE_ROUTE_CASES holding ';'-separated cases
//   "IIF SRC DST EXPECT [mark=N] [proto=N] [sport=N] [dport=N] [table=N]"
//     EXPECT: local | unicast:OIFNAME | an errno name (EHOSTUNREACH, EXDEV,
//     EINVAL, ENETUNREACH, EACCES); table=N checks the table a route came from
// e.g. "vb0 203.0.113.2 198.51.100.2 unicast:va0;vb0 203.0.113.2 203.0.113.1 local".
#include "pathtrace/kernel_live.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace portmap::pathtrace {
namespace {

Addr A(const std::string& text) {
  Addr a;
  a.family = text.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  EXPECT_EQ(inet_pton(a.family, text.c_str(), a.bytes.data()), 1) << text;
  return a;
}

// A message being built or read: 4-byte aligned, as libmnl wants.
struct Msg {
  std::array<uint32_t, 256> words{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(words.data());
  template <typename T>
  T* Extra(uint16_t type) {
    nlh->nlmsg_type = type;
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)));
  }
  const nlattr* Attr(size_t header, uint16_t type) const {
    const nlattr* found = nullptr;
    const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, header));
    const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    for (; mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
         attr = mnl_attr_next(attr)) {
      if (mnl_attr_get_type(attr) == type) found = attr;
    }
    return found;
  }
};

constexpr uint8_t kV4 = 2;   // NFPROTO_IPV4
constexpr uint8_t kV6 = 10;  // NFPROTO_IPV6

TEST(RtRouteTest, LookupRequestCarriesWhatIsSet) {
  RouteLookup lk;
  lk.family = AF_INET;
  std::memcpy(lk.dst.data(), A("198.51.100.2").bytes.data(), 4);
  std::memcpy(lk.src.data(), A("203.0.113.2").bytes.data(), 4);
  lk.has_src = true;
  lk.iif = 7;
  lk.mark = 0x10;
  lk.ip_proto = IPPROTO_TCP;
  lk.dport = 8080;
  Msg m;
  m.nlh = BuildRouteLookup(lk, 42, m.words.data());
  EXPECT_EQ(m.nlh->nlmsg_type, RTM_GETROUTE);
  EXPECT_EQ(m.nlh->nlmsg_flags, NLM_F_REQUEST);  // a lookup, not a dump
  EXPECT_EQ(m.nlh->nlmsg_seq, 42u);
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m.nlh));
  EXPECT_EQ(rtm->rtm_family, AF_INET);
  EXPECT_EQ(rtm->rtm_dst_len, 32);
  EXPECT_EQ(rtm->rtm_src_len, 32);
  EXPECT_EQ(rtm->rtm_flags, RTM_F_LOOKUP_TABLE);
  ASSERT_NE(m.Attr(sizeof(rtmsg), RTA_DST), nullptr);
  EXPECT_EQ(std::memcmp(mnl_attr_get_payload(m.Attr(sizeof(rtmsg), RTA_DST)), lk.dst.data(), 4), 0);
  EXPECT_EQ(mnl_attr_get_u32(m.Attr(sizeof(rtmsg), RTA_IIF)), 7u);
  EXPECT_EQ(mnl_attr_get_u32(m.Attr(sizeof(rtmsg), RTA_MARK)), 0x10u);
  EXPECT_EQ(mnl_attr_get_u8(m.Attr(sizeof(rtmsg), RTA_IP_PROTO)), IPPROTO_TCP);
  EXPECT_EQ(mnl_attr_get_u16(m.Attr(sizeof(rtmsg), RTA_DPORT)), htons(8080));
  EXPECT_EQ(m.Attr(sizeof(rtmsg), RTA_SPORT), nullptr);
  lk.family = AF_INET6;
  lk.ip_proto = IPPROTO_SCTP;  // the kernel would answer EOPNOTSUPP
  lk.has_src = false;
  lk.iif = 0;
  m.nlh = BuildRouteLookup(lk, 43, m.words.data());
  rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m.nlh));
  EXPECT_EQ(rtm->rtm_dst_len, 128);
  EXPECT_EQ(rtm->rtm_flags, 0u);
  EXPECT_EQ(m.Attr(sizeof(rtmsg), RTA_IP_PROTO), nullptr);
  EXPECT_EQ(m.Attr(sizeof(rtmsg), RTA_SRC), nullptr);
  EXPECT_EQ(m.Attr(sizeof(rtmsg), RTA_IIF), nullptr);
}

TEST(RtRouteTest, DecodesNewRoute) {
  Msg m;
  auto* rtm = m.Extra<rtmsg>(RTM_NEWROUTE);
  rtm->rtm_family = AF_INET;
  rtm->rtm_type = RTN_UNICAST;
  rtm->rtm_dst_len = 32;
  rtm->rtm_table = RT_TABLE_MAIN;
  mnl_attr_put_u32(m.nlh, RTA_TABLE, 1000);
  mnl_attr_put(m.nlh, RTA_DST, 4, A("198.51.100.2").bytes.data());
  mnl_attr_put_u32(m.nlh, RTA_OIF, 5);
  mnl_attr_put(m.nlh, RTA_GATEWAY, 4, A("198.51.100.1").bytes.data());
  mnl_attr_put(m.nlh, RTA_PREFSRC, 4, A("198.51.100.9").bytes.data());
  mnl_attr_put_u32(m.nlh, 200, 1);  // unknown to this build: skipped
  std::vector<RouteInfo> routes;
  ASSERT_EQ(DecodeRouteMessage(m.nlh, &routes), MNL_CB_OK);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].type, RTN_UNICAST);
  EXPECT_EQ(routes[0].table, 1000u);  // RTA_TABLE wins over the 8-bit rtm_table
  EXPECT_EQ(routes[0].oif, 5u);
  EXPECT_EQ(routes[0].gateway_family, AF_INET);
  EXPECT_EQ(std::memcmp(routes[0].gateway.data(), A("198.51.100.1").bytes.data(), 4), 0);
  EXPECT_TRUE(routes[0].has_prefsrc);

  Msg via;  // an IPv4 route through an IPv6 next hop
  via.Extra<rtmsg>(RTM_NEWROUTE)->rtm_family = AF_INET;
  std::array<uint8_t, 18> v{};
  const uint16_t fam = AF_INET6;
  std::memcpy(v.data(), &fam, 2);
  std::memcpy(v.data() + 2, A("fe80::1").bytes.data(), 16);
  mnl_attr_put(via.nlh, RTA_VIA, v.size(), v.data());
  ASSERT_EQ(DecodeRouteMessage(via.nlh, &routes), MNL_CB_OK);
  EXPECT_EQ(routes[1].gateway_family, AF_INET6);
  EXPECT_EQ(routes[1].gateway, A("fe80::1").bytes);

  Msg bad;  // an IPv6 address in an IPv4 route
  bad.Extra<rtmsg>(RTM_NEWROUTE)->rtm_family = AF_INET;
  mnl_attr_put(bad.nlh, RTA_DST, 16, A("::1").bytes.data());
  EXPECT_EQ(DecodeRouteMessage(bad.nlh, &routes), MNL_CB_ERROR);
  EXPECT_EQ(routes.size(), 2u);
}

TEST(RtRouteTest, NlmsgErrorIsTheKernelsAnswer) {
  Msg m;
  m.nlh->nlmsg_seq = 9;
  m.Extra<nlmsgerr>(NLMSG_ERROR)->error = -EHOSTUNREACH;
  NetlinkStatus st;
  auto none = [](const nlmsghdr*) { return MNL_CB_OK; };
  EXPECT_EQ(RunNetlinkCallbacks(m.words.data(), m.nlh->nlmsg_len, 9, 0, none, &st), MNL_CB_ERROR);
  EXPECT_EQ(KernelErrno(st, false), EHOSTUNREACH);
  EXPECT_EQ(KernelErrno(st, true), 0);  // our callback failed, not the lookup
  // An answer to another request is a transport fault, not a route.
  RunNetlinkCallbacks(m.words.data(), m.nlh->nlmsg_len, 10, 0, none, &st);
  EXPECT_EQ(st.err, EPROTO);
  EXPECT_EQ(KernelErrno(st, false), 0);
  EXPECT_EQ(KernelErrno(NetlinkStatus::Errno(ETIMEDOUT, "netlink dump"), false), 0);
  EXPECT_EQ(KernelErrno(NetlinkStatus::Ok(), false), 0);
}

TEST(SockDiagTest, DecodesInetDiagMessage) {
  Msg req;
  req.nlh = BuildInetDiagDump(AF_INET6, IPPROTO_TCP, 1u << 10, 3, req.words.data());
  EXPECT_EQ(req.nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(req.nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  const auto* r = static_cast<const inet_diag_req_v2*>(mnl_nlmsg_get_payload(req.nlh));
  EXPECT_EQ(r->sdiag_family, AF_INET6);
  EXPECT_EQ(r->idiag_states, 1u << 10);

  Msg m;
  auto* d = m.Extra<inet_diag_msg>(SOCK_DIAG_BY_FAMILY);
  d->idiag_family = AF_INET6;
  d->idiag_state = 10;
  d->id.idiag_sport = htons(8080);
  d->id.idiag_if = 4;
  std::memcpy(d->id.idiag_src, A("2001:db8::1").bytes.data(), 16);
  d->idiag_inode = 1234;
  mnl_attr_put_u8(m.nlh, INET_DIAG_SKV6ONLY, 1);
  std::vector<InetSocket> socks;
  ASSERT_EQ(DecodeInetDiagMessage(m.nlh, &socks), MNL_CB_OK);
  ASSERT_EQ(socks.size(), 1u);
  EXPECT_EQ(socks[0].sport, 8080);
  EXPECT_EQ(socks[0].src, A("2001:db8::1").bytes);
  EXPECT_EQ(socks[0].bound_if, 4u);
  EXPECT_EQ(socks[0].v6only, true);
  EXPECT_EQ(socks[0].inode, 1234u);
  m.nlh->nlmsg_len = mnl_nlmsg_size(8);  // cut short
  EXPECT_EQ(DecodeInetDiagMessage(m.nlh, &socks), MNL_CB_ERROR);
}

TEST(RtLinkTest, DecodesLinkAndAddresses) {
  Msg req;
  req.nlh = BuildLinkGet(0, "eth0", 1, req.words.data());
  EXPECT_EQ(req.nlh->nlmsg_flags, NLM_F_REQUEST);
  EXPECT_STREQ(mnl_attr_get_str(req.Attr(sizeof(ifinfomsg), IFLA_IFNAME)), "eth0");
  EXPECT_EQ(BuildLinkGet(0, "a-name-too-long-for-ifnamsiz", 1, req.words.data()), nullptr);

  Msg m;
  auto* ifi = m.Extra<ifinfomsg>(RTM_NEWLINK);
  ifi->ifi_index = 3;
  ifi->ifi_type = ARPHRD_ETHER;
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, "veth0");
  std::vector<LinkInfo> links;
  ASSERT_EQ(DecodeLinkMessage(m.nlh, &links), MNL_CB_OK);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].index, 3u);
  EXPECT_EQ(links[0].name, "veth0");
  EXPECT_EQ(links[0].type, ARPHRD_ETHER);
  Msg nameless;
  nameless.Extra<ifinfomsg>(RTM_NEWLINK)->ifi_index = 3;
  EXPECT_EQ(DecodeLinkMessage(nameless.nlh, &links), MNL_CB_ERROR);

  Msg v4;  // point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer
  auto* ifa = v4.Extra<ifaddrmsg>(RTM_NEWADDR);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 32;
  ifa->ifa_index = 2;
  mnl_attr_put(v4.nlh, IFA_ADDRESS, 4, A("10.0.0.2").bytes.data());
  mnl_attr_put(v4.nlh, IFA_LOCAL, 4, A("10.0.0.1").bytes.data());
  Msg v6;
  ifa = v6.Extra<ifaddrmsg>(RTM_NEWADDR);
  ifa->ifa_family = AF_INET6;
  ifa->ifa_flags = IFA_F_TENTATIVE;
  mnl_attr_put(v6.nlh, IFA_ADDRESS, 16, A("2001:db8::2").bytes.data());
  mnl_attr_put_u32(v6.nlh, IFA_FLAGS, IFA_F_TENTATIVE | IFA_F_MANAGETEMPADDR);
  std::vector<AddrInfo> addrs;
  ASSERT_EQ(DecodeAddrMessage(v4.nlh, &addrs), MNL_CB_OK);
  ASSERT_EQ(DecodeAddrMessage(v6.nlh, &addrs), MNL_CB_OK);
  ASSERT_EQ(addrs.size(), 2u);
  EXPECT_EQ(std::memcmp(addrs[0].local.data(), A("10.0.0.1").bytes.data(), 4), 0);
  EXPECT_EQ(addrs[0].index, 2u);
  EXPECT_EQ(addrs[1].local, A("2001:db8::2").bytes);
  EXPECT_EQ(addrs[1].flags, IFA_F_TENTATIVE | IFA_F_MANAGETEMPADDR);  // IFA_FLAGS: 32 bits
}

InetSocket Sock(const std::string& addr, uint16_t port, uint8_t state = 10) {
  InetSocket s;
  Addr a = A(addr);
  s.family = a.family;
  s.src = a.bytes;
  s.sport = port;
  s.state = state;
  if (s.family == AF_INET6) s.v6only = false;
  return s;
}

TEST(SocketAcceptsTest, AddressRulesOfTheKernelsLookup) {
  const Addr v4 = A("192.0.2.10");
  EXPECT_TRUE(SocketAccepts(Sock("192.0.2.10", 80), kV4, IPPROTO_TCP, v4, 80));
  EXPECT_TRUE(SocketAccepts(Sock("0.0.0.0", 80), kV4, IPPROTO_TCP, v4, 80));
  EXPECT_FALSE(SocketAccepts(Sock("192.0.2.11", 80), kV4, IPPROTO_TCP, v4, 80));
  EXPECT_FALSE(SocketAccepts(Sock("0.0.0.0", 81), kV4, IPPROTO_TCP, v4, 80));
  EXPECT_FALSE(SocketAccepts(Sock("0.0.0.0", 80, 1), kV4, IPPROTO_TCP, v4, 80));  // not LISTEN
  EXPECT_TRUE(SocketAccepts(Sock("::", 80), kV4, IPPROTO_TCP, v4, 80));           // dual stack
  EXPECT_TRUE(SocketAccepts(Sock("::ffff:192.0.2.10", 80), kV4, IPPROTO_TCP, v4, 80));
  EXPECT_FALSE(SocketAccepts(Sock("2001:db8::1", 80), kV4, IPPROTO_TCP, v4, 80));
  InetSocket only6 = Sock("::", 80);
  only6.v6only = true;
  EXPECT_FALSE(SocketAccepts(only6, kV4, IPPROTO_TCP, v4, 80));
  const Addr v6 = A("2001:db8::1");
  EXPECT_TRUE(SocketAccepts(only6, kV6, IPPROTO_TCP, v6, 80));
  EXPECT_TRUE(SocketAccepts(Sock("2001:db8::1", 80), kV6, IPPROTO_TCP, v6, 80));
  EXPECT_FALSE(SocketAccepts(Sock("0.0.0.0", 80), kV6, IPPROTO_TCP, v6, 80));
  // UDP: bound (TCP_CLOSE), and not connected.
  EXPECT_TRUE(SocketAccepts(Sock("0.0.0.0", 53, 7), kV4, IPPROTO_UDP, v4, 53));
  InetSocket connected = Sock("192.0.2.10", 53, 1);
  connected.dport = 5353;
  std::memcpy(connected.dst.data(), A("192.0.2.99").bytes.data(), 4);
  EXPECT_FALSE(SocketAccepts(connected, kV4, IPPROTO_UDP, v4, 53));
}

RouteInfo LocalRoute(const std::string& dst, uint8_t len, uint8_t type, uint32_t oif,
                     uint32_t table = 255) {
  RouteInfo r;
  r.family = AF_INET;
  r.type = type;
  r.dst_len = len;
  r.table = table;
  r.oif = oif;
  std::memcpy(r.dst.data(), A(dst).bytes.data(), 4);
  return r;
}

TEST(LocalAddressTest, Ipv4LocalTableLongestPrefix) {
  const std::vector<RouteInfo> table{
      LocalRoute("127.0.0.0", 8, RTN_LOCAL, 1), LocalRoute("127.255.255.255", 32, RTN_BROADCAST, 1),
      LocalRoute("192.0.2.2", 32, RTN_LOCAL, 2), LocalRoute("192.0.2.255", 32, RTN_BROADCAST, 2),
      LocalRoute("192.0.2.0", 24, RTN_UNICAST, 2, 254)};  // main table: not an address type
  EXPECT_TRUE(LocalTableSaysLocal(table, A("127.0.0.1"), 0));
  EXPECT_TRUE(LocalTableSaysLocal(table, A("127.1.2.3"), 0));  // all of 127/8
  EXPECT_TRUE(LocalTableSaysLocal(table, A("127.1.2.3"), 1));
  EXPECT_FALSE(LocalTableSaysLocal(table, A("127.1.2.3"), 2));  // lo's, not eth's
  EXPECT_FALSE(LocalTableSaysLocal(table, A("127.255.255.255"), 0));
  EXPECT_TRUE(LocalTableSaysLocal(table, A("192.0.2.2"), 2));
  EXPECT_FALSE(LocalTableSaysLocal(table, A("192.0.2.2"), 3));
  EXPECT_FALSE(LocalTableSaysLocal(table, A("192.0.2.1"), 0));
}

TEST(LocalAddressTest, Ipv6AddressListLikeIpv6ChkAddr) {
  AddrInfo a;
  a.family = AF_INET6;
  a.index = 2;
  a.local = A("2001:db8::2").bytes;
  AddrInfo tentative = a;
  tentative.local = A("2001:db8::3").bytes;
  tentative.flags = IFA_F_TENTATIVE;
  AddrInfo optimistic = tentative;
  optimistic.local = A("2001:db8::4").bytes;
  optimistic.flags |= IFA_F_OPTIMISTIC;
  const std::vector<AddrInfo> addrs{a, tentative, optimistic};
  EXPECT_TRUE(AddressListSaysLocal(addrs, A("2001:db8::2"), 0));
  EXPECT_TRUE(AddressListSaysLocal(addrs, A("2001:db8::2"), 2));
  EXPECT_FALSE(AddressListSaysLocal(addrs, A("2001:db8::2"), 3));
  EXPECT_FALSE(AddressListSaysLocal(addrs, A("2001:db8::3"), 0));
  EXPECT_TRUE(AddressListSaysLocal(addrs, A("2001:db8::4"), 0));
}

// --- Live, read-only: the kernel of the namespace the test runs in. ---

// A namespace fresh from `ip netns add` has lo down: no 127.0.0.1 at all.
bool LoopbackUp() {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) != 0;
  if (fd >= 0) close(fd);
  return up;
}

std::unique_ptr<LiveKernel> OpenLive() {
  Status st;
  std::unique_ptr<LiveKernel> k = LiveKernel::Open(Paths{}, &st);
  EXPECT_TRUE(st.ok()) << st.message();
  return k;
}

TEST(LiveKernelTest, LoopbackRouteLinkAndAddress) {
  if (!LoopbackUp()) GTEST_SKIP() << "lo is down in this namespace";
  auto k = OpenLive();
  ASSERT_NE(k, nullptr);
  Interface lo;
  ASSERT_TRUE(k->LinkByName("lo", &lo).ok());
  EXPECT_EQ(lo.index, 1u);
  EXPECT_EQ(lo.type, ARPHRD_LOOPBACK);
  Interface by_index;
  ASSERT_TRUE(k->LinkByIndex(1, &by_index).ok());
  EXPECT_EQ(by_index.name, "lo");
  EXPECT_EQ(k->LinkByName("nosuchlink0", &by_index).code(), Status::Code::kNoData);
  EXPECT_EQ(k->LinkByIndex(0x7ffffff0, &by_index).code(), Status::Code::kNoData);
  EXPECT_EQ(k->LinkByIndex(0x80000001, &by_index).code(), Status::Code::kNoData);

  RouteQuery q;
  q.dst = A("127.0.0.1");
  RouteAnswer r;
  ASSERT_TRUE(k->Route(q, &r).ok());
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.type, RTN_LOCAL);
  EXPECT_EQ(r.oif, lo.index);
  // Without custom rules the kernel keeps table local merged into main.
  EXPECT_TRUE(r.table == RT_TABLE_LOCAL || r.table == RT_TABLE_MAIN) << r.table;
  q.iif = 0x7ffffff0;  // no such interface
  ASSERT_TRUE(k->Route(q, &r).ok());
  EXPECT_EQ(r.error, ENODEV);

  bool local = false;
  ASSERT_TRUE(k->IsLocalAddress(A("127.0.0.1"), 0, &local).ok());
  EXPECT_TRUE(local);
  ASSERT_TRUE(k->IsLocalAddress(A("127.0.0.1"), lo.index, &local).ok());
  EXPECT_TRUE(local);
  ASSERT_TRUE(k->IsLocalAddress(A("192.0.2.1"), 0, &local).ok());
  EXPECT_FALSE(local);
  int64_t forward = -1;
  ASSERT_TRUE(k->NetSysctl("ipv4/ip_forward", &forward).ok());
  EXPECT_TRUE(forward == 0 || forward == 1);
  EXPECT_EQ(k->NetSysctl("ipv4/conf/nosuchlink0/forwarding", &forward).code(),
            Status::Code::kNoData);
  EXPECT_EQ(k->NetSysctl("../../etc/passwd", &forward).code(), Status::Code::kError);
}

// A loopback destination arriving on lo is a martian (no route_localnet);
// so is a loopback source that is one of our addresses (no accept_local).
TEST(LiveKernelTest, InputLookupAnswersTheKernelsErrno) {
  if (!LoopbackUp()) GTEST_SKIP() << "lo is down in this namespace";
  auto k = OpenLive();
  ASSERT_NE(k, nullptr);
  int64_t v = 0;
  for (const char* key : {"ipv4/conf/all/route_localnet", "ipv4/conf/lo/route_localnet",
                          "ipv4/conf/all/accept_local", "ipv4/conf/lo/accept_local"}) {
    if (k->NetSysctl(key, &v).ok() && v != 0) GTEST_SKIP() << key << " is set here";
  }
  RouteQuery q;
  q.src = A("127.0.0.1");
  q.dst = A("127.0.0.1");
  q.iif = 1;
  RouteAnswer r;
  ASSERT_TRUE(k->Route(q, &r).ok());
  EXPECT_EQ(r.error, EINVAL);
}

// A socket the test opens; port 0 lets the kernel pick.
struct TestSocket {
  int fd = -1;
  uint16_t port = 0;
  TestSocket(int family, int type, const std::string& addr, bool listen_too) {
    fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      inet_pton(AF_INET, addr.c_str(), &sin->sin_addr);
      len = sizeof *sin;
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr);
      len = sizeof *sin6;
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        (listen_too && listen(fd, 1) != 0) ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      Close();
      return;
    }
    port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);  // same offset in sockaddr_in6
  }
  ~TestSocket() { Close(); }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

bool Listens(LiveKernel* k, uint8_t nfproto, uint8_t proto, const std::string& addr,
             uint16_t port) {
  bool listening = false;
  Status st = k->Listening(nfproto, proto, A(addr), port, &listening);
  EXPECT_TRUE(st.ok()) << st.message();
  return listening;
}

TEST(LiveKernelTest, ListeningSeesTheTestsOwnSockets) {
  if (!LoopbackUp()) GTEST_SKIP() << "lo is down in this namespace";
  auto k = OpenLive();
  ASSERT_NE(k, nullptr);
  TestSocket tcp(AF_INET, SOCK_STREAM, "127.0.0.1", true);
  ASSERT_GE(tcp.fd, 0);
  EXPECT_TRUE(Listens(k.get(), kV4, IPPROTO_TCP, "127.0.0.1", tcp.port));
  EXPECT_FALSE(Listens(k.get(), kV4, IPPROTO_TCP, "127.0.0.2", tcp.port));
  EXPECT_FALSE(Listens(k.get(), kV4, IPPROTO_UDP, "127.0.0.1", tcp.port));
  const uint16_t closed = tcp.port;
  tcp.Close();
  EXPECT_FALSE(Listens(k.get(), kV4, IPPROTO_TCP, "127.0.0.1", closed));

  TestSocket udp(AF_INET, SOCK_DGRAM, "127.0.0.1", false);
  ASSERT_GE(udp.fd, 0);
  EXPECT_TRUE(Listens(k.get(), kV4, IPPROTO_UDP, "127.0.0.1", udp.port));

  TestSocket mapped(AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", true);
  TestSocket v6(AF_INET6, SOCK_STREAM, "::1", true);
  if (mapped.fd < 0 || v6.fd < 0) GTEST_SKIP() << "no IPv6 here";
  EXPECT_TRUE(Listens(k.get(), kV4, IPPROTO_TCP, "127.0.0.1", mapped.port));
  EXPECT_FALSE(Listens(k.get(), kV6, IPPROTO_TCP, "::1", mapped.port));
  EXPECT_TRUE(Listens(k.get(), kV6, IPPROTO_TCP, "::1", v6.port));
  EXPECT_FALSE(Listens(k.get(), kV4, IPPROTO_TCP, "127.0.0.1", v6.port));
  bool local = false;
  ASSERT_TRUE(k->IsLocalAddress(A("::1"), 0, &local).ok());
  EXPECT_TRUE(local);
}

TEST(LiveKernelLab, RouteCasesFromEnvironment) {
  const char* cases = std::getenv("PORTMAP_LIVE_ROUTE_CASES");
  if (cases == nullptr) GTEST_SKIP() << "PORTMAP_LIVE_ROUTE_CASES is not set";
  auto k = OpenLive();
  ASSERT_NE(k, nullptr);
  std::stringstream all(cases);
  std::string line;
  while (std::getline(all, line, ';')) {
    std::istringstream in(line);
    std::string iif, src, dst, expect;
    ASSERT_TRUE(in >> iif >> src >> dst >> expect) << line;
    Interface in_link;
    ASSERT_TRUE(k->LinkByName(iif, &in_link).ok()) << iif;
    RouteQuery q;
    q.src = A(src);
    q.dst = A(dst);
    q.iif = in_link.index;
    uint32_t table = 0;
    for (std::string opt; in >> opt;) {
      const size_t eq = opt.find('=');
      ASSERT_NE(eq, std::string::npos) << opt;
      const auto n = static_cast<uint32_t>(std::stoul(opt.substr(eq + 1), nullptr, 0));
      const std::string key = opt.substr(0, eq);
      if (key == "mark") q.mark = n;
      if (key == "proto") q.l4proto = static_cast<uint8_t>(n);
      if (key == "sport") q.sport = static_cast<uint16_t>(n);
      if (key == "dport") q.dport = static_cast<uint16_t>(n);
      if (key == "table") table = n;
    }
    RouteAnswer r;
    ASSERT_TRUE(k->Route(q, &r).ok()) << line;
    if (expect == "local") {
      EXPECT_EQ(r.error, 0) << line << ": " << ErrnoText(r.error);
      EXPECT_EQ(r.type, RTN_LOCAL) << line;
    } else if (expect.rfind("unicast:", 0) == 0) {
      Interface out;
      ASSERT_TRUE(k->LinkByName(expect.substr(8), &out).ok()) << expect;
      EXPECT_EQ(r.error, 0) << line << ": " << ErrnoText(r.error);
      EXPECT_EQ(r.type, RTN_UNICAST) << line;
      EXPECT_EQ(r.oif, out.index) << line;
    } else {
      EXPECT_STREQ(r.error != 0 ? strerrorname_np(r.error) : "0", expect.c_str()) << line;
    }
    if (table != 0) {
      EXPECT_EQ(r.table, table) << line;
    }
  }
}

}  // namespace
}  // namespace portmap::pathtrace
