// The message decoders of nft_model_decode.h: generations, tables, chains,
// rules, sets and set elements, and the dispatcher.  Expressions are in
// nft_expr_decode.cc.
#include "pathtrace/nft_model_decode.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstddef>
#include <cstring>
#include <utility>

#include "netlink/nft_attr.h"
#include "netlink/socket.h"
#include "pathtrace/nft_model_decode_internal.h"

namespace portmap::pathtrace {

namespace nft_internal_decode {

using nft_internal::AttrRule;
using nft_internal::AttrTable;
using nft_internal::ParseNested;

bool Reg(const nlattr* a, uint32_t* out) {
  if (a == nullptr) return false;
  *out = U32(a);
  return *out <= NFT_REG32_15;
}

bool DecodeData(const nlattr* nest, NftData* out) {
  constexpr AttrRule kData[] = {{NFTA_DATA_VALUE, MNL_TYPE_BINARY},
                                {NFTA_DATA_VERDICT, MNL_TYPE_NESTED}};
  AttrTable<NFTA_DATA_MAX + 1> tb{};
  if (nest == nullptr || !ParseNested(nest, kData, &tb)) return false;
  if (tb[NFTA_DATA_VALUE] != nullptr) {
    const size_t len = mnl_attr_get_payload_len(tb[NFTA_DATA_VALUE]);
    if (len > NFT_DATA_VALUE_MAXLEN) return false;
    const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(tb[NFTA_DATA_VALUE]));
    out->value.assign(p, p + len);
    return true;
  }
  if (tb[NFTA_DATA_VERDICT] == nullptr) return false;
  constexpr AttrRule kVerdict[] = {{NFTA_VERDICT_CODE, MNL_TYPE_U32},
                                   {NFTA_VERDICT_CHAIN, MNL_TYPE_NUL_STRING}};
  AttrTable<NFTA_VERDICT_MAX + 1> v{};
  if (!ParseNested(tb[NFTA_DATA_VERDICT], kVerdict, &v) || v[NFTA_VERDICT_CODE] == nullptr) {
    return false;
  }
  NftVerdict verdict;
  verdict.code = static_cast<int32_t>(U32(v[NFTA_VERDICT_CODE]));
  if (verdict.code == NFT_JUMP || verdict.code == NFT_GOTO) {
    if (v[NFTA_VERDICT_CHAIN] == nullptr) return false;
    verdict.chain = mnl_attr_get_str(v[NFTA_VERDICT_CHAIN]);
  }
  out->verdict = std::move(verdict);
  return true;
}

bool DecodeValue(const nlattr* nest, Bytes* out) {
  NftData data;
  if (!DecodeData(nest, &data) || data.verdict.has_value()) return false;
  *out = std::move(data.value);
  return true;
}

}  // namespace nft_internal_decode

namespace {

using nft_internal::AttrRule;
using nft_internal::AttrTable;
using nft_internal::ParseMessage;
using nft_internal::ParseNested;
using nft_internal_decode::DecodeData;
using nft_internal_decode::DecodeValue;
using nft_internal_decode::U32;

uint64_t U64(const nlattr* a) { return be64toh(mnl_attr_get_u64(a)); }

uint8_t Family(const nlmsghdr* nlh) {
  nfgenmsg nfg{};
  std::memcpy(&nfg, mnl_nlmsg_get_payload(nlh), sizeof nfg);
  return nfg.nfgen_family;
}

Status Malformed(const char* what) {
  return Status::Error(std::string("nf_tables ") + what + ": malformed message");
}

// mnl_attr_for_each_nested, spelled out (the macro assigns from void*), for
// attributes of `type`; false when `f` is, or when the list ends in a broken
// attribute: a rule that lost its last expressions must not look complete.
template <typename F>
bool ForEachNested(const nlattr* list, uint16_t type, F&& f) {
  const auto* begin = static_cast<const char*>(mnl_attr_get_payload(list));
  const auto* end = begin + mnl_attr_get_payload_len(list);
  const auto* a = reinterpret_cast<const nlattr*>(begin);
  for (; mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a)) {
    if (mnl_attr_get_type(a) != type) continue;
    if (!f(a)) return false;
  }
  return end - reinterpret_cast<const char*>(a) < static_cast<ptrdiff_t>(sizeof(nlattr));
}

