// The configuration --config.file gives: modules (how to probe), targets and
// discovery (what to probe), and what the verdict traces besides what it
// finds itself.  Plain data, with its one regular expression already
// compiled; config/config.h parses the YAML into it, and a ConfigStore hands
// the current one to the probe and verdict collectors and the /probe
// handler, so a reload swaps it whole between two scrapes.
//
// The module schema is blackbox_exporter's tcp prober's (a module copied from
// blackbox.yml works unchanged), minus what a bare connect does not need
// (query_response, tls).
//
// Thread safety: ProbeConfig is immutable once stored; ConfigStore's methods
// may be called concurrently.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/interface_pattern.h"

namespace portmap {

// The module used when a /probe request names none, and by discovery unless
// the configuration says otherwise (blackbox_exporter's conventional name).
inline constexpr const char* kDefaultModule = "tcp_connect";

enum class IpProtocol { kIp4, kIp6 };

struct ProbeModule {
  // The connect's own timeout; a scrape's deadline caps it further.
  std::chrono::milliseconds timeout{5000};
  // For names that resolve to both families (literal addresses ignore it).
  IpProtocol preferred_ip_protocol = IpProtocol::kIp4;
  // Use the other family when the preferred one has no address.
  bool ip_protocol_fallback = true;
  // A literal IP to bind before connecting; "" = the kernel's choice.
  std::string source_ip_address;
  // Not blackbox_exporter's: also export portmap_probe_connect_duration_seconds
  // for this module's targets, 19 more series each.  Off by default, so a
  // target costs 3 series; discovered ports follow their discovery's module
  // (tcp_connect unless the configuration names another).
  bool histogram = false;
};

struct StaticTarget {
  std::string target;  // "HOST:PORT" or "[IPV6]:PORT", checked by ParseProbeTarget
  std::string module = kDefaultModule;
  // Extra labels on this target's series, sorted by name; never `vantage`,
  // `target` or `outcome`, nor a name starting with "__".
  std::vector<std::pair<std::string, std::string>> labels;
};

// Probe every port Docker publishes (collectors/published_ports.h, read from
// nat DOCKER's DNAT rules) on 127.0.0.1 and on each of the host's IPv4
// addresses: the two local paths, docker-proxy and OUTPUT DNAT.
struct NetfilterDiscovery {
  bool enabled = true;
  std::string module = kDefaultModule;
  // Interfaces whose addresses are not probed: Docker's bridges by default.
  // Compiled with the configuration, so a scrape only matches.
  InterfacePattern exclude_interfaces;
};

// Published ports as the Docker Engine API lists them (GET /containers/json
// on the daemon's unix socket).  Off by default: read access to that socket
// is root-equivalent.
struct DockerApiDiscovery {
  bool enabled = false;
  std::string socket = "/var/run/docker.sock";
  std::string module = kDefaultModule;
};

// A port the verdict judges even when no rule or API lists it.
struct VerdictPort {
  std::string proto;  // "tcp" | "udp" | "sctp"
  uint16_t port = 0;  // 1..65535

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  auto operator<=>(const VerdictPort&) const = default;
};

// The `verdict:` section (config/verdict_config.h): what the verdict
// collector traces besides what it finds on its own.  Every list is in file
// order, without duplicates; empty means none given.
struct VerdictConfig {
  // Extra outside clients to trace from: literal addresses, as inet_ntop
  // writes them ("2001:db8:1::9").
  std::vector<std::string> sources;
  // Uplinks to trace from; empty = detected.  Interface names, not checked
  // against the host's links (an interface may appear later).
  std::vector<std::string> interfaces;
  std::vector<VerdictPort> ports;
};

struct ProbeConfig {
  std::map<std::string, ProbeModule> modules;  // always holds kDefaultModule
  std::vector<StaticTarget> targets;
  NetfilterDiscovery netfilter;  // discovery.netfilter
  DockerApiDiscovery docker;     // discovery.docker
  VerdictConfig verdict;         // verdict
};

// What runs without --config.file: the default module, netfilter discovery.
ProbeConfig DefaultProbeConfig();

// The configuration in force.  Starts with DefaultProbeConfig().
class ConfigStore {
 public:
  ConfigStore() : current_(std::make_shared<const ProbeConfig>(DefaultProbeConfig())) {}

  std::shared_ptr<const ProbeConfig> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Set(ProbeConfig config) {
    auto next = std::make_shared<const ProbeConfig>(std::move(config));
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ProbeConfig> current_;  // GUARDED_BY(mu_)
};

}  // namespace portmap
