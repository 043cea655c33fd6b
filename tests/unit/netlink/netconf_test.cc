// The netconf decoder on datagrams recorded from a real kernel (see
// tests/fixtures/netconf/README.md for how they were recorded).
#include "netlink/netconf.h"

#include <gtest/gtest.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace portmap {
namespace {

using Datagram = std::vector<uint8_t>;

// One datagram per line, as hex; '#' starts a comment line.
std::vector<Datagram> LoadHex(const std::string& name) {
  std::ifstream in(std::string(PORTMAP_FIXTURES) + "/netconf/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<Datagram> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Datagram d;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      d.push_back(static_cast<uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<NetconfEvent> DecodeAll(const std::string& name) {
  std::vector<NetconfEvent> events;
  for (const Datagram& d : LoadHex(name)) {
    NetlinkStatus st = DecodeNetconf(d.data(), d.size(), &events);
    EXPECT_TRUE(st.ok()) << name << ": " << st.message;
  }
  return events;
}

const NetconfEvent* Find(const std::vector<NetconfEvent>& events, int ifindex) {
  for (const NetconfEvent& e : events) {
    if (e.ifindex == ifindex) return &e;
  }
  return nullptr;
}

TEST(NetconfTest, Ipv4ForwardOnNotifiesAllDefaultAndEveryInterface) {
  std::vector<NetconfEvent> events = DecodeAll("ipv4_forward_on.hex");
  ASSERT_EQ(events.size(), 4u);  // all, default, lo, the bridge
  const NetconfEvent* all = Find(events, kIfindexAll);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->family, AF_INET);
  EXPECT_FALSE(all->deleted);
  EXPECT_EQ(all->forwarding, 1);
  ASSERT_NE(Find(events, kIfindexDefault), nullptr);
  for (const NetconfEvent& e : events) EXPECT_EQ(e.forwarding, 1);
}

TEST(NetconfTest, Ipv4ForwardOffAndAllForwardingAlias) {
  std::vector<NetconfEvent> off = DecodeAll("ipv4_forward_off.hex");
  ASSERT_NE(Find(off, kIfindexAll), nullptr);
  EXPECT_EQ(Find(off, kIfindexAll)->forwarding, 0);
  // Writing conf/all/forwarding notifies exactly like ip_forward.
  std::vector<NetconfEvent> on = DecodeAll("ipv4_all_forwarding_on.hex");
  ASSERT_NE(Find(on, kIfindexAll), nullptr);
  EXPECT_EQ(Find(on, kIfindexAll)->forwarding, 1);
}

TEST(NetconfTest, PerInterfaceChangeCarriesOnlyThatInterface) {
  std::vector<NetconfEvent> events = DecodeAll("ipv4_iface_forward_off.hex");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_GT(events[0].ifindex, 0);
  EXPECT_EQ(events[0].forwarding, 0);
}

TEST(NetconfTest, OtherValuesCarryNoForwarding) {
  std::vector<NetconfEvent> events = DecodeAll("ipv4_rp_filter.hex");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].forwarding.has_value());
}

TEST(NetconfTest, Ipv6Flips) {
  std::vector<NetconfEvent> on = DecodeAll("ipv6_forward_on.hex");
  const NetconfEvent* all = Find(on, kIfindexAll);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->family, AF_INET6);
  EXPECT_EQ(all->forwarding, 1);
  std::vector<NetconfEvent> off = DecodeAll("ipv6_forward_off.hex");
  ASSERT_NE(Find(off, kIfindexAll), nullptr);
  EXPECT_EQ(Find(off, kIfindexAll)->forwarding, 0);
}

TEST(NetconfTest, DumpReplyEndsWithDone) {
  // A dump datagram holds several messages and NLMSG_DONE; mnl_cb_run stops
  // there and every RTM_NEWNETCONF before it is decoded.
  std::vector<NetconfEvent> v4 = DecodeAll("dump4.hex");
  EXPECT_GE(v4.size(), 3u);
  ASSERT_NE(Find(v4, kIfindexAll), nullptr);
  for (const NetconfEvent& e : v4) EXPECT_EQ(e.family, AF_INET);
  std::vector<NetconfEvent> v6 = DecodeAll("dump6.hex");
  ASSERT_NE(Find(v6, kIfindexAll), nullptr);
}

TEST(NetconfTest, InterfaceDeletion) {
  std::vector<NetconfEvent> events = DecodeAll("iface_delete.hex");
  ASSERT_EQ(events.size(), 2u);  // IPv4 and IPv6
  for (const NetconfEvent& e : events) {
    EXPECT_TRUE(e.deleted);
    EXPECT_GT(e.ifindex, 0);
  }
}

