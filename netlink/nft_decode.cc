// The nf_tables decoders for generations, tables and chains, and the
// dispatcher over every message kind.  Rules are in nft_rule.cc.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "netlink/nft_attr.h"
#include "netlink/nft_rule.h"
#include "netlink/nftables.h"

namespace portmap {

namespace {

using nft_internal::AttrRule;
using nft_internal::AttrTable;
using nft_internal::ParseMessage;
using nft_internal::ParseNested;

int Invalid() {
  errno = EINVAL;
  return MNL_CB_ERROR;
}

uint32_t U32(const nlattr* a) { return ntohl(mnl_attr_get_u32(a)); }

int DecodeGen(const nlmsghdr* nlh, NftMessages* out) {
  constexpr AttrRule kRules[] = {{NFTA_GEN_ID, MNL_TYPE_U32},
                                 {NFTA_GEN_PROC_PID, MNL_TYPE_U32},
                                 {NFTA_GEN_PROC_NAME, MNL_TYPE_NUL_STRING}};
  AttrTable<NFTA_GEN_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_GEN_ID] == nullptr) return Invalid();
  NftGeneration gen;
  gen.id = U32(tb[NFTA_GEN_ID]);
  if (tb[NFTA_GEN_PROC_PID] != nullptr) gen.proc_pid = U32(tb[NFTA_GEN_PROC_PID]);
  if (tb[NFTA_GEN_PROC_NAME] != nullptr) gen.proc_name = mnl_attr_get_str(tb[NFTA_GEN_PROC_NAME]);
  out->gens.push_back(std::move(gen));
  return MNL_CB_OK;
}

int DecodeTable(const nlmsghdr* nlh, uint8_t family, NftMessages* out) {
  constexpr AttrRule kRules[] = {{NFTA_TABLE_NAME, MNL_TYPE_NUL_STRING}};
  AttrTable<NFTA_TABLE_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_TABLE_NAME] == nullptr) return Invalid();
  out->tables.push_back({family, mnl_attr_get_str(tb[NFTA_TABLE_NAME])});
  return MNL_CB_OK;
}

int DecodeChain(const nlmsghdr* nlh, uint8_t family, std::vector<NftChainInfo>* out) {
  constexpr AttrRule kRules[] = {{NFTA_CHAIN_TABLE, MNL_TYPE_NUL_STRING},
                                 {NFTA_CHAIN_NAME, MNL_TYPE_NUL_STRING},
                                 {NFTA_CHAIN_HOOK, MNL_TYPE_NESTED},
                                 {NFTA_CHAIN_POLICY, MNL_TYPE_U32}};
  AttrTable<NFTA_CHAIN_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_CHAIN_TABLE] == nullptr ||
      tb[NFTA_CHAIN_NAME] == nullptr) {
    return Invalid();
  }
  NftChainInfo chain;
  chain.family = family;
  chain.table = mnl_attr_get_str(tb[NFTA_CHAIN_TABLE]);
  chain.name = mnl_attr_get_str(tb[NFTA_CHAIN_NAME]);
  if (tb[NFTA_CHAIN_HOOK] != nullptr) {
    constexpr AttrRule kHook[] = {{NFTA_HOOK_HOOKNUM, MNL_TYPE_U32}};
    AttrTable<NFTA_HOOK_MAX + 1> hook{};
    if (!ParseNested(tb[NFTA_CHAIN_HOOK], kHook, &hook)) return Invalid();
    if (hook[NFTA_HOOK_HOOKNUM] != nullptr) chain.hook = U32(hook[NFTA_HOOK_HOOKNUM]);
  }
  if (tb[NFTA_CHAIN_POLICY] != nullptr) chain.policy = U32(tb[NFTA_CHAIN_POLICY]);
  out->push_back(std::move(chain));
  return MNL_CB_OK;
}

}  // namespace

int DecodeNftMessage(const nlmsghdr* nlh, NftMessages* out) {
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return MNL_CB_OK;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return Invalid();
  nfgenmsg nfg{};
  std::memcpy(&nfg, mnl_nlmsg_get_payload(nlh), sizeof nfg);
  const uint8_t family = nfg.nfgen_family;
  switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
    case NFT_MSG_NEWGEN:
      return DecodeGen(nlh, out);
    case NFT_MSG_NEWTABLE:
      out->generations.push_back(ntohs(nfg.res_id));
      return DecodeTable(nlh, family, out);
    case NFT_MSG_NEWCHAIN:
      out->generations.push_back(ntohs(nfg.res_id));
      return DecodeChain(nlh, family, &out->chains);
    case NFT_MSG_DELCHAIN:
      return DecodeChain(nlh, family, &out->deleted_chains);
    case NFT_MSG_NEWRULE: {
      out->generations.push_back(ntohs(nfg.res_id));
      NftRuleInfo rule;
      if (DecodeNftRuleMessage(nlh, &rule) != MNL_CB_OK) return MNL_CB_ERROR;
      out->rules.push_back(std::move(rule));
      return MNL_CB_OK;
    }
    case NFT_MSG_DELRULE: {
      NftRuleInfo rule;
      if (DecodeNftRuleMessage(nlh, &rule) != MNL_CB_OK) return MNL_CB_ERROR;
      out->deleted_rules.push_back(std::move(rule));
      return MNL_CB_OK;
    }
    default:
      return MNL_CB_OK;
  }
}

NetlinkStatus DecodeNftBuffer(const void* buf, size_t len, NftMessages* out) {
  // libmnl reads headers in place: copy to aligned storage first.
  std::vector<uint32_t> aligned((len + sizeof(uint32_t) - 1) / sizeof(uint32_t));
  if (len > 0) std::memcpy(aligned.data(), buf, len);
  NetlinkStatus st;
  RunNetlinkCallbacks(
      aligned.data(), len, 0, 0, [out](const nlmsghdr* nlh) { return DecodeNftMessage(nlh, out); },
      &st);
  return st;
}

std::string NftFamilyWord(uint8_t family) {
  switch (family) {
    case NFPROTO_IPV4:
      return "ip";
    case NFPROTO_IPV6:
      return "ip6";
    default:
      return NftFamilyName(family);
  }
}

std::string NftFamilyName(uint8_t family) {
  switch (family) {
    case NFPROTO_IPV4:
      return "ipv4";
    case NFPROTO_IPV6:
      return "ipv6";
    case NFPROTO_INET:
      return "inet";
    case NFPROTO_ARP:
      return "arp";
    case NFPROTO_BRIDGE:
      return "bridge";
    case NFPROTO_NETDEV:
      return "netdev";
    default:
      return std::to_string(family);
  }
}

}  // namespace portmap
