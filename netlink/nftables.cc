// The nf_tables reader: requests, and the generation-checked read loop.
#include "netlink/nftables.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

namespace portmap {

namespace {}  // namespace

nlmsghdr* PutNftRequest(NftRequestBuf* buf, uint16_t msg_type, uint16_t flags, uint8_t family,
                        uint32_t seq) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf->data());
  nlh->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg_type);
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return nlh;
}

bool NftReadConsistent(uint32_t before, uint32_t after, const std::vector<uint16_t>& stamps) {
  const auto low = static_cast<uint16_t>(before & 0xffff);
  return before == after &&
         std::all_of(stamps.begin(), stamps.end(), [low](uint16_t g) { return g == low; });
}

NftablesReader NftablesReader::Open(NetlinkStatus* status) {
  NetlinkSocket sock = NetlinkSocket::Open(NETLINK_NETFILTER, status);
  if (!status->ok()) return {};
  return NftablesReader(std::move(sock));
}

NetlinkStatus NftablesReader::ReadGeneration(std::chrono::steady_clock::time_point deadline,
                                             NftGeneration* gen) {
  NftRequestBuf buf{};
  nlmsghdr* nlh =
      PutNftRequest(&buf, NFT_MSG_GETGEN, NLM_F_REQUEST, NFPROTO_UNSPEC, sock_.NextSeq());
  NftMessages msgs;
  NetlinkStatus st = sock_.Dump(
      nlh,
      [&](const nlmsghdr* m) {
        if (tap_) tap_(m);
        if (DecodeNftMessage(m, &msgs) != MNL_CB_OK) return MNL_CB_ERROR;
        return msgs.gens.empty() ? MNL_CB_OK : MNL_CB_STOP;  // GETGEN has no NLMSG_DONE
      },
      deadline);
  if (!st.ok()) return st;
  if (msgs.gens.empty()) return NetlinkStatus::Errno(EPROTO, "nf_tables GETGEN: no answer");
  *gen = msgs.gens.front();
  return NetlinkStatus::Ok();
}

NetlinkStatus NftablesReader::DumpInto(uint16_t msg_type, uint8_t family,
                                       const std::vector<std::pair<uint16_t, std::string>>& attrs,
                                       std::chrono::steady_clock::time_point deadline,
                                       NftMessages* out, bool dump) {
  NftRequestBuf buf{};
  // A single get is acknowledged, so the exchange ends the same way whether
  // the object exists (message, ack) or not (an error).
  const uint16_t flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
  nlmsghdr* nlh = PutNftRequest(&buf, msg_type, flags, family, sock_.NextSeq());
  for (const auto& [type, value] : attrs) {
    if (!mnl_attr_put_strz_check(nlh, sizeof buf, type, value.c_str())) {
      return NetlinkStatus::Errno(ENAMETOOLONG, "nf_tables request");
    }
  }
  return sock_.Dump(
      nlh,
      [&](const nlmsghdr* m) {
        if (tap_) tap_(m);
        return DecodeNftMessage(m, out);
      },
      deadline);
}

NetlinkStatus NftablesReader::ReadOnce(const std::vector<uint8_t>& families,
                                       const std::vector<std::string>& tables,
                                       const NftChainFilter& want,
                                       std::chrono::steady_clock::time_point deadline,
                                       NftRuleset* out) {
  NftGeneration gen;
  NetlinkStatus st = ReadGeneration(deadline, &gen);
  if (!st.ok()) return st;
  NftMessages msgs;
  st = DumpInto(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, {}, deadline, &msgs);
  if (!st.ok()) return st;
  // The kernel has no table filter for chain dumps (it has one for rules), so
  // dump the chains of each family that holds a wanted table, once.
  auto wanted_table = [&](uint8_t family, const std::string& name) {
    return std::find(families.begin(), families.end(), family) != families.end() &&
           std::find(tables.begin(), tables.end(), name) != tables.end();
  };
  std::vector<uint8_t> dumped;
  for (const NftTable& t : std::vector<NftTable>(msgs.tables)) {
    if (!wanted_table(t.family, t.name)) continue;
    if (std::find(dumped.begin(), dumped.end(), t.family) != dumped.end()) continue;
    dumped.push_back(t.family);
    st = DumpInto(NFT_MSG_GETCHAIN, t.family, {}, deadline, &msgs);
    if (!st.ok()) return st;
  }
  out->chains.clear();
  for (const NftChainInfo& c : std::vector<NftChainInfo>(msgs.chains)) {
    if (!wanted_table(c.family, c.table) || !want(c)) continue;
    NfChain chain;
    st = ReadChain(c, deadline, &msgs, &chain);
    if (!st.ok()) return st;
    out->chains.push_back(std::move(chain));
  }
  return FinishRead(gen.id, msgs, deadline, out);
}

