#include "config/verdict_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace portmap {
namespace {

using testing::StartsWith;
using Strings = std::vector<std::string>;
using Ports = std::vector<VerdictPort>;

std::string ParseError(const std::string& yaml) {
  ProbeConfig config;
  Status status = ParseConfig(yaml, "f.yml", &config);
  EXPECT_FALSE(status.ok()) << "no error for:\n" << yaml;
  return status.message();
}

VerdictConfig ParseOk(const std::string& yaml) {
  ProbeConfig config;
  Status status = ParseConfig(yaml, "f.yml", &config);
  EXPECT_TRUE(status.ok()) << status.message();
  return config.verdict;
}

void ExpectEmpty(const VerdictConfig& verdict) {
  EXPECT_TRUE(verdict.sources.empty());
  EXPECT_TRUE(verdict.interfaces.empty());
  EXPECT_TRUE(verdict.ports.empty());
}

TEST(VerdictConfigTest, FullSection) {
  const VerdictConfig verdict = ParseOk(R"(verdict:
  sources: [203.0.113.50, "2001:DB8:1:0::9", 10.1.2.3]
  interfaces:
    - eth0
    - bond0.100
    - abcdefghijklmno
  ports: ["5000/tcp", 53/udp, 5000/udp, 9/sctp, 65535/tcp]
)");
  EXPECT_EQ(verdict.sources, (Strings{"203.0.113.50", "2001:db8:1::9", "10.1.2.3"}));
  EXPECT_EQ(verdict.interfaces, (Strings{"eth0", "bond0.100", "abcdefghijklmno"}));
  EXPECT_EQ(verdict.ports,
            (Ports{{"tcp", 5000}, {"udp", 53}, {"udp", 5000}, {"sctp", 9}, {"tcp", 65535}}));
}

TEST(VerdictConfigTest, AbsentOrEmptyIsDefaults) {
  ExpectEmpty(ParseOk(""));
  ExpectEmpty(ParseOk("discovery: {}\n"));
  ExpectEmpty(ParseOk("verdict:\n"));
  ExpectEmpty(ParseOk("verdict: {}\n"));
  ExpectEmpty(ParseOk("verdict: {sources: [], interfaces:, ports: []}\n"));
  ExpectEmpty(DefaultProbeConfig().verdict);
}

TEST(VerdictConfigErrorTest, Shape) {
  EXPECT_EQ(ParseError("verdict:\n  source: [203.0.113.50]\n"),
            "f.yml:2:3: unknown key \"source\" in verdict");
  EXPECT_EQ(ParseError("verdict:\n  ports: []\n  ports: []\n"),
            "f.yml:3:3: duplicate key \"ports\" in verdict");
  EXPECT_EQ(ParseError("verdict: [eth0]\n"), "f.yml:1:10: verdict must be a mapping, not a list");
  EXPECT_EQ(ParseError("verdict:\n  interfaces: eth0\n"),
            "f.yml:2:15: verdict.interfaces must be a list, not a scalar");
  EXPECT_EQ(ParseError("verdict:\n  sources: {a: 1}\n"),
            "f.yml:2:12: verdict.sources must be a list, not a mapping");
  EXPECT_EQ(ParseError("verdict:\n  sources: [[203.0.113.50]]\n"),
            "f.yml:2:13: verdict.sources[0] must be a string, not a list");
  EXPECT_EQ(ParseError("verdict:\n  ports:\n    - 5000/tcp\n    -\n"),
            "f.yml:3:5: verdict.ports[1] must be a string, not nothing");
}

TEST(VerdictConfigErrorTest, Sources) {
  EXPECT_EQ(ParseError("verdict:\n  sources: [client.example.com]\n"),
            "f.yml:2:13: verdict.sources[0] \"client.example.com\" is not a literal IPv4 or "
            "IPv6 address (host names are not looked up)");
  EXPECT_EQ(ParseError("verdict:\n  sources: [203.0.113.50, 10.0.0.0/8]\n"),
            "f.yml:2:27: verdict.sources[1] \"10.0.0.0/8\" is a network, not one address (give "
            "the client's address)");
  EXPECT_EQ(ParseError("verdict:\n  sources: [\"::ffff:10.1.2.3\"]\n"),
            "f.yml:2:13: verdict.sources[0] \"::ffff:10.1.2.3\" is an IPv4-mapped IPv6 address "
            "(give the IPv4 address)");
  EXPECT_EQ(ParseError("verdict:\n  sources: [127.0.0.1]\n"),
            "f.yml:2:13: verdict.sources[0] \"127.0.0.1\" is a loopback address, which no packet "
            "from another host comes from");
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "fe80::1%eth0", "[2001:db8::1]",
                          "2001:db8::1::2", "", "0.0.0.0", "0.1.2.3", "224.0.0.1",
                          "239.255.255.250", "255.255.255.255", "::", "::1", "ff02::1"}) {
    EXPECT_THAT(ParseError("verdict:\n  sources: [\"" + std::string(bad) + "\"]\n"),
                StartsWith("f.yml:2:13: verdict.sources[0] \"" + std::string(bad) + "\" is "))
        << bad;
  }
  std::string normalized;
  EXPECT_FALSE(NormalizeVerdictSource(std::string("1.2.3.4\0x", 9), &normalized).ok());
  EXPECT_TRUE(NormalizeVerdictSource("2001:0db8::0001", &normalized).ok());
  EXPECT_EQ(normalized, "2001:db8::1");
}

