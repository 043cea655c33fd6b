// nft_eval: runs one nf_tables base chain on the packet with the kernel's
// semantics (net/netfilter/nf_tables_core.c, nft_do_chain):
//
// - Registers: NFT_REG_VERDICT, four 16-byte NFT_REG_1..4 and sixteen 4-byte
//   NFT_REG32_00..15 over one 80-byte file (NFT_REG_1 and NFT_REG32_00 are the
//   same bytes), loads zero the tail of their last 4-byte word.
// - A rule's expressions run until one sets a verdict; NFT_BREAK (a failed
//   cmp, lookup, range...) ends the rule without matching, NFT_CONTINUE after
//   the last expression means it matched and the next rule runs.
// - jump pushes the next rule on the stack, goto does not; return (or the end
//   of a non-base chain) pops; the end of the base chain is its policy.
// - accept, drop, queue and stolen end the base chain; the tracer then moves
//   on to the hook's next chain (accept) or stops (the rest).
// - nat/masq/redir: a nat chain's dnat rewrites the packet and accepts.
//
// Expressions it cannot evaluate end the chain as kUnknown with the rule.
//
// Thread safety: stateless; reads the ruleset through `ruleset`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netlink/nftables.h"
#include "pathtrace/chain_outcome.h"
#include "pathtrace/kernel.h"
#include "pathtrace/nft_model.h"
#include "pathtrace/packet.h"
#include "pathtrace/ruleset.h"
#include "pathtrace/trace_result.h"

namespace portmap::pathtrace {

inline constexpr int kNftJumpStackSize = 16;  // NFT_JUMP_STACK_SIZE

struct NftEvalContext {
  RulesetSource* ruleset = nullptr;
  KernelView* kernel = nullptr;
  uint32_t hook = 0;  // NF_INET_*
  std::string phase;  // for the steps: "prerouting", "reply forward", ...
  std::vector<TraceStep>* steps = nullptr;
};

// Runs `chain` (a base chain) on *pkt; rewrites *pkt (DNAT, mark, notrack).
ChainOutcome EvalNftBaseChain(const NftChainModel& chain, Packet* pkt, const NftEvalContext& ctx);

}  // namespace portmap::pathtrace
