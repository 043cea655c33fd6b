// The nf_tables rule decoder: walks a rule's expression list with a small
// register file, enough to read what iptables-nft writes (nftables.h).
#include "netlink/nft_rule.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "netlink/nft_attr.h"
#include "netlink/xt_payload.h"

namespace portmap {

namespace {

using nft_internal::AttrRule;
using nft_internal::AttrTable;
using nft_internal::ParseNested;

// What a register holds, as far as this decoder cares.
enum class Reg : uint8_t { kUnknown, kL4Proto, kDaddr, kDport };

// Facts gathered from the matches of one rule.
struct RuleState {
  std::array<Reg, 32> regs{};  // NFT_REG_1..4 and NFT_REG32_00..15 fit below 32
  // Values an immediate loaded (native `dnat to ADDR:PORT` loads both first).
  std::array<std::string, 32> values{};
  std::string proto;
  std::string daddr;
  uint16_t dport = 0;
  bool dnat = false;
  std::string dnat_ip;
  uint16_t dnat_port = 0;
};

Reg* RegAt(RuleState* st, const nlattr* a) {
  const uint32_t r = ntohl(mnl_attr_get_u32(a));
  return r < st->regs.size() ? &st->regs[r] : nullptr;
}

bool Meta(const nlattr* data, RuleState* st) {
  constexpr AttrRule kRules[] = {{NFTA_META_DREG, MNL_TYPE_U32}, {NFTA_META_KEY, MNL_TYPE_U32}};
  AttrTable<NFTA_META_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_META_DREG] == nullptr || tb[NFTA_META_KEY] == nullptr) return true;  // a set
  Reg* r = RegAt(st, tb[NFTA_META_DREG]);
  if (r == nullptr) return true;
  *r = ntohl(mnl_attr_get_u32(tb[NFTA_META_KEY])) == NFT_META_L4PROTO ? Reg::kL4Proto
                                                                      : Reg::kUnknown;
  return true;
}

bool Payload(const nlattr* data, uint8_t family, RuleState* st) {
  constexpr AttrRule kRules[] = {{NFTA_PAYLOAD_DREG, MNL_TYPE_U32},
                                 {NFTA_PAYLOAD_BASE, MNL_TYPE_U32},
                                 {NFTA_PAYLOAD_OFFSET, MNL_TYPE_U32},
                                 {NFTA_PAYLOAD_LEN, MNL_TYPE_U32}};
  AttrTable<NFTA_PAYLOAD_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_PAYLOAD_DREG] == nullptr || tb[NFTA_PAYLOAD_BASE] == nullptr ||
      tb[NFTA_PAYLOAD_OFFSET] == nullptr || tb[NFTA_PAYLOAD_LEN] == nullptr) {
    return true;  // a payload write (mangle), not a load
  }
  Reg* r = RegAt(st, tb[NFTA_PAYLOAD_DREG]);
  if (r == nullptr) return true;
  const uint32_t base = ntohl(mnl_attr_get_u32(tb[NFTA_PAYLOAD_BASE]));
  const uint32_t off = ntohl(mnl_attr_get_u32(tb[NFTA_PAYLOAD_OFFSET]));
  const uint32_t len = ntohl(mnl_attr_get_u32(tb[NFTA_PAYLOAD_LEN]));
  const bool v6 = family == NFPROTO_IPV6;
  *r = Reg::kUnknown;
  if (base == NFT_PAYLOAD_NETWORK_HEADER) {
    if ((!v6 && off == 9 && len == 1) || (v6 && off == 6 && len == 1)) *r = Reg::kL4Proto;
    if ((!v6 && off == 16 && len == 4) || (v6 && off == 24 && len == 16)) *r = Reg::kDaddr;
  } else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && len == 2) {
    *r = Reg::kDport;
  }
  return true;
}

