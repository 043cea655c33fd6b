// Which interfaces are uplinks and which client each one gets.
#include "collectors/verdict/uplinks.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "tests/unit/pathtrace/fakes.h"

namespace portmap {
namespace {

using pathtrace::Addr;
using pathtrace::AddrString;
using pathtrace::ParseAddr;
using pathtrace::RouteAnswer;
using pathtrace::RouteQuery;
using pathtrace::testing::AddressOf;
using pathtrace::testing::FakeKernel;
using pathtrace::testing::LinkOf;

// eth0 holds the default route; eth1 is a private network of its own.
class UplinksTest : public ::testing::Test {
 protected:
  UplinksTest() {
    k_.local_addrs = {*ParseAddr("198.51.100.1"), *ParseAddr("10.9.0.1"), *ParseAddr("10.9.0.2")};
    k_.link_dump = {LinkOf(1, "lo", IFF_UP | IFF_LOOPBACK),
                    LinkOf(2, "eth0", IFF_UP),
                    LinkOf(3, "eth1", IFF_UP),
                    LinkOf(4, "docker0", IFF_UP, "bridge"),
                    LinkOf(5, "br-0123456789ab", IFF_UP, "bridge"),
                    LinkOf(6, "veth7", IFF_UP, "veth", 4),
                    LinkOf(7, "eth2", 0),
                    LinkOf(8, "ens4", IFF_UP, "", 9),
                    LinkOf(9, "bridge1", IFF_UP, "bridge"),
                    LinkOf(10, "veth9", IFF_UP, "veth", 9),
                    LinkOf(11, "veth0", IFF_UP, "veth")};
    k_.addr_dump = {AddressOf(1, "127.0.0.1", 8),    AddressOf(2, "198.51.100.1", 24),
                    AddressOf(3, "10.9.0.1", 24),    AddressOf(3, "10.9.0.2", 24, IFA_F_SECONDARY),
                    AddressOf(4, "172.17.0.1", 16),  AddressOf(5, "172.18.0.1", 16),
                    AddressOf(7, "192.0.2.1", 24),   AddressOf(9, "192.0.2.129", 25),
                    AddressOf(11, "100.64.0.1", 24), AddressOf(2, "2001:db8:1::1", 64),
                    AddressOf(2, "fe80::1", 64)};
    k_.addr_dump[0].scope = RT_SCOPE_HOST;
    k_.addr_dump.back().scope = RT_SCOPE_LINK;
    k_.route = [](const RouteQuery& q) {
      RouteAnswer a;
      a.type = RTN_UNICAST;
      a.oif = 2;  // the default route
      if (q.dst.family == AF_INET && q.dst.bytes[0] == 10 && q.dst.bytes[1] == 9) a.oif = 3;
      if (q.dst == *ParseAddr("198.51.100.9")) a.oif = 3;  // an asymmetric host route
      if (q.dst.family == AF_INET && q.dst.bytes[0] == 100) a.oif = 11;
      return a;
    };
  }
  FakeKernel k_;
};

TEST_F(UplinksTest, InterfacesOfTheOutsideOnly) {
  std::vector<Uplink> u;
  ASSERT_TRUE(FindUplinks(&k_, AF_INET, {}, &u).ok());
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].link.name, "eth0");
  EXPECT_EQ(AddrString(u[0].addr), "198.51.100.1");
  EXPECT_EQ(u[1].link.name, "eth1");
  EXPECT_EQ(AddrString(u[1].addr), "10.9.0.1") << "the primary, not the secondary";
  EXPECT_EQ(u[2].link.name, "veth0") << "a veth of its own (LXC, kind) is a way in";
  // Not bridge1: a bridge with veth ports is a container network, whatever its name.

  ASSERT_TRUE(FindUplinks(&k_, AF_INET6, {}, &u).ok());
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(AddrString(u[0].addr), "2001:db8:1::1") << "global scope only";

  ASSERT_TRUE(FindUplinks(&k_, AF_INET, {"eth1", "docker0", "nope"}, &u).ok());
  ASSERT_EQ(u.size(), 2u) << "named interfaces are taken as named";
  EXPECT_EQ(u[1].link.name, "docker0");
}

TEST_F(UplinksTest, DefaultClients) {
  std::vector<TraceOrigin> o;
  std::vector<std::string> skipped;
  ASSERT_TRUE(FindOrigins(&k_, AF_INET, {"eth0", "eth1"}, {}, &o, &skipped).ok());
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(AddrString(o[0].client), "203.0.113.7") << "eth0 holds the default route";
  EXPECT_EQ(AddrString(o[1].client), "10.9.0.3")
      << "eth1: the first address of its subnet that is not the host's";
  ASSERT_TRUE(FindOrigins(&k_, AF_INET6, {}, {}, &o, &skipped).ok());
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(AddrString(o[0].client), "2001:db8:ffff::7");
}

TEST_F(UplinksTest, ConfiguredSourcesArriveWhereTheyRouteBack) {
  std::vector<TraceOrigin> o;
  std::vector<std::string> skipped;
  ASSERT_TRUE(FindOrigins(&k_, AF_INET, {"eth0", "eth1"},
                          {"10.9.0.77", "192.0.2.200", "2001:db8::9", "198.51.100.9", "10.9.0.3"},
                          &o, &skipped)
                  .ok());
  ASSERT_EQ(o.size(), 5u) << "two defaults and three IPv4 sources; 10.9.0.3 is a default";
  EXPECT_EQ(o[2].uplink.link.name, "eth1");
  EXPECT_EQ(AddrString(o[2].client), "10.9.0.77");
  EXPECT_EQ(o[3].uplink.link.name, "eth0") << "routed back through eth0";
  EXPECT_EQ(o[4].uplink.link.name, "eth0")
      << "198.51.100.9 is on eth0's subnet: it arrives there, whatever the route back";
}

TEST_F(UplinksTest, NarrowSubnets) {
  Uplink u;
  u.link.index = 3;
  u.addr = *ParseAddr("10.9.0.1");
  Addr c;
  u.prefixlen = 32;
  EXPECT_FALSE(DefaultClient(&k_, u, &c));
  u.prefixlen = 31;
  ASSERT_TRUE(DefaultClient(&k_, u, &c));
  EXPECT_EQ(AddrString(c), "10.9.0.0") << "the peer of a /31";
}

TEST(DockerInterfaceNameTest, Names) {
  EXPECT_TRUE(IsDockerInterfaceName("docker0"));
  EXPECT_TRUE(IsDockerInterfaceName("docker_gwbridge"));
  EXPECT_TRUE(IsDockerInterfaceName("br-0123456789ab"));
  EXPECT_FALSE(IsDockerInterfaceName("br-lan"));
  EXPECT_FALSE(IsDockerInterfaceName("br0"));
  EXPECT_FALSE(IsDockerInterfaceName("eth0"));
}

}  // namespace
}  // namespace portmap
