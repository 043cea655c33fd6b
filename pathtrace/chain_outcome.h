// chain_outcome: what running one base chain (nf_tables) or one legacy
// table's chain at a hook (x_tables) did to the packet — the shared result
// the tracer combines hook by hook, in priority order.
//
// Rewrites happen on the packet itself, as in the kernel: DNAT changes its
// destination and sets IPS_DST_NAT, MARK its mark, notrack its conntrack.
//
// Thread safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pathtrace/trace_result.h"
#include "pathtrace/xt_eval.h"

namespace portmap::pathtrace {

struct ChainOutcome {
  enum class Kind : uint8_t {
    kAccept,   // on to the next chain of the hook (accept is final only within its base chain)
    kDrop,     // silently dropped
    kReject,   // dropped, answered with `reject`
    kQueue,    // handed to userspace (NFQUEUE): the tracer cannot follow
    kUnknown,  // something could not be evaluated; `reason` says what
  } kind = Kind::kAccept;
  RejectAction reject;             // kReject
  std::optional<RuleRef> decided;  // the rule (or policy) that gave the verdict
  std::string reason;              // kUnknown
  bool approximate = false;        // passed a rule that could drop (limit, quota)
};

}  // namespace portmap::pathtrace
