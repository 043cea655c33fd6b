// The collector table: every collector the exporter knows, by name, with its
// factory and whether it runs by default.  Registering a collector here is also
// what creates its --collector.<name> / --no-collector.<name> flags.
//
// An explicit table rather than static-initializer registration, so the set of
// collectors is one list a reader can see (node_exporter's collector.go, made
// explicit).
#pragma once

#include <span>
#include <string_view>

#include "collectors/collector.h"

namespace portmap {

// When a collector runs in a scrape: gathering collectors run concurrently;
// those that record facts for the judges (host_facts.h) are kFacts; judging
// ones start once every kFacts collector has finished, beside the other
// gatherers (a slow firewalld does not hold the verdict back).
enum class CollectorPhase { kGather, kFacts, kJudge };

// Fields in the order the table reads best; padding in a six-entry table does
// not matter.
struct CollectorSpec {  // NOLINT(clang-analyzer-optin.performance.Padding)
  std::string_view name;
  bool default_enabled;
  std::string_view help;  // one line, shown in --help
  CollectorFactory factory;
  CollectorPhase phase = CollectorPhase::kGather;
};

inline constexpr bool kDefaultOn = true;
inline constexpr bool kDefaultOff = false;

// The built-in collectors, sorted by name.
std::span<const CollectorSpec> BuiltinCollectors();

}  // namespace portmap
