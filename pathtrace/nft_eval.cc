// nft_do_chain in userspace: rules, verdicts, the jump stack, the policy.
#include "pathtrace/nft_eval.h"

#include <linux/netfilter.h>

#include "pathtrace/nft_expr_eval.h"
#include "pathtrace/nft_text.h"

namespace portmap::pathtrace {

namespace {

RuleRef RefOf(const NftChainModel& chain, const NftRuleModel* rule) {
  RuleRef r;
  r.backend = "nf_tables";
  r.family = NftFamilyWord(chain.family);
  r.table = chain.table;
  r.chain = chain.name;
  if (rule == nullptr) {
    r.policy = true;
    r.text = "policy " + NftVerdictString(NftVerdict{static_cast<int32_t>(chain.policy), ""});
    return r;
  }
  r.handle = rule->handle;
  r.text = NftRuleText(*rule);
  r.comment = rule->comment;
  return r;
}

void Step(const NftEvalContext& ctx, int depth, std::string text, std::optional<RuleRef> rule,
          std::string verdict) {
  if (ctx.steps == nullptr) return;
  ctx.steps->push_back(
      TraceStep{ctx.phase, depth, std::move(text), std::move(rule), std::move(verdict)});
}

std::string ChainTitle(const NftChainModel& c) {
  return "table " + NftFamilyWord(c.family) + " " + c.table + " chain " + c.name;
}

}  // namespace

ChainOutcome EvalNftBaseChain(const NftChainModel& base, Packet* pkt, const NftEvalContext& ctx) {
  struct Frame {
    const NftChainModel* chain;
    size_t next;
  };
  ChainOutcome out;
  std::vector<Frame> stack;
  const NftChainModel* chain = &base;
  size_t idx = 0;
  NftRegs regs;  // like the kernel's, one register file for the whole base chain
  Step(ctx, 0, ChainTitle(base) + " (" + NftChainText(base) + ")", std::nullopt, "");

  for (;;) {
    const NftRuleModel* decided = nullptr;
    bool rejected = false;
    for (; idx < chain->rules.size(); ++idx) {
      const NftRuleModel& rule = chain->rules[idx];
      regs.verdict = NftVerdict{kNftContinue, ""};
      NftExprEffects fx;
      for (const NftExpr& e : rule.exprs) {
        EvalNftExpr(e, *chain, &regs, pkt, ctx, &fx);
        if (!fx.unknown.empty()) {
          out.kind = ChainOutcome::Kind::kUnknown;
          out.reason = fx.unknown;
          out.decided = RefOf(*chain, &rule);
          Step(ctx, static_cast<int>(stack.size()), "cannot evaluate: " + fx.unknown, out.decided,
               "unknown");
          return out;
        }
        if (regs.verdict.code != kNftContinue) break;
      }
      if (regs.verdict.code == kNftBreak) continue;  // the rule did not match
      out.approximate = out.approximate || fx.approximate;
      if (fx.reject.has_value()) {
        out.reject = *fx.reject;
        rejected = true;
      }
      if (regs.verdict.code == kNftContinue) {
        if (!fx.rewrite.empty()) {
          Step(ctx, static_cast<int>(stack.size()), "rule matched", RefOf(*chain, &rule),
               fx.rewrite);
        }
        continue;
      }
      decided = &rule;
      std::string v = fx.rewrite;
      if (!v.empty()) v += ", ";
      v += NftVerdictString(regs.verdict);
      if (fx.reject.has_value()) v = "reject";
      Step(ctx, static_cast<int>(stack.size()), "rule matched", RefOf(*chain, &rule), v);
      break;
    }
    if (decided == nullptr) regs.verdict = NftVerdict{kNftContinue, ""};  // the chain's end

    const int32_t code = regs.verdict.code;
    if (code >= 0) {
      out.decided = RefOf(*chain, decided);
      switch (code & NF_VERDICT_MASK) {
        case NF_ACCEPT:
          out.kind = ChainOutcome::Kind::kAccept;
          return out;
        case NF_DROP:
          out.kind = rejected ? ChainOutcome::Kind::kReject : ChainOutcome::Kind::kDrop;
          return out;
        case NF_QUEUE:
          out.kind = ChainOutcome::Kind::kQueue;
          out.reason = "the packet is queued to userspace (NFQUEUE); its fate is not visible";
          return out;
        default:
          out.kind = ChainOutcome::Kind::kUnknown;
          out.reason = "verdict " + std::to_string(code) + " is not modelled";
          return out;
      }
    }
    if (code == kNftJump || code == kNftGoto) {
      if (code == kNftJump) {
        if (stack.size() >= kNftJumpStackSize) {
          out.kind = ChainOutcome::Kind::kUnknown;
          out.reason = "jump stack overflow";
          out.decided = RefOf(*chain, decided);
          return out;
        }
        stack.push_back(Frame{chain, idx + 1});
      }
      const NftChainModel* next = nullptr;
      const Status st = ctx.ruleset->Chain(chain->family, chain->table, regs.verdict.chain, &next);
      if (!st.ok() || next == nullptr) {
        out.kind = ChainOutcome::Kind::kUnknown;
        out.reason = "chain " + regs.verdict.chain + " could not be read: " + st.message();
        out.decided = RefOf(*chain, decided);
        return out;
      }
      chain = next;
      idx = 0;
      continue;
    }
    // NFT_RETURN, or the end of a chain: back to the caller, or the policy.
    if (!stack.empty()) {
      chain = stack.back().chain;
      idx = stack.back().next;
      stack.pop_back();
      continue;
    }
    out.decided = RefOf(base, nullptr);
    Step(ctx, 0, "policy", out.decided,
         NftVerdictString(NftVerdict{static_cast<int32_t>(base.policy), ""}));
    out.kind = base.policy == NF_ACCEPT ? ChainOutcome::Kind::kAccept : ChainOutcome::Kind::kDrop;
    return out;
  }
}

}  // namespace portmap::pathtrace
