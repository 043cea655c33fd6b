// libFuzzer target: the nf_tables decoders (generations, tables, chains,
// rules with their expression interpreter and xt payloads) over any buffer.
// Invariants: no crash or sanitizer report; a failure carries an errno; no
// more decoded objects than message headers fit in the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "netlink/nftables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  portmap::NftMessages msgs;
  portmap::NetlinkStatus st = portmap::DecodeNftBuffer(data, size, &msgs);
  if (!st.ok() && st.err == 0) std::abort();
  const size_t objects = msgs.gens.size() + msgs.tables.size() + msgs.chains.size() +
                         msgs.rules.size() + msgs.deleted_chains.size();
  if (objects > size / 20 + 1) std::abort();  // at most one per header
  return 0;
}
