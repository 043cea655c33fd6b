// ruleset: where the tracer reads the live nf_tables ruleset from — a narrow
// seam with two implementations: NftLiveRuleset (nft_live.h, the kernel over
// netlink, lazily and cached per generation) and, in tests, recorded
// messages.
//
// The tracer asks only for what a packet needs: the base chains of one hook,
// then each chain it enters, then each set it looks up.  A source answers
// from one ruleset generation; when the generation moves under it the whole
// trace is restarted (Tracer, tracer.h), so no trace mixes two rulesets.
//
// Thread safety: a source is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pathtrace/nft_model.h"
#include "util/status.h"

namespace portmap::pathtrace {

class RulesetSource {
 public:
  virtual ~RulesetSource() = default;

  // Pins the generation every later answer comes from (NFT_MSG_GETGEN);
  // drops what was cached for another generation.
  virtual Status Begin(uint32_t* generation) = 0;

  // True when the ruleset is still the generation Begin pinned (checked at the
  // end of a trace; false restarts it).
  virtual Status StillCurrent(bool* current) = 0;

  // Every base chain of family `nfproto` (NFPROTO_IPV4 or _IPV6) and of
  // NFPROTO_INET hooked at `hook` (NF_INET_*), rules included, in the order
  // the kernel runs them (priority, then registration order).  The chains
  // point into the source's cache: valid until the next Begin.
  virtual Status BaseChains(uint8_t nfproto, uint32_t hook,
                            std::vector<const NftChainModel*>* chains) = 0;

  // One chain with its rules, by family, table and name.  NoData when absent.
  virtual Status Chain(uint8_t family, const std::string& table, const std::string& name,
                       const NftChainModel** chain) = 0;

  // One set with its elements, by family, table and name (or id for an
  // anonymous set a rule names by id only).  NoData when absent.
  virtual Status Set(uint8_t family, const std::string& table, const std::string& name, uint32_t id,
                     const NftSetModel** set) = 0;
};

}  // namespace portmap::pathtrace