bool Cmp(const nlattr* data, RuleState* st) {
  constexpr AttrRule kRules[] = {
      {NFTA_CMP_SREG, MNL_TYPE_U32}, {NFTA_CMP_OP, MNL_TYPE_U32}, {NFTA_CMP_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_CMP_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_CMP_SREG] == nullptr || tb[NFTA_CMP_OP] == nullptr || tb[NFTA_CMP_DATA] == nullptr) {
    return false;
  }
  constexpr AttrRule kData[] = {{NFTA_DATA_VALUE, MNL_TYPE_BINARY}};
  AttrTable<NFTA_DATA_MAX + 1> value{};
  if (!ParseNested(tb[NFTA_CMP_DATA], kData, &value)) return false;
  Reg* r = RegAt(st, tb[NFTA_CMP_SREG]);
  if (r == nullptr || value[NFTA_DATA_VALUE] == nullptr) return true;
  if (ntohl(mnl_attr_get_u32(tb[NFTA_CMP_OP])) != NFT_CMP_EQ) return true;  // `!` matches
  const auto* bytes = static_cast<const uint8_t*>(mnl_attr_get_payload(value[NFTA_DATA_VALUE]));
  const size_t len = mnl_attr_get_payload_len(value[NFTA_DATA_VALUE]);
  if (*r == Reg::kL4Proto && len == 1) st->proto = XtProtoName(bytes[0]);
  if (*r == Reg::kDaddr && (len == 4 || len == 16)) st->daddr = XtAddrString(bytes, len);
  if (*r == Reg::kDport && len == 2) st->dport = static_cast<uint16_t>(bytes[0] << 8 | bytes[1]);
  return true;
}

bool Counter(const nlattr* data, NfRule* rule) {
  constexpr AttrRule kRules[] = {{NFTA_COUNTER_BYTES, MNL_TYPE_U64},
                                 {NFTA_COUNTER_PACKETS, MNL_TYPE_U64}};
  AttrTable<NFTA_COUNTER_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_COUNTER_BYTES] != nullptr)
    rule->bytes += be64toh(mnl_attr_get_u64(tb[NFTA_COUNTER_BYTES]));
  if (tb[NFTA_COUNTER_PACKETS] != nullptr) {
    rule->packets += be64toh(mnl_attr_get_u64(tb[NFTA_COUNTER_PACKETS]));
  }
  return true;
}

bool Immediate(const nlattr* data, RuleState* st, NfRule* rule) {
  constexpr AttrRule kRules[] = {{NFTA_IMMEDIATE_DREG, MNL_TYPE_U32},
                                 {NFTA_IMMEDIATE_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_IMMEDIATE_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_IMMEDIATE_DATA] == nullptr) return true;
  constexpr AttrRule kData[] = {{NFTA_DATA_VALUE, MNL_TYPE_BINARY},
                                {NFTA_DATA_VERDICT, MNL_TYPE_NESTED}};
  AttrTable<NFTA_DATA_MAX + 1> dt{};
  if (!ParseNested(tb[NFTA_IMMEDIATE_DATA], kData, &dt)) return false;
  if (dt[NFTA_DATA_VALUE] != nullptr && tb[NFTA_IMMEDIATE_DREG] != nullptr) {
    const uint32_t r = ntohl(mnl_attr_get_u32(tb[NFTA_IMMEDIATE_DREG]));
    if (r < st->regs.size()) {
      st->regs[r] = Reg::kUnknown;
      st->values[r].assign(static_cast<const char*>(mnl_attr_get_payload(dt[NFTA_DATA_VALUE])),
                           mnl_attr_get_payload_len(dt[NFTA_DATA_VALUE]));
    }
  }
  if (dt[NFTA_DATA_VERDICT] == nullptr) return true;  // a value load
  constexpr AttrRule kVerdict[] = {{NFTA_VERDICT_CODE, MNL_TYPE_U32},
                                   {NFTA_VERDICT_CHAIN, MNL_TYPE_NUL_STRING}};
  AttrTable<NFTA_VERDICT_MAX + 1> v{};
  if (!ParseNested(dt[NFTA_DATA_VERDICT], kVerdict, &v)) return false;
  if (v[NFTA_VERDICT_CODE] == nullptr) return false;
  const auto code = static_cast<int32_t>(ntohl(mnl_attr_get_u32(v[NFTA_VERDICT_CODE])));
  if ((code == NFT_JUMP || code == NFT_GOTO) && v[NFTA_VERDICT_CHAIN] != nullptr) {
    rule->jump = mnl_attr_get_str(v[NFTA_VERDICT_CHAIN]);
  }
  return true;
}

