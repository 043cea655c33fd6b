// The packet's header bytes are what a payload load of the real packet reads.
#include "pathtrace/packet.h"

#include <gtest/gtest.h>

namespace portmap::pathtrace {
namespace {

TEST(PacketTest, Ipv4TcpHeaders) {
  Packet p;
  p.saddr = *ParseAddr("198.51.100.2");
  p.daddr = *ParseAddr("198.51.100.1");
  p.sport = 40000;
  p.dport = 5000;
  const auto ip = p.NetworkHeader();
  ASSERT_EQ(ip.size(), 20U);
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(ip[9], 6);
  EXPECT_EQ(ip[12], 198);
  EXPECT_EQ(ip[19], 1);
  const auto tcp = p.TransportHeader();
  ASSERT_EQ(tcp.size(), 20U);
  EXPECT_EQ((tcp[2] << 8) | tcp[3], 5000);
  EXPECT_EQ(tcp[13], 0x02);  // SYN
  EXPECT_EQ(DescribePacket(p), "tcp 198.51.100.2:40000 -> 198.51.100.1:5000");
}

TEST(PacketTest, Ipv6UdpHeaders) {
  Packet p;
  p.nfproto = 10;
  p.l4proto = 17;
  p.saddr = *ParseAddr("2001:db8::2");
  p.daddr = *ParseAddr("2001:db8::1");
  p.dport = 53;
  const auto ip = p.NetworkHeader();
  ASSERT_EQ(ip.size(), 40U);
  EXPECT_EQ(ip[6], 17);
  EXPECT_EQ(ip[39], 1);
  EXPECT_EQ(p.TransportHeader().size(), 8U);
  EXPECT_EQ(DescribePacket(p), "udp [2001:db8::2]:0 -> [2001:db8::1]:53");
}

TEST(PacketTest, ParseAddrRejectsNames) {
  EXPECT_FALSE(ParseAddr("localhost").has_value());
  EXPECT_EQ(AddrString(*ParseAddr("::ffff:192.0.2.1")), "::ffff:192.0.2.1");
}

}  // namespace
}  // namespace portmap::pathtrace
