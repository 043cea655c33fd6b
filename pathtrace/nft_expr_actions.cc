// nf_tables expressions that look things up or act on the packet: set and
// map lookups, nat, reject, and the xtables compat match/target.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "pathtrace/nft_expr_eval.h"

namespace portmap::pathtrace {

namespace {

using nft_internal::RegPtr;
using nft_internal::RegStore;

constexpr uint32_t kElemIntervalEnd = NFT_SET_ELEM_INTERVAL_END;
constexpr uint32_t kElemCatchall = 2;  // NFT_SET_ELEM_CATCHALL (Linux 5.13)

// The fields of a key: NFTA_SET_DESC_CONCAT's lengths, each padded to 4
// bytes in the register; one field of key_len when the set has no desc.
std::vector<uint32_t> FieldLens(const NftSetModel& set) {
  if (set.field_len.empty()) return {set.key_len};
  return {set.field_len.begin(), set.field_len.end()};
}

// A pipapo element (concatenated ranges): each field inside [key, key_end].
bool InRanges(const NftSetModel& set, const NftSetElem& el, const uint8_t* key) {
  const Bytes& hi = el.key_end.empty() ? el.key : el.key_end;
  uint32_t off = 0;
  for (uint32_t len : FieldLens(set)) {
    if (off + len > el.key.size() || off + len > hi.size()) return false;
    if (std::memcmp(key + off, el.key.data() + off, len) < 0) return false;
    if (std::memcmp(key + off, hi.data() + off, len) > 0) return false;
    off += (len + 3) / 4 * 4;
  }
  return true;
}

// The element a lookup of `key` finds, as the set's backend would: exact
// (hash, bitmap), the interval holding it (rbtree: the greatest boundary
// not above the key must be a start), or per-field ranges (pipapo).  The
// catch-all element when nothing else matches.
const NftSetElem* Find(const NftSetModel& set, const uint8_t* key) {
  const NftSetElem* catchall = nullptr;
  const NftSetElem* best = nullptr;
  const bool ranges = std::any_of(set.elems.begin(), set.elems.end(),
                                  [](const NftSetElem& e) { return !e.key_end.empty(); });
  for (const NftSetElem& el : set.elems) {
    if ((el.flags & kElemCatchall) != 0) {
      catchall = &el;
      continue;
    }
    if (el.key.size() < set.key_len) continue;
    if ((set.flags & NFT_SET_INTERVAL) == 0) {
      if (std::memcmp(el.key.data(), key, set.key_len) == 0) return &el;
    } else if (ranges) {
      if (InRanges(set, el, key)) return &el;
    } else if (std::memcmp(el.key.data(), key, set.key_len) <= 0) {
      if (best == nullptr) {
        best = &el;
        continue;
      }
      const int d = std::memcmp(el.key.data(), best->key.data(), set.key_len);
      // On a tie an interval's start wins over the previous interval's end.
      if (d > 0 || (d == 0 && (el.flags & kElemIntervalEnd) == 0)) best = &el;
    }
  }
  if (best != nullptr && (best->flags & kElemIntervalEnd) == 0) return best;
  return catchall;
}

}  // namespace

void EvalNftLookup(const LookupExpr& e, const NftChainModel& chain, NftRegs* regs,
                   const NftEvalContext& ctx, NftExprEffects* fx) {
  const NftSetModel* set = nullptr;
  const Status st = ctx.ruleset->Set(chain.family, chain.table, e.set, e.set_id, &set);
  if (!st.ok() || set == nullptr) {
    fx->unknown =
        "set \"" + e.set + "\" of table " + chain.table + " could not be read: " + st.message();
    return;
  }
  const uint8_t* key = RegPtr(regs, e.sreg, set->key_len);
  if (key == nullptr) {
    fx->unknown = "lookup key outside the registers";
    return;
  }
  const NftSetElem* el = Find(*set, key);
  const bool found = el != nullptr;
  if (found == e.invert) {
    regs->verdict = NftVerdict{kNftBreak, ""};
    return;
  }
  if (!found || !e.dreg.has_value()) return;
  if (*e.dreg == NFT_REG_VERDICT) {
    if (!el->data.verdict.has_value()) {
      fx->unknown = "verdict map element without a verdict";
      return;
    }
    regs->verdict = *el->data.verdict;
    return;
  }
  if (!RegStore(regs, *e.dreg, el->data.value.data(),
                static_cast<uint32_t>(el->data.value.size()))) {
    fx->unknown = "map value outside the registers";
  }
}

void EvalNftNat(const NatExpr& e, NftRegs* regs, Packet* pkt, NftExprEffects* fx) {
  if (e.kind == NatExpr::Kind::kRedir) {
    fx->unknown = "redirect (to the input interface's address) is not modelled";
    return;
  }
  if (e.kind == NatExpr::Kind::kMasq || e.type == NFT_NAT_SNAT) {
    // Source NAT changes only where the reply is addressed; conntrack undoes
    // it on the way back, so the path is the same.
    pkt->ct.status |= IPS_SRC_NAT;
    fx->rewrite = e.kind == NatExpr::Kind::kMasq ? "masquerade" : "snat";
    regs->verdict = NftVerdict{kNfAccept, ""};
    return;
  }
  if (e.family != pkt->nfproto) {
    fx->unknown = "dnat of another family than the packet's";
    return;
  }
  const uint32_t alen = pkt->ipv6() ? 16 : 4;
  Addr to;  // family 0: the address is kept
  uint16_t port = 0;
  if (e.reg_addr_min.has_value()) {
    const uint8_t* a = RegPtr(regs, *e.reg_addr_min, alen);
    if (a == nullptr) {
      fx->unknown = "dnat address outside the registers";
      return;
    }
    to.family = pkt->daddr.family;
    std::memcpy(to.bytes.data(), a, alen);
  }
  if (e.reg_proto_min.has_value()) {
    const uint8_t* p = RegPtr(regs, *e.reg_proto_min, 2);
    if (p == nullptr) {
      fx->unknown = "dnat port outside the registers";
      return;
    }
    port = static_cast<uint16_t>((p[0] << 8) | p[1]);  // __be16 in the register
  }
  ApplyDnat(pkt, to, port);
  fx->rewrite = "dnat to " + AddrString(pkt->daddr) + ":" + std::to_string(pkt->dport);
  regs->verdict = NftVerdict{kNfAccept, ""};  // nf_nat_setup_info's NF_ACCEPT
}

void EvalNftReject(const RejectExpr& e, NftRegs* regs, const Packet& pkt, NftExprEffects* fx) {
  RejectAction r;
  const bool v6 = pkt.ipv6();
  r.icmp_type = v6 ? 1 : 3;  // ICMPV6_DEST_UNREACH / ICMP_DEST_UNREACH
  switch (e.type) {
    case NFT_REJECT_ICMP_UNREACH:
      r.icmp_code = e.code;
      break;
    case NFT_REJECT_TCP_RST:
      r.tcp_reset = true;
      break;
    case NFT_REJECT_ICMPX_UNREACH:
      // nft_reject_icmp_code / nft_reject_icmpv6_code
      switch (e.code) {
        case NFT_REJECT_ICMPX_NO_ROUTE:
          r.icmp_code = 0;
          break;
        case NFT_REJECT_ICMPX_PORT_UNREACH:
          r.icmp_code = v6 ? 4 : 3;
          break;
        case NFT_REJECT_ICMPX_HOST_UNREACH:
          r.icmp_code = v6 ? 3 : 1;
          break;
        case NFT_REJECT_ICMPX_ADMIN_PROHIBITED:
          r.icmp_code = v6 ? 1 : 13;
          break;
        default:
          fx->unknown = "reject icmpx code " + std::to_string(e.code);
          return;
      }
      break;
    default:
      fx->unknown = "reject type " + std::to_string(e.type);
      return;
  }
  fx->reject = r;
  regs->verdict = NftVerdict{kNfDrop, ""};
}

void EvalNftXt(const XtExpr& e, NftRegs* regs, Packet* pkt, const NftEvalContext& ctx,
               NftExprEffects* fx) {
  if (!e.target) {
    const XtMatchResult m = EvalXtMatch(e.name, e.rev, e.info, *pkt, ctx.hook, ctx.kernel);
    if (m.kind == XtMatchResult::Kind::kUnknown) {
      fx->unknown = m.reason;
    } else if (m.kind == XtMatchResult::Kind::kNoMatch) {
      regs->verdict = NftVerdict{kNftBreak, ""};
    }
    return;
  }
  const XtTargetResult t = EvalXtTarget(e.name, e.rev, e.info, *pkt, ctx.hook);
  using K = XtTargetResult::Kind;
  switch (t.kind) {
    case K::kContinue:
      return;
    case K::kVerdict:
      regs->verdict = t.verdict;
      return;
    case K::kDnat:
      ApplyDnat(pkt, t.dnat_addr, t.dnat_port);
      fx->rewrite = "DNAT to " + AddrString(pkt->daddr) + ":" + std::to_string(pkt->dport);
      regs->verdict = NftVerdict{kNfAccept, ""};
      return;
    case K::kReject:
      fx->reject = t.reject;
      regs->verdict = NftVerdict{kNfDrop, ""};
      return;
    case K::kMark:
      pkt->mark = (pkt->mark & ~t.mask) ^ t.mark;
      fx->rewrite = "mark set " + std::to_string(pkt->mark);
      return;
    case K::kNotrack:
      pkt->ct.untracked = true;
      fx->rewrite = "notrack";
      return;
    case K::kUnknown:
      fx->unknown = t.reason;
      return;
  }
}

}  // namespace portmap::pathtrace
