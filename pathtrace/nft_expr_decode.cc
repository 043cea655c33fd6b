// The expression decoder of nft_model_decode.h: one NFTA_LIST_ELEM of a
// rule's NFTA_RULE_EXPRESSIONS into an NftExpr, attribute by attribute as the
// kernel's nft_*_dump functions write them (net/netfilter/nft_*.c).
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>

#include <string>
#include <string_view>

#include "netlink/nft_attr.h"
#include "pathtrace/nft_model_decode.h"
#include "pathtrace/nft_model_decode_internal.h"

namespace portmap::pathtrace {

namespace {

using nft_internal::AttrRule;
using nft_internal::AttrTable;
using nft_internal::ParseNested;
using nft_internal_decode::DecodeData;
using nft_internal_decode::DecodeValue;
using nft_internal_decode::Reg;
using nft_internal_decode::U32;

// The kernel's object types (NFT_OBJECT_*) an objref can name.
constexpr uint32_t kObjCounter = 1, kObjQuota = 2, kObjCtHelper = 3, kObjLimit = 4,
                   kObjConnlimit = 5, kObjCtTimeout = 7, kObjSecmark = 8, kObjCtExpect = 9;

// Parses `data` (NFTA_EXPR_DATA; absent for expressions without attributes)
// into *tb; false when malformed.
template <size_t N, size_t R>
bool Parse(const nlattr* data, const AttrRule (&rules)[R], AttrTable<N>* tb) {
  return data == nullptr || ParseNested(data, rules, tb);
}

bool Immediate(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_IMMEDIATE_DREG, MNL_TYPE_U32},
                                 {NFTA_IMMEDIATE_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_IMMEDIATE_MAX + 1> tb{};
  ImmediateExpr e;
  if (!Parse(data, kRules, &tb) || !Reg(tb[NFTA_IMMEDIATE_DREG], &e.dreg) ||
      tb[NFTA_IMMEDIATE_DATA] == nullptr || !DecodeData(tb[NFTA_IMMEDIATE_DATA], &e.data)) {
    return false;
  }
  *out = std::move(e);
  return true;
}

bool Cmp(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {
      {NFTA_CMP_SREG, MNL_TYPE_U32}, {NFTA_CMP_OP, MNL_TYPE_U32}, {NFTA_CMP_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_CMP_MAX + 1> tb{};
  CmpExpr e;
  if (!Parse(data, kRules, &tb) || !Reg(tb[NFTA_CMP_SREG], &e.sreg) || tb[NFTA_CMP_OP] == nullptr ||
      !DecodeValue(tb[NFTA_CMP_DATA], &e.data)) {
    return false;
  }
  e.op = U32(tb[NFTA_CMP_OP]);
  *out = std::move(e);
  return true;
}

bool Bitwise(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {
      {NFTA_BITWISE_SREG, MNL_TYPE_U32},   {NFTA_BITWISE_DREG, MNL_TYPE_U32},
      {NFTA_BITWISE_LEN, MNL_TYPE_U32},    {NFTA_BITWISE_MASK, MNL_TYPE_NESTED},
      {NFTA_BITWISE_XOR, MNL_TYPE_NESTED}, {NFTA_BITWISE_OP, MNL_TYPE_U32},
      {NFTA_BITWISE_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_BITWISE_MAX + 1> tb{};
  BitwiseExpr e;
  if (!Parse(data, kRules, &tb) || !Reg(tb[NFTA_BITWISE_SREG], &e.sreg) ||
      !Reg(tb[NFTA_BITWISE_DREG], &e.dreg) || tb[NFTA_BITWISE_LEN] == nullptr) {
    return false;
  }
  e.len = U32(tb[NFTA_BITWISE_LEN]);
  // Kernels before 5.6 send no op: the mask-and-xor form.
  e.op = tb[NFTA_BITWISE_OP] != nullptr ? U32(tb[NFTA_BITWISE_OP])
                                        : static_cast<uint32_t>(NFT_BITWISE_BOOL);
  switch (e.op) {
    case NFT_BITWISE_BOOL:
      if (!DecodeValue(tb[NFTA_BITWISE_MASK], &e.mask) ||
          !DecodeValue(tb[NFTA_BITWISE_XOR], &e.xor_value)) {
        return false;
      }
      break;
    case NFT_BITWISE_LSHIFT:
    case NFT_BITWISE_RSHIFT:
      if (!DecodeValue(tb[NFTA_BITWISE_DATA], &e.shift) || e.shift.size() != sizeof(uint32_t)) {
        return false;
      }
      break;
    default:
      // Newer kernels' and/or/xor of two registers (NFTA_BITWISE_SREG2).
      *out = UnknownExpr{"bitwise op " + std::to_string(e.op)};
      return true;
  }
  *out = std::move(e);
  return true;
}

bool Byteorder(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_BYTEORDER_SREG, MNL_TYPE_U32},
                                 {NFTA_BYTEORDER_DREG, MNL_TYPE_U32},
                                 {NFTA_BYTEORDER_OP, MNL_TYPE_U32},
                                 {NFTA_BYTEORDER_LEN, MNL_TYPE_U32},
                                 {NFTA_BYTEORDER_SIZE, MNL_TYPE_U32}};
  AttrTable<NFTA_BYTEORDER_MAX + 1> tb{};
  ByteorderExpr e;
  if (!Parse(data, kRules, &tb) || !Reg(tb[NFTA_BYTEORDER_SREG], &e.sreg) ||
      !Reg(tb[NFTA_BYTEORDER_DREG], &e.dreg) || tb[NFTA_BYTEORDER_OP] == nullptr ||
      tb[NFTA_BYTEORDER_LEN] == nullptr || tb[NFTA_BYTEORDER_SIZE] == nullptr) {
    return false;
  }
  e.op = U32(tb[NFTA_BYTEORDER_OP]);
  e.len = U32(tb[NFTA_BYTEORDER_LEN]);
  e.size = U32(tb[NFTA_BYTEORDER_SIZE]);
  *out = e;
  return true;
}

bool Range(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_RANGE_SREG, MNL_TYPE_U32},
                                 {NFTA_RANGE_OP, MNL_TYPE_U32},
                                 {NFTA_RANGE_FROM_DATA, MNL_TYPE_NESTED},
                                 {NFTA_RANGE_TO_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_RANGE_MAX + 1> tb{};
  RangeExpr e;
  if (!Parse(data, kRules, &tb) || !Reg(tb[NFTA_RANGE_SREG], &e.sreg) ||
      tb[NFTA_RANGE_OP] == nullptr || !DecodeValue(tb[NFTA_RANGE_FROM_DATA], &e.from) ||
      !DecodeValue(tb[NFTA_RANGE_TO_DATA], &e.to)) {
    return false;
  }
  e.op = U32(tb[NFTA_RANGE_OP]);
  *out = std::move(e);
  return true;
}

// Decodes an optional register attribute; false when present and invalid.
bool OptReg(const nlattr* a, std::optional<uint32_t>* out) {
  if (a == nullptr) return true;
  uint32_t r = 0;
  if (!Reg(a, &r)) return false;
  *out = r;
  return true;
}

bool Payload(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_PAYLOAD_DREG, MNL_TYPE_U32},
                                 {NFTA_PAYLOAD_BASE, MNL_TYPE_U32},
                                 {NFTA_PAYLOAD_OFFSET, MNL_TYPE_U32},
                                 {NFTA_PAYLOAD_LEN, MNL_TYPE_U32},
                                 {NFTA_PAYLOAD_SREG, MNL_TYPE_U32}};
  AttrTable<NFTA_PAYLOAD_MAX + 1> tb{};
  PayloadExpr e;
  if (!Parse(data, kRules, &tb) || tb[NFTA_PAYLOAD_BASE] == nullptr ||
      tb[NFTA_PAYLOAD_OFFSET] == nullptr || tb[NFTA_PAYLOAD_LEN] == nullptr ||
      !OptReg(tb[NFTA_PAYLOAD_DREG], &e.dreg) || !OptReg(tb[NFTA_PAYLOAD_SREG], &e.sreg) ||
      e.dreg.has_value() == e.sreg.has_value()) {
    return false;
  }
  e.base = U32(tb[NFTA_PAYLOAD_BASE]);
  e.offset = U32(tb[NFTA_PAYLOAD_OFFSET]);
  e.len = U32(tb[NFTA_PAYLOAD_LEN]);
  *out = e;
  return true;
}

bool Meta(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_META_DREG, MNL_TYPE_U32},
                                 {NFTA_META_KEY, MNL_TYPE_U32},
                                 {NFTA_META_SREG, MNL_TYPE_U32}};
  AttrTable<NFTA_META_MAX + 1> tb{};
  MetaExpr e;
  if (!Parse(data, kRules, &tb) || tb[NFTA_META_KEY] == nullptr ||
      !OptReg(tb[NFTA_META_DREG], &e.dreg) || !OptReg(tb[NFTA_META_SREG], &e.sreg) ||
      e.dreg.has_value() == e.sreg.has_value()) {
    return false;
  }
  e.key = U32(tb[NFTA_META_KEY]);
  *out = e;
  return true;
}

