// nft_attr: the attribute validation shared by the nf_tables decoders,
// libmnl's callback pattern written once: each decoder lists the attributes
// it reads and the type each must have; unknown attributes are skipped
// (newer kernels add them) and a known one of the wrong type fails the parse.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace portmap::nft_internal {

template <size_t N>
using AttrTable = std::array<const nlattr*, N>;

// One validation rule per known attribute: what libmnl type it must be.
struct AttrRule {
  uint16_t type;
  mnl_attr_data_type kind;
};

template <size_t N>
struct ParseState {
  AttrTable<N>* tb;
  const AttrRule* rules;
  size_t nrules;
};

// libmnl's attribute callback: unknown attributes are skipped (newer kernels
// add them), known ones are validated once.
template <size_t N>
int AttrCallback(const nlattr* attr, void* data) {
  auto* st = static_cast<ParseState<N>*>(data);
  if (mnl_attr_type_valid(attr, N - 1) < 0) return MNL_CB_OK;
  const uint16_t type = mnl_attr_get_type(attr);
  for (size_t i = 0; i < st->nrules; ++i) {
    if (st->rules[i].type == type) {
      if (mnl_attr_validate(attr, st->rules[i].kind) < 0) return MNL_CB_ERROR;
      (*st->tb)[type] = attr;
      return MNL_CB_OK;
    }
  }
  return MNL_CB_OK;
}

template <size_t N, size_t R>
bool ParseMessage(const nlmsghdr* nlh, const AttrRule (&rules)[R], AttrTable<N>* tb) {
  ParseState<N> st{tb, rules, R};
  return mnl_attr_parse(nlh, sizeof(nfgenmsg), &AttrCallback<N>, &st) >= 0;
}

template <size_t N, size_t R>
bool ParseNested(const nlattr* nest, const AttrRule (&rules)[R], AttrTable<N>* tb) {
  ParseState<N> st{tb, rules, R};
  return mnl_attr_parse_nested(nest, &AttrCallback<N>, &st) >= 0;
}

}  // namespace portmap::nft_internal
