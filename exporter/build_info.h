// What this binary is: version, source revision and compiler, fixed at build
// time.  Exported as portmap_exporter_build_info and printed by --version.
#pragma once

namespace portmap {

struct BuildInfo {
  const char* version;
  const char* revision;
  const char* compiler;
};

const BuildInfo& GetBuildInfo();

}  // namespace portmap