template <typename F>
bool ForEachListElem(const nlattr* list, F&& f) {
  return ForEachNested(list, NFTA_LIST_ELEM, std::forward<F>(f));
}

bool DecodeHook(const nlattr* nest, NftChainModel* out) {
  constexpr AttrRule kHook[] = {{NFTA_HOOK_HOOKNUM, MNL_TYPE_U32},
                                {NFTA_HOOK_PRIORITY, MNL_TYPE_U32},
                                {NFTA_HOOK_DEV, MNL_TYPE_NUL_STRING},
                                {NFTA_HOOK_DEVS, MNL_TYPE_NESTED}};
  AttrTable<NFTA_HOOK_MAX + 1> tb{};
  if (!ParseNested(nest, kHook, &tb) || tb[NFTA_HOOK_HOOKNUM] == nullptr ||
      tb[NFTA_HOOK_PRIORITY] == nullptr) {
    return false;
  }
  out->hook = U32(tb[NFTA_HOOK_HOOKNUM]);
  out->priority = static_cast<int32_t>(U32(tb[NFTA_HOOK_PRIORITY]));
  if (tb[NFTA_HOOK_DEV] != nullptr) out->device = mnl_attr_get_str(tb[NFTA_HOOK_DEV]);
  if (tb[NFTA_HOOK_DEVS] == nullptr) return true;
  // Several devices: NFTA_DEVICE_NAME attributes, joined with ','.
  return ForEachNested(tb[NFTA_HOOK_DEVS], NFTA_DEVICE_NAME, [out](const nlattr* a) {
    if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return false;
    if (!out->device.empty()) out->device += ',';
    out->device += mnl_attr_get_str(a);
    return true;
  });
}

bool DecodeSetDesc(const nlattr* nest, NftSetModel* out) {
  constexpr AttrRule kDesc[] = {{NFTA_SET_DESC_CONCAT, MNL_TYPE_NESTED}};
  AttrTable<NFTA_SET_DESC_MAX + 1> tb{};
  if (!ParseNested(nest, kDesc, &tb)) return false;
  if (tb[NFTA_SET_DESC_CONCAT] == nullptr) return true;
  return ForEachListElem(tb[NFTA_SET_DESC_CONCAT], [out](const nlattr* elem) {
    constexpr AttrRule kField[] = {{NFTA_SET_FIELD_LEN, MNL_TYPE_U32}};
    AttrTable<NFTA_SET_FIELD_MAX + 1> f{};
    if (!ParseNested(elem, kField, &f) || f[NFTA_SET_FIELD_LEN] == nullptr) return false;
    const uint32_t len = U32(f[NFTA_SET_FIELD_LEN]);  // bytes, whatever uapi's comment says
    if (len == 0 || len > NFT_DATA_VALUE_MAXLEN) return false;
    out->field_len.push_back(static_cast<uint8_t>(len));
    return true;
  });
}

bool DecodeElem(const nlattr* elem, NftSetElem* out) {
  constexpr AttrRule kRules[] = {{NFTA_SET_ELEM_KEY, MNL_TYPE_NESTED},
                                 {NFTA_SET_ELEM_DATA, MNL_TYPE_NESTED},
                                 {NFTA_SET_ELEM_FLAGS, MNL_TYPE_U32},
                                 {NFTA_SET_ELEM_KEY_END, MNL_TYPE_NESTED}};
  AttrTable<NFTA_SET_ELEM_MAX + 1> tb{};
  if (!ParseNested(elem, kRules, &tb)) return false;
  if (tb[NFTA_SET_ELEM_FLAGS] != nullptr) out->flags = U32(tb[NFTA_SET_ELEM_FLAGS]);
  // A catch-all element has no key.
  if (tb[NFTA_SET_ELEM_KEY] != nullptr && !DecodeValue(tb[NFTA_SET_ELEM_KEY], &out->key)) {
    return false;
  }
  if (tb[NFTA_SET_ELEM_KEY_END] != nullptr &&
      !DecodeValue(tb[NFTA_SET_ELEM_KEY_END], &out->key_end)) {
    return false;
  }
  return tb[NFTA_SET_ELEM_DATA] == nullptr || DecodeData(tb[NFTA_SET_ELEM_DATA], &out->data);
}

}  // namespace

