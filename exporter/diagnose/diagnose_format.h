// Rendering of a diagnose Report (diagnose.h): text for a person at a
// terminal, JSON for scripts and support tickets.
//
// The text follows the order an engineer checks in: firewalld, Docker's
// chains, ip_forward, the local probes, then the verdict per published port
// with each cause's fix and how to make it stick.  Colour (ANSI) only when
// asked, which RunDiagnose does when stdout is a terminal and --no-color is
// absent.  The JSON schema (schema_version 1) is documented in
// docs/diagnose.md; fields are only ever added within a version.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "exporter/diagnose/diagnose.h"

namespace portmap {

std::string FormatReportText(const Report& report, bool color);
std::string FormatReportJson(const Report& report);

}  // namespace portmap
