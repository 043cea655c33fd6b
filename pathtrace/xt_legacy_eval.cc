// ipt_do_table's walk over a decoded legacy table (net/ipv4/netfilter/
// ip_tables.c), one packet at one hook.
#include <algorithm>
#include <cstring>
#include <optional>

// glibc's netinet/in.h before any linux/ header.
// clang-format off
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter_ipv4/ip_tables.h>
// clang-format on

#include "pathtrace/xt_eval_internal.h"
#include "pathtrace/xt_legacy.h"

namespace portmap::pathtrace {

namespace {

constexpr int32_t kNftReturn = -5;  // how EvalXtTarget reports XT_RETURN
// ipt_do_table cannot loop (the kernel refuses looping tables at load); this
// only bounds a walk over a table that lies.
constexpr size_t kMaxWalk = 1u << 20;
// NF_IP_PRI_CONNTRACK: tables hooked before it see no conntrack entry.
constexpr int kPriConntrack = -200;

bool HookHasIn(uint32_t hook) {
  return hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN || hook == NF_INET_FORWARD;
}
bool HookHasOut(uint32_t hook) {
  return hook == NF_INET_FORWARD || hook == NF_INET_LOCAL_OUT || hook == NF_INET_POST_ROUTING;
}

// The device name as the kernel holds it: IFNAMSIZ bytes, NUL-padded; ""
// (nulldevname) when the hook has no such device.
std::array<uint8_t, IFNAMSIZ> DevName(bool present, const std::string& name) {
  std::array<uint8_t, IFNAMSIZ> d{};
  if (present) std::memcpy(d.data(), name.data(), std::min(name.size(), d.size() - 1));
  return d;
}

// ifname_compare_aligned: nonzero when a masked byte differs.
bool IfaceDiffers(const std::array<uint8_t, IFNAMSIZ>& dev, const std::array<uint8_t, 16>& want,
                  const std::array<uint8_t, 16>& mask) {
  for (size_t i = 0; i < IFNAMSIZ; ++i) {
    if (((dev[i] ^ want[i]) & mask[i]) != 0) return true;
  }
  return false;
}

// ip_packet_match.  The traced packet is never a fragment.
bool IpPacketMatch(const XtLegacyEntry& e, const Packet& p, uint32_t hook) {
  auto invf = [&](uint8_t flag, bool b) { return b ^ ((e.invflags & flag) != 0); };
  bool src_ne = false, dst_ne = false;
  for (int i = 0; i < 4; ++i) {
    src_ne = src_ne || (p.saddr.bytes[i] & e.smsk[i]) != e.src[i];
    dst_ne = dst_ne || (p.daddr.bytes[i] & e.dmsk[i]) != e.dst[i];
  }
  if (invf(IPT_INV_SRCIP, src_ne) || invf(IPT_INV_DSTIP, dst_ne)) return false;
  if (invf(IPT_INV_VIA_IN,
           IfaceDiffers(DevName(HookHasIn(hook), p.iif.name), e.iniface, e.iniface_mask))) {
    return false;
  }
  if (invf(IPT_INV_VIA_OUT,
           IfaceDiffers(DevName(HookHasOut(hook), p.oif.name), e.outiface, e.outiface_mask))) {
    return false;
  }
  if (e.proto != 0 && invf(IPT_INV_PROTO, p.l4proto != e.proto)) return false;
  const bool isfrag = false;
  return !invf(IPT_INV_FRAG, (e.flags & IPT_F_FRAG) && !isfrag);
}

class Walk {
 public:
  Walk(const XtLegacyTable& t, uint32_t hook, Packet* pkt, KernelView* kernel,
       const std::string& phase, std::vector<TraceStep>* steps)
      : t_(t),
        hook_(hook),
        pkt_(pkt),
        kernel_(kernel),
        phase_(phase),
        steps_(steps),
        ct_attached_(XtLegacyPriority(t.name, hook) > kPriConntrack) {}

