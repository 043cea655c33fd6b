// Markdown to HTML for the runbook the exporter serves (/runbook): GitHub's
// dialect (tables, autolinks, strikethrough) through Debian's cmark-gfm, with
// every heading given the id GitHub gives it, so the anchors the alerts'
// runbook_url and the runbook's own links use (#portmapipforwarddisabled)
// land on the same section here as on a code host.
//
// Used at build time only (runbook_embed.cc): the exporter binary carries the
// HTML, not the library.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace portmap {

// GitHub's heading anchor for a heading's text: lower case, every character
// that is not a letter, digit, space, '-' or '_' dropped, spaces as '-'.
// ("PortmapIPForwardDisabled" -> "portmapipforwarddisabled";
//  "Checks by hand (as root)" -> "checks-by-hand-as-root".)  Bytes >= 0x80
// (UTF-8 letters) are kept, as GitHub keeps letters of any script.
std::string HeadingSlug(std::string_view text);

// Renders `markdown` as an HTML fragment (no <html>/<body>). Raw HTML in the
// source is omitted (cmark's safe default). Each heading is <hN id="slug">;
// a slug seen before gets "-1", "-2", ... as on GitHub. An error names what
// failed (the table extension missing, a heading count that does not match).
Status RenderMarkdownHtml(std::string_view markdown, std::string* html);

}  // namespace portmap