uint16_t NftMessageStamp(const nlmsghdr* nlh) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return 0;
  nfgenmsg nfg{};
  std::memcpy(&nfg, mnl_nlmsg_get_payload(nlh), sizeof nfg);
  return ntohs(nfg.res_id);
}

std::string NftUserdataComment(const uint8_t* data, size_t len) {
  constexpr uint8_t kComment = 0;  // NFTNL_UDATA_RULE_COMMENT
  size_t off = 0;
  while (len - off >= 2) {
    const uint8_t type = data[off];
    const size_t vlen = data[off + 1];
    if (vlen > len - off - 2) return "";
    const auto* value = reinterpret_cast<const char*>(data + off + 2);
    if (type == kComment) return std::string(value, strnlen(value, vlen));
    off += 2 + vlen;
  }
  return "";
}

Status DecodeNftGen(const nlmsghdr* nlh, uint32_t* id) {
  constexpr AttrRule kRules[] = {{NFTA_GEN_ID, MNL_TYPE_U32}};
  AttrTable<NFTA_GEN_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_GEN_ID] == nullptr) return Malformed("NEWGEN");
  *id = U32(tb[NFTA_GEN_ID]);
  return Status::Ok();
}

Status DecodeNftTable(const nlmsghdr* nlh, NftTableModel* out) {
  constexpr AttrRule kRules[] = {{NFTA_TABLE_NAME, MNL_TYPE_NUL_STRING},
                                 {NFTA_TABLE_FLAGS, MNL_TYPE_U32},
                                 {NFTA_TABLE_HANDLE, MNL_TYPE_U64}};
  AttrTable<NFTA_TABLE_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_TABLE_NAME] == nullptr) {
    return Malformed("NEWTABLE");
  }
  out->family = Family(nlh);
  out->name = mnl_attr_get_str(tb[NFTA_TABLE_NAME]);
  if (tb[NFTA_TABLE_FLAGS] != nullptr) out->flags = U32(tb[NFTA_TABLE_FLAGS]);
  if (tb[NFTA_TABLE_HANDLE] != nullptr) out->handle = U64(tb[NFTA_TABLE_HANDLE]);
  return Status::Ok();
}

Status DecodeNftChain(const nlmsghdr* nlh, NftChainModel* out) {
  constexpr AttrRule kRules[] = {
      {NFTA_CHAIN_TABLE, MNL_TYPE_NUL_STRING}, {NFTA_CHAIN_HANDLE, MNL_TYPE_U64},
      {NFTA_CHAIN_NAME, MNL_TYPE_NUL_STRING},  {NFTA_CHAIN_HOOK, MNL_TYPE_NESTED},
      {NFTA_CHAIN_POLICY, MNL_TYPE_U32},       {NFTA_CHAIN_TYPE, MNL_TYPE_NUL_STRING}};
  AttrTable<NFTA_CHAIN_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_CHAIN_TABLE] == nullptr ||
      tb[NFTA_CHAIN_NAME] == nullptr) {
    return Malformed("NEWCHAIN");
  }
  out->family = Family(nlh);
  out->table = mnl_attr_get_str(tb[NFTA_CHAIN_TABLE]);
  out->name = mnl_attr_get_str(tb[NFTA_CHAIN_NAME]);
  if (tb[NFTA_CHAIN_HANDLE] != nullptr) out->handle = U64(tb[NFTA_CHAIN_HANDLE]);
  if (tb[NFTA_CHAIN_HOOK] != nullptr && !DecodeHook(tb[NFTA_CHAIN_HOOK], out)) {
    return Malformed("NEWCHAIN hook");
  }
  if (tb[NFTA_CHAIN_POLICY] != nullptr) out->policy = U32(tb[NFTA_CHAIN_POLICY]);
  if (tb[NFTA_CHAIN_TYPE] != nullptr) out->type = mnl_attr_get_str(tb[NFTA_CHAIN_TYPE]);
  return Status::Ok();
}

