// meta, ct and fib: what the kernel knows about the packet, into registers
// (net/netfilter/nft_meta.c, nft_ct.c, net/ipv4/netfilter/nft_fib_ipv4.c).
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "pathtrace/nft_expr_eval.h"

namespace portmap::pathtrace::nft_internal {

namespace {

void Break(NftRegs* regs) { regs->verdict = NftVerdict{-2, ""}; }  // NFT_BREAK

void Store8(NftRegs* regs, uint32_t reg, uint8_t v, NftExprEffects* fx) {
  // nft_reg_store8: the byte, the rest of the word zero.
  if (!RegStoreU32(regs, reg, 0)) fx->unknown = "load outside the registers";
  if (uint8_t* p = RegPtr(regs, reg, 1)) *p = v;
}

void Store16(NftRegs* regs, uint32_t reg, uint16_t raw, NftExprEffects* fx) {
  // nft_reg_store16: the u16 as held in memory, the rest of the word zero.
  if (!RegStoreU32(regs, reg, 0)) fx->unknown = "load outside the registers";
  if (uint8_t* p = RegPtr(regs, reg, 2)) std::memcpy(p, &raw, 2);
}

void StoreName(NftRegs* regs, uint32_t reg, const std::string& name, NftExprEffects* fx) {
  uint8_t buf[IFNAMSIZ] = {};
  std::copy_n(name.begin(), std::min<size_t>(name.size(), IFNAMSIZ - 1), buf);  // NUL-padded
  if (!RegStore(regs, reg, buf, IFNAMSIZ)) fx->unknown = "load outside the registers";
}

void Store32(NftRegs* regs, uint32_t reg, uint32_t v, NftExprEffects* fx) {
  if (!RegStoreU32(regs, reg, v)) fx->unknown = "load outside the registers";
}

void StoreAddr(NftRegs* regs, uint32_t reg, const Addr& a, uint32_t len, NftExprEffects* fx) {
  if (!RegStore(regs, reg, a.bytes.data(), len)) fx->unknown = "load outside the registers";
}

void StorePort(NftRegs* regs, uint32_t reg, uint16_t port, NftExprEffects* fx) {
  const uint16_t be = static_cast<uint16_t>((port >> 8) | (port << 8));
  Store16(regs, reg, std::endian::native == std::endian::little ? be : port, fx);
}

}  // namespace

void EvalMeta(const MetaExpr& e, NftRegs* regs, Packet* pkt, NftExprEffects* fx) {
  if (e.sreg.has_value()) {
    const uint8_t* p = RegPtr(regs, *e.sreg, 4);
    if (p == nullptr) {
      fx->unknown = "meta set outside the registers";
      return;
    }
    uint32_t v = 0;
    std::memcpy(&v, p, 4);
    switch (e.key) {
      case NFT_META_MARK:
        pkt->mark = v;
        fx->rewrite = "meta mark set " + std::to_string(v);
        return;
      case NFT_META_NFTRACE:
      case NFT_META_PRIORITY:
        return;  // no effect on the path
      default:
        fx->unknown = "meta set of key " + std::to_string(e.key) + " is not modelled";
        return;
    }
  }
  if (!e.dreg.has_value()) return;
  const uint32_t r = *e.dreg;
  const bool v6 = pkt->ipv6();
  switch (e.key) {
    case NFT_META_LEN:
      Store32(regs, r,
              static_cast<uint32_t>(pkt->NetworkHeader().size() + pkt->TransportHeader().size()),
              fx);
      break;
    case NFT_META_PROTOCOL: {
      const uint16_t proto = v6 ? ETH_P_IPV6 : ETH_P_IP;  // skb->protocol is __be16
      Store16(regs, r,
              std::endian::native == std::endian::little
                  ? static_cast<uint16_t>((proto >> 8) | (proto << 8))
                  : proto,
              fx);
      break;
    }
    case NFT_META_NFPROTO:
      Store8(regs, r, pkt->nfproto, fx);
      break;
    case NFT_META_L4PROTO:
      Store8(regs, r, pkt->l4proto, fx);
      break;
    case NFT_META_MARK:
      Store32(regs, r, pkt->mark, fx);
      break;
    case NFT_META_IIF:
      Store32(regs, r, pkt->iif.index, fx);
      break;
    case NFT_META_OIF:
      Store32(regs, r, pkt->oif.index, fx);
      break;
    case NFT_META_IIFNAME:
      StoreName(regs, r, pkt->iif.index != 0 ? pkt->iif.name : "", fx);
      break;
    case NFT_META_OIFNAME:
      StoreName(regs, r, pkt->oif.index != 0 ? pkt->oif.name : "", fx);
      break;
    case NFT_META_IIFTYPE:
      if (pkt->iif.index == 0) return Break(regs);
      Store16(regs, r, pkt->iif.type, fx);
      break;
    case NFT_META_OIFTYPE:
      if (pkt->oif.index == 0) return Break(regs);
      Store16(regs, r, pkt->oif.type, fx);
      break;
    case NFT_META_PKTTYPE:
      Store8(regs, r, pkt->pkttype, fx);
      break;
    case NFT_META_PRIORITY:
    case NFT_META_NFTRACE:
    case NFT_META_SECMARK:
    case NFT_META_RTCLASSID:
      Store32(regs, r, 0, fx);
      break;
    case NFT_META_SECPATH:
      Store8(regs, r, 0, fx);
      break;  // no IPsec
    case NFT_META_SKUID:
    case NFT_META_SKGID:
      // A packet from another host has no local socket: the kernel breaks.
      if (pkt->iif.index != 0) return Break(regs);
      fx->unknown = "meta skuid/skgid of a local socket is not modelled";
      break;
    default:
      fx->unknown = "meta key " + std::to_string(e.key) + " is not modelled";
      break;
  }
}

void EvalCt(const CtExpr& e, NftRegs* regs, Packet* pkt, NftExprEffects* fx) {
  Conntrack& ct = pkt->ct;
  if (e.sreg.has_value()) {
    if (e.key == NFT_CT_MARK && !ct.untracked) {
      const uint8_t* p = RegPtr(regs, *e.sreg, 4);
      if (p != nullptr) std::memcpy(&ct.mark, p, 4);
      fx->rewrite = "ct mark set " + std::to_string(ct.mark);
      return;
    }
    fx->unknown = "ct set of key " + std::to_string(e.key) + " is not modelled";
    return;
  }
  if (!e.dreg.has_value()) return;
  const uint32_t r = *e.dreg;
  if (e.key == NFT_CT_STATE) {
    // NF_CT_STATE_BIT(ctinfo); untracked has its own bit.
    // Before conntrack's hook (raw, priority -300) the packet has no entry:
    // nf_ct_get is NULL with ctinfo 0, which reads as invalid.
    const uint32_t bit = ct.untracked   ? NF_CT_STATE_UNTRACKED_BIT
                         : !ct.attached ? NF_CT_STATE_INVALID_BIT
                                        : 1U << (ct.ctinfo % IP_CT_IS_REPLY + 1);
    Store32(regs, r, bit, fx);
    return;
  }
  if (ct.untracked || !ct.attached) return Break(regs);  // no entry: the kernel breaks
  const bool reply_dir = e.direction.has_value() ? *e.direction == IP_CT_DIR_REPLY : ct.reply;
  const uint32_t alen = pkt->ipv6() ? 16 : 4;
  switch (e.key) {
    case NFT_CT_DIRECTION:
      Store8(regs, r, ct.reply ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL, fx);
      break;
    case NFT_CT_STATUS:
      Store32(regs, r, ct.status, fx);
      break;
    case NFT_CT_MARK:
      Store32(regs, r, ct.mark, fx);
      break;
    case NFT_CT_L3PROTOCOL:
      Store8(regs, r, pkt->nfproto, fx);
      break;
    case NFT_CT_PROTOCOL:
      Store8(regs, r, pkt->l4proto, fx);
      break;
    case NFT_CT_SRC:
    case NFT_CT_SRC_IP:
    case NFT_CT_SRC_IP6:
      if (!e.direction.has_value()) goto needs_dir;
      StoreAddr(regs, r, reply_dir ? ct.reply_src : ct.orig_src, alen, fx);
      break;
    case NFT_CT_DST:
    case NFT_CT_DST_IP:
    case NFT_CT_DST_IP6:
      if (!e.direction.has_value()) goto needs_dir;
      StoreAddr(regs, r, reply_dir ? ct.reply_dst : ct.orig_dst, alen, fx);
      break;
    case NFT_CT_PROTO_SRC:
      if (!e.direction.has_value()) goto needs_dir;
      StorePort(regs, r, reply_dir ? ct.reply_sport : ct.orig_sport, fx);
      break;
    case NFT_CT_PROTO_DST:
      if (!e.direction.has_value()) goto needs_dir;
      StorePort(regs, r, reply_dir ? ct.reply_dport : ct.orig_dport, fx);
      break;
    default:
      fx->unknown = "ct key " + std::to_string(e.key) + " is not modelled";
      break;
  }
  return;
needs_dir:
  fx->unknown = "ct tuple key without a direction";
}

void EvalFib(const FibExpr& e, NftRegs* regs, const Packet& pkt, const NftEvalContext& ctx,
             NftExprEffects* fx) {
  const bool by_saddr = (e.flags & NFTA_FIB_F_SADDR) != 0;
  const Addr& addr = by_saddr ? pkt.saddr : pkt.daddr;
  if (e.result == NFT_FIB_RESULT_ADDRTYPE) {
    // inet_dev_addr_type: the local table decides local and broadcast.
    uint32_t type = RTN_UNICAST;
    const bool mcast = pkt.ipv6() ? addr.bytes[0] == 0xff : (addr.bytes[0] & 0xf0) == 0xe0;
    if (mcast) {
      type = RTN_MULTICAST;
    } else {
      RouteQuery q;
      q.dst = addr;
      RouteAnswer a;
      const Status st = ctx.kernel->Route(q, &a);
      if (!st.ok()) {
        fx->unknown = "fib type: " + st.message();
        return;
      }
      if (a.error == 0 && (a.type == RTN_LOCAL || a.type == RTN_BROADCAST)) type = a.type;
      if ((e.flags & NFTA_FIB_F_IIF) != 0 && type == RTN_LOCAL) {
        bool local = false;
        if (!ctx.kernel->IsLocalAddress(addr, pkt.iif.index, &local).ok()) {
          fx->unknown = "fib type: interface addresses could not be read";
          return;
        }
        if (!local) type = RTN_UNICAST;
      }
    }
    Store32(regs, e.dreg, type, fx);
    return;
  }
  // oif / oifname / present: the route towards `addr` (a reverse-path check
  // when it is the source).
  RouteQuery q;
  q.dst = addr;
  if ((e.flags & NFTA_FIB_F_MARK) != 0) q.mark = pkt.mark;
  RouteAnswer a;
  const Status st = ctx.kernel->Route(q, &a);
  if (!st.ok()) {
    fx->unknown = "fib: " + st.message();
    return;
  }
  uint32_t oif = a.error == 0 ? a.oif : 0;
  if ((e.flags & NFTA_FIB_F_IIF) != 0 && oif != pkt.iif.index) oif = 0;
  if ((e.flags & NFTA_FIB_F_PRESENT) != 0) {
    Store8(regs, e.dreg, oif != 0 ? 1 : 0, fx);
    return;
  }
  if (e.result == NFT_FIB_RESULT_OIF) {
    Store32(regs, e.dreg, oif, fx);
  } else if (e.result == NFT_FIB_RESULT_OIFNAME) {
    Interface link;
    if (oif != 0 && !ctx.kernel->LinkByIndex(oif, &link).ok()) {
      fx->unknown = "fib oifname: interface " + std::to_string(oif) + " could not be read";
      return;
    }
    StoreName(regs, e.dreg, oif != 0 ? link.name : "", fx);
  } else {
    fx->unknown = "fib result " + std::to_string(e.result) + " is not modelled";
  }
}

}  // namespace portmap::pathtrace::nft_internal