bool Ct(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_CT_DREG, MNL_TYPE_U32},
                                 {NFTA_CT_KEY, MNL_TYPE_U32},
                                 {NFTA_CT_DIRECTION, MNL_TYPE_U8},
                                 {NFTA_CT_SREG, MNL_TYPE_U32}};
  AttrTable<NFTA_CT_MAX + 1> tb{};
  CtExpr e;
  if (!Parse(data, kRules, &tb) || tb[NFTA_CT_KEY] == nullptr ||
      !OptReg(tb[NFTA_CT_DREG], &e.dreg) || !OptReg(tb[NFTA_CT_SREG], &e.sreg) ||
      e.dreg.has_value() == e.sreg.has_value()) {
    return false;
  }
  e.key = U32(tb[NFTA_CT_KEY]);
  if (tb[NFTA_CT_DIRECTION] != nullptr) e.direction = mnl_attr_get_u8(tb[NFTA_CT_DIRECTION]);
  *out = e;
  return true;
}

bool Lookup(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_LOOKUP_SET, MNL_TYPE_NUL_STRING},
                                 {NFTA_LOOKUP_SREG, MNL_TYPE_U32},
                                 {NFTA_LOOKUP_DREG, MNL_TYPE_U32},
                                 {NFTA_LOOKUP_SET_ID, MNL_TYPE_U32},
                                 {NFTA_LOOKUP_FLAGS, MNL_TYPE_U32}};
  AttrTable<NFTA_LOOKUP_MAX + 1> tb{};
  LookupExpr e;
  if (!Parse(data, kRules, &tb) || !Reg(tb[NFTA_LOOKUP_SREG], &e.sreg) ||
      (tb[NFTA_LOOKUP_SET] == nullptr && tb[NFTA_LOOKUP_SET_ID] == nullptr) ||
      !OptReg(tb[NFTA_LOOKUP_DREG], &e.dreg)) {
    return false;
  }
  if (tb[NFTA_LOOKUP_SET] != nullptr) e.set = mnl_attr_get_str(tb[NFTA_LOOKUP_SET]);
  if (tb[NFTA_LOOKUP_SET_ID] != nullptr) e.set_id = U32(tb[NFTA_LOOKUP_SET_ID]);
  const uint32_t flags = tb[NFTA_LOOKUP_FLAGS] != nullptr ? U32(tb[NFTA_LOOKUP_FLAGS]) : 0;
  if ((flags & ~static_cast<uint32_t>(NFT_LOOKUP_F_INV)) != 0) {
    *out = UnknownExpr{"lookup flags " + std::to_string(flags)};
    return true;
  }
  e.invert = (flags & NFT_LOOKUP_F_INV) != 0;
  *out = std::move(e);
  return true;
}

