// libFuzzer target: --config.file's YAML (exporter/config.h) over any bytes.
// Invariants: no crash, no exception escaping ParseConfig, no sanitizer
// report; an accepted configuration always holds the default module, and
// every static target names a module it holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporter/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // libyaml-cpp 0.7 loops forever on some ',' in block context (", a",
  // "- a\n, b"): a known bug of the library, which the exporter bounds with
  // ParseConfigBounded (exporter/config_guard.h, unit-tested).  Inputs with a
  // ',' outside any '[' or '{' are left out so the fuzzer keeps exploring
  // our code instead of rediscovering that loop.
  int flow = 0;
  for (char c : text) {
    if (c == '[' || c == '{') ++flow;
    if ((c == ']' || c == '}') && flow > 0) --flow;
    if (c == ',' && flow == 0) return 0;
  }
  portmap::ProbeConfig config;
  if (portmap::ParseConfig(text, "fuzz.yml", &config).ok()) {
    if (config.modules.count(portmap::kDefaultModule) == 0) std::abort();
    for (const auto& t : config.targets) {
      if (config.modules.count(t.module) == 0) std::abort();
    }
  }
  return 0;
}
