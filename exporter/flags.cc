#include "exporter/flags.h"

#include <civetweb.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <sstream>

#include "collectors/probe/allow_list.h"
#include "config/config_yaml.h"
#include "exporter/build_info.h"
#include "exporter/web/listen_address.h"

namespace portmap {

namespace {

constexpr const char* kProgram = "portmap_exporter";

// Paths the server answers itself; the telemetry path must not shadow them.
constexpr const char* kReservedPaths[] = {"/",         "/-/healthy", "/-/ready",
                                          "/-/reload", "/probe",     "/runbook"};

std::string CheckValues(const Flags& flags, const std::string& log_level,
                        const std::string& log_format) {
  LogLevel level;
  if (!ParseLogLevel(log_level, &level)) {
    return "invalid --log.level \"" + log_level + "\": want debug, info, warn or error";
  }
  LogFormat format;
  if (!ParseLogFormat(log_format, &format)) {
    return "invalid --log.format \"" + log_format + "\": want logfmt or json";
  }
  if (flags.max_requests < 0) {
    return "invalid --web.max-requests " + std::to_string(flags.max_requests) +
           ": want 0 (unlimited) or more";
  }
  const std::string& path = flags.telemetry_path;
  if (path.empty() || path.front() != '/' || path.find_first_of("?# ") != std::string::npos) {
    return "invalid --web.telemetry-path \"" + path + "\": want an absolute path like /metrics";
  }
  for (const char* reserved : kReservedPaths) {
    if (path == reserved) {
      return "invalid --web.telemetry-path \"" + path + "\": the server uses that path itself";
    }
  }
  if (flags.listen_addresses.empty()) return "--web.listen-address: need at least one address";
  for (const std::string& address : flags.listen_addresses) {
    ListenAddress parsed;
    Status st = ParseListenAddress(address, &parsed);
    if (!st.ok()) return "--web.listen-address: " + st.message();
  }
  const std::string& vantage = flags.probe_vantage;
  if (vantage.empty() ||
      vantage.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != std::string::npos) {
    return "invalid --probe.vantage \"" + vantage + "\": want letters, digits, '_', '.', '-'";
  }
  std::chrono::milliseconds interval{};
  if (Status st = config_yaml::ParseDuration(flags.probe_interval, &interval); !st.ok()) {
    return "invalid --probe.interval \"" + flags.probe_interval + "\": " + st.message();
  }
  ProbeAllowList allow;
  if (Status st = ProbeAllowList::Parse(flags.probe_allow, &allow); !st.ok()) {
    return "invalid --probe.allow: " + st.message();
  }
  for (const auto& [name, root] :
       {std::pair<const char*, const std::string&>{"--path.procfs", flags.paths.procfs},
        {"--path.sysfs", flags.paths.sysfs},
        {"--path.rootfs", flags.paths.rootfs}}) {
    if (root.empty()) return std::string("invalid ") + name + ": empty path";
  }
  return "";
}

}  // namespace

std::string VersionText() {
  const BuildInfo& info = GetBuildInfo();
  std::ostringstream s;
  s << kProgram << ", version " << info.version << " (revision: " << info.revision << ")\n"
    << "  compiler:   " << info.compiler << "\n"
    << "  civetweb:   " << mg_version() << "\n";
  return s.str();
}

FlagsOutcome ParseFlags(int argc, const char* const* argv,
                        std::span<const CollectorSpec> collectors, Flags* flags, std::string* error,
                        std::ostream& out, DiagnoseFlags* diagnose) {
  CLI::App app{diagnose != nullptr
                   ? "Checks once, in the order an engineer would, why a Docker published port "
                     "is or is not reachable from other hosts, and prints the fixes. Exit "
                     "status: 0 all reachable, 1 one blocked, 2 usage or environment error."
                   : "Prometheus exporter for the state that decides whether a Docker published "
                     "port is reachable from other hosts: ip_forward, firewalld, the DOCKER "
                     "chains.",
               diagnose != nullptr ? "portmap_exporter diagnose" : kProgram};
  app.set_version_flag("--version", [] { return VersionText(); });
  app.get_formatter()->column_width(44);

  flags->listen_addresses = {":9806"};
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool disable_defaults = false;

  app.add_option("--web.listen-address", flags->listen_addresses,
                 "Address to listen on; repeatable (e.g. :9806, 127.0.0.1:9806, [::1]:9806)")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", flags->telemetry_path,
                 "Path under which to expose metrics")
      ->capture_default_str();
  app.add_option("--web.max-requests", flags->max_requests,
                 "Maximum number of concurrent scrape requests; more get 503 (0 = no limit)")
      ->capture_default_str();
  app.add_option("--web.config.file", flags->web_config_file,
                 "exporter-toolkit web configuration: TLS and basic authentication (README: "
                 "TLS and authentication); reloaded on change, SIGHUP and POST /-/reload");
  app.add_option("--log.level", log_level,
                 "Only log messages with this severity or above: "
                 "debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--log.format", log_format, "Log format: logfmt or json")->capture_default_str();
  app.add_option("--path.procfs", flags->paths.procfs, "procfs mountpoint")->capture_default_str();
  app.add_option("--path.sysfs", flags->paths.sysfs, "sysfs mountpoint")->capture_default_str();
  app.add_option("--path.rootfs", flags->paths.rootfs,
                 "Root of the host file system (prefix for /etc/sysctl.d, firewalld.conf, ...)")
      ->capture_default_str();
  app.add_option("--docker.pidfile", flags->docker_pidfile,
                 "dockerd's pid file, below --path.rootfs (else a /proc scan)")
      ->capture_default_str();
  app.add_option("--config.file", flags->config_file,
                 "YAML file with probe modules, static targets and discovery (README: "
                 "Configuration); reloaded on SIGHUP and POST /-/reload");
  app.add_option("--probe.vantage", flags->probe_vantage,
                 "The `vantage` label of this exporter's probes: local on the Docker host, "
                 "e.g. external on a host elsewhere")
      ->capture_default_str();
  app.add_option("--probe.interval", flags->probe_interval,
                 "Probe published ports and static targets at most this often; scrapes in "
                 "between show the last results (portmap_probe_age_seconds); 0s probes in "
                 "every scrape")
      ->capture_default_str();
  app.add_option("--probe.allow", flags->probe_allow,
                 "Targets /probe may connect to: CIDRs, addresses or host names; repeatable "
                 "or comma-separated (default: any target)")
      ->delimiter(',');
  app.add_flag("--collector.disable-defaults", disable_defaults,
               "Disable every collector that is on by default; enable some with "
               "--collector.<name>");

