// libFuzzer target: the x_tables blob decoder.  The first 44 bytes are the
// IPT_SO_GET_INFO fields (valid_hooks, hook_entry[5], underflow[5]), the rest
// is the IPT_SO_GET_ENTRIES blob.  Invariants: no crash or sanitizer report
// (every ipt_entry, match and target size is untrusted); a failure carries an
// errno; no more rules than entries fit in the blob.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "netlink/xtables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = size_t{4} * (1 + 2 * portmap::kXtNumHooks);
  if (size < kHeader) return 0;
  portmap::XtTableBlob blob;
  blob.name = "fuzz";
  std::memcpy(&blob.valid_hooks, data, 4);
  std::memcpy(blob.hook_entry, data + 4, size_t{4} * portmap::kXtNumHooks);
  std::memcpy(blob.underflow, data + 4 + size_t{4} * portmap::kXtNumHooks,
              size_t{4} * portmap::kXtNumHooks);
  blob.entries.assign(data + kHeader, data + size);
  std::vector<portmap::NfChain> chains;
  portmap::NetlinkStatus st = portmap::DecodeXtTable(blob, &chains);
  if (!st.ok() && st.err == 0) std::abort();
  size_t rules = 0;
  for (const portmap::NfChain& c : chains) rules += c.rules.size();
  if (rules > blob.entries.size() / 112 + 1) std::abort();  // sizeof(ipt_entry) + target
  return 0;
}