Status DecodeNftRule(const nlmsghdr* nlh, NftRuleMessage* out) {
  constexpr AttrRule kRules[] = {{NFTA_RULE_TABLE, MNL_TYPE_NUL_STRING},
                                 {NFTA_RULE_CHAIN, MNL_TYPE_NUL_STRING},
                                 {NFTA_RULE_HANDLE, MNL_TYPE_U64},
                                 {NFTA_RULE_EXPRESSIONS, MNL_TYPE_NESTED},
                                 {NFTA_RULE_USERDATA, MNL_TYPE_BINARY}};
  AttrTable<NFTA_RULE_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_RULE_TABLE] == nullptr ||
      tb[NFTA_RULE_CHAIN] == nullptr) {
    return Malformed("NEWRULE");
  }
  out->family = Family(nlh);
  out->table = mnl_attr_get_str(tb[NFTA_RULE_TABLE]);
  out->chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
  if (tb[NFTA_RULE_HANDLE] != nullptr) out->rule.handle = U64(tb[NFTA_RULE_HANDLE]);
  if (const nlattr* u = tb[NFTA_RULE_USERDATA]; u != nullptr) {
    out->rule.comment = NftUserdataComment(static_cast<const uint8_t*>(mnl_attr_get_payload(u)),
                                           mnl_attr_get_payload_len(u));
  }
  if (tb[NFTA_RULE_EXPRESSIONS] == nullptr) return Status::Ok();
  Status st;
  const bool whole = ForEachListElem(tb[NFTA_RULE_EXPRESSIONS], [&](const nlattr* elem) {
    NftExpr e;
    st = DecodeNftExpr(elem, &e);
    if (!st.ok()) return false;
    out->rule.exprs.push_back(std::move(e));
    return true;
  });
  if (st.ok() && !whole) st = Status::Error("nf_tables rule: malformed expression list");
  if (!st.ok()) {
    return Status::Error(st.message() + " (" + out->table + " " + out->chain + " handle " +
                         std::to_string(out->rule.handle) + ")");
  }
  return Status::Ok();
}

Status DecodeNftSet(const nlmsghdr* nlh, NftSetModel* out) {
  constexpr AttrRule kRules[] = {
      {NFTA_SET_TABLE, MNL_TYPE_NUL_STRING}, {NFTA_SET_NAME, MNL_TYPE_NUL_STRING},
      {NFTA_SET_FLAGS, MNL_TYPE_U32},        {NFTA_SET_KEY_LEN, MNL_TYPE_U32},
      {NFTA_SET_DATA_TYPE, MNL_TYPE_U32},    {NFTA_SET_DATA_LEN, MNL_TYPE_U32},
      {NFTA_SET_DESC, MNL_TYPE_NESTED},      {NFTA_SET_ID, MNL_TYPE_U32}};
  AttrTable<NFTA_SET_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_SET_TABLE] == nullptr ||
      tb[NFTA_SET_NAME] == nullptr) {
    return Malformed("NEWSET");
  }
  out->family = Family(nlh);
  out->table = mnl_attr_get_str(tb[NFTA_SET_TABLE]);
  out->name = mnl_attr_get_str(tb[NFTA_SET_NAME]);
  if (tb[NFTA_SET_FLAGS] != nullptr) out->flags = U32(tb[NFTA_SET_FLAGS]);
  if (tb[NFTA_SET_KEY_LEN] != nullptr) out->key_len = U32(tb[NFTA_SET_KEY_LEN]);
  if (tb[NFTA_SET_DATA_TYPE] != nullptr) out->data_type = U32(tb[NFTA_SET_DATA_TYPE]);
  if (tb[NFTA_SET_DATA_LEN] != nullptr) out->data_len = U32(tb[NFTA_SET_DATA_LEN]);
  if (tb[NFTA_SET_ID] != nullptr) out->id = U32(tb[NFTA_SET_ID]);
  if (tb[NFTA_SET_DESC] != nullptr && !DecodeSetDesc(tb[NFTA_SET_DESC], out)) {
    return Malformed("NEWSET description");
  }
  return Status::Ok();
}