  if (diagnose != nullptr) {
    app.add_option("--port", diagnose->ports,
                   "Report only this published TCP port (repeatable); checked even when "
                   "Docker's rules no longer show it")
        ->check(CLI::Range(1, 65535));
    app.add_option("--format", diagnose->format, "Output: text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_flag("--no-color", diagnose->no_color, "No ANSI colours, even on a terminal");
  }

  // One flag pair per collector: +1 for --collector.X, -1 for --no-collector.X.
  std::map<std::string, int64_t> toggles;
  for (const CollectorSpec& spec : collectors) {
    std::string name(spec.name);
    std::string help = std::string(spec.help) +
                       (spec.default_enabled ? " (default: enabled)" : " (default: disabled)");
    std::string spelling = "--collector.";  // CLI11: "!" marks the negating name
    spelling.append(name).append(",!--no-collector.").append(name);
    app.add_flag_function(
        spelling, [&toggles, name](int64_t count) { toggles[name] = count; }, help);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return FlagsOutcome::kExitOk;
  } catch (const CLI::CallForVersion&) {
    out << VersionText();
    return FlagsOutcome::kExitOk;
  } catch (const CLI::ParseError& e) {
    *error = e.what();
    return FlagsOutcome::kUsageError;
  }

  *error = CheckValues(*flags, log_level, log_format);
  if (!error->empty()) return FlagsOutcome::kUsageError;
  ParseLogLevel(log_level, &flags->log_level);
  ParseLogFormat(log_format, &flags->log_format);

  flags->collectors.clear();
  for (const CollectorSpec& spec : collectors) {
    std::string name(spec.name);
    bool enabled = spec.default_enabled && !disable_defaults;
    auto it = toggles.find(name);
    if (it != toggles.end() && it->second != 0) enabled = it->second > 0;
    flags->collectors[name] = enabled;
  }
  return FlagsOutcome::kRun;
}

}  // namespace portmap
