// The start-up privilege check: what each enabled collector needs from the
// host (capabilities, files it reads, sockets it talks to), what this process
// lacks of it, and what that costs — one warn line per collector lacking
// something, or one info line when nothing is missing.
//
// It only warns: every collector still runs and degrades on its own (success
// 0 with the reason, README "Least privilege").  The check exists so that an
// operator who ran the exporter as an unprivileged user reads, at start, why
// `portmap_scrape_collector_success` will be 0, instead of finding out from a
// dashboard.
//
// Split for tests: CollectorRequirements (pure: flags -> table),
// ObserveAccess (the only part that asks the kernel), CheckPrivileges (pure:
// table + observations -> findings).  Capabilities are read with capget(2):
// two words of the process's own effective set, no libcap and no /proc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/paths.h"

namespace portmap {

struct ProbeConfig;  // config/probe_config.h

// linux/capability.h's numbers, for the ones this exporter uses.
inline constexpr int kCapNetAdmin = 12;
inline constexpr int kCapNetRaw = 13;
inline constexpr int kCapSysAdmin = 21;  // setns(2) into a container's network namespace

// One thing a collector needs.
struct Requirement {
  enum class Kind {
    kCapability,  // `capability` in the effective set
    kRead,        // open `path` for reading (a directory: list it)
    kConnect,     // connect(2) to the unix socket at `path`
  };
  std::string collector;
  Kind kind = Kind::kCapability;
  int capability = -1;  // kCapability
  std::string path;     // kRead, kConnect
  // kRead/kConnect: a path that does not exist is not a lack (nothing to read,
  // or the collector reports the absence itself).
  bool absent_ok = false;
  // kCapability: needed only when legacy (x_tables) tables are loaded.
  bool only_with_legacy_tables = false;
  // What is lost without it, e.g. "Docker's chains cannot be read".
  std::string consequence;
  // Whether the collector then reports success 0 (else it still succeeds
  // with less data).
  bool fails_collector = false;
};

// The flags and environment that decide what the collectors need.
struct PrivilegeInputs {
  Paths paths;
  std::string docker_pidfile = "/var/run/docker.pid";  // under paths.rootfs
  // The system bus socket firewalld is asked on; empty when it is not a
  // unix:path= address (abstract or TCP: not checked).
  std::string bus_socket = "/run/dbus/system_bus_socket";
  // discovery.netfilter: the probe collector probes the ports read from nat
  // DOCKER, which needs netfilter's capability.
  bool probe_netfilter_discovery = true;
  // discovery.docker's socket; empty when discovery.docker is off.
  std::string probe_docker_socket;
};

// The socket of a D-Bus address (DBUS_SYSTEM_BUS_ADDRESS): the path of its
// first unix:path= entry; "" for any other transport; the default socket when
// `address` is empty.
std::string SystemBusSocket(std::string_view address);

// Every built-in collector's needs, in collector-name order.
std::vector<Requirement> CollectorRequirements(const PrivilegeInputs& in);

// What the process has, as ObserveAccess found it.
struct AccessFacts {
  std::optional<uint64_t> effective_caps;  // bit N = capability N; nullopt: capget failed
  // errno of the read or connect of each required path; 0 when it worked.
  std::map<std::string, int> path_errors;
  // Whether <procfs>/self/net/ip_tables_names lists a table; nullopt when it
  // cannot be read.
  std::optional<bool> legacy_tables_loaded;
};

// Asks the kernel about every requirement (capget, open, connect).  Reads
// nothing else and changes nothing.
AccessFacts ObserveAccess(const std::vector<Requirement>& requirements, const Paths& paths);

// What one collector lacks.
struct PrivilegeFinding {
  std::string collector;
  std::string missing;      // "no CAP_NET_ADMIN", "cannot read /x (Permission denied)"; "; "-joined
  std::string consequence;  // what is lost, then whether success will be 0
};

// Findings for the enabled collectors, at most one per collector, in the
// order of `requirements`.  Empty when nothing is missing.
std::vector<PrivilegeFinding> CheckPrivileges(std::span<const std::string> enabled,
                                              const std::vector<Requirement>& requirements,
                                              const AccessFacts& facts);

// "cap_net_admin,cap_net_raw" for the capabilities this exporter uses that
// are in `caps` ("none" when neither, "unknown" for nullopt).
std::string CapabilityNames(std::optional<uint64_t> caps);

// The inputs for the exporter's flags and the probe configuration at start;
// the bus from DBUS_SYSTEM_BUS_ADDRESS as sd-bus finds it.
PrivilegeInputs PrivilegeInputsFor(const Paths& paths, const std::string& docker_pidfile,
                                   const ProbeConfig& probe);

// The whole check, logged: a warn line per enabled collector (`collectors`
// as --collector.<name> left them) that lacks something, else one info line.
void LogPrivilegeCheck(const std::map<std::string, bool>& collectors, const PrivilegeInputs& in);

}  // namespace portmap