  ChainOutcome Run() {
    size_t idx = t_.IndexAt(t_.hook_entry[hook_]);
    Step("x_tables table " + t_.name + ", chain " + XtHookChainName(hook_), nullptr, "");
    for (size_t n = 0; n < kMaxWalk; ++n) {
      if (idx >= t_.entries.size()) return Unknown("the walk left the table", nullptr);
      const XtLegacyEntry& e = t_.entries[idx];
      if (!IpPacketMatch(e, *pkt_, hook_)) {
        ++idx;
        continue;
      }
      const XtMatchResult m = Matches(e);
      if (m.kind == XtMatchResult::Kind::kUnknown) return Unknown(m.reason, &e);
      if (m.kind == XtMatchResult::Kind::kNoMatch) {
        ++idx;
        continue;
      }
      std::optional<ChainOutcome> done =
          e.standard() ? StandardTarget(e, &idx) : OtherTarget(e, &idx);
      if (done) return *done;
    }
    return Unknown("the walk did not end", nullptr);
  }

 private:
  // xt_ematch_foreach: a conjunction, so one definite miss decides even when
  // an earlier match could not be evaluated.
  XtMatchResult Matches(const XtLegacyEntry& e) {
    XtMatchResult unknown{XtMatchResult::Kind::kMatch, ""};
    for (const XtLegacyMatch& m : e.matches) {
      XtMatchResult r = EvalXtMatchAt(m.name, m.rev, m.info, *pkt_, hook_, kernel_, ct_attached_);
      if (r.kind == XtMatchResult::Kind::kNoMatch) return r;
      if (r.kind == XtMatchResult::Kind::kUnknown && unknown.kind != r.kind) unknown = r;
    }
    return unknown;
  }

  std::optional<ChainOutcome> StandardTarget(const XtLegacyEntry& e, size_t* idx) {
    const int32_t v = e.verdict;
    if (v < 0) {
      if (v != XT_RETURN) return End(static_cast<uint32_t>(-int64_t{v}) - 1, e);
      Return(e, idx);
      return std::nullopt;
    }
    const size_t to = t_.IndexAt(static_cast<uint32_t>(v));
    if (to == t_.entries.size()) {
      return Unknown("jump to blob offset " + std::to_string(v) + ", which is no entry", &e);
    }
    const bool is_goto = e.flags & IPT_F_GOTO;
    if (static_cast<uint32_t>(v) != e.offset + e.next_offset && !is_goto) {
      if (stack_.size() >= t_.stacksize) {  // the kernel drops rather than overflow
        Step(XtLegacyEntryText(t_, e), &e, "drop (jump stack full)");
        return Outcome(ChainOutcome::Kind::kDrop, e);
      }
      stack_.push_back(*idx);
    }
    Step(XtLegacyEntryText(t_, e), &e, (is_goto ? "goto " : "jump ") + t_.entries[to].chain);
    *idx = to;
    return std::nullopt;
  }

  std::optional<ChainOutcome> OtherTarget(const XtLegacyEntry& e, size_t* idx) {
    using TK = XtTargetResult::Kind;
    const XtTargetResult r = EvalXtTarget(e.target, e.target_rev, e.target_info, *pkt_, hook_);
    const std::string text = XtLegacyEntryText(t_, e);
    switch (r.kind) {
      case TK::kContinue:
        Step(text, &e, "continue");
        ++*idx;
        return std::nullopt;
      case TK::kVerdict:
        if (r.verdict.code == kNftReturn) {
          Return(e, idx);
          return std::nullopt;
        }
        if (r.verdict.code < 0) return Unknown("verdict " + std::to_string(r.verdict.code), &e);
        return End(static_cast<uint32_t>(r.verdict.code), e);
      case TK::kDnat: {
        ApplyDnat(pkt_, r.dnat_addr, r.dnat_port);
        Step(text, &e, "dnat to " + XtAddrText(pkt_->daddr) + ":" + std::to_string(pkt_->dport));
        return Outcome(ChainOutcome::Kind::kAccept, e);
      }
      case TK::kReject: {
        Step(text, &e, "reject");
        ChainOutcome out = Outcome(ChainOutcome::Kind::kReject, e);
        out.reject = r.reject;
        return out;
      }
      case TK::kMark:
        pkt_->mark = (pkt_->mark & ~r.mask) ^ r.mark;
        Step(text, &e, "mark set 0x" + HexU32(pkt_->mark));
        ++*idx;
        return std::nullopt;
      case TK::kNotrack:
        pkt_->ct.untracked = true;
        Step(text, &e, "notrack");
        ++*idx;
        return std::nullopt;
      case TK::kUnknown:
        break;
    }
    return Unknown(r.reason, &e);
  }

