// nft_model: the nf_tables ruleset as the interpreter reads it — chains,
// rules as expression lists, sets and maps with their elements — decoded
// from the kernel's netlink messages (nft_model_decode.h) and nothing else.
//
// Every field keeps the kernel's meaning and encoding (include/uapi/linux/
// netfilter/nf_tables.h): registers are NFT_REG_* numbers as sent, data is
// the bytes the kernel compares against (host or network order as the rule
// was built), so the interpreter does what nft_do_chain does without
// re-deriving any of nft(8)'s syntax.
//
// An expression the decoder does not know is kept as UnknownExpr with its
// name: the interpreter stops there with `unknown`, never skips it.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace portmap::pathtrace {

using Bytes = std::vector<uint8_t>;

// A verdict as the kernel encodes it (NFTA_VERDICT_CODE, signed): NF_DROP 0,
// NF_ACCEPT 1, NF_QUEUE 3 (with the queue number in the upper bits),
// NFT_CONTINUE -1, NFT_BREAK -2, NFT_JUMP -3, NFT_GOTO -4, NFT_RETURN -5.
struct NftVerdict {
  int32_t code = -1;
  std::string chain;  // NFT_JUMP / NFT_GOTO
  bool operator==(const NftVerdict&) const = default;
};

// NFTA_DATA_VALUE bytes, or a verdict (immediate, verdict maps).
struct NftData {
  Bytes value;
  std::optional<NftVerdict> verdict;
};

struct ImmediateExpr {
  uint32_t dreg = 0;
  NftData data;
};
struct CmpExpr {
  uint32_t sreg = 0;
  uint32_t op = 0;  // enum nft_cmp_ops
  Bytes data;
};
struct BitwiseExpr {
  uint32_t sreg = 0, dreg = 0, len = 0;
  uint32_t op = 0;               // NFT_BITWISE_BOOL (mask/xor), _LSHIFT, _RSHIFT
  Bytes mask, xor_value, shift;  // shift: 4 bytes host order
};
struct ByteorderExpr {
  uint32_t sreg = 0, dreg = 0;
  uint32_t op = 0;  // NFT_BYTEORDER_NTOH / _HTON
  uint32_t len = 0, size = 0;
};
struct RangeExpr {
  uint32_t sreg = 0;
  uint32_t op = 0;  // NFT_RANGE_EQ / _NEQ
  Bytes from, to;
};
struct PayloadExpr {
  uint32_t base = 0;  // enum nft_payload_bases
  uint32_t offset = 0, len = 0;
  std::optional<uint32_t> dreg;  // a load
  std::optional<uint32_t> sreg;  // a write (mangle)
};
struct MetaExpr {
  uint32_t key = 0;  // enum nft_meta_keys
  std::optional<uint32_t> dreg;
  std::optional<uint32_t> sreg;  // meta set (mark, ...)
};
struct CtExpr {
  uint32_t key = 0;  // enum nft_ct_keys
  std::optional<uint32_t> dreg;
  std::optional<uint32_t> sreg;  // ct set
  std::optional<uint8_t> direction;
};
struct LookupExpr {
  std::string set;  // the set's name ("__set%d" for anonymous sets)
  uint32_t set_id = 0;
  uint32_t sreg = 0;
  std::optional<uint32_t> dreg;  // maps and verdict maps
  bool invert = false;           // NFT_LOOKUP_F_INV
};
// nat (snat/dnat), masq and redir.
struct NatExpr {
  enum class Kind : uint8_t { kNat, kMasq, kRedir } kind = Kind::kNat;
  uint32_t type = 0;    // NFT_NAT_SNAT / NFT_NAT_DNAT (kNat only)
  uint32_t family = 0;  // NFPROTO_IPV4 / _IPV6 (kNat only)
  std::optional<uint32_t> reg_addr_min, reg_addr_max, reg_proto_min, reg_proto_max;
  uint32_t flags = 0;
};
struct RejectExpr {
  uint32_t type = 0;  // enum nft_reject_types
  uint8_t code = 0;
};
struct FibExpr {
  uint32_t dreg = 0;
  uint32_t result = 0;  // NFT_FIB_RESULT_OIF / _OIFNAME / _ADDRTYPE
  uint32_t flags = 0;   // NFTA_FIB_F_*
};
// An xtables match or target carried verbatim (iptables-nft's compat
// expressions); `info` is the xt payload as iptables-legacy would pass it.
struct XtExpr {
  bool target = false;
  std::string name;
  uint32_t rev = 0;
  Bytes info;
};
// An expression that never changes where the packet goes: counter, log,
// quota (unless over), connlimit, dynset, objref, last, numgen... `approximate`
// when it could drop in some circumstance the trace cannot see (limit).
struct PassiveExpr {
  std::string name;
  bool approximate = false;
};
struct NotrackExpr {};
struct UnknownExpr {
  std::string name;
};

using NftExpr = std::variant<ImmediateExpr, CmpExpr, BitwiseExpr, ByteorderExpr, RangeExpr,
                             PayloadExpr, MetaExpr, CtExpr, LookupExpr, NatExpr, RejectExpr,
                             FibExpr, XtExpr, PassiveExpr, NotrackExpr, UnknownExpr>;

struct NftRuleModel {
  uint64_t handle = 0;
  std::string comment;  // NFTA_RULE_USERDATA's NFTNL_UDATA_RULE_COMMENT, if any
  std::vector<NftExpr> exprs;
};

struct NftChainModel {
  uint8_t family = 0;  // NFPROTO_IPV4, _IPV6, _INET
  std::string table;
  std::string name;
  uint64_t handle = 0;
  // Base chains only:
  std::optional<uint32_t> hook;  // NF_INET_PRE_ROUTING ...
  int32_t priority = 0;
  uint32_t policy = 1;  // NF_ACCEPT
  std::string type;     // "filter", "nat", "route"
  std::string device;   // netdev / inet ingress chains
  std::vector<NftRuleModel> rules;
  bool base() const { return hook.has_value(); }
};

struct NftSetElem {
  Bytes key;
  Bytes key_end;       // NFTA_SET_ELEM_KEY_END (pipapo ranges); empty otherwise
  uint32_t flags = 0;  // NFT_SET_ELEM_INTERVAL_END
  NftData data;        // maps: the value; verdict maps: the verdict
};

struct NftSetModel {
  uint8_t family = 0;
  std::string table;
  std::string name;
  uint32_t id = 0;
  uint32_t flags = 0;  // NFT_SET_ANONYMOUS, _CONSTANT, _INTERVAL, _MAP, _OBJECT, _CONCAT ...
  uint32_t key_len = 0;
  uint32_t data_type = 0;  // NFT_DATA_VERDICT (0xffffff00) for verdict maps
  uint32_t data_len = 0;
  std::vector<uint8_t> field_len;  // NFTA_SET_DESC_CONCAT: each field's length in bytes
  std::vector<NftSetElem> elems;
};

// "accept", "drop", "continue", "return", "jump NAME", "goto NAME", "queue".
std::string NftVerdictString(const NftVerdict& v);

}  // namespace portmap::pathtrace