TEST(NetconfTest, UnalignedBufferDecodes) {
  Datagram d = LoadHex("ipv4_forward_on.hex").at(0);
  Datagram shifted(d.size() + 1);
  std::copy(d.begin(), d.end(), shifted.begin() + 1);
  std::vector<NetconfEvent> events;
  EXPECT_TRUE(DecodeNetconf(shifted.data() + 1, d.size(), &events).ok());
  EXPECT_EQ(events.size(), 1u);
}

TEST(NetconfTest, TruncatedMessageIsIgnoredNotOverread) {
  Datagram d = LoadHex("ipv4_forward_on.hex").at(0);
  std::vector<NetconfEvent> events;
  // nlmsg_len says more than the buffer holds: libmnl stops, nothing decoded.
  DecodeNetconf(d.data(), d.size() - 4, &events);
  EXPECT_TRUE(events.empty());
}

TEST(NetconfTest, WrongAttributeSizeIsAnError) {
  Datagram d = LoadHex("ipv4_forward_on.hex").at(0);
  // The NETCONFA_IFINDEX attribute is at offset 20 (16 header + 4 netconfmsg):
  // shrink its nla_len from 8 to 6, so it is no longer a u32.
  ASSERT_EQ(d[20], 8);
  d[20] = 6;
  std::vector<NetconfEvent> events;
  NetlinkStatus st = DecodeNetconf(d.data(), d.size(), &events);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(events.empty());
}

TEST(NetconfTest, UnknownAttributesAreSkipped) {
  Datagram d = LoadHex("ipv4_forward_on.hex").at(0);
  // Turn NETCONFA_FORWARDING (type 2, at offset 28 + 2) into a type from the
  // future: the message still decodes, without a forwarding value.
  ASSERT_EQ(d[30], NETCONFA_FORWARDING);
  d[30] = 200;
  std::vector<NetconfEvent> events;
  EXPECT_TRUE(DecodeNetconf(d.data(), d.size(), &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].forwarding.has_value());
}

TEST(NetconfTest, LengthAboveIntMaxNeverReachesLibmnl) {
  // libmnl 1.0.4 casts nlmsg_len to int: 0x80000000 passed its bounds check
  // and the next header was read out of bounds (found by netconf_fuzz).
  Datagram d = LoadHex("ipv4_forward_on.hex").at(0);
  Datagram two = d;
  two.insert(two.end(), d.begin(), d.end());
  two[d.size() + 3] = 0x80;  // second message: nlmsg_len = 0x80000024
  std::vector<NetconfEvent> events;
  NetlinkStatus st = DecodeNetconf(two.data(), two.size(), &events);
  EXPECT_EQ(st.err, EBADMSG);
  EXPECT_EQ(events.size(), 1u);  // the whole first message still counts
}

TEST(NetconfTest, OtherMessageTypesAreIgnored) {
  Datagram d = LoadHex("ipv4_forward_on.hex").at(0);
  d[4] = RTM_NEWLINK;
  d[5] = 0;
  std::vector<NetconfEvent> events;
  EXPECT_TRUE(DecodeNetconf(d.data(), d.size(), &events).ok());
  EXPECT_TRUE(events.empty());
}

// The dump loop against the running kernel: RTM_GETNETCONF needs no
// privilege, and every namespace has the "all" entry.
TEST(NetlinkSocketTest, DumpsNetconfFromTheKernel) {
  NetlinkStatus st;
  NetlinkSocket sock = NetlinkSocket::Open(NETLINK_ROUTE, &st);
  ASSERT_TRUE(st.ok()) << st.message;
  std::array<char, 64> req{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(req.data());
  nlh->nlmsg_type = RTM_GETNETCONF;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = sock.NextSeq();
  auto* ncm = static_cast<netconfmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(netconfmsg)));
  ncm->ncm_family = AF_INET;
  std::vector<NetconfEvent> events;
  st = sock.Dump(
      nlh, [&](const nlmsghdr* m) { return DecodeNetconfMessage(m, &events); },
      std::chrono::steady_clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(st.ok()) << st.message;
  ASSERT_NE(Find(events, kIfindexAll), nullptr);
  EXPECT_TRUE(Find(events, kIfindexAll)->forwarding.has_value());

  NetlinkSocket moved = std::move(sock);
  // A moved-from socket is empty (checking that is the point here).
  EXPECT_FALSE(sock.valid());  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_TRUE(moved.valid());
}

TEST(NetlinkSocketTest, ReceiveEventsReturnsWhenWoken) {
  NetlinkStatus st;
  NetlinkSocket sock = NetlinkSocket::Open(NETLINK_ROUTE, &st);
  ASSERT_TRUE(st.ok()) << st.message;
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe(pipe_fds.data()), 0);
  ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
  bool woken = false;
  st = sock.ReceiveEvents(
      pipe_fds[0], std::chrono::milliseconds(5000), [](const nlmsghdr*) { return MNL_CB_OK; },
      &woken);
  EXPECT_TRUE(st.ok());
  EXPECT_TRUE(woken);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

}  // namespace
}  // namespace portmap
