// `portmap_exporter diagnose`: the troubleshooting walk an engineer does by
// hand (firewalld, Docker's chains, ip_forward, a local connect, the verdict)
// done once, from the metric families one scrape produced.
//
// BuildReport is a pure function of those families and of the collectors'
// outcomes, so every section and every fix is unit-tested on hand-built
// families (tests/unit/exporter/diagnose/diagnose_test.cc); RunDiagnose (exporter.cc) only runs
// the scrape and prints.  The report never adds a fact of its own: what the
// metrics do not say (a collector failed, a one-shot run sees no flips) is
// reported as unknown, not guessed.
//
// Exit status (DiagnoseExitStatus): 0 every published port is predicted
// reachable (or none is published); 1 at least one is blocked; 2 the check
// itself could not be made: netfilter unreadable for lack of CAP_NET_ADMIN,
// or a port whose verdict is unknown because a collector failed.
//
// Thread safety: pure functions.
#pragma once

#include <prometheus/metric_family.h>

#include <optional>
#include <string>
#include <vector>

namespace portmap {

// How one collector fared in the scrape (the ScrapeRunner's Status).
struct CollectorOutcome {
  std::string name;
  bool ok = true;
  bool no_data = false;  // not ok because there was nothing to read (a state)
  std::string message;   // the error or no-data reason; "" when ok
};

struct ZoneOfInterface {
  std::string interface, zone;
};
struct PortInZone {
  std::string proto, zone;
  int port = 0;
  bool allowed = false;
  bool approximate = false;  // a rich rule or forward-port could change it
};

struct FirewalldSection {
  std::optional<bool> up;  // unknown when the collector is off or failed
  std::string version, backend, default_zone;
  std::vector<ZoneOfInterface> zones;
  std::vector<PortInZone> ports;
  std::optional<double> start_time, dockerd_start_time;  // Unix seconds
  std::optional<bool> dockerd_up;
  // firewalld_start > dockerd_start: its start flushed Docker's chains.
  std::optional<bool> started_after_dockerd;
};

struct ChainState {
  std::string backend, family, table, chain;
  bool present = false;
  std::optional<int> rules;
};
struct ForwardPolicy {
  std::string backend, family;
  bool accept = false;
};
struct PublishedMapping {
  std::string proto, host_ip, container_ip, backend;
  int host_port = 0, container_port = 0;
};

struct DockerSection {
  std::vector<ChainState> chains;  // sorted: backend, family, table, chain
  std::vector<ForwardPolicy> forward_policies;
  std::vector<PublishedMapping> published;  // nat DOCKER's DNAT rules now
};

struct ForwardingSection {
  std::optional<bool> runtime;    // net.ipv4.ip_forward now
  std::optional<bool> persisted;  // the boot-time value sets it non-zero
  std::string persisted_file;     // the file that wins at boot; "" = none sets it
  std::string persisted_value;
};

struct ProbeResult {
  std::string target, outcome;  // outcome: connected|refused|unreachable|timeout|error
  std::optional<double> seconds;
};

struct CauseReport {
  std::string cause;  // portmap_published_port_blocked's cause label
  std::string why;    // what holds, in the host's own names
  std::string fix;    // the command that fixes it now
  std::string stick;  // how to make the fix survive a reboot/restart
  std::string note;   // a caveat; "" when none
};

struct PortReport {
  std::string proto;
  int port = 0;
  std::optional<bool> reachable;     // portmap_published_port_reachable_predicted
  std::vector<CauseReport> causes;   // every cause that holds
  std::vector<std::string> checked;  // causes checked that do not hold
};

struct Report {
  std::vector<int> only_ports;  // --port filter; empty = all
  // Per section: the collector that feeds it, and its failure if any.
  std::vector<CollectorOutcome> collectors;
  FirewalldSection firewalld;
  DockerSection docker;
  ForwardingSection forwarding;
  std::vector<ProbeResult> probes;
  std::vector<PortReport> ports;
  // What works now but will break: ip_forward on at run time only (the
  // CentOS 7 case: the next reboot or network restart turns it off).  Each
  // with `fix` = how to make it stick; `cause` names it.
  std::vector<CauseReport> warnings;
  // Why the published ports are unknown when none is found: dockerd runs
  // but nat DOCKER is gone (a wipe hides every DNAT rule), or netfilter
  // could not be read.  Non-empty makes the exit status 2, not a false 0.
  std::string ports_unknown;
  // Netfilter could not be read for lack of privilege: the message and what
  // to run instead.  Makes the exit status 2.
  std::string permission_error;
};

// The failure of collector `name` in `r`, or null when it succeeded or did
// not run.
const CollectorOutcome* FailedCollector(const Report& r, const std::string& name);
bool CollectorRan(const Report& r, const std::string& name);

// `families` as ScrapeRunner::Scrape returns them (merged); `outcomes` one
// per collector that ran; `only_ports` the --port values (empty: all).
Report BuildReport(const std::vector<prometheus::MetricFamily>& families,
                   const std::vector<CollectorOutcome>& outcomes,
                   const std::vector<int>& only_ports);

int DiagnoseExitStatus(const Report& report);

// "2026-11-24T20:55:12Z": Unix seconds in UTC, as the report prints times.
std::string UtcTimestamp(double unix_seconds);

}  // namespace portmap
