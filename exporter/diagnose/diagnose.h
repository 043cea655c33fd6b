// `portmap_exporter diagnose`: the troubleshooting walk an engineer does by
// hand (firewalld, Docker's chains, ip_forward, a local connect, the verdict)
// done once, from the metric families one scrape produced.
//
// BuildReport is a pure function of those families and of the collectors'
// outcomes, so every section and every fix is unit-tested on hand-built
// families (tests/unit/exporter/diagnose/diagnose_test.cc).  The verdict
// (collectors/verdict/verdict.h) traces each published port from each
// uplink; its blocked paths and undecided paths are read back as they are
// exported, and each cause gets its why, fix and how to make it stick
// (diagnose_causes.cc).  AttachTraces then adds, to each blocked path, the
// packet trace `portmap_exporter trace` would print for it: RunDiagnose
// (diagnose_command.cc) gives it the live tracer, tests fixed results.  The
// report never adds a fact of its own: what the metrics do not say (a
// collector failed, a one-shot run sees no flips) is reported as unknown,
// not guessed.
//
// Exit status (DiagnoseExitStatus): 0 every published port is predicted
// reachable (or none is published); 1 at least one is blocked on some
// traced path; 2 the check itself could not be made: netfilter unreadable
// for lack of CAP_NET_ADMIN, no ports known while Docker's nat chain is
// gone, or a port with no prediction — a traced path could not be decided
// (prediction_unknown_info) or the verdict collector failed.  A blocked port
// wins over an undecided one.  A trace that could not be made changes
// nothing: the verdict already decided.
//
// Thread safety: pure functions.
#pragma once

#include <prometheus/metric_family.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pathtrace/packet.h"
#include "pathtrace/trace_result.h"
#include "util/status.h"

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

// One portmap_published_port_blocked_info series: a traced path that is
// blocked, and one of its causes (a path with two causes is two entries).
struct PathReport {
  std::string cause;
  std::string family;     // ipv4 | ipv6: the packet's
  std::string interface;  // the uplink it arrived on
  std::string client;     // the source address traced
  std::string address;    // the destination: the port's host IP or the uplink's address
  std::string outcome;    // what the client's connect gets: timeout | refused | unreachable
  std::string place;      // where it stopped, in words
  // The rule or policy that stopped it; all "" for a kernel decision
  // (routing, no listener).  handle: the nf_tables rule handle, the x_tables
  // 1-based position, "" for a policy.
  std::string backend, table_family, table, chain, handle, comment;
};

// One portmap_published_port_prediction_unknown_info series: a path whose
// trace could not be decided.  family and interface "" when the port was
// not traced at all (a protocol other than TCP and UDP).
struct UnknownPath {
  std::string family, interface, reason;
};

// The trace of one blocked path (AttachTraces): what `portmap_exporter trace
// --from CLIENT --iif INTERFACE --to ADDRESS:PORT --proto PROTO` prints.
struct PathTrace {
  std::string family, interface, client, address;  // the path, as in PathReport
  pathtrace::Packet packet;
  pathtrace::TraceResult result;
  std::string error;  // why this path could not be traced; packet and result unset
};

struct PortReport {
  std::string proto;
  int port = 0;
  std::optional<bool> reachable;     // portmap_published_port_reachable_predicted
  std::vector<CauseReport> causes;   // every cause that holds, in CauseRank order
  std::vector<PathReport> paths;     // sorted: family, interface, client, address, cause
  std::vector<UnknownPath> unknown;  // sorted: family, interface, reason
  // One per distinct blocked path (family, interface, client, address), in
  // the order of `paths`; empty until AttachTraces.
  std::vector<PathTrace> traces;
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
  // Why no blocked path could be traced (the tracer could not be opened or
  // read the kernel, e.g. without CAP_NET_ADMIN); "" when they were, or
  // when there was nothing to trace.  The exit status does not change.
  std::string trace_error;
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

// The rank of a cause label in the verdict's order (collectors/verdict/
// causes.h, the contract's): ip_forward_disabled first, no_listener last,
// unknown labels after them.
int CauseRank(const std::string& cause);

// What AttachTraces asks for: one blocked path of one port.
struct TraceRequest {
  std::string proto;
  int port = 0;
  std::string family, interface, client, address;
};

// Traces `request` into *pkt and *result.  A Status error when nothing can
// be traced (the tracer cannot read the kernel): AttachTraces stops there
// and the report says so once.  A path that cannot be traced alone (its
// interface is gone) is ok with *error set.
using PathTraceFn = std::function<Status(const TraceRequest& request, pathtrace::Packet* pkt,
                                         pathtrace::TraceResult* result, std::string* error)>;

// The blocked paths of `report` to trace, each distinct (proto, port,
// family, interface, client, address) once, in report order.
std::vector<TraceRequest> TraceRequests(const Report& report);

// Traces every request of TraceRequests(*report) with `trace` and fills
// each port's `traces`; on a Status error sets report->trace_error and
// leaves the traces made so far.
void AttachTraces(const PathTraceFn& trace, Report* report);

// "2026-11-24T20:55:12Z": Unix seconds in UTC, as the report prints times.
std::string UtcTimestamp(double unix_seconds);

}  // namespace portmap
