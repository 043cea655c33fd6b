#include "exporter/exporter.h"

#include <signal.h>

#include <iostream>

#include "collectors/probe/allow_list.h"
#include "collectors/scrape_runner.h"
#include "config/config.h"
#include "config/config_guard.h"
#include "config/probe_config.h"
#include "exporter/build_info.h"
#include "exporter/flags.h"
#include "exporter/metrics_handler.h"
#include "exporter/privileges.h"
#include "exporter/probe_handler.h"
#include "exporter/runbook/runbook_page.h"
#include "exporter/trace/trace_command.h"
#include "exporter/web/http_server.h"
#include "exporter/web/listen_relay.h"
#include "exporter/web/web_config.h"
#include "exporter/web/web_reloader.h"
#include "util/logging.h"

namespace portmap {

namespace {

HttpResponse LandingPage(const Flags& flags) {
  const BuildInfo& info = GetBuildInfo();
  std::string collectors;
  for (const auto& [name, enabled] : flags.collectors) {
    collectors += "<li>" + HtmlEscape(name) + (enabled ? "" : " (disabled)") + "</li>\n";
  }
  HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!DOCTYPE html>\n<html><head><title>portmap_exporter</title></head><body>\n"
      "<h1>portmap_exporter</h1>\n"
      "<p>Why a Docker published port answers on the host but not from other hosts: "
      "ip_forward, firewalld and the DOCKER chains.</p>\n"
      "<p>Version " +
      HtmlEscape(info.version) + " (revision " + HtmlEscape(info.revision) +
      ")</p>\n<ul>\n<li><a href=\"" + HtmlEscape(flags.telemetry_path) +
      "\">Metrics</a></li>\n"
      "<li><a href=\"/probe?target=127.0.0.1:9806&amp;debug=true\">Probe (debug)</a></li>\n"
      "<li><a href=\"/runbook\">Runbook</a>: what each alert means and how to fix it</li>\n"
      "<li><a href=\"/-/healthy\">Health</a></li>\n"
      "<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n"
      "<h2>Collectors</h2>\n<ul>\n" +
      collectors + "</ul>\n</body></html>\n";
  return r;
}

// Blocks the signals main waits for, before any thread starts, so they are
// delivered to sigwait() and not to a civetweb or collector thread.
sigset_t BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

std::span<const YamlCheckParser> YamlCheckParsers() {
  static const YamlCheckParser kParsers[] = {kConfigYamlCheck, kWebConfigYamlCheck};
  return kParsers;
}

int RunExporter(int argc, const char* const* argv, std::span<const CollectorSpec> collectors,
                const ExporterSeams& seams) {
  // This executable, started again by the YAML guard (config/config_guard.h).
  if (int code = 0; RunYamlCheckIfAsked(argc, argv, YamlCheckParsers(), &code)) return code;
  if (argc > 1 && std::string_view(argv[1]) == "diagnose") {
    return RunDiagnose(argc - 1, argv + 1, collectors);
  }
  if (argc > 1 && std::string_view(argv[1]) == "trace") return RunTrace(argc - 1, argv + 1);
  Flags flags;
  std::string error;
  switch (ParseFlags(argc, argv, collectors, &flags, &error, std::cout)) {
    case FlagsOutcome::kExitOk:
      return 0;
    case FlagsOutcome::kUsageError:
      std::cerr << "portmap_exporter: error: " << error << ", try --help\n";
      return 2;
    case FlagsOutcome::kRun:
      break;
  }
  InitLogging(flags.log_level, flags.log_format);
  // Before anything sizes itself from RLIMIT_NOFILE (the /probe fan-out):
  // clients waiting for their request head each hold a descriptor.
  RaiseOpenFileLimit();
  const sigset_t signals = BlockTerminationSignals();
  const BuildInfo& info = GetBuildInfo();
  LogInfo("Starting portmap_exporter", {{"version", info.version}, {"revision", info.revision}});

  auto config = std::make_shared<ConfigStore>();
  ConfigReloader reloader(flags.config_file, config);
  if (Status st = reloader.Load(); !st.ok()) {
    LogError("Error loading the configuration",
             {{"file", flags.config_file}, {"err", st.message()}});
    std::cerr << "portmap_exporter: error: " << st.message() << "\n";
    return 2;
  }
  // Before anything listens: TLS decides what the sockets speak.
  WebConfigReloader web(flags.web_config_file);
  if (Status st = web.Load(); !st.ok()) {
    LogError("Error loading the web configuration",
             {{"file", flags.web_config_file}, {"err", st.message()}});
    std::cerr << "portmap_exporter: error: --web.config.file: " << st.message() << "\n";
    return 2;
  }
  ProbeAllowList allow;
  ProbeAllowList::Parse(flags.probe_allow, &allow);  // checked by ParseFlags

  BuiltCollectors built = BuildCollectors(flags, config, collectors, seams, /*log_enabled=*/true);
  ScrapeRunner runner(std::move(built.enabled), flags.paths);
  // What each collector lacks, said once at start (README "Least privilege").
  LogPrivilegeCheck(flags.collectors,
                    PrivilegeInputsFor(flags.paths, flags.docker_pidfile, *config->Get()));

  std::vector<HttpRoute> routes;
  routes.push_back({flags.telemetry_path,
                    {"GET"},
                    /*limited=*/true,
                    MetricsHandler(&runner, "/proc/self", "/proc", [&reloader, &web] {
                      auto families = reloader.Families();
                      for (auto& f : web.Families()) families.push_back(std::move(f));
                      return families;
                    })});
  // Not limited: a probe holds no collector threads, and a 503 would read
  // as a failed scrape (up 0) instead of the probe's own outcome.  Beyond
  // civetweb's workers, requests queue.
  routes.push_back({"/probe",
                    {"GET"},
                    /*limited=*/false,
                    ProbeHandler(config, std::move(allow), flags.probe_vantage)});
  routes.push_back({"/-/reload", {"POST", "PUT"}, false, [&reloader, &web](const HttpRequest&) {
                      Status st = reloader.Reload();
                      Status web_st = web.Reload();
                      if (!st.ok()) {
                        return HttpResponse::Text(500, "failed to reload config: " + st.message());
                      }
                      if (!web_st.ok()) {
                        return HttpResponse::Text(
                            500, "failed to reload web config: " + web_st.message());
                      }
                      return HttpResponse::Text(200, "OK");
                    }});
  routes.push_back(
      {"/", {"GET"}, false, [&flags](const HttpRequest&) { return LandingPage(flags); }});
  routes.push_back({"/runbook", {"GET"}, false, [](const HttpRequest&) { return RunbookPage(); }});
  routes.push_back({"/-/healthy", {"GET"}, false, [](const HttpRequest&) {
                      return HttpResponse::Text(200, "Healthy");
                    }});
  routes.push_back({"/-/ready", {"GET"}, false, [](const HttpRequest&) {
                      return HttpResponse::Text(200, "Ready");
                    }});

  std::unique_ptr<HttpServer> server;
  HttpServerOptions server_options;
  server_options.listen_addresses = flags.listen_addresses;
  server_options.max_requests = flags.max_requests;
  server_options.ssl_ctx = web.ssl_ctx();
  if (!flags.web_config_file.empty()) {
    server_options.gate = [&web](const HttpRequest& request,
                                 std::vector<std::pair<std::string, std::string>>* headers) {
      return web.Gate(request, headers);
    };
  }
  Status st = HttpServer::Start(server_options, std::move(routes), &server);
  if (!st.ok()) {
    LogError("Cannot start the HTTP server", {{"err", st.message()}});
    return 1;
  }
  for (const std::string& address : server->bound_addresses()) {
    LogInfo("Listening on", {{"address", address}});
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reloader.Reload();  // logs either way; a bad file keeps the old one
      web.Reload();
      continue;
    }
    LogInfo("Shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    break;
  }
  server.reset();  // stop serving before the collectors go away
  return 0;
}

}  // namespace portmap