NetlinkStatus NftablesReader::ReadNamedOnce(const std::vector<uint8_t>& families,
                                            const std::vector<std::string>& tables,
                                            const std::vector<std::string>& names,
                                            const std::function<bool(const std::string&)>& follow,
                                            std::chrono::steady_clock::time_point deadline,
                                            NftRuleset* out) {
  NftGeneration gen;
  NetlinkStatus st = ReadGeneration(deadline, &gen);
  if (!st.ok()) return st;
  NftMessages msgs;
  st = DumpInto(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, {}, deadline, &msgs);
  if (!st.ok()) return st;
  out->chains.clear();
  for (const NftTable& t : std::vector<NftTable>(msgs.tables)) {
    if (std::find(families.begin(), families.end(), t.family) == families.end() ||
        std::find(tables.begin(), tables.end(), t.name) == tables.end()) {
      continue;
    }
    std::vector<std::string> queue(names.rbegin(), names.rend());
    std::vector<std::string> seen;
    while (!queue.empty()) {
      const std::string name = std::move(queue.back());
      queue.pop_back();
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      msgs.chains.clear();
      st = DumpInto(NFT_MSG_GETCHAIN, t.family,
                    {{NFTA_CHAIN_TABLE, t.name}, {NFTA_CHAIN_NAME, name}}, deadline, &msgs,
                    /*dump=*/false);
      if (st.err == ENOENT) continue;  // no such chain: absent, not an error
      if (!st.ok()) return st;
      if (msgs.chains.empty()) continue;
      const NftChainInfo c = msgs.chains.front();
      NfChain chain;
      st = ReadChain(c, deadline, &msgs, &chain);
      if (!st.ok()) return st;
      for (const NfRule& rule : chain.rules) {
        if (!rule.jump.empty() && follow(rule.jump)) queue.push_back(rule.jump);
      }
      out->chains.push_back(std::move(chain));
    }
  }
  return FinishRead(gen.id, msgs, deadline, out);
}

NetlinkStatus NftablesReader::ReadChain(const NftChainInfo& c,
                                        std::chrono::steady_clock::time_point deadline,
                                        NftMessages* msgs, NfChain* chain) {
  chain->family = NftFamilyName(c.family);
  chain->table = c.table;
  chain->name = c.name;
  chain->base = c.hook.has_value();
  if (c.policy.has_value()) chain->policy_accept = *c.policy == NF_ACCEPT;
  msgs->rules.clear();
  NetlinkStatus st =
      DumpInto(NFT_MSG_GETRULE, c.family, {{NFTA_RULE_TABLE, c.table}, {NFTA_RULE_CHAIN, c.name}},
               deadline, msgs);
  if (!st.ok()) return st;
  for (NftRuleInfo& r : msgs->rules) {
    // The kernel filters; this guards against one that ignores the filter.
    if (r.table == c.table && r.chain == c.name) chain->rules.push_back(std::move(r.rule));
  }
  return NetlinkStatus::Ok();
}

NetlinkStatus NftablesReader::FinishRead(uint32_t first_generation, const NftMessages& msgs,
                                         std::chrono::steady_clock::time_point deadline,
                                         NftRuleset* out) {
  NftGeneration after;
  NetlinkStatus st = ReadGeneration(deadline, &after);
  if (!st.ok()) return st;
  if (!NftReadConsistent(first_generation, after.id, msgs.generations)) {
    return NetlinkStatus::Errno(EAGAIN, "nf_tables ruleset changed during the read");
  }
  out->generation = first_generation;
  return NetlinkStatus::Ok();
}

NetlinkStatus NftablesReader::ReadNamed(const std::vector<uint8_t>& families,
                                        const std::vector<std::string>& tables,
                                        const std::vector<std::string>& names,
                                        const std::function<bool(const std::string&)>& follow,
                                        std::chrono::steady_clock::time_point deadline,
                                        NftRuleset* out) {
  NetlinkStatus st;
  for (int attempt = 0; attempt < kNftReadAttempts; ++attempt) {
    st = ReadNamedOnce(families, tables, names, follow, deadline, out);
    if (st.err != EAGAIN) return st;
  }
  return st;
}

NetlinkStatus NftablesReader::Read(const std::vector<uint8_t>& families,
                                   const std::vector<std::string>& tables,
                                   const NftChainFilter& want,
                                   std::chrono::steady_clock::time_point deadline,
                                   NftRuleset* out) {
  NetlinkStatus st;
  for (int attempt = 0; attempt < kNftReadAttempts; ++attempt) {
    st = ReadOnce(families, tables, want, deadline, out);
    if (st.err != EAGAIN) return st;
  }
  return st;
}

}  // namespace portmap
