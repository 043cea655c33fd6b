// libFuzzer target: --config.file's YAML (config/config.h) over any bytes.
// Invariants: no crash, no exception escaping ParseConfigDocuments, no sanitizer
// report; an accepted configuration always holds the default module, and
// every static target names a module it holds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"
#include "tests/fuzz/libyaml_nodes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Read by libyaml, not yaml-cpp's looping parser: see libyaml_nodes.h.
  std::vector<YAML::Node> documents;
  if (!portmap::LoadAllWithLibyaml(text, &documents)) return 0;
  portmap::ProbeConfig config;
  if (portmap::ParseConfigDocuments(documents, "fuzz.yml", &config).ok()) {
    if (config.modules.count(portmap::kDefaultModule) == 0) std::abort();
    for (const auto& t : config.targets) {
      if (config.modules.count(t.module) == 0) std::abort();
    }
  }
  return 0;
}