// nat, masq and redir share the register and flag attributes.
bool Nat(const nlattr* data, NatExpr::Kind kind, NftExpr* out) {
  NatExpr e;
  e.kind = kind;
  const nlattr* flags = nullptr;
  bool ok = false;
  if (kind == NatExpr::Kind::kNat) {
    constexpr AttrRule kRules[] = {
        {NFTA_NAT_TYPE, MNL_TYPE_U32},          {NFTA_NAT_FAMILY, MNL_TYPE_U32},
        {NFTA_NAT_REG_ADDR_MIN, MNL_TYPE_U32},  {NFTA_NAT_REG_ADDR_MAX, MNL_TYPE_U32},
        {NFTA_NAT_REG_PROTO_MIN, MNL_TYPE_U32}, {NFTA_NAT_REG_PROTO_MAX, MNL_TYPE_U32},
        {NFTA_NAT_FLAGS, MNL_TYPE_U32}};
    AttrTable<NFTA_NAT_MAX + 1> tb{};
    ok = Parse(data, kRules, &tb) && tb[NFTA_NAT_TYPE] != nullptr &&
         tb[NFTA_NAT_FAMILY] != nullptr && OptReg(tb[NFTA_NAT_REG_ADDR_MIN], &e.reg_addr_min) &&
         OptReg(tb[NFTA_NAT_REG_ADDR_MAX], &e.reg_addr_max) &&
         OptReg(tb[NFTA_NAT_REG_PROTO_MIN], &e.reg_proto_min) &&
         OptReg(tb[NFTA_NAT_REG_PROTO_MAX], &e.reg_proto_max);
    if (ok) {
      e.type = U32(tb[NFTA_NAT_TYPE]);
      e.family = U32(tb[NFTA_NAT_FAMILY]);
      flags = tb[NFTA_NAT_FLAGS];
    }
  } else if (kind == NatExpr::Kind::kMasq) {
    constexpr AttrRule kRules[] = {{NFTA_MASQ_FLAGS, MNL_TYPE_U32},
                                   {NFTA_MASQ_REG_PROTO_MIN, MNL_TYPE_U32},
                                   {NFTA_MASQ_REG_PROTO_MAX, MNL_TYPE_U32}};
    AttrTable<NFTA_MASQ_MAX + 1> tb{};
    ok = Parse(data, kRules, &tb) && OptReg(tb[NFTA_MASQ_REG_PROTO_MIN], &e.reg_proto_min) &&
         OptReg(tb[NFTA_MASQ_REG_PROTO_MAX], &e.reg_proto_max);
    flags = tb[NFTA_MASQ_FLAGS];
  } else {
    constexpr AttrRule kRules[] = {{NFTA_REDIR_REG_PROTO_MIN, MNL_TYPE_U32},
                                   {NFTA_REDIR_REG_PROTO_MAX, MNL_TYPE_U32},
                                   {NFTA_REDIR_FLAGS, MNL_TYPE_U32}};
    AttrTable<NFTA_REDIR_MAX + 1> tb{};
    ok = Parse(data, kRules, &tb) && OptReg(tb[NFTA_REDIR_REG_PROTO_MIN], &e.reg_proto_min) &&
         OptReg(tb[NFTA_REDIR_REG_PROTO_MAX], &e.reg_proto_max);
    flags = tb[NFTA_REDIR_FLAGS];
  }
  if (!ok) return false;
  if (flags != nullptr) e.flags = U32(flags);
  *out = e;
  return true;
}

