// The local vantage's targets: each published TCP port on 127.0.0.1 and on
// each of the host's IPv4 addresses — the two ways the host itself reaches a
// published port (docker-proxy, and nat OUTPUT's DNAT), which are also what
// "it answers on the Docker host" means when someone checks by hand.
//
// Thread safety: pure functions; ReadHostAddresses is reentrant.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "config/interface_pattern.h"
#include "util/status.h"

namespace portmap {

struct HostAddress {
  std::string interface;
  std::string address;  // dotted IPv4
};

// The IPv4 addresses of this network namespace's interfaces that are up,
// except loopback's and link-local (169.254/16) ones (getifaddrs(3)).
Status ReadHostAddresses(std::vector<HostAddress>* out);

// "127.0.0.1:P" and "A:P" for each address whose interface `exclude` does not
// fully match, for each port; sorted, without duplicates.  A port bound to
// one address (`docker run -p 198.51.100.1:5000:5000`) is probed on every
// address all the same: refused on the others is what the outside sees too.
std::vector<std::string> LocalTargets(const std::set<uint16_t>& ports,
                                      const std::vector<HostAddress>& addresses,
                                      const InterfacePattern& exclude);

}  // namespace portmap