// xt match "tcp" / "udp" (the older iptables-nft encoding of --dport).
bool XtMatch(const nlattr* data, RuleState* st) {
  constexpr AttrRule kRules[] = {{NFTA_MATCH_NAME, MNL_TYPE_NUL_STRING},
                                 {NFTA_MATCH_INFO, MNL_TYPE_BINARY}};
  AttrTable<NFTA_MATCH_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_MATCH_NAME] == nullptr || tb[NFTA_MATCH_INFO] == nullptr) return true;
  DecodeXtPortMatch(mnl_attr_get_str(tb[NFTA_MATCH_NAME]),
                    mnl_attr_get_payload(tb[NFTA_MATCH_INFO]),
                    mnl_attr_get_payload_len(tb[NFTA_MATCH_INFO]), &st->proto, &st->dport);
  return true;
}

bool XtTarget(const nlattr* data, uint8_t family, RuleState* st) {
  constexpr AttrRule kRules[] = {{NFTA_TARGET_NAME, MNL_TYPE_NUL_STRING},
                                 {NFTA_TARGET_REV, MNL_TYPE_U32},
                                 {NFTA_TARGET_INFO, MNL_TYPE_BINARY}};
  AttrTable<NFTA_TARGET_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_TARGET_NAME] == nullptr || tb[NFTA_TARGET_INFO] == nullptr) return true;
  if (std::string_view(mnl_attr_get_str(tb[NFTA_TARGET_NAME])) != "DNAT") return true;
  const int rev = tb[NFTA_TARGET_REV] != nullptr
                      ? static_cast<int>(ntohl(mnl_attr_get_u32(tb[NFTA_TARGET_REV])))
                      : 0;
  st->dnat = DecodeXtDnat(rev, mnl_attr_get_payload(tb[NFTA_TARGET_INFO]),
                          mnl_attr_get_payload_len(tb[NFTA_TARGET_INFO]), family == NFPROTO_IPV6,
                          &st->dnat_ip, &st->dnat_port);
  return true;
}

// Native `dnat to ADDR[:PORT]` (nft, Docker 29's nftables backend): the
// addresses and ports come from registers an immediate loaded.
bool Nat(const nlattr* data, uint8_t family, RuleState* st) {
  constexpr AttrRule kRules[] = {{NFTA_NAT_TYPE, MNL_TYPE_U32},
                                 {NFTA_NAT_FAMILY, MNL_TYPE_U32},
                                 {NFTA_NAT_REG_ADDR_MIN, MNL_TYPE_U32},
                                 {NFTA_NAT_REG_PROTO_MIN, MNL_TYPE_U32}};
  AttrTable<NFTA_NAT_MAX + 1> tb{};
  if (!ParseNested(data, kRules, &tb)) return false;
  if (tb[NFTA_NAT_TYPE] == nullptr || ntohl(mnl_attr_get_u32(tb[NFTA_NAT_TYPE])) != NFT_NAT_DNAT) {
    return true;
  }
  st->dnat = true;
  const uint32_t nat_family =
      tb[NFTA_NAT_FAMILY] != nullptr ? ntohl(mnl_attr_get_u32(tb[NFTA_NAT_FAMILY])) : family;
  if (tb[NFTA_NAT_REG_ADDR_MIN] != nullptr) {
    const uint32_t r = ntohl(mnl_attr_get_u32(tb[NFTA_NAT_REG_ADDR_MIN]));
    const size_t len = nat_family == NFPROTO_IPV6 ? 16 : 4;
    if (r < st->values.size() && st->values[r].size() >= len) {
      st->dnat_ip = XtAddrString(reinterpret_cast<const uint8_t*>(st->values[r].data()), len);
    }
  }
  if (tb[NFTA_NAT_REG_PROTO_MIN] != nullptr) {
    const uint32_t r = ntohl(mnl_attr_get_u32(tb[NFTA_NAT_REG_PROTO_MIN]));
    if (r < st->values.size() && st->values[r].size() >= 2) {
      const auto* b = reinterpret_cast<const uint8_t*>(st->values[r].data());
      st->dnat_port = static_cast<uint16_t>(b[0] << 8 | b[1]);
    }
  }
  return true;
}

