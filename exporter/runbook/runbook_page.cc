#include "exporter/runbook/runbook_page.h"

#include <string>

#include "exporter/build_info.h"

namespace portmap {

HttpResponse RunbookPage() {
  const BuildInfo& info = GetBuildInfo();
  HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.compressible = true;
  r.body =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>portmap_exporter runbook</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;line-height:1.5;max-width:60rem;margin:0 auto;"
      "padding:0 1rem 4rem}\n"
      "pre{background:#f4f4f4;padding:.75rem;overflow-x:auto}\n"
      "code{font-family:ui-monospace,monospace;font-size:.9em}\n"
      "table{border-collapse:collapse;display:block;overflow-x:auto}\n"
      "th,td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top}\n"
      "h2{border-top:1px solid #ddd;padding-top:1rem}\n"
      ":target{background:#fff3c4}\n"
      "</style></head><body>\n<p><a href=\"/\">portmap_exporter</a> " +
      HtmlEscape(info.version) + " (revision " + HtmlEscape(info.revision) + ")</p>\n" +
      std::string(kRunbookHtml) + "</body></html>\n";
  return r;
}

}  // namespace portmap
