// --config.file: the YAML that configures probes (config/probe_config.h),
// parsed with yaml-cpp, and its reload (SIGHUP, POST /-/reload).
//
//   modules:                       # blackbox_exporter's tcp module schema
//     tcp_connect:
//       prober: tcp                # optional; tcp is the only prober
//       timeout: 5s                # Prometheus duration: 500ms, 5s, 1m
//       histogram: false           # ours: also export the connect-time histogram
//       tcp:
//         preferred_ip_protocol: ip4   # ip4 | ip6 (blackbox's default is ip6)
//         ip_protocol_fallback: true
//         source_ip_address: 198.51.100.1
//   targets:                       # probed at every /metrics scrape
//     - target: registry.example.com:5000
//       module: tcp_connect        # optional, default tcp_connect
//       labels: {service: registry}
//   discovery:
//     netfilter: {enabled: true, module: tcp_connect, exclude_interfaces: 'docker[0-9]+'}
//     docker: {enabled: false, socket: /var/run/docker.sock, module: tcp_connect}
//   verdict:                       # config/verdict_config.h
//     sources: [203.0.113.50, "2001:db8:1::9"]   # extra outside clients to trace from
//     interfaces: [eth0]           # uplinks to trace from; absent = detected
//     ports: ["5000/tcp", "53/udp"]   # judged even when no rule or API lists them
//
// Every key is optional (an empty file is DefaultProbeConfig()); a missing
// `tcp_connect` module is added with the defaults.  Anything unknown or
// malformed is an error naming FILE:LINE:COLUMN and the problem (an unknown
// or duplicated key, a bad duration or one outside 0 < t <= 1h, a target that
// does not parse, a module that does not exist, a label name that is not a
// Prometheus label name or is reserved, a regex that does not compile, a
// blackbox feature a bare connect lacks: another prober, query_response,
// tls; a verdict source, interface or port that is malformed or given
// twice), never ignored.  deploy/portmap.yml shows every key.
//
// Thread safety: ParseConfig and LoadConfigFile are pure; ConfigReloader's
// methods may be called concurrently (SIGHUP and /-/reload at once).
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_guard.h"
#include "config/probe_config.h"
#include "util/reload_gauges.h"
#include "util/status.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace portmap {

// Parses `yaml`; errors are prefixed with `file` ("FILE:LINE:COL: ...").
// `*out` is written only on success.
Status ParseConfig(std::string_view yaml, const std::string& file, ProbeConfig* out);

// ParseConfig after yaml-cpp's LoadAll: what the file says, checked against
// the schema.  Separate so the fuzzers can hand it documents that did not
// come from yaml-cpp's parser (tests/fuzz/libyaml_nodes.h).
Status ParseConfigDocuments(const std::vector<YAML::Node>& documents, const std::string& file,
                            ProbeConfig* out);

// The YAML guard's parser for --config.file (config_guard.h): "config".
extern const YamlCheckParser kConfigYamlCheck;

// ParseConfig under the YAML guard: first parsed to completion within
// `limit` in a check process, then here.
Status ParseConfigBounded(std::string_view yaml, const std::string& file,
                          std::chrono::milliseconds limit, ProbeConfig* out);

// Reads and parses `path` under the guard; an unreadable file ("cannot read
// FILE: <errno text>") or one over 4 MiB is an error naming it.
Status LoadConfigFile(const std::string& path, ProbeConfig* out);

// Reloads `path` into `store`.  A file that fails keeps the configuration in
// force.  Exports blackbox_exporter's pair, under our prefix:
//   portmap_config_last_reload_successful             1/0
//   portmap_config_last_reload_success_timestamp_seconds
class ConfigReloader {
 public:
  // `path` may be "" (no --config.file): every reload then succeeds at once
  // and keeps the defaults.
  ConfigReloader(std::string path, std::shared_ptr<ConfigStore> store);

  // The first load, at start-up: not logged, the caller reports the outcome
  // (and exits 2 on error).  Success sets the timestamp metric too.
  Status Load();
  // A reload: logged either way ("Reloaded configuration" / "Error reloading
  // configuration"); on error the old configuration stays.
  Status Reload();

  std::vector<prometheus::MetricFamily> Families() const;

 private:
  Status LoadInto();

  const std::string path_;
  const std::shared_ptr<ConfigStore> store_;
  std::mutex mu_;  // one load at a time
  ReloadGauges gauges_;
};

}  // namespace portmap