bool Expression(const nlattr* elem, uint8_t family, RuleState* st, NfRule* rule) {
  constexpr AttrRule kRules[] = {{NFTA_EXPR_NAME, MNL_TYPE_NUL_STRING},
                                 {NFTA_EXPR_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_EXPR_MAX + 1> tb{};
  if (!ParseNested(elem, kRules, &tb) || tb[NFTA_EXPR_NAME] == nullptr) return false;
  const std::string_view name = mnl_attr_get_str(tb[NFTA_EXPR_NAME]);
  const nlattr* data = tb[NFTA_EXPR_DATA];
  if (data == nullptr) return true;
  if (name == "meta") return Meta(data, st);
  if (name == "payload") return Payload(data, family, st);
  if (name == "cmp") return Cmp(data, st);
  if (name == "counter") return Counter(data, rule);
  if (name == "immediate") return Immediate(data, st, rule);
  if (name == "nat") return Nat(data, family, st);
  if (name == "match") return XtMatch(data, st);
  if (name == "target") return XtTarget(data, family, st);
  // Anything else (bitwise, lookup, ...) leaves registers we no longer trust.
  st->regs.fill(Reg::kUnknown);
  return true;
}

}  // namespace

int DecodeNftRuleMessage(const nlmsghdr* nlh, NftRuleInfo* out) {
  constexpr AttrRule kRules[] = {{NFTA_RULE_TABLE, MNL_TYPE_NUL_STRING},
                                 {NFTA_RULE_CHAIN, MNL_TYPE_NUL_STRING},
                                 {NFTA_RULE_EXPRESSIONS, MNL_TYPE_NESTED}};
  AttrTable<NFTA_RULE_MAX + 1> tb{};
  if (!nft_internal::ParseMessage(nlh, kRules, &tb) || tb[NFTA_RULE_TABLE] == nullptr ||
      tb[NFTA_RULE_CHAIN] == nullptr) {
    errno = EINVAL;
    return MNL_CB_ERROR;
  }
  nfgenmsg nfg{};
  std::memcpy(&nfg, mnl_nlmsg_get_payload(nlh), sizeof nfg);
  out->family = nfg.nfgen_family;
  out->table = mnl_attr_get_str(tb[NFTA_RULE_TABLE]);
  out->chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
  if (tb[NFTA_RULE_EXPRESSIONS] == nullptr) return MNL_CB_OK;
  RuleState st;
  // mnl_attr_for_each_nested, spelled out: the macro assigns from void*.
  const nlattr* list = tb[NFTA_RULE_EXPRESSIONS];
  const auto* end =
      static_cast<const char*>(mnl_attr_get_payload(list)) + mnl_attr_get_payload_len(list);
  for (const auto* elem = static_cast<const nlattr*>(mnl_attr_get_payload(list));
       mnl_attr_ok(elem, static_cast<int>(end - reinterpret_cast<const char*>(elem)));
       elem = mnl_attr_next(elem)) {
    if (mnl_attr_get_type(elem) != NFTA_LIST_ELEM) continue;
    if (!Expression(elem, out->family, &st, &out->rule)) {
      errno = EINVAL;
      return MNL_CB_ERROR;
    }
  }
  if (st.dnat) {
    NfPortMapping m;
    m.proto = st.proto;
    m.host_ip = !st.daddr.empty() ? st.daddr : (out->family == NFPROTO_IPV6 ? "::" : "0.0.0.0");
    m.host_port = st.dport;
    m.container_ip = st.dnat_ip;
    m.container_port = st.dnat_port != 0 ? st.dnat_port : st.dport;
    out->rule.dnat = m;
  }
  return MNL_CB_OK;
}

}  // namespace portmap
