// libFuzzer target: the rtnetlink netconf decoder over any datagram.
// Invariants checked: no crash or sanitizer report (libmnl must never read
// past the buffer); every event comes from a NEW/DELNETCONF message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "netlink/netconf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<portmap::NetconfEvent> events;
  portmap::NetlinkStatus st = portmap::DecodeNetconf(data, size, &events);
  if (!st.ok() && st.err == 0) std::abort();
  if (events.size() > size / 16 + 1) std::abort();  // at most one per header
  return 0;
}
