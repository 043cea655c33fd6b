// Rendering of a diagnose Report (diagnose.h): text for a person at a
// terminal, JSON for scripts and support tickets.
//
// The text follows the order an engineer checks in: firewalld, Docker's
// chains, ip_forward, the local probes, then the verdict per published port
// with each cause's fix and how to make it stick, its blocked paths each
// with its packet trace (`portmap_exporter trace`'s text), and its undecided
// paths.  Colour (ANSI) only when asked, which RunDiagnose does when stdout
// is a terminal and --no-color is absent.  The JSON schema
// (kDiagnoseSchemaVersion) is documented in docs/diagnose.md; fields are
// only ever added within a version; each trace is the trace command's own
// JSON document, embedded as a value.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "exporter/diagnose/diagnose.h"

namespace portmap {

// 2: a port's "not_blocking" gave way to "paths", "unknown" and "traces".
inline constexpr int kDiagnoseSchemaVersion = 2;

std::string FormatReportText(const Report& report, bool color);
std::string FormatReportJson(const Report& report);

}  // namespace portmap
