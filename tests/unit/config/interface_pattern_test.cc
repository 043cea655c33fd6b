// The exclude pattern of discovery.netfilter, compiled when a configuration
// is built (config/interface_pattern.h).
#include "config/interface_pattern.h"

#include <gtest/gtest.h>

namespace portmap {
namespace {

TEST(InterfacePatternTest, DefaultIsDockersBridges) {
  const InterfacePattern p;
  EXPECT_EQ(p.text(), kDefaultExcludeInterfaces);
  EXPECT_TRUE(p.FullMatch("docker0"));
  EXPECT_TRUE(p.FullMatch("br-0123456789ab"));
  EXPECT_FALSE(p.FullMatch("eth0"));
  EXPECT_FALSE(p.FullMatch("docker0x")) << "the whole name";
}

TEST(InterfacePatternTest, CompileErrorLeavesThePatternAsItWas) {
  InterfacePattern p;
  ASSERT_TRUE(InterfacePattern::Compile("eth[0-9]+", &p).ok());
  const Status st = InterfacePattern::Compile("eth[", &p);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(st.message().empty());
  EXPECT_EQ(p.text(), "eth[0-9]+");
  EXPECT_TRUE(p.FullMatch("eth1"));
}

}  // namespace
}  // namespace portmap
