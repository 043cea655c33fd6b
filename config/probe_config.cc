#include "config/probe_config.h"

namespace portmap {

ProbeConfig DefaultProbeConfig() {
  ProbeConfig config;
  config.modules.emplace(kDefaultModule, ProbeModule{});
  return config;
}

}  // namespace portmap
