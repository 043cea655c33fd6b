#include "exporter/web/listen_address.h"

#include <gtest/gtest.h>

#include <string>

namespace portmap {
namespace {

using Family = ListenAddress::Family;

ListenAddress MustParse(const std::string& text) {
  ListenAddress out;
  Status status = ParseListenAddress(text, &out);
  EXPECT_TRUE(status.ok()) << text << ": " << status.message();
  return out;
}

// The error must quote the value and say what is wrong.
void ExpectBad(const std::string& text, const std::string& why) {
  ListenAddress out;
  Status status = ParseListenAddress(text, &out);
  ASSERT_FALSE(status.ok()) << text;
  EXPECT_NE(status.message().find("\"" + text + "\""), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(why), std::string::npos) << status.message();
}

TEST(ListenAddressTest, PortAloneMeansEveryIpv4AndIpv6Address) {
  ListenAddress a = MustParse(":9806");
  EXPECT_EQ(a.family, Family::kAny);
  EXPECT_EQ(a.host, "");
  EXPECT_EQ(a.port, 9806);
  EXPECT_TRUE(a.ServesIpv4());
  EXPECT_TRUE(a.ServesIpv6());
  EXPECT_EQ(a.Ipv4Address().ToString(), "0.0.0.0:9806");
  EXPECT_EQ(a.Ipv6Address().ToString(), "[::]:9806");
  EXPECT_EQ(a.ToString(), ":9806");
}

TEST(ListenAddressTest, Ipv4Wildcard) {
  ListenAddress a = MustParse("0.0.0.0:9806");
  EXPECT_EQ(a.family, Family::kIpv4);
  EXPECT_EQ(a.Ipv4Address().ToString(), "0.0.0.0:9806");
  EXPECT_FALSE(a.ServesIpv6());
  EXPECT_FALSE(a.Ipv6Address().ok());
}

TEST(ListenAddressTest, Ipv4Loopback) {
  ListenAddress a = MustParse("127.0.0.1:0");
  EXPECT_EQ(a.family, Family::kIpv4);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(a.Ipv4Address().ToString(), "127.0.0.1:0");
  EXPECT_EQ(a.ToString(), "127.0.0.1:0");
}

TEST(ListenAddressTest, LocalhostIs127001WithoutDns) {
  ListenAddress a = MustParse("localhost:9806");
  EXPECT_EQ(a.family, Family::kIpv4);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.Ipv4Address().ToString(), "127.0.0.1:9806");
}

TEST(ListenAddressTest, Ipv6Wildcard) {
  ListenAddress a = MustParse("[::]:9806");
  EXPECT_EQ(a.family, Family::kIpv6);
  EXPECT_EQ(a.host, "::");
  EXPECT_FALSE(a.ServesIpv4());
  EXPECT_FALSE(a.Ipv4Address().ok());
  EXPECT_EQ(a.Ipv6Address().ToString(), "[::]:9806");
}

TEST(ListenAddressTest, Ipv6Loopback) {
  ListenAddress a = MustParse("[::1]:9806");
  EXPECT_EQ(a.family, Family::kIpv6);
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 9806);
  SocketAddress s = a.Ipv6Address();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.family(), AF_INET6);
  EXPECT_EQ(s.port(), 9806);
  EXPECT_EQ(s.ToString(), "[::1]:9806");
  EXPECT_EQ(a.ToString(), "[::1]:9806");
}

TEST(ListenAddressTest, PortBounds) {
  EXPECT_EQ(MustParse(":0").port, 0);
  EXPECT_EQ(MustParse(":65535").port, 65535);
}

TEST(ListenAddressTest, ZoneByNameOrIndex) {
  // "lo" exists everywhere; a real deployment would name eth0 or similar.
  ListenAddress a = MustParse("[fe80::1%lo]:9806");
  EXPECT_EQ(a.family, Family::kIpv6);
  EXPECT_EQ(a.host, "fe80::1");
  EXPECT_NE(a.scope_id, 0u);
  EXPECT_EQ(a.Ipv6Address().ToString(), "[fe80::1%lo]:9806");
  EXPECT_EQ(MustParse("[fe80::1%1]:9806").scope_id, 1u);
}

TEST(ListenAddressTest, BadForms) {
  ExpectBad("", "empty");
  ExpectBad("9806", "missing ':'");
  ExpectBad(":99999", "not a number from 0 to 65535");
  ExpectBad(":65536", "not a number from 0 to 65535");
  ExpectBad(":-1", "not a number");
  ExpectBad(":+80", "not a number");
  ExpectBad(":80x", "not a number");
  ExpectBad("[::1", "missing ']'");
  ExpectBad("[::1]", "want \":PORT\"");
  ExpectBad("[::1]9806", "want \":PORT\"");
  ExpectBad("host:", "missing port");
  ExpectBad(":", "missing port");
  ExpectBad("example.com:9806", "not an IPv4 address");
  ExpectBad("256.0.0.1:9806", "not an IPv4 address");
  ExpectBad("::1:9806", "needs brackets");
  ExpectBad("::1]:9806", "needs brackets");
  ExpectBad("a]:9806", "unbalanced brackets");
  ExpectBad("[127.0.0.1]:9806", "brackets are for IPv6");
  ExpectBad("[nonsense]:9806", "not an IPv6 address");
  ExpectBad("[fe80::1%nosuchif0]:9806", "zone \"nosuchif0\"");
  ExpectBad("[fe80::1%]:9806", "zone \"\"");
}

TEST(SocketAddressTest, FamiliesAndPorts) {
  SocketAddress v4 = SocketAddress::Ipv4Loopback(80);
  EXPECT_EQ(v4.ToString(), "127.0.0.1:80");
  EXPECT_EQ(v4.size(), sizeof(sockaddr_in));
  v4.set_port(81);
  EXPECT_EQ(v4.port(), 81);
  SocketAddress v6 = SocketAddress::Ipv6Loopback(0);
  EXPECT_EQ(v6.ToString(), "[::1]:0");
  EXPECT_EQ(v6.size(), sizeof(sockaddr_in6));
  SocketAddress copy = SocketAddress::FromSockaddr(v6.data(), v6.size());
  EXPECT_EQ(copy.ToString(), "[::1]:0");
  EXPECT_FALSE(SocketAddress().ok());
  EXPECT_EQ(SocketAddress().size(), 0u);
}

}  // namespace
}  // namespace portmap
