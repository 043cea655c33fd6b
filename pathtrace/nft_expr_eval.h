// nft_expr_eval: one nf_tables expression on the packet and the register
// file, as the kernel's expression's ->eval does (net/netfilter/nft_*.c).
// Internal to the interpreter (nft_eval.h); split out because the expression
// semantics are most of it.
//
// Thread safety: stateless.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "pathtrace/nft_eval.h"
#include "pathtrace/nft_model.h"
#include "pathtrace/packet.h"
#include "pathtrace/xt_eval.h"

namespace portmap::pathtrace {

// NFT_CONTINUE / NFT_BREAK etc. as nft_model.h's NftVerdict codes.
inline constexpr int32_t kNfDrop = 0;
inline constexpr int32_t kNfAccept = 1;
inline constexpr int32_t kNfStolen = 2;
inline constexpr int32_t kNfQueue = 3;
inline constexpr int32_t kNftContinue = -1;
inline constexpr int32_t kNftBreak = -2;
inline constexpr int32_t kNftJump = -3;
inline constexpr int32_t kNftGoto = -4;
inline constexpr int32_t kNftReturn = -5;

// struct nft_regs: the verdict, then 16 32-bit data words (NFT_REG_1 is the
// same bytes as NFT_REG32_00).  Byte offsets follow nft_parse_register.
struct NftRegs {
  NftVerdict verdict;
  std::array<uint8_t, 80> data{};  // 20 words; words 0-3 are the verdict's
};

// What an expression did beyond registers and the verdict.
struct NftExprEffects {
  std::optional<RejectAction> reject;  // a reject ran (the verdict is drop)
  bool approximate = false;            // limit, quota: could drop another time
  std::string unknown;                 // set: it could not be evaluated, and why
  std::string rewrite;                 // for the steps: "dnat to 203.0.113.2:5000", ...
};

// Evaluates `expr` of a rule in `chain`.  Sets regs->verdict.code when the
// expression decides (NFT_BREAK for a mismatch); fills effects->unknown when
// it cannot be evaluated (the caller stops).
void EvalNftExpr(const NftExpr& expr, const NftChainModel& chain, NftRegs* regs, Packet* pkt,
                 const NftEvalContext& ctx, NftExprEffects* effects);

}  // namespace portmap::pathtrace

namespace portmap::pathtrace::nft_internal {

// Register access with the kernel's bounds (nft_validate_register_load):
// nullptr when `reg` plus `len` bytes falls outside the file.
uint8_t* RegPtr(NftRegs* regs, uint32_t reg, uint32_t len);
// Stores `len` bytes at `reg`, zeroing the tail of the last word first.
bool RegStore(NftRegs* regs, uint32_t reg, const uint8_t* bytes, uint32_t len);
bool RegStoreU32(NftRegs* regs, uint32_t reg, uint32_t host_value);

// meta, ct and fib: the packet's (or the kernel's) facts into registers, and
// meta/ct set.  nft_expr_meta.cc.
void EvalMeta(const MetaExpr& e, NftRegs* regs, Packet* pkt, NftExprEffects* fx);
void EvalCt(const CtExpr& e, NftRegs* regs, Packet* pkt, NftExprEffects* fx);
void EvalFib(const FibExpr& e, NftRegs* regs, const Packet& pkt, const NftEvalContext& ctx,
             NftExprEffects* fx);

}  // namespace portmap::pathtrace::nft_internal
