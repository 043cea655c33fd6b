#include "util/paths.h"

#include <gtest/gtest.h>

namespace portmap {
namespace {

TEST(PathsTest, JoinsBelowEachRoot) {
  Paths p{"/proc", "/sys", "/"};
  EXPECT_EQ(p.Proc("sys/net/ipv4/ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(p.Proc("/sys/net"), "/proc/sys/net");
  EXPECT_EQ(p.Root("/etc/sysctl.d"), "/etc/sysctl.d");
  EXPECT_EQ(p.Root("etc"), "/etc");
}

TEST(PathsTest, FixtureRootsWithTrailingSlashes) {
  Paths p{"/tmp/fx/proc/", "/tmp/fx/sys", "/tmp/fx/root//"};
  EXPECT_EQ(p.Proc("sys"), "/tmp/fx/proc/sys");
  EXPECT_EQ(p.Root("/etc/sysctl.conf"), "/tmp/fx/root/etc/sysctl.conf");
  EXPECT_EQ(p.Sys(""), "/tmp/fx/sys");
}

}  // namespace
}  // namespace portmap
