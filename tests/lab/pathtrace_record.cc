// pathtrace_record: dumps the whole nf_tables ruleset of the caller's network
// namespace — GETGEN, every table, chain, set, each set's elements, every
// rule, GETGEN again — and writes every message the kernel sent as hex (one
// message per line, '#' comments saying which request), for
// tests/fixtures/pathtrace/ (its README.md says how).  A lab tool: run it
// as root inside a scratch namespace.
//
// With --check-live: also reads the same ruleset through NftLiveRuleset
// (base chains of every hook, every chain, every set, absent ones) and
// compares each answer with the full dump; then commits a change
// (`nft add table ip ptrec_probe`, removed after) and checks that a read
// of the pinned generation fails as changed, StillCurrent says so, and a new
// Begin reads again.  Prints the mismatches; exit status 0 when none.
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/utsname.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "netlink/socket.h"
#include "pathtrace/nft_live.h"
#include "pathtrace/nft_model_decode.h"
#include "pathtrace/nft_snapshot.h"
#include "pathtrace/nft_text.h"

namespace {

using portmap::NetlinkStatus;
using portmap::pathtrace::NftModelMessages;

int Print(const nlmsghdr* nlh) {
  const auto* b = reinterpret_cast<const unsigned char*>(nlh);
  for (uint32_t i = 0; i < nlh->nlmsg_len; ++i) (void)std::printf("%02x", b[i]);
  (void)std::printf("\n");
  return MNL_CB_OK;
}

// One request; prints and decodes every answer.  GETGEN ends at its answer.
bool Ask(portmap::NetlinkSocket* sock, uint16_t type, uint8_t family,
         const std::vector<std::pair<uint16_t, std::string>>& attrs, const char* what,
         NftModelMessages* out) {
  std::array<uint32_t, 256> buf{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  nlh->nlmsg_flags = NLM_F_REQUEST | (type == NFT_MSG_GETGEN ? 0 : NLM_F_DUMP);
  nlh->nlmsg_seq = sock->NextSeq();
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  for (const auto& [attr, value] : attrs) mnl_attr_put_strz(nlh, attr, value.c_str());
  (void)std::printf("# %s\n", what);
  std::string error;
  NetlinkStatus st = sock->Dump(
      nlh,
      [&](const nlmsghdr* m) {
        Print(m);
        if (portmap::Status d = portmap::pathtrace::DecodeNftModelMessage(m, out);
            !d.ok() && error.empty()) {
          error = d.message();
        }
        return type == NFT_MSG_GETGEN && NFNL_MSG_TYPE(m->nlmsg_type) == NFT_MSG_NEWGEN
                   ? MNL_CB_STOP
                   : MNL_CB_OK;
      },
      std::chrono::steady_clock::now() + std::chrono::seconds(5));
  if (!st.ok() || !error.empty()) {
    (void)std::fprintf(stderr, "pathtrace_record: %s: %s\n", what,
                       !st.ok() ? st.message.c_str() : error.c_str());
    return false;
  }
  return true;
}

int failures = 0;
int checks = 0;

void Check(bool ok, const std::string& what) {
  ++checks;
  if (ok) return;
  ++failures;
  (void)std::fprintf(stderr, "check-live: MISMATCH %s\n", what.c_str());
}

std::string ChainText(const portmap::pathtrace::NftChainModel& c) {
  std::string out = c.table + " " + c.name + " {" + portmap::pathtrace::NftChainText(c) + "}";
  for (const auto& r : c.rules) out += " " + std::to_string(r.handle) + ":" + NftRuleText(r);
  return out;
}

int CheckLive(NftModelMessages dump) {
  using portmap::Status;
  using portmap::pathtrace::NftChainModel;
  using portmap::pathtrace::NftLiveRuleset;
  using portmap::pathtrace::NftSetModel;
  portmap::pathtrace::NftSnapshot want;
  want.Add(std::move(dump));
  NetlinkStatus nst;
  NftLiveRuleset live = NftLiveRuleset::Open(&nst);
  if (!nst.ok()) {
    (void)std::fprintf(stderr, "check-live: %s\n", nst.message.c_str());
    return 1;
  }
  uint32_t gen = 0;
  Status st = live.Begin(&gen);
  Check(st.ok() && gen == want.generation(), "Begin: " + st.message());
  for (uint8_t nfproto : {NFPROTO_IPV4, NFPROTO_IPV6}) {
    for (uint32_t hook = NF_INET_PRE_ROUTING; hook <= NF_INET_POST_ROUTING; ++hook) {
      std::vector<const NftChainModel*> got;
      st = live.BaseChains(nfproto, hook, &got);
      const std::vector<const NftChainModel*> expect = want.SortedBaseChains(nfproto, hook);
      const std::string what = "BaseChains " + std::to_string(nfproto) + "/" + std::to_string(hook);
      Check(st.ok() && got.size() == expect.size(), what + ": " + st.message());
      for (size_t i = 0; st.ok() && i < got.size() && i < expect.size(); ++i) {
        Check(ChainText(*got[i]) == ChainText(*expect[i]), what + ": " + ChainText(*got[i]));
      }
    }
  }
  // Chains once after the dumps of BaseChains (known to exist or not), once
  // from a source that has dumped nothing (GETCHAIN by name).
  NftLiveRuleset by_name = NftLiveRuleset::Open(&nst);
  st = by_name.Begin(&gen);
  Check(st.ok(), "Begin by name: " + st.message());
  for (NftLiveRuleset* source : {&live, &by_name}) {
    for (const NftChainModel* c : want.Chains()) {
      const NftChainModel* got = nullptr;
      st = source->Chain(c->family, c->table, c->name, &got);
      Check(st.ok() && got != nullptr && ChainText(*got) == ChainText(*c),
            "Chain " + c->name + ": " + st.message());
      st = source->Chain(c->family, c->table, c->name + "-absent", &got);
      Check(st.code() == Status::Code::kNoData, "absent chain: " + st.message());
    }
  }
  for (const NftSetModel* s : want.Sets()) {
    const NftSetModel* got = nullptr;
    st = live.Set(s->family, s->table, s->name, 0, &got);
    Check(st.ok() && got != nullptr && got->flags == s->flags && got->key_len == s->key_len &&
              got->field_len == s->field_len && got->elems.size() == s->elems.size(),
          "Set " + s->name + ": " + st.message());
    st = live.Set(s->family, s->table, s->name + "-absent", 0, &got);
    Check(st.code() == Status::Code::kNoData, "absent set: " + st.message());
  }
  bool current = false;
  st = live.StillCurrent(&current);
  Check(st.ok() && current, "StillCurrent before the change: " + st.message());

  // A commit after Begin: a fresh read must refuse the new generation.
  NftLiveRuleset fresh = NftLiveRuleset::Open(&nst);
  st = fresh.Begin(&gen);
  Check(st.ok(), "second Begin: " + st.message());
  if (std::system("nft add table ip ptrec_probe") != 0) {  // NOLINT(concurrency-mt-unsafe)
    Check(false, "nft add table ip ptrec_probe");
    return 1;
  }
  std::vector<const NftChainModel*> chains;
  st = fresh.BaseChains(NFPROTO_IPV4, NF_INET_FORWARD, &chains);
  Check(!st.ok() && st.message().rfind(portmap::pathtrace::kNftRulesetChanged, 0) == 0,
        "read after a commit: " + (st.ok() ? std::string("ok") : st.message()));
  st = fresh.StillCurrent(&current);
  Check(st.ok() && !current, "StillCurrent after the change");
  uint32_t next = 0;
  st = fresh.Begin(&next);
  Check(st.ok() && next != gen, "Begin after the change");
  st = fresh.BaseChains(NFPROTO_IPV4, NF_INET_FORWARD, &chains);
  Check(st.ok() && chains.size() == want.SortedBaseChains(NFPROTO_IPV4, NF_INET_FORWARD).size(),
        "BaseChains after a new Begin: " + st.message());
  (void)std::system("nft delete table ip ptrec_probe");  // NOLINT(concurrency-mt-unsafe)
  (void)std::fprintf(stderr, "check-live: %s (%d checks, %d mismatches)\n",
                     failures == 0 ? "OK" : "FAILED", checks, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool check_live = argc == 2 && std::string(argv[1]) == "--check-live";
  NetlinkStatus st;
  portmap::NetlinkSocket sock = portmap::NetlinkSocket::Open(NETLINK_NETFILTER, &st);
  if (!st.ok()) {
    (void)std::fprintf(stderr, "pathtrace_record: %s\n", st.message.c_str());
    return 1;
  }
  utsname u{};
  (void)uname(&u);
  (void)std::printf("# nf_tables dump recorded by portmap_pathtrace_record on Linux %s\n",
                    u.release);
  NftModelMessages m;
  bool ok = Ask(&sock, NFT_MSG_GETGEN, NFPROTO_UNSPEC, {}, "GETGEN", &m) &&
            Ask(&sock, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, {}, "GETTABLE dump", &m) &&
            Ask(&sock, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, {}, "GETCHAIN dump", &m) &&
            Ask(&sock, NFT_MSG_GETSET, NFPROTO_UNSPEC, {}, "GETSET dump", &m);
  for (size_t i = 0; ok && i < m.sets.size(); ++i) {
    const portmap::pathtrace::NftSetModel s = m.sets[i];
    const std::string what = "GETSETELEM dump " + s.table + " " + s.name;
    ok = Ask(&sock, NFT_MSG_GETSETELEM, s.family,
             {{NFTA_SET_ELEM_LIST_TABLE, s.table}, {NFTA_SET_ELEM_LIST_SET, s.name}}, what.c_str(),
             &m);
  }
  ok = ok && Ask(&sock, NFT_MSG_GETRULE, NFPROTO_UNSPEC, {}, "GETRULE dump", &m) &&
       Ask(&sock, NFT_MSG_GETGEN, NFPROTO_UNSPEC, {}, "GETGEN", &m);
  if (!ok) return 1;
  if (check_live) {
    (void)std::fflush(stdout);
    return CheckLive(std::move(m));
  }
  (void)std::fprintf(stderr,
                     "pathtrace_record: %zu tables, %zu chains, %zu sets, %zu rules, "
                     "generations %u..%u\n",
                     m.tables.size(), m.chains.size(), m.sets.size(), m.rules.size(),
                     m.gens.empty() ? 0 : m.gens.front(), m.gens.empty() ? 0 : m.gens.back());
  return 0;
}
