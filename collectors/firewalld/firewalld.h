// firewalld: is firewalld running, since when, which zone each ingress
// interface is in, and does that zone let the published ports in?
//
// Two of the three causes of "answers on the Docker host, times out from
// elsewhere" are firewalld's: the port was never opened in the zone of the
// ingress interface (cause firewalld_port_closed), or firewalld (re)started or
// reloaded after dockerd and wiped the DOCKER chains (iptables backend).
// Everything is read over D-Bus the way firewall-cmd reads it
// (firewalld_client.h); nothing is exec'd.
//
// Exports, at scrape time, every call bounded by the scrape's deadline:
//   portmap_firewalld_up                       1 when the name
//       org.fedoraproject.FirewallD1 has an owner whose property `state` is
//       RUNNING; 0 when the name has no owner (success 1: absence is a state)
//       or its state is INIT/FAILED; 0 with success 0 (NoData) when there is
//       no system bus at all (a host without a bus cannot run firewalld, but
//       an exporter in a container without the bus socket mounted cannot see
//       it either: that is worth a failed scrape).
//   portmap_firewalld_info{version,backend,default_zone}  1; backend from the
//       config object's FirewallBackend property, else FirewallBackend= in
//       <rootfs>/etc/firewalld/firewalld.conf, else firewalld's fallback
//       "nftables"; "" when none of those answered.
//   portmap_firewalld_start_time_seconds       start of the name's owner
//       (GetConnectionUnixProcessID, then <procfs>/PID/stat as ps does); left
//       out when the pid is in another pid namespace than --path.procfs.
//   portmap_firewalld_interface_zone_info{interface,zone}  1 per interface of
//       getActiveZones, plus every uplink and bridge under --path.sysfs
//       (class/net minus lo and bridge ports) through getZoneOfInterface,
//       unbound ones in the default zone.
//   portmap_firewalld_port_allowed{proto,port,zone}  1/0 for every published
//       port in the zone of every uplink (firewalld_ports.h: port entry,
//       service, protocol, target ACCEPT, docker zone / docker-forwarding
//       policy).
//   portmap_firewalld_port_allowed_approximate{proto,port,zone}  1 when a rich
//       rule or a forward-port could change that verdict; 0 otherwise.
// From the watcher (firewalld_watcher.h), whether or not firewalld runs:
//   portmap_firewalld_reloads_total, portmap_firewalld_restarts_total
//   portmap_firewalld_watcher_listening        1 while subscribed
//
// Published ports come from CollectorOptions::published_ports
// (collectors/published_ports.h): what the reads of nat DOCKER's DNAT rules
// (at start, then the netfilter collector's each scrape) remembered, so a
// port is still checked after firewalld's start wiped the rule that
// published it, and this collector reads no rules itself.  Without them (a
// test's options), no port series are exported.
//
// Read once per change: firewalld's runtime state changes only through its
// D-Bus API, and every change sends a signal (firewalld_watcher.h).  A scrape
// asks the watcher to Sync (a Peer.Ping firewalld's libdbus answers), then
// reuses the last read while the watcher's change count, firewalld's owner,
// the interfaces under --path.sysfs and the published ports are what they
// were, for at most five minutes; otherwise it reads afresh, over one kept
// bus connection (firewalld_client.h).  Only a complete read of a RUNNING
// firewalld is kept.  With the name unowned and the watcher listening, up is
// 0 without a call.
//   portmap_firewalld_state_reads_total        reads made since the start.
//
// A stopped (SIGSTOP) or wedged firewalld cannot answer the Ping, so the
// scrape reads, and the first call times out at the deadline: the scrape
// answers, with success 0 for this collector, and recovers by itself on the
// next scrape (the timed-out connection is dropped, a new one opened).
//
// Thread safety: Collect() may run concurrently; the last read and the
// watcher's counters are guarded.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/firewalld/firewalld_client.h"
#include "collectors/firewalld/firewalld_ports.h"
#include "collectors/firewalld/firewalld_watcher.h"
#include "collectors/published_ports.h"

namespace portmap {

// Metric names the diagnose report reads back (exporter/diagnose/diagnose.cc).
inline constexpr char kMetricFirewalldUp[] = "portmap_firewalld_up";
inline constexpr char kMetricFirewalldInfo[] = "portmap_firewalld_info";
inline constexpr char kMetricFirewalldInterfaceZoneInfo[] = "portmap_firewalld_interface_zone_info";
inline constexpr char kMetricFirewalldPortAllowed[] = "portmap_firewalld_port_allowed";
inline constexpr char kMetricFirewalldPortAllowedApproximate[] =
    "portmap_firewalld_port_allowed_approximate";
inline constexpr char kMetricFirewalldStartTimeSeconds[] = "portmap_firewalld_start_time_seconds";

// Which ports to check, read at scrape time within the scrape's deadline.
using PublishedPortsFn = std::function<std::vector<PublishedPortRef>(Clock::time_point deadline)>;

// Starts the signal watcher.
std::unique_ptr<Collector> NewFirewalldCollector(const CollectorOptions& options);

// For tests: given client, event source (nullptr: no watcher families) and
// ports.
std::unique_ptr<Collector> NewFirewalldCollectorWith(const CollectorOptions& options,
                                                     std::unique_ptr<FirewalldClient> client,
                                                     std::unique_ptr<FirewalldEvents> events,
                                                     PublishedPortsFn ports);

// FirewallBackend= from a firewalld.conf text; "" when unset.
std::string BackendFromConf(const std::string& conf);

}  // namespace portmap
