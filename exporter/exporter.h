// The exporter's life: flags, collectors, HTTP server, signals.
//
// Exit codes: 0 after SIGINT/SIGTERM or --help/--version; 1 when it cannot
// serve (an address in use, named in the log); 2 for a usage error (an
// unknown flag or a bad value, named in one line on stderr), before listening.
#pragma once

#include <span>

#include "collectors/registry.h"
#include "config/config_guard.h"
#include "exporter/wiring.h"

namespace portmap {

// `collectors` is normally BuiltinCollectors(); tests add deliberately
// failing and hanging ones to check the scrape survives them.
// `portmap_exporter diagnose ...` (argv[1] == "diagnose") runs RunDiagnose.
int RunExporter(int argc, const char* const* argv, std::span<const CollectorSpec> collectors,
                const ExporterSeams& seams = {});

// The YAML files the exporter loads through the guard (config/config_guard.h):
// --config.file's and --web.config.file's parsers.  Every main() that can be
// started as a check passes them to RunYamlCheckIfAsked.
std::span<const YamlCheckParser> YamlCheckParsers();

// One scrape of the collectors, printed as a troubleshooting report
// (exporter/diagnose/diagnose.h); argv[0] is "diagnose".  Exit codes: DiagnoseExitStatus, or 2
// for a usage error.
int RunDiagnose(int argc, const char* const* argv, std::span<const CollectorSpec> collectors);

}  // namespace portmap
