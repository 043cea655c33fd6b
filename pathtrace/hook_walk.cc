// One hook: the base chains in priority order, as nf_hook_slow runs them.
#include "pathtrace/hook_walk.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include <algorithm>
#include <iterator>

#include "pathtrace/nft_eval.h"
#include "pathtrace/xt_legacy.h"

namespace portmap::pathtrace {

namespace {

bool IsNat(const NftChainModel& c) { return c.type == "nat"; }

// Where a chain runs: its priority, except nat chains, which the nat core
// runs together at its own hook priority (nf_nat_register_fn), ordered
// among themselves by theirs.
int32_t EffectivePriority(const NftChainModel& c, uint32_t hook) {
  if (!IsNat(c)) return c.priority;
  return hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_OUT ? kPriorityNatDst
                                                                  : kPriorityNatSrc;
}

void AttachConntrack(Packet* pkt) {
  if (pkt->ct.attached || pkt->ct.untracked) return;
  Conntrack& ct = pkt->ct;
  ct.attached = true;
  ct.ctinfo = IP_CT_NEW;
  ct.status = 0;
  ct.reply = false;
  ct.orig_src = pkt->saddr;
  ct.orig_dst = pkt->daddr;
  ct.orig_sport = pkt->sport;
  ct.orig_dport = pkt->dport;
  ct.reply_src = pkt->daddr;
  ct.reply_dst = pkt->saddr;
  ct.reply_sport = pkt->dport;
  ct.reply_dport = pkt->sport;
}

}  // namespace

const char* IcmpErrno(bool ipv6, uint8_t code) {
  if (ipv6) {
    // icmpv6_err_convert's tab_unreach: prohibited, policy and reject-route
    // are EACCES, unlike IPv4's.
    static constexpr const char* kV6[] = {"ENETUNREACH",  "EACCES", "EHOSTUNREACH", "EHOSTUNREACH",
                                          "ECONNREFUSED", "EACCES", "EACCES"};
    return code < std::size(kV6) ? kV6[code] : "EPROTO";
  }
  // icmp_err_convert, by ICMP_DEST_UNREACH code.
  static constexpr const char* kV4[] = {
      "ENETUNREACH",  "EHOSTUNREACH", "ENOPROTOOPT",  "ECONNREFUSED", "EMSGSIZE",     "EOPNOTSUPP",
      "ENETUNREACH",  "EHOSTDOWN",    "ENONET",       "ENETUNREACH",  "EHOSTUNREACH", "ENETUNREACH",
      "EHOSTUNREACH", "EHOSTUNREACH", "EHOSTUNREACH", "EHOSTUNREACH"};
  return code < std::size(kV4) ? kV4[code] : "EHOSTUNREACH";
}

Outcome RejectOutcome(const RejectAction& r, const Packet& pkt, std::string* client_errno) {
  const bool tcp = pkt.l4proto == 6;
  if (r.tcp_reset) {
    // A reset for a UDP packet is never sent: the client hears nothing.
    *client_errno = tcp ? "ECONNREFUSED" : "";
    return tcp ? Outcome::kRefused : Outcome::kTimeout;
  }
  *client_errno = IcmpErrno(pkt.ipv6(), r.icmp_code);
  if (!tcp) return Outcome::kUnreachable;
  return *client_errno == std::string("ECONNREFUSED") ? Outcome::kRefused : Outcome::kUnreachable;
}

void HookWalk::Stop(Outcome outcome, std::string reason, std::optional<RuleRef> where,
                    StopKind kind) {
  result_->outcome = outcome;
  result_->reason = std::move(reason);
  result_->stopped_at = std::move(where);
  result_->stop = outcome == Outcome::kUnknown ? StopKind::kNone : kind;
}

void HookWalk::Note(const std::string& phase, std::string text) {
  result_->steps.push_back(TraceStep{phase, 0, std::move(text), std::nullopt, ""});
}

void HookWalk::StopOn(const ChainOutcome& c, const Packet& pkt, const std::string& phase,
                      int32_t priority) {
  result_->stop_phase = phase;
  result_->stop_priority = priority;
  const std::string where =
      c.decided.has_value() ? c.decided->family + " " + c.decided->table + " " + c.decided->chain +
                                  (c.decided->policy ? std::string(" policy")
                                   : c.decided->backend == "x_tables"
                                       ? " rule #" + std::to_string(c.decided->handle)
                                       : " handle " + std::to_string(c.decided->handle))
                            : std::string("?");
  switch (c.kind) {
    case ChainOutcome::Kind::kDrop:
      Stop(Outcome::kTimeout, "dropped in " + phase + " by " + where, c.decided, StopKind::kRule);
      return;
    case ChainOutcome::Kind::kReject: {
      std::string err;
      const Outcome o = RejectOutcome(c.reject, pkt, &err);
      Stop(o, "rejected in " + phase + " by " + where, c.decided, StopKind::kRule);
      result_->client_errno = err;
      return;
    }
    case ChainOutcome::Kind::kQueue:
    case ChainOutcome::Kind::kUnknown:
      Stop(Outcome::kUnknown, c.reason + " (" + phase + ", " + where + ")", c.decided);
      return;
    case ChainOutcome::Kind::kAccept:
      return;
  }
}

bool HookWalk::RunIngress(const std::string& phase, Packet* pkt) {
  constexpr uint32_t kNetdevIngress = 0;  // NF_NETDEV_INGRESS
  constexpr uint32_t kInetIngress = 5;    // NF_INET_INGRESS
  return RunDevice(kNetdevIngress, kInetIngress, pkt->iif.name, phase, pkt);
}

bool HookWalk::RunEgress(const std::string& phase, Packet* pkt) {
  constexpr uint32_t kNetdevEgress = 1;  // NF_NETDEV_EGRESS (Linux 5.16)
  return RunDevice(kNetdevEgress, std::nullopt, pkt->oif.name, phase, pkt);
}

bool HookWalk::RunDevice(uint32_t netdev_hook, std::optional<uint32_t> inet_hook,
                         const std::string& device, const std::string& phase, Packet* pkt) {
  std::vector<const NftChainModel*> netdev, inet, chains;
  Status st = ruleset_->BaseChains(NFPROTO_NETDEV, netdev_hook, &netdev);
  if (st.ok() && inet_hook.has_value()) st = ruleset_->BaseChains(pkt->nfproto, *inet_hook, &inet);
  if (!st.ok()) {
    Stop(Outcome::kUnknown, "the " + phase + " chains could not be read: " + st.message());
    return false;
  }
  // A chain names its devices, comma-separated when more than one.
  auto on_device = [&device](const NftChainModel* c) {
    const std::string list = "," + c->device + ",";
    return list.find("," + device + ",") != std::string::npos;
  };
  for (const auto* c : netdev) {
    if (c->family == NFPROTO_NETDEV && on_device(c)) chains.push_back(c);
  }
  for (const auto* c : inet) {
    if (c->family == NFPROTO_INET && on_device(c)) chains.push_back(c);
  }
  std::stable_sort(chains.begin(), chains.end(),
                   [](const auto* a, const auto* b) { return a->priority < b->priority; });
  for (const NftChainModel* c : chains) {
    NftEvalContext ctx{ruleset_, kernel_, inet_hook.value_or(netdev_hook), phase, &result_->steps};
    const ChainOutcome out = EvalNftBaseChain(*c, pkt, ctx);
    result_->approximate = result_->approximate || out.approximate;
    if (out.kind != ChainOutcome::Kind::kAccept) {
      StopOn(out, *pkt, phase, c->priority);
      return false;
    }
  }
  return true;
}

bool HookWalk::Run(uint32_t hook, const std::string& phase, Packet* pkt) {
  std::vector<const NftChainModel*> chains;
  const Status st = ruleset_->BaseChains(pkt->nfproto, hook, &chains);
  if (!st.ok()) {
    Stop(Outcome::kUnknown, "the " + phase + " chains could not be read: " + st.message());
    return false;
  }
  // One list: nf_tables chains and, for IPv4, the legacy tables hooked here.
  struct Item {
    int32_t priority;
    bool nat;
    const NftChainModel* chain;
    const XtLegacyTable* table;
  };
  std::vector<Item> items;
  items.reserve(chains.size() + (legacy_ != nullptr ? legacy_->Tables().size() : 0));
  for (const NftChainModel* c : chains) {
    items.push_back({EffectivePriority(*c, hook), IsNat(*c), c, nullptr});
  }
  if (legacy_ != nullptr && pkt->ipv6() && !legacy_->Ip6Tables().empty()) {
    std::string names;
    for (const auto& t : legacy_->Ip6Tables()) names += (names.empty() ? "" : ", ") + t;
    Stop(Outcome::kUnknown, "ip6tables-legacy tables exist (" + names +
                                ") and the tracer does not read them; their rules may decide");
    return false;
  }
  if (legacy_ != nullptr && !pkt->ipv6()) {
    for (const XtLegacyTable& t : legacy_->Tables()) {
      if ((t.valid_hooks & (1U << hook)) == 0) continue;
      items.push_back({XtLegacyPriority(t.name, hook), t.name == "nat", nullptr, &t});
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.priority < b.priority; });
  const bool conntrack_hook = hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_OUT;
  bool nat_done = false;  // a nat chain set up a binding: later nat chains are skipped
  // A reply of a DNATed connection gets its source back (the address the
  // client connected to) at the nat core's srcnat priority: chains after it
  // see the rewritten packet, as the client will.
  const bool undo_dnat =
      hook == NF_INET_POST_ROUTING && pkt->ct.reply && (pkt->ct.status & IPS_DST_NAT) != 0;
  auto undo = [pkt]() {
    pkt->saddr = pkt->ct.orig_dst;
    pkt->sport = pkt->ct.orig_dport;
  };
  bool undone = false;
  for (const Item& it : items) {
    if (conntrack_hook && it.priority >= kPriorityConntrack) AttachConntrack(pkt);
    if (undo_dnat && !undone && it.priority > kPriorityNatSrc) {
      undo();
      undone = true;
    }
    if (it.nat) {
      // nat chains see only a connection's first packet (nf_nat_inet_fn).
      if (!pkt->ct.attached || pkt->ct.untracked || pkt->ct.ctinfo != IP_CT_NEW || nat_done) {
        continue;
      }
    }
    const uint32_t status_before = pkt->ct.status;
    ChainOutcome out;
    if (it.chain != nullptr) {
      NftEvalContext ctx{ruleset_, kernel_, hook, phase, &result_->steps};
      out = EvalNftBaseChain(*it.chain, pkt, ctx);
    } else {
      out = EvalXtLegacyHook(*it.table, hook, pkt, kernel_, phase, &result_->steps);
    }
    result_->approximate = result_->approximate || out.approximate;
    if (it.nat && pkt->ct.status != status_before) nat_done = true;
    if (out.kind != ChainOutcome::Kind::kAccept) {
      StopOn(out, *pkt, phase, it.priority);
      return false;
    }
  }
  if (conntrack_hook) AttachConntrack(pkt);
  if (undo_dnat && !undone) undo();
  return true;
}

}  // namespace portmap::pathtrace
