// libFuzzer target: the two readers that parse what another
// program wrote — /proc/net/tcp{,6} (ParseProcNetTcp) and the Docker Engine
// API's /containers/json (ParseContainersJson).  The first byte picks the
// parser.  Invariants: no crash or sanitizer report; every port a parser
// returns is in 1..65535 for the API, and a listener always has an address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "collectors/docker_api.h"
#include "collectors/verdict/tcp_listeners.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
    case 1: {
      std::vector<portmap::TcpListener> listeners;
      if (portmap::ParseProcNetTcp(text, data[0] % 3 == 1, &listeners).ok()) {
        for (const auto& l : listeners) {
          if (l.address.empty()) std::abort();
        }
      }
      break;
    }
    default: {
      std::vector<portmap::DockerApiPort> ports;
      if (portmap::ParseContainersJson(text, &ports).ok()) {
        for (const auto& p : ports) {
          if (p.host_port == 0) std::abort();
        }
      }
    }
  }
  return 0;
}
