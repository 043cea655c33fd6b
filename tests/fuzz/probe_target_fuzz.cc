// libFuzzer target: what /probe and --probe.allow parse from strangers —
// the query string (ParseQuery: '+' and %XX decoding), ParseProbeTarget over
// any bytes, and ProbeAllowList::Parse over the same bytes split at commas.
// Invariants: no crash or sanitizer report; decoded names and values are
// never longer than the query; an accepted target has a host and a port in
// 1..65535, and its host is never longer than the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/probe/allow_list.h"
#include "config/probe_target.h"
#include "exporter/probe_handler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> query;
  if (portmap::ParseQuery(text, &query).ok()) {
    for (const auto& [name, value] : query) {
      if (name.size() + value.size() > size) std::abort();
    }
  }
  portmap::ProbeTarget target;
  if (portmap::ParseProbeTarget(text, &target).ok()) {
    if (target.host.empty() || target.port == 0 || target.host.size() > size) std::abort();
  }
  std::vector<std::string> entries;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string_view::npos; start = comma + 1) {
    entries.emplace_back(text.substr(start, comma - start));
  }
  entries.emplace_back(text.substr(start));
  portmap::ProbeAllowList allow;
  if (portmap::ProbeAllowList::Parse(entries, &allow).ok()) (void)allow.AllowsName(text);
  return 0;
}
