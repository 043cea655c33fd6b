#include "collectors/registry.h"

#include "collectors/forwarding.h"

namespace portmap {

namespace {

// Keep sorted by name.
constexpr CollectorSpec kCollectors[] = {
    {"forwarding", kDefaultOn, "IP forwarding: the global switches and every interface's",
     &NewForwardingCollector},
};

}  // namespace

std::span<const CollectorSpec> BuiltinCollectors() { return kCollectors; }

}  // namespace portmap