bool Reject(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_REJECT_TYPE, MNL_TYPE_U32},
                                 {NFTA_REJECT_ICMP_CODE, MNL_TYPE_U8}};
  AttrTable<NFTA_REJECT_MAX + 1> tb{};
  if (!Parse(data, kRules, &tb) || tb[NFTA_REJECT_TYPE] == nullptr) return false;
  RejectExpr e;
  e.type = U32(tb[NFTA_REJECT_TYPE]);
  if (tb[NFTA_REJECT_ICMP_CODE] != nullptr) e.code = mnl_attr_get_u8(tb[NFTA_REJECT_ICMP_CODE]);
  *out = e;
  return true;
}

bool Fib(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_FIB_DREG, MNL_TYPE_U32},
                                 {NFTA_FIB_RESULT, MNL_TYPE_U32},
                                 {NFTA_FIB_FLAGS, MNL_TYPE_U32}};
  AttrTable<NFTA_FIB_MAX + 1> tb{};
  FibExpr e;
  if (!Parse(data, kRules, &tb) || !Reg(tb[NFTA_FIB_DREG], &e.dreg) ||
      tb[NFTA_FIB_RESULT] == nullptr || tb[NFTA_FIB_FLAGS] == nullptr) {
    return false;
  }
  e.result = U32(tb[NFTA_FIB_RESULT]);
  e.flags = U32(tb[NFTA_FIB_FLAGS]);
  *out = e;
  return true;
}

