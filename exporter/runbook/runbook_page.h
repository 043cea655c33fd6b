// GET /runbook: alerts/runbook.md as an HTML page, rendered when this binary
// was built (runbook_embed.cc), so the runbook an alert links to is the one of
// the version that raised it. Sections keep GitHub's anchors
// (/runbook#portmapipforwarddisabled): alerts/config.yml's runbook_url and the
// dashboard's link point here by default.
#pragma once

#include <string_view>

#include "exporter/web/http_server.h"

namespace portmap {

// The rendered runbook: an HTML fragment, defined by the generated source.
extern const std::string_view kRunbookHtml;

// The whole page: kRunbookHtml in a small, self-contained document (no
// external style or script: it must read well from a phone, on call, behind
// any proxy) headed with this binary's version.
HttpResponse RunbookPage();

}  // namespace portmap
