// forwarding: is the kernel forwarding packets, globally and per interface?
//
// A published port reaches its container only if the host forwards: with
// net.ipv4.ip_forward = 0 a connection from another host times out while the
// same port still answers on the Docker host itself (the third classic cause: forwarding switched
// off by a network restart).
//
// Exports, read at scrape time under --path.procfs:
//   portmap_ip_forward_enabled{family}                 net/ipv4/ip_forward,
//                                                      net/ipv6/conf/all/forwarding
//   portmap_interface_forwarding_enabled{family,interface}
//                                                      net/ipv{4,6}/conf/<if>/forwarding
// A family whose sysctl tree is absent (IPv6 disabled at boot) is skipped, not
// an error; an unreadable or malformed value is an error naming the file.
// Per-interface values are always read fresh from /proc (see
// forwarding_watcher.h for why they are not mirrored from events).
//
// What the boot-time configuration would set, under --path.rootfs, computed as
// systemd-sysctl does (sysctl_d.h), for every family:
//   portmap_ip_forward_persisted{family}             1 when it sets the switch
//                                                    to a non-zero value; 0
//                                                    otherwise, unset included
//   portmap_ip_forward_persisted_info{family,file,value}
//                                                    1; the winning file (as
//                                                    on the host) and the raw
//                                                    value; file="" value=""
//                                                    when nothing sets it
//   portmap_sysctl_config_error_info{file,line,kind} 1 per line or file that
//                                                    systemd-sysctl would
//                                                    complain about; line="" for
//                                                    a whole file; kind is
//                                                    unreadable|not_assignment|
//                                                    line_too_long.  At most
//                                                    kMaxConfigErrorSeries
//                                                    series (the rest are
//                                                    summed into one with
//                                                    file="", kind="truncated").
// A bad file never fails the scrape: it is a fact about the host, reported in
// that series, and the remaining files still count.
//
// Every flip of the global switches, from the netconf watcher started with the
// collector (forwarding_watcher.h):
//   portmap_ip_forward_changes_total{family}         transitions since start
//   portmap_ip_forward_last_change_timestamp_seconds{family}
//                                                    Unix time of the last; 0
//                                                    when none was seen
//   portmap_netlink_resyncs_total{source="netconf"}  re-reads after lost events
// If the watcher cannot listen (no netlink), those three are left out and the
// scrape reports an error saying why.
//
// Thread safety: Collect() may run concurrently; it reads files and takes a
// snapshot of the watcher under the watcher's lock.
#pragma once

#include <memory>

#include "collectors/collector.h"
#include "collectors/forwarding/forwarding_watcher.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricIpForwardEnabled[] = "portmap_ip_forward_enabled";
inline constexpr char kMetricIpForwardPersisted[] = "portmap_ip_forward_persisted";
inline constexpr char kMetricIpForwardPersistedInfo[] = "portmap_ip_forward_persisted_info";

inline constexpr size_t kMaxConfigErrorSeries = 32;

// Starts the netconf watcher, so flips are counted from exporter start rather
// than from the first scrape.
std::unique_ptr<Collector> NewForwardingCollector(const CollectorOptions& options);

// For tests: the collector over a given event source (a fake), or nullptr for
// none (the three event families are then left out, without an error).
std::unique_ptr<Collector> NewForwardingCollectorWithEvents(
    const CollectorOptions& options, std::unique_ptr<ForwardingEvents> events);

}  // namespace portmap
