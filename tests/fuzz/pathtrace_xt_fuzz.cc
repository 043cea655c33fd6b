// libFuzzer target: the packet tracer's iptables-legacy table decoder and
// walker.  Input as xtables_fuzz's: 44 bytes of IPT_SO_GET_INFO fields, then
// the IPT_SO_GET_ENTRIES blob.  A blob that decodes is then walked at every
// hook with a SYN, so offsets, jumps and match/target payloads taken from the
// blob are all untrusted.  Invariants: no crash, no sanitizer report, no
// endless walk (a jump loop ends as the kernel's stack limit would).
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pathtrace/xt_legacy.h"

namespace {

// No kernel: every question is answered "no" without a route.
class NoKernel : public portmap::pathtrace::KernelView {
 public:
  portmap::Status Route(const portmap::pathtrace::RouteQuery&,
                        portmap::pathtrace::RouteAnswer* a) override {
    *a = {};
    a->type = 1;  // RTN_UNICAST
    return portmap::Status::Ok();
  }
  portmap::Status Listening(uint8_t, uint8_t, const portmap::pathtrace::Addr&, uint16_t,
                            bool* l) override {
    *l = false;
    return portmap::Status::Ok();
  }
  portmap::Status LinkByIndex(uint32_t, portmap::pathtrace::Interface*) override {
    return portmap::Status::NoData("none");
  }
  portmap::Status LinkByName(const std::string&, portmap::pathtrace::Interface*) override {
    return portmap::Status::NoData("none");
  }
  portmap::Status IsLocalAddress(const portmap::pathtrace::Addr&, uint32_t, bool* l) override {
    *l = false;
    return portmap::Status::Ok();
  }
  portmap::Status NetSysctl(const std::string&, int64_t* v) override {
    *v = 1;
    return portmap::Status::Ok();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = size_t{4} * (1 + 2 * portmap::kXtNumHooks);
  if (size < kHeader) return 0;
  portmap::XtTableBlob blob;
  blob.name = "filter";
  std::memcpy(&blob.valid_hooks, data, 4);
  std::memcpy(blob.hook_entry, data + 4, size_t{4} * portmap::kXtNumHooks);
  std::memcpy(blob.underflow, data + 4 + size_t{4} * portmap::kXtNumHooks,
              size_t{4} * portmap::kXtNumHooks);
  blob.entries.assign(data + kHeader, data + size);
  portmap::pathtrace::XtLegacyTable table;
  if (!portmap::pathtrace::DecodeXtLegacyTable(blob, &table).ok()) return 0;
  NoKernel kernel;
  for (uint32_t hook = 0; hook < portmap::kXtNumHooks; ++hook) {
    if ((table.valid_hooks & (1U << hook)) == 0) continue;
    portmap::pathtrace::Packet pkt;
    inet_pton(AF_INET, "192.0.2.1", pkt.saddr.bytes.data());
    inet_pton(AF_INET, "198.51.100.1", pkt.daddr.bytes.data());
    pkt.saddr.family = pkt.daddr.family = AF_INET;
    pkt.sport = 40000;
    pkt.dport = 5000;
    pkt.iif = {2, "eth0", 1};
    std::vector<portmap::pathtrace::TraceStep> steps;
    portmap::pathtrace::EvalXtLegacyHook(table, hook, &pkt, &kernel, "fuzz", &steps);
    for (const auto& e : table.entries) (void)portmap::pathtrace::XtLegacyEntryText(table, e);
  }
  return 0;
}