// xt compat: NFTA_MATCH_* and NFTA_TARGET_* share their numbering.
bool Xt(const nlattr* data, bool target, NftExpr* out) {
  static_assert(int{NFTA_MATCH_NAME} == int{NFTA_TARGET_NAME} &&
                int{NFTA_MATCH_REV} == int{NFTA_TARGET_REV} &&
                int{NFTA_MATCH_INFO} == int{NFTA_TARGET_INFO});
  constexpr AttrRule kRules[] = {{NFTA_MATCH_NAME, MNL_TYPE_NUL_STRING},
                                 {NFTA_MATCH_REV, MNL_TYPE_U32},
                                 {NFTA_MATCH_INFO, MNL_TYPE_BINARY}};
  AttrTable<NFTA_MATCH_MAX + 1> tb{};
  if (!Parse(data, kRules, &tb) || tb[NFTA_MATCH_NAME] == nullptr ||
      tb[NFTA_MATCH_REV] == nullptr || tb[NFTA_MATCH_INFO] == nullptr) {
    return false;
  }
  XtExpr e;
  e.target = target;
  e.name = mnl_attr_get_str(tb[NFTA_MATCH_NAME]);
  e.rev = U32(tb[NFTA_MATCH_REV]);
  const auto* info = static_cast<const uint8_t*>(mnl_attr_get_payload(tb[NFTA_MATCH_INFO]));
  e.info.assign(info, info + mnl_attr_get_payload_len(tb[NFTA_MATCH_INFO]));
  *out = std::move(e);
  return true;
}

// The flags attribute of limit, quota and connlimit (0 when absent).
template <size_t N>
bool Flags(const nlattr* data, uint16_t type, uint32_t* flags) {
  const AttrRule rules[] = {{type, MNL_TYPE_U32}};
  AttrTable<N> tb{};
  if (!Parse(data, rules, &tb)) return false;
  *flags = tb[type] != nullptr ? U32(tb[type]) : 0;
  return true;
}

// limit, quota, connlimit: pass in the common case unless inverted.
bool Stateful(const nlattr* data, std::string_view name, NftExpr* out) {
  uint32_t flags = 0;
  bool inverted = false;
  if (name == "limit") {
    if (!Flags<NFTA_LIMIT_MAX + 1>(data, NFTA_LIMIT_FLAGS, &flags)) return false;
    inverted = (flags & NFT_LIMIT_F_INV) != 0;
  } else if (name == "connlimit") {
    if (!Flags<NFTA_CONNLIMIT_MAX + 1>(data, NFTA_CONNLIMIT_FLAGS, &flags)) return false;
    inverted = (flags & NFT_CONNLIMIT_F_INV) != 0;
  } else {
    // The kernel reports NFT_QUOTA_F_DEPLETED once consumed >= quota: from
    // then on a plain quota never matches and an inverted one always does.
    if (!Flags<NFTA_QUOTA_MAX + 1>(data, NFTA_QUOTA_FLAGS, &flags)) return false;
    inverted = (flags & NFT_QUOTA_F_INV) != 0;
    const bool depleted = (flags & NFT_QUOTA_F_DEPLETED) != 0;
    if (depleted) {
      *out =
          inverted ? NftExpr{PassiveExpr{"quota", false}} : NftExpr{UnknownExpr{"quota depleted"}};
      return true;
    }
  }
  *out = inverted ? NftExpr{UnknownExpr{std::string(name) + " over"}}
                  : NftExpr{PassiveExpr{std::string(name), true}};
  return true;
}

bool Dynset(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_DYNSET_OP, MNL_TYPE_U32}, {NFTA_DYNSET_FLAGS, MNL_TYPE_U32}};
  AttrTable<NFTA_DYNSET_MAX + 1> tb{};
  if (!Parse(data, kRules, &tb) || tb[NFTA_DYNSET_OP] == nullptr) return false;
  const uint32_t flags = tb[NFTA_DYNSET_FLAGS] != nullptr ? U32(tb[NFTA_DYNSET_FLAGS]) : 0;
  // nft_dynset_eval: delete never ends the rule; add/update end it when the
  // element cannot be added (set full) or its expressions say so.
  if (U32(tb[NFTA_DYNSET_OP]) == NFT_DYNSET_OP_DELETE) {
    *out = PassiveExpr{"dynset", false};
  } else if ((flags & NFT_DYNSET_F_INV) != 0) {
    *out = UnknownExpr{"dynset inverted"};
  } else {
    *out = PassiveExpr{"dynset", true};
  }
  return true;
}

