// nf_tables expressions on the packet: registers, comparisons, payload,
// sets and maps, nat, reject and the xtables compat expressions.
#include "pathtrace/nft_expr_eval.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>

namespace portmap::pathtrace {

namespace nft_internal {

uint8_t* RegPtr(NftRegs* regs, uint32_t reg, uint32_t len) {
  size_t word = 0;
  if (reg >= NFT_REG_1 && reg <= NFT_REG_4) {
    word = size_t{reg} * 4;  // NFT_REG_SIZE / NFT_REG32_SIZE
  } else if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15) {
    word = size_t{reg} + 4 - NFT_REG32_00;
  } else {
    return nullptr;  // the verdict register, or out of range
  }
  if (len == 0 || word * 4 + len > regs->data.size()) return nullptr;
  return regs->data.data() + word * 4;
}

bool RegStore(NftRegs* regs, uint32_t reg, const uint8_t* bytes, uint32_t len) {
  uint8_t* p = RegPtr(regs, reg, len);
  if (p == nullptr) return false;
  if (len % 4 != 0) std::memset(p + size_t{len / 4} * 4, 0, 4);  // the tail of the last word
  std::memcpy(p, bytes, len);
  return true;
}

bool RegStoreU32(NftRegs* regs, uint32_t reg, uint32_t host_value) {
  uint8_t b[4];
  std::memcpy(b, &host_value, 4);
  return RegStore(regs, reg, b, 4);
}

}  // namespace nft_internal

namespace {

using nft_internal::RegPtr;
using nft_internal::RegStore;

void Break(NftRegs* regs) { regs->verdict = NftVerdict{kNftBreak, ""}; }

void Cmp(const CmpExpr& e, NftRegs* regs, NftExprEffects* fx) {
  const auto len = static_cast<uint32_t>(e.data.size());
  const uint8_t* r = RegPtr(regs, e.sreg, len);
  if (r == nullptr) {
    fx->unknown = "cmp reads outside the registers";
    return;
  }
  const int d = std::memcmp(r, e.data.data(), len);
  bool match = true;
  switch (e.op) {
    case NFT_CMP_EQ:
      match = d == 0;
      break;
    case NFT_CMP_NEQ:
      match = d != 0;
      break;
    case NFT_CMP_LT:
      match = d < 0;
      break;
    case NFT_CMP_LTE:
      match = d <= 0;
      break;
    case NFT_CMP_GT:
      match = d > 0;
      break;
    case NFT_CMP_GTE:
      match = d >= 0;
      break;
    default:
      fx->unknown = "cmp op " + std::to_string(e.op);
      return;
  }
  if (!match) Break(regs);
}

void Range(const RangeExpr& e, NftRegs* regs, NftExprEffects* fx) {
  const auto len = static_cast<uint32_t>(e.from.size());
  const uint8_t* r = RegPtr(regs, e.sreg, len);
  if (r == nullptr || e.to.size() != len) {
    fx->unknown = "range reads outside the registers";
    return;
  }
  const int d1 = std::memcmp(r, e.from.data(), len);
  const int d2 = std::memcmp(r, e.to.data(), len);
  const bool inside = d1 >= 0 && d2 <= 0;
  if ((e.op == NFT_RANGE_EQ && !inside) || (e.op == NFT_RANGE_NEQ && inside)) Break(regs);
}

void Bitwise(const BitwiseExpr& e, NftRegs* regs, NftExprEffects* fx) {
  const size_t words = (size_t{e.len} + 3) / 4;
  uint8_t* src = RegPtr(regs, e.sreg, static_cast<uint32_t>(words * 4));
  uint8_t* dst = RegPtr(regs, e.dreg, static_cast<uint32_t>(words * 4));
  if (src == nullptr || dst == nullptr) {
    fx->unknown = "bitwise outside the registers";
    return;
  }
  std::vector<uint32_t> s(words), d(words, 0);
  std::memcpy(s.data(), src, words * 4);
  if (e.op == NFT_BITWISE_BOOL) {
    std::vector<uint32_t> mask(words, 0), x(words, 0);
    std::memcpy(mask.data(), e.mask.data(), std::min<size_t>(e.mask.size(), words * 4));
    std::memcpy(x.data(), e.xor_value.data(), std::min<size_t>(e.xor_value.size(), words * 4));
    for (size_t i = 0; i < words; ++i) d[i] = (s[i] & mask[i]) ^ x[i];
  } else if (e.op == NFT_BITWISE_LSHIFT || e.op == NFT_BITWISE_RSHIFT) {
    uint32_t shift = 0;
    if (e.shift.size() >= 4) std::memcpy(&shift, e.shift.data(), 4);
    if (shift == 0 || shift >= 32) {
      fx->unknown = "bitwise shift by " + std::to_string(shift);
      return;
    }
    uint32_t carry = 0;
    if (e.op == NFT_BITWISE_LSHIFT) {
      for (size_t i = words; i > 0; --i) {
        d[i - 1] = (s[i - 1] << shift) | carry;
        carry = s[i - 1] >> (32 - shift);
      }
    } else {
      for (size_t i = 0; i < words; ++i) {
        d[i] = carry | (s[i] >> shift);
        carry = s[i] << (32 - shift);
      }
    }
  } else {
    fx->unknown = "bitwise op " + std::to_string(e.op);
    return;
  }
  std::memcpy(dst, d.data(), words * 4);
}

void Byteorder(const ByteorderExpr& e, NftRegs* regs, NftExprEffects* fx) {
  uint8_t* src = RegPtr(regs, e.sreg, e.len);
  uint8_t* dst = RegPtr(regs, e.dreg, e.len);
  if (src == nullptr || dst == nullptr || (e.size != 2 && e.size != 4 && e.size != 8)) {
    fx->unknown = "byteorder of size " + std::to_string(e.size);
    return;
  }
  // ntoh and hton are the same swap on a little-endian host and nothing on a
  // big-endian one: the kernel's be*_to_cpu / cpu_to_be*.
  std::vector<uint8_t> out(src, src + e.len);
  if constexpr (std::endian::native == std::endian::little) {
    for (uint32_t i = 0; i + e.size <= e.len; i += e.size) {
      std::reverse(out.begin() + i, out.begin() + i + e.size);
    }
  }
  std::memcpy(dst, out.data(), e.len);
}

void Payload(const PayloadExpr& e, NftRegs* regs, const Packet& pkt, NftExprEffects* fx) {
  if (e.sreg.has_value()) {
    fx->unknown = "payload write (header mangling) is not modelled";
    return;
  }
  std::vector<uint8_t> hdr;
  switch (e.base) {
    case NFT_PAYLOAD_NETWORK_HEADER:
      hdr = pkt.NetworkHeader();
      break;
    case NFT_PAYLOAD_TRANSPORT_HEADER:
      hdr = pkt.TransportHeader();
      break;
    case NFT_PAYLOAD_LL_HEADER:
      fx->unknown = "link-layer header (MAC addresses) is not modelled";
      return;
    default:
      fx->unknown = "payload base " + std::to_string(e.base) + " is not modelled";
      return;
  }
  // Past the headers is the packet's data: a SYN has none, so the kernel's
  // skb_copy_bits fails and the rule does not match.
  if (e.offset + e.len > hdr.size()) {
    Break(regs);
    return;
  }
  if (!RegStore(regs, *e.dreg, hdr.data() + e.offset, e.len)) {
    fx->unknown = "payload load outside the registers";
  }
}

void Immediate(const ImmediateExpr& e, NftRegs* regs, NftExprEffects* fx) {
  if (e.dreg == NFT_REG_VERDICT) {
    if (!e.data.verdict.has_value()) {
      fx->unknown = "immediate to the verdict register without a verdict";
      return;
    }
    regs->verdict = *e.data.verdict;
    return;
  }
  if (!RegStore(regs, e.dreg, e.data.value.data(), static_cast<uint32_t>(e.data.value.size()))) {
    fx->unknown = "immediate outside the registers";
  }
}

}  // namespace

