// Paths: where a collector finds the host's /proc, /sys and root file system.
//
// Every file a collector reads goes through these (node_exporter's
// --path.procfs / --path.sysfs / --path.rootfs), so a test can point the
// exporter at a fixture tree and a container can read the host's root mounted
// elsewhere.
#pragma once

#include <string>
#include <string_view>

namespace portmap {

struct Paths {
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::string rootfs = "/";

  // Each joins `rel` (with or without a leading '/') below its root.
  std::string Proc(std::string_view rel) const { return Join(procfs, rel); }
  std::string Sys(std::string_view rel) const { return Join(sysfs, rel); }
  std::string Root(std::string_view rel) const { return Join(rootfs, rel); }

  static std::string Join(std::string_view root, std::string_view rel);
};

}  // namespace portmap
