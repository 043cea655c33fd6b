// The `verdict:` section of --config.file (config/config.h): what the verdict
// collector (collectors/verdict/) traces besides what it finds on its own.
//
//   verdict:
//     sources: [203.0.113.50, "2001:db8:1::9"]  # extra outside clients
//     interfaces: [eth0, bond0]                 # uplinks; absent = detected
//     ports: ["5000/tcp", "53/udp"]             # judged even when unlisted
//
// Every key is optional; a key with no value is an empty list.  An unknown
// key, a value that is not a list of strings, a malformed item or an item
// given twice is an error naming FILE:LINE:COL, the item's place
// (verdict.sources[1]), its text and what is wrong.
//
// Thread safety: every function is pure.
#pragma once

#include <string>
#include <string_view>

#include "config/config_yaml.h"
#include "config/probe_config.h"
#include "util/status.h"

namespace portmap {

// Walks `node`, the value of the top-level key `verdict`, into `*out`.  On
// error `*out` may hold part of the section.
Status ParseVerdictConfig(const config_yaml::YamlSource& src, const YAML::Node& node,
                          VerdictConfig* out);

// The checks of one item.  An error is what is wrong, said of the item
// ("is not PORT/PROTO (e.g. 5000/tcp, 53/udp)"), without its place or text.
//
// A client address: a literal IPv4 or IPv6 address (no names, no CIDR, no
// IPv6 zone), one a packet from outside may carry (not unspecified,
// loopback, multicast, broadcast or IPv4-mapped); `*normalized` is
// inet_ntop's spelling of it.
Status NormalizeVerdictSource(std::string_view text, std::string* normalized);
// The kernel's rules for an interface name (dev_valid_name): 1 to 15 bytes
// (IFNAMSIZ - 1), not "." or "..", no '/', ':', whitespace or control
// character.
Status CheckInterfaceName(std::string_view name);
// PORT/PROTO: "5000/tcp"; PORT in 1..65535, PROTO tcp, udp or sctp.
Status ParseVerdictPort(std::string_view text, VerdictPort* out);

}  // namespace portmap
