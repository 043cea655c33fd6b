// ProbeAllowList (--probe.allow): names, networks, single addresses,
// IPv4-mapped IPv6, and the errors for malformed entries.
#include "collectors/probe/allow_list.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portmap {
namespace {

ProbeAllowList Allow(const std::vector<std::string>& entries) {
  ProbeAllowList list;
  const Status s = ProbeAllowList::Parse(entries, &list);
  EXPECT_TRUE(s.ok()) << s.message();
  return list;
}

sockaddr_storage Address(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in&>(ss).sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6&>(ss).sin6_addr) == 1) {
    ss.ss_family = AF_INET6;
  }
  return ss;
}

TEST(ProbeAllowListTest, EmptyAllowsEverything) {
  const ProbeAllowList list = Allow({});
  EXPECT_TRUE(list.AllowsAll());
  EXPECT_TRUE(list.AllowsName("anything.example"));
  EXPECT_TRUE(list.AllowsAddress(Address("203.0.113.1")));
}

TEST(ProbeAllowListTest, NamesAreCaseInsensitive) {
  const ProbeAllowList list = Allow({"Registry.Example.com", "db1"});
  EXPECT_FALSE(list.AllowsAll());
  EXPECT_TRUE(list.AllowsName("registry.example.com"));
  EXPECT_TRUE(list.AllowsName("REGISTRY.EXAMPLE.COM."));
  EXPECT_TRUE(list.AllowsName("db1"));
  EXPECT_FALSE(list.AllowsName("db2"));
  EXPECT_FALSE(list.AllowsName("example.com"));
  EXPECT_FALSE(list.AllowsAddress(Address("127.0.0.1")));  // no networks listed
}

TEST(ProbeAllowListTest, NetworksAndAddresses) {
  const ProbeAllowList list =
      Allow({"198.51.100.0/25", "10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"});
  EXPECT_TRUE(list.AllowsAddress(Address("198.51.100.0")));
  EXPECT_TRUE(list.AllowsAddress(Address("198.51.100.127")));
  EXPECT_FALSE(list.AllowsAddress(Address("198.51.100.128")));
  EXPECT_TRUE(list.AllowsAddress(Address("10.255.1.2")));
  EXPECT_FALSE(list.AllowsAddress(Address("11.0.0.1")));
  EXPECT_TRUE(list.AllowsAddress(Address("192.0.2.7")));
  EXPECT_FALSE(list.AllowsAddress(Address("192.0.2.8")));
  EXPECT_TRUE(list.AllowsAddress(Address("2001:db8:ffff::1")));
  EXPECT_FALSE(list.AllowsAddress(Address("2001:db9::1")));
  EXPECT_TRUE(list.AllowsAddress(Address("::1")));
  EXPECT_FALSE(list.AllowsAddress(Address("::2")));
  // IPv4-mapped IPv6 is the IPv4 address it carries, both ways.
  EXPECT_TRUE(list.AllowsAddress(Address("::ffff:10.1.2.3")));
  EXPECT_FALSE(list.AllowsAddress(Address("::ffff:11.1.2.3")));
  const ProbeAllowList mapped = Allow({"::ffff:172.16.0.0/108"});
  EXPECT_TRUE(mapped.AllowsAddress(Address("172.16.5.5")));
  EXPECT_FALSE(mapped.AllowsAddress(Address("172.32.0.1")));
  EXPECT_FALSE(list.AllowsName("10.1.2.3"));  // networks are not names
}

TEST(ProbeAllowListTest, ZeroPrefixAllowsItsFamily) {
  const ProbeAllowList list = Allow({"0.0.0.0/0"});
  EXPECT_TRUE(list.AllowsAddress(Address("203.0.113.9")));
  EXPECT_FALSE(list.AllowsAddress(Address("2001:db8::1")));
}

TEST(ProbeAllowListTest, BadEntriesAreNamed) {
  for (const std::string entry :
       {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.1/8", "2001:db8::/129", "300.1.1.1/8",
        "bad name", "a..b", "*.example.com", "127.1", "host:80", "::ffff:10.0.0.0/90"}) {
    ProbeAllowList list;
    const Status s = ProbeAllowList::Parse({"192.0.2.0/24", entry}, &list);
    EXPECT_FALSE(s.ok()) << entry;
    EXPECT_NE(s.message().find("\"" + entry + "\""), std::string::npos) << s.message();
  }
  ProbeAllowList list;
  EXPECT_FALSE(ProbeAllowList::Parse({""}, &list).ok());
}

}  // namespace
}  // namespace portmap
