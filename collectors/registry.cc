#include "collectors/registry.h"

#include "collectors/docker/docker.h"
#include "collectors/firewalld/firewalld.h"
#include "collectors/forwarding/forwarding.h"
#include "collectors/netfilter/netfilter.h"
#include "collectors/probe/probe.h"
#include "collectors/verdict/verdict.h"

namespace portmap {

namespace {

// Keep sorted by name.
constexpr CollectorSpec kCollectors[] = {
    {"docker", kDefaultOn, "dockerd: running, and its start time", &NewDockerCollector},
    {"firewalld", kDefaultOn, "firewalld over D-Bus: state, zones, published ports allowed",
     &NewFirewalldCollector},
    {"forwarding", kDefaultOn, "IP forwarding: the global switches and every interface's",
     &NewForwardingCollector},
    {"netfilter", kDefaultOn, "Docker's iptables chains and published ports (nf_tables, legacy)",
     &NewNetfilterCollector, CollectorPhase::kFacts},
    {"probe", kDefaultOn, "TCP connect probes of every published port and configured target",
     &NewProbeCollector},
    {"verdict", kDefaultOn,
     "per published port: reachable from other hosts, and the causes if not (after netfilter)",
     &NewVerdictCollector, CollectorPhase::kJudge},
};

}  // namespace

std::span<const CollectorSpec> BuiltinCollectors() { return kCollectors; }

}  // namespace portmap