  // XT_RETURN: pop the jump stack, or fall to the hook's underflow.
  void Return(const XtLegacyEntry& e, size_t* idx) {
    if (e.role == XtLegacyEntry::Role::kChainReturn) {
      Step("end of chain " + e.chain + ": return", nullptr, "return");
    } else {
      Step(XtLegacyEntryText(t_, e), &e, "return");
    }
    if (stack_.empty()) {
      *idx = t_.IndexAt(t_.underflow[hook_]);
    } else {
      *idx = stack_.back() + 1;
      stack_.pop_back();
    }
  }

  ChainOutcome End(uint32_t verdict, const XtLegacyEntry& e) {
    const std::string text = XtLegacyEntryText(t_, e);
    switch (verdict & NF_VERDICT_MASK) {
      case NF_ACCEPT:
        Step(text, &e, "accept");
        return Outcome(ChainOutcome::Kind::kAccept, e);
      case NF_DROP:
        Step(text, &e, "drop");
        return Outcome(ChainOutcome::Kind::kDrop, e);
      case NF_QUEUE:
        Step(text, &e, "queue");
        return Outcome(ChainOutcome::Kind::kQueue, e);
      default:
        return Unknown("x_tables verdict " + std::to_string(verdict) + " is not modelled", &e);
    }
  }

  ChainOutcome Outcome(ChainOutcome::Kind kind, const XtLegacyEntry& e) const {
    ChainOutcome out;
    out.kind = kind;
    out.decided = Ref(e);
    return out;
  }

  ChainOutcome Unknown(const std::string& why, const XtLegacyEntry* e) {
    Step(e != nullptr ? XtLegacyEntryText(t_, *e) : why, e, "unknown");
    ChainOutcome out;
    out.kind = ChainOutcome::Kind::kUnknown;
    out.reason = why;
    if (e != nullptr) out.decided = Ref(*e);
    return out;
  }

  RuleRef Ref(const XtLegacyEntry& e) const {
    RuleRef r;
    r.backend = "x_tables";
    r.family = "ip";
    r.table = t_.name;
    r.chain = e.chain;
    r.handle = e.position;
    r.policy = e.role == XtLegacyEntry::Role::kPolicy;
    r.text = XtLegacyEntryText(t_, e);
    r.comment = XtLegacyComment(e);
    return r;
  }

  void Step(const std::string& text, const XtLegacyEntry* e, const std::string& verdict) {
    if (steps_ == nullptr) return;
    TraceStep s;
    s.phase = phase_;
    s.depth = static_cast<int>(stack_.size());
    s.text = text;
    if (e != nullptr) s.rule = Ref(*e);
    s.verdict = verdict;
    steps_->push_back(std::move(s));
  }

  const XtLegacyTable& t_;
  const uint32_t hook_;
  Packet* pkt_;
  KernelView* kernel_;
  const std::string& phase_;
  std::vector<TraceStep>* steps_;
  const bool ct_attached_;     // the table runs after conntrack (not raw)
  std::vector<size_t> stack_;  // the kernel's jumpstack: entries jumped from
};

}  // namespace

ChainOutcome EvalXtLegacyHook(const XtLegacyTable& table, uint32_t hook, Packet* pkt,
                              KernelView* kernel, const std::string& phase,
                              std::vector<TraceStep>* steps) {
  // ip_tables hooks IPv4 only; a table is registered only at its valid hooks.
  if (pkt->ipv6() || hook >= kXtNumHooks || !(table.valid_hooks & (1u << hook))) return {};
  return Walk(table, hook, pkt, kernel, phase, steps).Run();
}

}  // namespace portmap::pathtrace
