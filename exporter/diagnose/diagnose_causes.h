// diagnose_causes: each cause of portmap_published_port_blocked explained for
// the report — what holds, in the host's own names (the paths' places,
// rules and interfaces), the command that fixes it now, and how to make the
// fix survive a reboot or restart.  The causes are the verdict's
// (collectors/verdict/causes.h); docs/diagnose.md has the table.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "exporter/diagnose/diagnose.h"

namespace portmap {

// `cause` of `port` (its paths already read), against the rest of `r`
// (firewalld's zones, ip_forward's persisted value, Docker's chains and
// mappings).
CauseReport Explain(const std::string& cause, const PortReport& port, const Report& r);

// How to make net.ipv4.ip_forward = 1 survive a reboot: the file that sets
// it otherwise at boot, or a new sysctl.d file.
std::string IpForwardStick(const Report& r);

}  // namespace portmap
