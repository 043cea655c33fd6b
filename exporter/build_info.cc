#include "exporter/build_info.h"

namespace portmap {

const BuildInfo& GetBuildInfo() {
  static const BuildInfo info {
    PORTMAP_VERSION, PORTMAP_REVISION,
#if defined(__clang__)
        "clang " __clang_version__
#elif defined(__GNUC__)
        "g++ " __VERSION__
#else
        "unknown"
#endif
  };
  return info;
}

}  // namespace portmap
