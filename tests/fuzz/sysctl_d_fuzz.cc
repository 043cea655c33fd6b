// libFuzzer target: the sysctl.d line parser and the resolver over any bytes.
// Invariants checked: no crash or sanitizer report; a winning assignment
// always names its file and a line inside it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collectors/forwarding/sysctl_d.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  portmap::SysctlConfig config;
  portmap::ParseSysctlConf("/etc/sysctl.d/fuzz.conf", text, &config);
  // The same bytes again as a second file: re-assignment and ordering paths.
  portmap::ParseSysctlConf("/etc/sysctl.conf", text.substr(size / 2), &config);
  constexpr std::string_view kIpv4[] = {"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"};
  portmap::SysctlResolution r = portmap::ResolveSysctl(config, kIpv4);
  if (r.set && (r.file.empty() || r.line == 0)) std::abort();
  for (const auto& e : config.entries) (void)portmap::NormalizeSysctlKey(e.key);
  return 0;
}
