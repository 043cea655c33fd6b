// libFuzzer target: the packet tracer's nf_tables model — the message and
// expression decoders, NftSnapshot built from what decodes, and the rule
// text — over any buffer of netlink messages.
// Invariants: no crash or sanitizer report; no more chains, rules and sets
// than message headers fit in the input; every decoded rule prints one
// bracketed text per expression; base chains come out in priority order.
#include <linux/netfilter.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "pathtrace/nft_snapshot.h"
#include "pathtrace/nft_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using portmap::pathtrace::NftChainModel;
  portmap::pathtrace::NftSnapshot snap;
  (void)snap.AddBuffer(data, size);
  const size_t headers = size / 20 + 1;  // nlmsghdr + nfgenmsg at least
  size_t rules = 0;
  for (const NftChainModel* c : snap.Chains()) {
    (void)portmap::pathtrace::NftChainText(*c);
    for (const auto& r : c->rules) {
      ++rules;
      const std::string text = portmap::pathtrace::NftRuleText(r);
      size_t brackets = 0;
      for (char ch : text) brackets += ch == '[' ? 1 : 0;
      if (brackets < r.exprs.size()) std::abort();
    }
  }
  if (snap.Chains().size() + rules + snap.Sets().size() > headers) std::abort();
  for (uint8_t nfproto : {NFPROTO_IPV4, NFPROTO_IPV6}) {
    for (uint32_t hook = 0; hook <= NF_INET_INGRESS; ++hook) {
      std::vector<const NftChainModel*> chains;
      if (!snap.BaseChains(nfproto, hook, &chains).ok()) std::abort();
      for (size_t i = 1; i < chains.size(); ++i) {
        if (chains[i - 1]->priority > chains[i]->priority) std::abort();
      }
    }
  }
  for (const auto* s : snap.Sets()) {
    if (s->name.empty()) continue;  // found by id, not by name
    const portmap::pathtrace::NftSetModel* found = nullptr;
    if (!snap.Set(s->family, s->table, s->name, 0, &found).ok() || found != s) std::abort();
  }
  return 0;
}
