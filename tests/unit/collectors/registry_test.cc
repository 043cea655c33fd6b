#include "collectors/registry.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace portmap {
namespace {

TEST(RegistryTest, SortedUniqueNamesThatMakeValidFlags) {
  std::set<std::string_view> seen;
  std::string_view previous;
  const std::regex kName("[a-z][a-z0-9_]*");
  for (const CollectorSpec& spec : BuiltinCollectors()) {
    EXPECT_TRUE(std::regex_match(std::string(spec.name), kName)) << spec.name;
    EXPECT_TRUE(seen.insert(spec.name).second) << "duplicate " << spec.name;
    EXPECT_LT(previous, spec.name) << "keep the table sorted";
    EXPECT_FALSE(spec.help.empty()) << spec.name;
    previous = spec.name;
  }
  EXPECT_TRUE(seen.count("forwarding"));
}

TEST(RegistryTest, EveryFactoryBuildsACollectorOnAFixtureTree) {
  CollectorOptions options;
  options.paths = Paths{"/nonexistent/proc", "/nonexistent/sys", "/nonexistent/root"};
  for (const CollectorSpec& spec : BuiltinCollectors()) {
    ASSERT_NE(spec.factory, nullptr) << spec.name;
    auto collector = spec.factory(options);
    EXPECT_NE(collector, nullptr) << spec.name;
  }
}

}  // namespace
}  // namespace portmap