bool Objref(const nlattr* data, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_OBJREF_IMM_TYPE, MNL_TYPE_U32},
                                 {NFTA_OBJREF_SET_SREG, MNL_TYPE_U32}};
  AttrTable<NFTA_OBJREF_MAX + 1> tb{};
  if (!Parse(data, kRules, &tb)) return false;
  if (tb[NFTA_OBJREF_SET_SREG] != nullptr) {
    *out = UnknownExpr{"objref map"};  // no element: the rule ends
    return true;
  }
  if (tb[NFTA_OBJREF_IMM_TYPE] == nullptr) return false;
  const uint32_t type = U32(tb[NFTA_OBJREF_IMM_TYPE]);
  switch (type) {
    case kObjCounter:
    case kObjCtHelper:
    case kObjCtTimeout:
    case kObjSecmark:
    case kObjCtExpect:
      *out = PassiveExpr{"objref", false};
      return true;
    case kObjQuota:
      *out = UnknownExpr{"objref quota"};
      return true;
    case kObjLimit:
      *out = UnknownExpr{"objref limit"};
      return true;
    case kObjConnlimit:
      *out = UnknownExpr{"objref connlimit"};
      return true;
    default:
      *out = UnknownExpr{"objref type " + std::to_string(type)};
      return true;
  }
}

bool DecodeByName(std::string_view name, const nlattr* data, NftExpr* out) {
  if (name == "immediate") return Immediate(data, out);
  if (name == "cmp") return Cmp(data, out);
  if (name == "bitwise") return Bitwise(data, out);
  if (name == "byteorder") return Byteorder(data, out);
  if (name == "range") return Range(data, out);
  if (name == "payload") return Payload(data, out);
  if (name == "meta") return Meta(data, out);
  if (name == "ct") return Ct(data, out);
  if (name == "lookup") return Lookup(data, out);
  if (name == "nat") return Nat(data, NatExpr::Kind::kNat, out);
  if (name == "masq") return Nat(data, NatExpr::Kind::kMasq, out);
  if (name == "redir") return Nat(data, NatExpr::Kind::kRedir, out);
  if (name == "reject") return Reject(data, out);
  if (name == "fib") return Fib(data, out);
  if (name == "match") return Xt(data, false, out);
  if (name == "target") return Xt(data, true, out);
  if (name == "notrack") {
    *out = NotrackExpr{};
    return true;
  }
  if (name == "counter" || name == "log" || name == "last" || name == "dup") {
    *out = PassiveExpr{std::string(name), false};
    return true;
  }
  if (name == "limit" || name == "quota" || name == "connlimit") return Stateful(data, name, out);
  if (name == "dynset") return Dynset(data, out);
  if (name == "objref") return Objref(data, out);
  *out = UnknownExpr{std::string(name)};
  return true;
}

}  // namespace

Status DecodeNftExpr(const nlattr* elem, NftExpr* out) {
  constexpr AttrRule kRules[] = {{NFTA_EXPR_NAME, MNL_TYPE_NUL_STRING},
                                 {NFTA_EXPR_DATA, MNL_TYPE_NESTED}};
  AttrTable<NFTA_EXPR_MAX + 1> tb{};
  if (!ParseNested(elem, kRules, &tb) || tb[NFTA_EXPR_NAME] == nullptr) {
    return Status::Error("nf_tables rule: malformed expression");
  }
  const std::string_view name = mnl_attr_get_str(tb[NFTA_EXPR_NAME]);
  if (!DecodeByName(name, tb[NFTA_EXPR_DATA], out)) {
    return Status::Error("nf_tables rule: malformed '" + std::string(name) + "' expression");
  }
  return Status::Ok();
}

}  // namespace portmap::pathtrace