TEST(VerdictConfigErrorTest, DuplicateSourcesAfterNormalizing) {
  EXPECT_EQ(ParseError("verdict:\n  sources:\n    - \"2001:db8::9\"\n    - 203.0.113.50\n"
                       "    - \"2001:DB8:0:0::9\"\n"),
            "f.yml:5:7: duplicate source \"2001:DB8:0:0::9\" in verdict.sources (the same as "
            "verdict.sources[0], line 3)");
}

TEST(VerdictConfigErrorTest, Interfaces) {
  EXPECT_EQ(ParseError("verdict:\n  interfaces: [eth0, abcdefghijklmnop]\n"),
            "f.yml:2:22: verdict.interfaces[1] \"abcdefghijklmnop\" is longer than 15 "
            "characters, the kernel's limit for an interface name");
  EXPECT_EQ(ParseError("verdict:\n  interfaces: [\"eth0:1\"]\n"),
            "f.yml:2:16: verdict.interfaces[0] \"eth0:1\" contains ':', which an interface name "
            "cannot (eth0:1 is an address label on eth0)");
  EXPECT_EQ(ParseError("verdict:\n  interfaces: [\"\"]\n"),
            "f.yml:2:16: verdict.interfaces[0] \"\" is empty");
  EXPECT_EQ(ParseError("verdict:\n  interfaces: [..]\n"),
            "f.yml:2:16: verdict.interfaces[0] \"..\" is not an interface name");
  EXPECT_EQ(ParseError("verdict:\n  interfaces: [eth0/1]\n"),
            "f.yml:2:16: verdict.interfaces[0] \"eth0/1\" contains '/', which an interface name "
            "cannot");
  EXPECT_EQ(ParseError("verdict:\n  interfaces: [\"eth 0\"]\n"),
            "f.yml:2:16: verdict.interfaces[0] \"eth 0\" contains whitespace or a control "
            "character");
  for (const char* bad : {".", "eth0\t",
                          "\x7f"
                          "eth0",
                          "e\\x01th"}) {
    std::string yaml = "verdict:\n  interfaces: [\"" + std::string(bad) + "\"]\n";
    EXPECT_THAT(ParseError(yaml), StartsWith("f.yml:2:16: verdict.interfaces[0] ")) << bad;
  }
  EXPECT_FALSE(CheckInterfaceName(std::string("eth0\0", 5)).ok());
  EXPECT_EQ(ParseError("verdict:\n  interfaces: [eth0, bond0, eth0]\n"),
            "f.yml:2:29: duplicate interface \"eth0\" in verdict.interfaces (the same as "
            "verdict.interfaces[0], line 2)");
}

TEST(VerdictConfigErrorTest, Ports) {
  EXPECT_EQ(ParseError("verdict:\n  ports: [5000]\n"),
            "f.yml:2:11: verdict.ports[0] \"5000\" is not PORT/PROTO (e.g. 5000/tcp, 53/udp)");
  EXPECT_EQ(ParseError("verdict:\n  ports: [0/tcp]\n"),
            "f.yml:2:11: verdict.ports[0] \"0/tcp\" has a port that is not a number in 1..65535");
  EXPECT_EQ(ParseError("verdict:\n  ports: [5000/icmp]\n"),
            "f.yml:2:11: verdict.ports[0] \"5000/icmp\" has a protocol that is not tcp, udp or "
            "sctp");
  for (const char* bad :
       {"65536/tcp", "99999999999/tcp", "http/tcp", "/tcp", "-1/tcp", "+80/tcp", " 80/tcp",
        "80 /tcp", "5000/", "5000/TCP", "5000/tcp/udp", "5000-5001/tcp", "tcp/5000"}) {
    EXPECT_THAT(ParseError("verdict:\n  ports: [\"" + std::string(bad) + "\"]\n"),
                StartsWith("f.yml:2:11: verdict.ports[0] \"" + std::string(bad) + "\" "))
        << bad;
  }
  EXPECT_EQ(ParseError("verdict:\n  ports: [5000/tcp, 5000/udp, 5000/tcp]\n"),
            "f.yml:2:31: duplicate port \"5000/tcp\" in verdict.ports (the same as "
            "verdict.ports[0], line 2)");
  VerdictPort port;
  ASSERT_TRUE(ParseVerdictPort("05000/tcp", &port).ok());
  EXPECT_EQ(port, (VerdictPort{"tcp", 5000}));
}

}  // namespace
}  // namespace portmap
