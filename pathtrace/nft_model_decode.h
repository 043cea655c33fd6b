// nft_model_decode: the nf_tables netlink messages a ruleset dump is made of,
// decoded into the interpreter's model (nft_model.h).  Pure functions, bytes
// in, models out, errors as values: unit tests and the fuzz target run them
// on recorded bytes, NftLiveRuleset (nft_live.h) on the kernel's answers.
//
// What is decoded, by message (include/uapi/linux/netfilter/nf_tables.h):
//   NEWGEN      the generation id
//   NEWTABLE    family, name, handle, flags (a dormant table's chains are
//               not registered, so they never see a packet)
//   NEWCHAIN    NftChainModel without rules: hook, priority, policy, type,
//               device(s) for base chains
//   NEWRULE     handle, comment (NFTA_RULE_USERDATA, libnftnl's TLVs) and
//               every expression of NFTA_RULE_EXPRESSIONS as an NftExpr
//   NEWSET      NftSetModel without elements
//   NEWSETELEM  the elements of one set
// Other message types are skipped (not an error): events such as DELRULE,
// objects, flowtables.
//
// Expressions: those the interpreter evaluates fill their model (nft_model.h)
// from the kernel's attributes.  Those that never decide where the packet
// goes are PassiveExpr: counter, log, last, dup, dynset delete, an objref of
// a counter, ct helper/timeout/expectation or secmark object.  PassiveExpr
// with `approximate` for those that end the rule only in circumstances a
// trace cannot see: limit and `ct count N` (rate and connection count),
// quota (unless depleted; an inverted `quota over` once depleted), dynset
// add/update (the set may be full, the element's expressions may say no).
// Their inverted forms end the rule in the common case, so they are
// UnknownExpr: "limit over", "connlimit over", "quota over" (not yet over),
// "dynset inverted"; so are "quota depleted", an objref of a quota, limit or
// connlimit object ("objref quota"...: the inversion is in the object, not
// the rule), an object map ("objref map": no element ends the rule), lookup
// flags other than NFT_LOOKUP_F_INV ("lookup flags N") and bitwise
// operations on two registers (kernel 6.13+: "bitwise op N").  Every other
// expression (numgen, hash, socket, exthdr, rt, queue, flow_offload, tproxy,
// osf, synproxy, ...) is UnknownExpr{its name}.
//
// Malformed input (a known attribute of the wrong size, a required attribute
// missing, a register past NFT_REG32_15, a value over 64 bytes, a list that
// does not parse to its end) is an Error naming the message and expression;
// unknown attributes are skipped, as newer kernels add them.
//
// Thread safety: stateless functions.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pathtrace/nft_model.h"
#include "util/status.h"

struct nlattr;

namespace portmap::pathtrace {

struct NftTableModel {
  uint8_t family = 0;
  std::string name;
  uint64_t handle = 0;
  uint32_t flags = 0;  // NFT_TABLE_F_DORMANT, NFT_TABLE_F_OWNER
  bool dormant() const { return (flags & 1U) != 0; }
};

// One NEWRULE: the rule and where it belongs.
struct NftRuleMessage {
  uint8_t family = 0;
  std::string table;
  std::string chain;
  NftRuleModel rule;
};

// One NEWSETELEM: some elements of one set (a dump may split a set's
// elements over several messages).
struct NftSetElemsMessage {
  uint8_t family = 0;
  std::string table;
  std::string set;
  std::vector<NftSetElem> elems;
};

// What a buffer of NETLINK_NETFILTER messages held, by kind, in order.
struct NftModelMessages {
  std::vector<uint32_t> gens;  // NEWGEN ids
  std::vector<NftTableModel> tables;
  std::vector<NftChainModel> chains;  // rules empty
  std::vector<NftRuleMessage> rules;
  std::vector<NftSetModel> sets;  // elems empty
  std::vector<NftSetElemsMessage> elems;
  // Each table, chain, rule, set and element message's nfgenmsg.res_id
  // (host order): the low 16 bits of the generation it was dumped from.
  std::vector<uint16_t> stamps;
};

// The nfgenmsg.res_id of an nf_tables message (host order); 0 when the
// message is too short to hold an nfgenmsg.
uint16_t NftMessageStamp(const nlmsghdr* nlh);

// Decodes one message into *out (skipping other subsystems and kinds).
Status DecodeNftModelMessage(const nlmsghdr* nlh, NftModelMessages* out);

// Decodes a buffer of messages back to back (a datagram, or recorded
// messages; any alignment).  Messages before a malformed one are kept.
Status DecodeNftModelBuffer(const void* buf, size_t len, NftModelMessages* out);

// Per kind, one message each (its nlmsghdr, nfgenmsg included).
Status DecodeNftGen(const nlmsghdr* nlh, uint32_t* id);
Status DecodeNftTable(const nlmsghdr* nlh, NftTableModel* out);
Status DecodeNftChain(const nlmsghdr* nlh, NftChainModel* out);
Status DecodeNftRule(const nlmsghdr* nlh, NftRuleMessage* out);
Status DecodeNftSet(const nlmsghdr* nlh, NftSetModel* out);
Status DecodeNftSetElems(const nlmsghdr* nlh, NftSetElemsMessage* out);

// One expression: an NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS.
Status DecodeNftExpr(const nlattr* elem, NftExpr* out);

// NFTNL_UDATA_RULE_COMMENT from a rule's NFTA_RULE_USERDATA (libnftnl's
// TLVs: type byte, length byte, value); "" when there is none.  Userdata is
// userspace's own annotation, so a malformed one is no comment, not an error.
std::string NftUserdataComment(const uint8_t* data, size_t len);

}  // namespace portmap::pathtrace
