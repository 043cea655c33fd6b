// `portmap_exporter diagnose`: the same flags and collectors as the exporter,
// one scrape, a report (diagnose.h) instead of a server.
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "collectors/published_ports.h"
#include "collectors/scrape_runner.h"
#include "config/config.h"
#include "config/probe_config.h"
#include "exporter/diagnose/diagnose.h"
#include "exporter/diagnose/diagnose_format.h"
#include "exporter/exporter.h"
#include "exporter/flags.h"
#include "exporter/wiring.h"
#include "util/logging.h"

namespace portmap {

namespace {

// Long enough for a probe's 5 s module timeout to be cut short only by the
// deadline, short enough for a person waiting at a terminal.
constexpr auto kDiagnoseDeadline = std::chrono::seconds(5);

}  // namespace

int RunDiagnose(int argc, const char* const* argv, std::span<const CollectorSpec> collectors) {
  Flags flags;
  DiagnoseFlags diagnose;
  std::string error;
  switch (ParseFlags(argc, argv, collectors, &flags, &error, std::cout, &diagnose)) {
    case FlagsOutcome::kExitOk:
      return 0;
    case FlagsOutcome::kUsageError:
      std::cerr << "portmap_exporter diagnose: error: " << error << ", try --help\n";
      return 2;
    case FlagsOutcome::kRun:
      break;
  }
  // The report states every failure itself; the log (stderr) only adds
  // warnings and errors unless --log.level asks for more.
  InitLogging(std::max(flags.log_level, LogLevel::kWarn), flags.log_format);

  auto config = std::make_shared<ConfigStore>();
  ConfigReloader reloader(flags.config_file, config);
  if (Status st = reloader.Load(); !st.ok()) {
    std::cerr << "portmap_exporter diagnose: error: " << st.message() << "\n";
    return 2;
  }
  ExporterSeams seams;
  seams.watch_events = false;
  BuiltCollectors built = BuildCollectors(flags, config, collectors, seams, /*log_enabled=*/false);
  // A port named with --port is judged even when no DNAT rule shows it: after
  // a firewalld wipe the rules are exactly what is missing.
  std::vector<PublishedPortRef> named;
  for (int port : diagnose.ports) named.push_back({"tcp", static_cast<uint16_t>(port)});
  built.options.published_ports->Remember(named);

  ScrapeRunner runner(std::move(built.enabled), flags.paths);
  std::vector<Status> statuses;
  const auto families = runner.Scrape(Clock::now() + kDiagnoseDeadline, &statuses);
  std::vector<CollectorOutcome> outcomes;
  const std::vector<std::string> names = runner.Names();
  for (size_t i = 0; i < names.size() && i < statuses.size(); ++i) {
    outcomes.push_back({names[i], statuses[i].ok(), statuses[i].code() == Status::Code::kNoData,
                        statuses[i].message()});
  }
  const Report report = BuildReport(families, outcomes, diagnose.ports);
  if (diagnose.format == "json") {
    std::cout << FormatReportJson(report);
  } else {
    const bool color = !diagnose.no_color && isatty(STDOUT_FILENO) == 1;
    std::cout << FormatReportText(report, color);
  }
  std::cout.flush();
  return DiagnoseExitStatus(report);
}

}  // namespace portmap
