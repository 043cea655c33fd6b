// nft_snapshot: a whole nf_tables ruleset held in memory — tables, chains
// with their rules, sets with their elements — built from decoded messages
// (nft_model_decode.h) in any order: a chain's rules may come before the
// chain, a set's elements before the set.  It answers as a RulesetSource
// (ruleset.h), so unit tests and the fuzz target trace recorded rulesets, and
// NftLiveRuleset (nft_live.h) keeps what it read from the kernel in one.
//
// Order of base chains: the kernel runs a hook's chains by priority, and
// chains of equal priority in the order they were registered
// (nf_register_net_hook inserts after its equals).  Registration order is not
// in any dump, so equal priorities are ordered by table handle, then chain
// handle: the order the tables and chains were created in, which is the
// registration order unless a table was made dormant and woken again.  Base
// chains of a dormant table (NFT_TABLE_F_DORMANT) are not registered and are
// left out.
//
// Duplicates: a chain or set message seen again updates its attributes and
// keeps its rules or elements; a rule seen again (same handle, non-zero)
// replaces the earlier one in place.  Element messages are appended as they
// come: add each set's elements once.
//
// Pointers handed out (BaseChains, Chain, Set, Find*) stay valid until
// Clear() or destruction; adding more never moves what is there.
//
// Thread safety: one thread at a time, like every RulesetSource.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "pathtrace/nft_model.h"
#include "pathtrace/nft_model_decode.h"
#include "pathtrace/ruleset.h"
#include "util/status.h"

namespace portmap::pathtrace {

class NftSnapshot : public RulesetSource {
 public:
  NftSnapshot() = default;
  NftSnapshot(NftSnapshot&&) noexcept = default;
  NftSnapshot& operator=(NftSnapshot&&) noexcept = default;
  NftSnapshot(const NftSnapshot&) = delete;
  NftSnapshot& operator=(const NftSnapshot&) = delete;

  // Everything decoded; the first NEWGEN among them becomes the generation
  // unless one is already set.
  void Add(NftModelMessages msgs);
  // Decodes and adds a buffer of messages back to back.
  Status AddBuffer(const void* buf, size_t len);
  // Decodes and adds a recording: one message per line as hex, '#' lines and
  // blank lines skipped (tests/fixtures/pathtrace/README.md).  Lines before a
  // bad one are kept; the error names the line.
  Status AddHex(const std::string& text);

  void AddTable(NftTableModel table);
  void AddChain(NftChainModel chain);  // its `rules` are ignored: rules come by AddRule
  void AddRule(NftRuleMessage rule);
  void AddSet(NftSetModel set);  // its `elems` are ignored: they come by AddSetElems
  void AddSetElems(NftSetElemsMessage elems);
  void Clear();

  void set_generation(uint32_t generation) {
    generation_ = generation;
    has_generation_ = true;
  }
  uint32_t generation() const { return generation_; }

  // nullptr when absent (a chain or set only named by rules or elements so
  // far is absent).  FindSet: by name, or by id when `name` is empty or no
  // set has that name.
  const NftTableModel* FindTable(uint8_t family, const std::string& name) const;
  const NftChainModel* FindChain(uint8_t family, const std::string& table,
                                 const std::string& name) const;
  const NftSetModel* FindSet(uint8_t family, const std::string& table, const std::string& name,
                             uint32_t id) const;
  // Every chain and set present, ordered by family, table and name.
  std::vector<const NftChainModel*> Chains() const;
  std::vector<const NftSetModel*> Sets() const;
  // The base chains of `nfproto` and of NFPROTO_INET at `hook`, in the order
  // described above.
  std::vector<const NftChainModel*> SortedBaseChains(uint8_t nfproto, uint32_t hook) const;

  // RulesetSource: answers from memory; the generation is generation(), and
  // it is always current.
  Status Begin(uint32_t* generation) override;
  Status StillCurrent(bool* current) override;
  Status BaseChains(uint8_t nfproto, uint32_t hook,
                    std::vector<const NftChainModel*>* chains) override;
  Status Chain(uint8_t family, const std::string& table, const std::string& name,
               const NftChainModel** chain) override;
  Status Set(uint8_t family, const std::string& table, const std::string& name, uint32_t id,
             const NftSetModel** set) override;

 private:
  using Key = std::tuple<uint8_t, std::string, std::string>;  // family, table, name
  struct ChainEntry {
    NftChainModel model;
    bool present = false;  // its NEWCHAIN was seen
    // Rule handle -> index in model.rules: a replaced rule is found in
    // constant time, so a 10k-rule chain loads in linear time.
    std::unordered_map<uint64_t, size_t> by_handle;
  };
  struct SetEntry {
    NftSetModel model;
    bool present = false;  // its NEWSET was seen
  };

  std::map<std::pair<uint8_t, std::string>, NftTableModel> tables_;
  std::map<Key, ChainEntry> chains_;
  std::map<Key, SetEntry> sets_;
  uint32_t generation_ = 0;
  bool has_generation_ = false;
};

}  // namespace portmap::pathtrace
