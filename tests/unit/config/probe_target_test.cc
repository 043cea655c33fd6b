// ParseProbeTarget (every input /probe must answer 400 to), ResolveProbeTarget
// (literals, /etc/hosts' localhost, family choice).  ProbeAllowList is
// probe_allow_list_test.cc.
#include "config/probe_target.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <string>

namespace portmap {
namespace {

using std::chrono::milliseconds;

ProbeTarget Parse(std::string_view text) {
  ProbeTarget target;
  const Status status = ParseProbeTarget(text, &target);
  EXPECT_TRUE(status.ok()) << text << ": " << status.message();
  return target;
}

std::string ParseError(std::string_view text) {
  ProbeTarget target;
  const Status status = ParseProbeTarget(text, &target);
  EXPECT_FALSE(status.ok()) << "accepted: " << text;
  return status.message();
}

TEST(ProbeTargetParseTest, Accepts) {
  ProbeTarget t = Parse("1.2.3.4:5000");
  EXPECT_EQ(t.host, "1.2.3.4");
  EXPECT_EQ(t.port, 5000);
  EXPECT_TRUE(t.literal);

  t = Parse("[::1]:5000");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 5000);
  EXPECT_TRUE(t.literal);

  t = Parse("example.com:5000");
  EXPECT_EQ(t.host, "example.com");
  EXPECT_EQ(t.port, 5000);
  EXPECT_FALSE(t.literal);

  EXPECT_EQ(Parse("[2001:db8::ffff:1.2.3.4]:1").host, "2001:db8::ffff:1.2.3.4");
  EXPECT_EQ(Parse("localhost:65535").port, 65535);
  EXPECT_EQ(Parse("_svc.Registry-1.example.:443").host, "_svc.Registry-1.example.");
  EXPECT_FALSE(Parse("web1:80").literal);
}

// Five 50-character labels and one more: 256 characters, every label valid.
std::string LongName() {
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string(50, 'a') + ".";
  return name + "b";
}

TEST(ProbeTargetParseTest, RejectsWithPreciseMessages) {
  const struct {
    std::string text;
    std::string error;  // a part of the message
  } cases[] = {
      {"", "empty target"},
      {"host:", "no port"},
      {"host", "no port"},
      {":99999", "port \"99999\" is not a number in 1..65535"},
      {":0", "port \"0\" is not a number in 1..65535"},
      {"host:0", "port \"0\" is not a number in 1..65535"},
      {"host:99999999999999999999", "is not a number in 1..65535"},
      {":5000", "empty host"},
      {std::string(size_t{10} * 1024, 'a') + ":80", "10243 bytes long; the limit is 512"},
      {"%00", "contains '%' at offset 0"},
      {std::string("a\0b", 3), "NUL byte at offset 1"},
      {"a\tb:80", "control character 0x09 at offset 1"},
      {"a\x7f:80", "control character 0x7f"},
      {"host:http", "port \"http\" is not a number in 1..65535 (service names"},
      {"host:+80", "is not a number"},
      {"host:-1", "is not a number"},
      {"::1:5000", "an IPv6 address needs brackets, as in [::1]:5000"},
      {"2001:db8::1", "IPv6 address without a port; write [2001:db8::1]:PORT"},
      {"a:b:80", "host \"a:b\" contains ':'"},
      {"[::1]", "no port after ']'"},
      {"[::1]5000", "expected ':' after ']'"},
      {"[::1:5000", "'[' without ']'"},
      {"[]:80", "empty address in brackets"},
      {"[1.2.3.4]:80", "\"[1.2.3.4]\" is not a bracketed IPv6 address"},
      {"[fe80::1%eth0]:80", "IPv6 zones are not supported"},
      {"a]:80", "misplaced bracket"},
      {"ex ample:1", "contains whitespace (a space) at offset 2"},
      {"host:80 ", "contains whitespace"},
      {"http://host:80", "not a URL"},
      {"user@host:80", "contains '@'"},
      {"host?x:80", "contains '?'"},
      {"host#x:80", "contains '#'"},
      {"a..b:80", "empty label"},
      {".a:80", "empty label"},
      {"-a.example:80", "starts or ends with '-'"},
      {"a*b:80", "contains '*'"},
      {"h\xc3\xa9:80", "contains byte 0xc3"},
      {std::string(64, 'a') + ".example:80", "longer than 63 characters"},
      {LongName() + ":80", "host name is 256 characters long; the limit is 253"},
      {"1.2.3.999:80", "not a dotted-quad IPv4 address"},
      {"127.1:80", "not a dotted-quad IPv4 address"},
      {"2130706433:80", "not a dotted-quad IPv4 address"},
      {"0x7f000001:80", "not a dotted-quad IPv4 address"},
  };
  for (const auto& c : cases) {
    const std::string error = ParseError(c.text);
    EXPECT_NE(error.find(c.error), std::string::npos)
        << "input '" << c.text.substr(0, 40) << "': got '" << error << "', want '" << c.error
        << "'";
  }
}

TEST(ProbeTargetParseTest, FormatAddressPort) {
  sockaddr_storage ss{};
  auto& sin = reinterpret_cast<sockaddr_in&>(ss);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(5000);
  inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
  EXPECT_EQ(FormatAddressPort(ss), "192.0.2.7:5000");

  ss = {};
  auto& sin6 = reinterpret_cast<sockaddr_in6&>(ss);
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(443);
  inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
  EXPECT_EQ(FormatAddressPort(ss), "[2001:db8::1]:443");
}

Clock::time_point Soon() { return Clock::now() + milliseconds(2000); }

ProbeModule Module(IpProtocol preferred, bool fallback, std::string source = "") {
  ProbeModule module;
  module.preferred_ip_protocol = preferred;
  module.ip_protocol_fallback = fallback;
  module.source_ip_address = std::move(source);
  return module;
}

TEST(ProbeTargetResolveTest, Literals) {
  ResolvedTarget r;
  ASSERT_TRUE(ResolveProbeTarget(Parse("192.0.2.7:80"), ProbeModule{}, Soon(), &r).ok());
  EXPECT_EQ(FormatAddressPort(r.address), "192.0.2.7:80");
  EXPECT_EQ(r.address_len, sizeof(sockaddr_in));
  EXPECT_EQ(r.source_len, 0u);

  ASSERT_TRUE(ResolveProbeTarget(Parse("[2001:db8::1]:443"), ProbeModule{}, Soon(), &r).ok());
  EXPECT_EQ(FormatAddressPort(r.address), "[2001:db8::1]:443");
  EXPECT_EQ(r.address_len, sizeof(sockaddr_in6));

  // A literal of the other family is kept when falling back is allowed...
  ASSERT_TRUE(
      ResolveProbeTarget(Parse("192.0.2.7:80"), Module(IpProtocol::kIp6, true), Soon(), &r).ok());
  EXPECT_EQ(r.address.ss_family, AF_INET);
  // ...and refused when it is not.
  const Status s =
      ResolveProbeTarget(Parse("192.0.2.7:80"), Module(IpProtocol::kIp6, false), Soon(), &r);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("IPv4 address but the module wants IPv6"), std::string::npos)
      << s.message();
}

