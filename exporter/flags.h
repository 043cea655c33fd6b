// Command-line flags, in the exporter-toolkit / kingpin spelling Prometheus
// users already know (--web.listen-address, --collector.<name>,
// --no-collector.<name>, ...).  See README.md for the full list.
//
// ParseFlags never exits and never listens: it fills Flags or says, in one
// line, which flag is wrong, so main() can exit 2 before binding anything.
#pragma once

#include <map>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "collectors/registry.h"
#include "util/logging.h"
#include "util/paths.h"

namespace portmap {

struct Flags {
  std::vector<std::string> listen_addresses;  // default {":9806"}
  std::string telemetry_path = "/metrics";
  int max_requests = 40;  // concurrent /metrics requests; 0 = unlimited
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  Paths paths;
  std::string docker_pidfile = "/var/run/docker.pid";  // --docker.pidfile (under rootfs)
  std::string config_file;                             // --config.file; "" = defaults
  std::string web_config_file;                         // --web.config.file; "" = HTTP, no auth
  std::string probe_vantage = "local";                 // --probe.vantage
  std::string probe_interval = "15s";                  // --probe.interval, a duration
  std::vector<std::string> probe_allow;                // --probe.allow entries; empty = all
  // Every known collector's final on/off state, after the defaults,
  // --collector.disable-defaults and the per-collector flags.
  std::map<std::string, bool> collectors;
};

// The flags only `portmap_exporter diagnose` takes, on top of Flags.
struct DiagnoseFlags {
  // --port, repeatable: report only these, and judge them as TCP ports
  // Docker publishes even when its rules are gone (a wipe hides them).
  std::vector<int> ports;
  std::string format = "text";  // --format text|json
  bool no_color = false;        // --no-color
};

enum class FlagsOutcome {
  kRun,         // *flags is complete
  kExitOk,      // --help or --version was printed to `out`
  kUsageError,  // *error names the problem in one line
};

FlagsOutcome ParseFlags(int argc, const char* const* argv,
                        std::span<const CollectorSpec> collectors, Flags* flags, std::string* error,
                        std::ostream& out, DiagnoseFlags* diagnose = nullptr);

// "portmap_exporter, version 0.1.0 (revision: abc)" plus build details.
std::string VersionText();

}  // namespace portmap