Status DecodeNftSetElems(const nlmsghdr* nlh, NftSetElemsMessage* out) {
  constexpr AttrRule kRules[] = {{NFTA_SET_ELEM_LIST_TABLE, MNL_TYPE_NUL_STRING},
                                 {NFTA_SET_ELEM_LIST_SET, MNL_TYPE_NUL_STRING},
                                 {NFTA_SET_ELEM_LIST_ELEMENTS, MNL_TYPE_NESTED}};
  AttrTable<NFTA_SET_ELEM_LIST_MAX + 1> tb{};
  if (!ParseMessage(nlh, kRules, &tb) || tb[NFTA_SET_ELEM_LIST_TABLE] == nullptr ||
      tb[NFTA_SET_ELEM_LIST_SET] == nullptr) {
    return Malformed("NEWSETELEM");
  }
  out->family = Family(nlh);
  out->table = mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_TABLE]);
  out->set = mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_SET]);
  if (tb[NFTA_SET_ELEM_LIST_ELEMENTS] == nullptr) return Status::Ok();
  const bool ok = ForEachListElem(tb[NFTA_SET_ELEM_LIST_ELEMENTS], [out](const nlattr* a) {
    NftSetElem elem;
    if (!DecodeElem(a, &elem)) return false;
    out->elems.push_back(std::move(elem));
    return true;
  });
  return ok ? Status::Ok() : Malformed("NEWSETELEM element");
}

Status DecodeNftModelMessage(const nlmsghdr* nlh, NftModelMessages* out) {
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return Status::Ok();
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return Malformed("message header");
  const uint16_t stamp = NftMessageStamp(nlh);
  Status st;
  switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
    case NFT_MSG_NEWGEN: {
      uint32_t id = 0;
      st = DecodeNftGen(nlh, &id);
      if (st.ok()) out->gens.push_back(id);
      return st;
    }
    case NFT_MSG_NEWTABLE: {
      NftTableModel t;
      st = DecodeNftTable(nlh, &t);
      if (st.ok()) out->tables.push_back(std::move(t));
      break;
    }
    case NFT_MSG_NEWCHAIN: {
      NftChainModel c;
      st = DecodeNftChain(nlh, &c);
      if (st.ok()) out->chains.push_back(std::move(c));
      break;
    }
    case NFT_MSG_NEWRULE: {
      NftRuleMessage r;
      st = DecodeNftRule(nlh, &r);
      if (st.ok()) out->rules.push_back(std::move(r));
      break;
    }
    case NFT_MSG_NEWSET: {
      NftSetModel s;
      st = DecodeNftSet(nlh, &s);
      if (st.ok()) out->sets.push_back(std::move(s));
      break;
    }
    case NFT_MSG_NEWSETELEM: {
      NftSetElemsMessage e;
      st = DecodeNftSetElems(nlh, &e);
      if (st.ok()) out->elems.push_back(std::move(e));
      break;
    }
    default:
      return Status::Ok();
  }
  if (st.ok()) out->stamps.push_back(stamp);
  return st;
}

Status DecodeNftModelBuffer(const void* buf, size_t len, NftModelMessages* out) {
  // libmnl reads headers in place: copy to aligned storage first.
  std::vector<uint32_t> aligned((len + sizeof(uint32_t) - 1) / sizeof(uint32_t));
  if (len > 0) std::memcpy(aligned.data(), buf, len);
  Status decoded;
  NetlinkStatus st;
  RunNetlinkCallbacks(
      aligned.data(), len, 0, 0,
      [&](const nlmsghdr* nlh) {
        decoded = DecodeNftModelMessage(nlh, out);
        return decoded.ok() ? MNL_CB_OK : MNL_CB_ERROR;
      },
      &st);
  if (!decoded.ok()) return decoded;
  if (!st.ok()) return Status::Error("nf_tables: " + st.message);
  return Status::Ok();
}

}  // namespace portmap::pathtrace