TEST(ProbeTargetResolveTest, LocalhostFromEtcHosts) {
  ResolvedTarget r;
  const Status s = ResolveProbeTarget(Parse("localhost:9100"), ProbeModule{}, Soon(), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(FormatAddressPort(r.address), "127.0.0.1:9100");
}

// Whether this host's resolver gives localhost an IPv6 address (Debian's
// /etc/hosts does, minimal containers often do not).
bool LocalhostHasIpv6() {
  addrinfo hints{};
  hints.ai_family = AF_INET6;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo("localhost", nullptr, &hints, &result) != 0) return false;
  freeaddrinfo(result);
  return true;
}

TEST(ProbeTargetResolveTest, PreferredIp6WithAndWithoutFallback) {
  const bool has_v6 = LocalhostHasIpv6();
  ResolvedTarget r;
  Status s = ResolveProbeTarget(Parse("localhost:80"), Module(IpProtocol::kIp6, true), Soon(), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(FormatAddressPort(r.address), has_v6 ? "[::1]:80" : "127.0.0.1:80");

  s = ResolveProbeTarget(Parse("localhost:80"), Module(IpProtocol::kIp6, false), Soon(), &r);
  EXPECT_EQ(s.ok(), has_v6) << s.message();
  if (has_v6) {
    EXPECT_EQ(FormatAddressPort(r.address), "[::1]:80");
  }
}

TEST(ProbeTargetResolveTest, SourceAddress) {
  ResolvedTarget r;
  Status s = ResolveProbeTarget(Parse("192.0.2.7:80"), Module(IpProtocol::kIp4, true, "127.0.0.1"),
                                Soon(), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(FormatAddressPort(r.source), "127.0.0.1:0");
  EXPECT_EQ(r.source_len, sizeof(sockaddr_in));

  s = ResolveProbeTarget(Parse("192.0.2.7:80"), Module(IpProtocol::kIp4, true, "::1"), Soon(), &r);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("source_ip_address ::1 is IPv6 but the target 192.0.2.7 resolved"),
            std::string::npos)
      << s.message();

  s = ResolveProbeTarget(Parse("192.0.2.7:80"), Module(IpProtocol::kIp4, true, "eth0"), Soon(), &r);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("\"eth0\" is not an IP address"), std::string::npos) << s.message();
}

TEST(ProbeTargetResolveTest, DeadlineAlreadyPassed) {
  ResolvedTarget r;
  for (const char* target : {"localhost:80", "192.0.2.7:80"}) {
    const Status s =
        ResolveProbeTarget(Parse(target), ProbeModule{}, Clock::now() - milliseconds(1), &r);
    EXPECT_FALSE(s.ok()) << target;
    EXPECT_NE(s.message().find("deadline passed"), std::string::npos) << s.message();
  }
}

// A name no resolver knows (.invalid is reserved): an error within the
// deadline, whether DNS answers NXDOMAIN or nothing at all.
TEST(ProbeTargetResolveTest, UnknownNameFailsByTheDeadline) {
  ResolvedTarget r;
  const auto started = Clock::now();
  const Status s = ResolveProbeTarget(Parse("no-such-host.invalid:80"), ProbeModule{},
                                      Clock::now() + milliseconds(300), &r);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("resolve no-such-host.invalid: "), std::string::npos) << s.message();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(3));
}

}  // namespace
}  // namespace portmap
