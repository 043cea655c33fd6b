// nft_live: the host's live nf_tables ruleset as a RulesetSource, read over
// NETLINK_NETFILTER lazily — only what a trace asks for — and cached for as
// long as the ruleset generation stays the same.
//
//   Begin()       NFT_MSG_GETGEN; a generation other than the cached one
//                 drops the cache.
//   BaseChains()  a GETTABLE dump (dormant tables, creation order) and one
//                 GETCHAIN dump per family needed (the packet's ip or ip6,
//                 and inet), each once per generation: base chains' models
//                 are kept, other chains only by name, so a chain a rule
//                 jumps to is known to exist or not without asking again.
//                 Then the rules of each base chain at the hook, by a
//                 GETRULE dump filtered on NFTA_RULE_TABLE + NFTA_RULE_CHAIN
//                 (the kernel has no table filter for chain dumps, but has
//                 one for rules: a small chain's dump stays cheap beside
//                 thousands of foreign rules).
//   Chain()       GETCHAIN by name (NLM_F_ACK; ENOENT is NoData) and its
//                 rules, as above.
//   Set()         GETSET by name — or, for a set named by id only, a GETSET
//                 dump of its table — and a GETSETELEM dump of the set.
//   StillCurrent() GETGEN again.
// Everything read is kept in an NftSnapshot (nft_snapshot.h), which orders
// the base chains (its header says how equal priorities are ordered).
//
// Consistency: every message the kernel sends carries the low 16 bits of the
// generation it was built from (nfgenmsg.res_id).  One that differs from the
// generation Begin pinned means a commit happened since: the call fails with
// a Status error whose message starts with kNftRulesetChanged, and the
// tracer restarts (tracer.h); nothing from that call is cached.
//
// Errors are values: the socket's errno text (EPERM without CAP_NET_ADMIN,
// ETIMEDOUT past the per-call timeout).  Each public call has its own
// deadline: now + the timeout given to Open.
//
// Thread safety: one thread at a time, like every RulesetSource.  Move-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "netlink/socket.h"
#include "pathtrace/nft_model_decode.h"
#include "pathtrace/nft_snapshot.h"
#include "pathtrace/ruleset.h"
#include "util/status.h"

namespace portmap::pathtrace {

// How an answer from another generation begins its Status message.
inline constexpr char kNftRulesetChanged[] = "nf_tables ruleset changed";

inline constexpr std::chrono::milliseconds kNftLiveTimeout{2000};

class NftLiveRuleset : public RulesetSource {
 public:
  // Opens a NETLINK_NETFILTER socket in the caller's network namespace.
  // `timeout` bounds each call (Begin, BaseChains, Chain, Set, StillCurrent).
  static NftLiveRuleset Open(NetlinkStatus* status,
                             std::chrono::milliseconds timeout = kNftLiveTimeout);

  NftLiveRuleset() = default;
  NftLiveRuleset(NftLiveRuleset&&) noexcept = default;
  NftLiveRuleset& operator=(NftLiveRuleset&&) noexcept = default;
  NftLiveRuleset(const NftLiveRuleset&) = delete;
  NftLiveRuleset& operator=(const NftLiveRuleset&) = delete;

  bool valid() const { return sock_.valid(); }

  // For recording test data: called with every message received.
  void SetTap(NetlinkCallback tap) { tap_ = std::move(tap); }

  // What has been read since the generation was pinned.
  const NftSnapshot& cache() const { return cache_; }

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
  using Attrs = std::vector<std::pair<uint16_t, std::string>>;
  using Deadline = std::chrono::steady_clock::time_point;

  NftLiveRuleset(NetlinkSocket sock, std::chrono::milliseconds timeout)
      : sock_(std::move(sock)), timeout_(timeout) {}

  Deadline NextDeadline() const { return std::chrono::steady_clock::now() + timeout_; }
  // NFT_MSG_GETGEN.
  Status ReadGeneration(Deadline deadline, uint32_t* generation);
  // One request (a dump, or a single get acknowledged with NLM_F_ACK) whose
  // answers are decoded into *out; each must carry the pinned generation.
  // A single get of something absent is NoData.
  Status Request(uint16_t msg_type, uint8_t family, const Attrs& attrs, bool dump,
                 Deadline deadline, NftModelMessages* out);
  // Sends `request` and runs `cb` on the answers (NetlinkSocket::Dump),
  // first discarding what an interrupted exchange left queued.
  NetlinkStatus Exchange(nlmsghdr* request, const NetlinkCallback& cb, Deadline deadline);
  Status EnsureTables(Deadline deadline);
  Status EnsureFamily(uint8_t family, Deadline deadline);
  Status EnsureRules(const NftChainModel& chain, Deadline deadline);
  Status Pinned() const;

  NetlinkSocket sock_;
  std::chrono::milliseconds timeout_ = kNftLiveTimeout;
  NetlinkCallback tap_;
  bool dirty_ = false;  // an exchange was cut short: discard before the next

  bool pinned_ = false;
  uint32_t generation_ = 0;
  NftSnapshot cache_;
  bool tables_read_ = false;
  std::set<uint8_t> families_read_;  // GETCHAIN dumped
  std::set<Key> other_chains_;       // non-base chains seen in those dumps
  std::set<Key> rules_read_;         // chains whose rules are in cache_
  std::set<Key> elems_read_;         // sets whose elements are in cache_
};

}  // namespace portmap::pathtrace
