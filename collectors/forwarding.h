// forwarding: is the kernel forwarding packets, globally and per interface?
//
// A published port reaches its container only if the host forwards: with
// net.ipv4.ip_forward = 0 a connection from another host times out while the
// same port still answers on the Docker host itself (the seed's third cause).
//
// Exports, read at scrape time under --path.procfs:
//   portmap_ip_forward_enabled{family}                 net/ipv4/ip_forward,
//                                                      net/ipv6/conf/all/forwarding
//   portmap_interface_forwarding_enabled{family,interface}
//                                                      net/ipv{4,6}/conf/<if>/forwarding
// A family whose sysctl tree is absent (IPv6 disabled at boot) is skipped, not
// an error; an unreadable or malformed value is an error naming the file.
#pragma once

#include <memory>

#include "collectors/collector.h"

namespace portmap {

std::unique_ptr<Collector> NewForwardingCollector(const CollectorOptions& options);

}  // namespace portmap