void EvalNftLookup(const LookupExpr& e, const NftChainModel& chain, NftRegs* regs,
                   const NftEvalContext& ctx, NftExprEffects* fx);
void EvalNftNat(const NatExpr& e, NftRegs* regs, Packet* pkt, NftExprEffects* fx);
void EvalNftReject(const RejectExpr& e, NftRegs* regs, const Packet& pkt, NftExprEffects* fx);
void EvalNftXt(const XtExpr& e, NftRegs* regs, Packet* pkt, const NftEvalContext& ctx,
               NftExprEffects* fx);

void EvalNftExpr(const NftExpr& expr, const NftChainModel& chain, NftRegs* regs, Packet* pkt,
                 const NftEvalContext& ctx, NftExprEffects* fx) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ImmediateExpr>) {
          Immediate(e, regs, fx);
        } else if constexpr (std::is_same_v<T, CmpExpr>) {
          Cmp(e, regs, fx);
        } else if constexpr (std::is_same_v<T, BitwiseExpr>) {
          Bitwise(e, regs, fx);
        } else if constexpr (std::is_same_v<T, ByteorderExpr>) {
          Byteorder(e, regs, fx);
        } else if constexpr (std::is_same_v<T, RangeExpr>) {
          Range(e, regs, fx);
        } else if constexpr (std::is_same_v<T, PayloadExpr>) {
          Payload(e, regs, *pkt, fx);
        } else if constexpr (std::is_same_v<T, MetaExpr>) {
          nft_internal::EvalMeta(e, regs, pkt, fx);
        } else if constexpr (std::is_same_v<T, CtExpr>) {
          nft_internal::EvalCt(e, regs, pkt, fx);
        } else if constexpr (std::is_same_v<T, FibExpr>) {
          nft_internal::EvalFib(e, regs, *pkt, ctx, fx);
        } else if constexpr (std::is_same_v<T, LookupExpr>) {
          EvalNftLookup(e, chain, regs, ctx, fx);
        } else if constexpr (std::is_same_v<T, NatExpr>) {
          EvalNftNat(e, regs, pkt, fx);
        } else if constexpr (std::is_same_v<T, RejectExpr>) {
          EvalNftReject(e, regs, *pkt, fx);
        } else if constexpr (std::is_same_v<T, XtExpr>) {
          EvalNftXt(e, regs, pkt, ctx, fx);
        } else if constexpr (std::is_same_v<T, PassiveExpr>) {
          if (e.approximate) fx->approximate = true;
        } else if constexpr (std::is_same_v<T, NotrackExpr>) {
          pkt->ct.untracked = true;
          fx->rewrite = "notrack";
        } else {
          fx->unknown = "expression \"" + e.name + "\" is not modelled";
        }
      },
      expr);
}

}  // namespace portmap::pathtrace
