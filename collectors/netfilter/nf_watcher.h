// nf_watcher: follows nf_tables commits as they happen, so a wipe of
// Docker's chains between two scrapes is never missed.
//
// One background thread owns a NETLINK_NETFILTER socket joined to
// NFNLGRP_NFTABLES (16 MiB receive buffer: a firewalld reload or a
// kube-proxy sync emits one message per rule) and decodes:
//   NFT_MSG_NEWGEN   closes every commit: counts a ruleset change and keeps
//                    the committing process (NFTA_GEN_PROC_NAME/PID) and
//                    the wall time
//   NFT_MSG_NEWCHAIN a watched chain appeared
//   NFT_MSG_DELCHAIN a watched chain went away: counted per chain
//   NFT_MSG_DELRULE  a rule left a watched chain: counted per chain.  The
//                    kernel notifies each rule on its own, also for a flush
//                    (`iptables -F`, a DELRULE without a handle), so a flush
//                    that keeps the chain and a refill between two scrapes
//                    still shows; a rule replaced in place (`iptables -R`)
//                    counts as one deletion
// Watched chains are Docker's (IsDockerRelevantChain) in the nat and filter
// tables of the ip and ip6 families, and Docker 29's chains of fixed names in
// its docker-bridges tables (kDocker29ChainNames).  Events cover nf_tables only; legacy
// x_tables has no notifications.
//
// Lost events: on ENOBUFS the watcher re-reads the watched chains
// (NftablesReader), counts a resync, counts the commits the lost events
// announced (from the generation it read), and counts a deletion for every
// chain it held that is gone (a chain deleted and re-created within the lost
// burst is invisible, and so are rule deletions in it; the resync counter
// says that may have happened).
//
// The socket lives in the network namespace of the constructing thread.
//
// Thread safety: Snapshot() from any thread; the destructor wakes the thread
// through an eventfd and joins it (no detached threads).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "netlink/nftables.h"
#include "util/event_thread.h"

namespace portmap {

// (family, table, chain), family as NftFamilyName gives it.
using NfWatchedChain = std::tuple<std::string, std::string, std::string>;

struct NetfilterEventSnapshot {
  bool listening = false;
  std::string error;             // why not, when not listening
  uint64_t ruleset_changes = 0;  // NFT_MSG_NEWGEN seen since start
  uint64_t resyncs = 0;
  std::string last_process;  // "" until the first commit is seen
  uint32_t last_pid = 0;
  double last_change_seconds = 0;  // Unix time; 0 when none was seen
  // Every watched chain seen present or deleted, with its deletion count.
  std::map<NfWatchedChain, uint64_t> deletions;
  // The same chains (same keys), with the rules deleted from each.
  std::map<NfWatchedChain, uint64_t> rule_deletions;
};

// The bookkeeping, without I/O or locking (unit-tested directly).
class NetfilterEventState {
 public:
  // The watched chains present when the watcher starts listening, read at
  // ruleset generation `generation` (nullopt: unknown).
  void Seed(const std::vector<NftChainInfo>& chains,
            std::optional<uint32_t> generation = std::nullopt);
  // Decoded messages, observed at `now` (Unix seconds); within one call,
  // new chains are applied before deleted rules, and those before deleted
  // chains.  A deleted rule counts when its chain is a watched chain already
  // seen (a DELRULE carries no hook to tell a base chain by).  A NEWGEN
  // counts once: one whose generation a read already covered does not.
  void OnMessages(const NftMessages& msgs, double now);
  // After lost events: the watched chains present now, read at generation
  // `generation`.  Every commit since the last generation seen counts as a
  // ruleset change (the generation goes up by one per commit), so a burst
  // whose NEWGEN events were lost is still counted.
  void OnResync(const std::vector<NftChainInfo>& chains,
                std::optional<uint32_t> generation = std::nullopt);

  NetfilterEventSnapshot* mutable_snapshot() { return &snap_; }
  const NetfilterEventSnapshot& snapshot() const { return snap_; }

  static bool IsWatched(const NftChainInfo& chain);

 private:
  void See(const NfWatchedChain& key);

  std::set<NfWatchedChain> present_;
  std::optional<uint32_t> generation_;  // the last generation counted or read
  NetfilterEventSnapshot snap_;
};

// Where the collector gets event counts from; a fake in tests.
class NetfilterEvents {
 public:
  virtual ~NetfilterEvents() = default;
  virtual NetfilterEventSnapshot Snapshot() const = 0;
};

class NetfilterWatcher : public NetfilterEvents {
 public:
  static constexpr int kDefaultReceiveBuffer = 16 << 20;

  // Starts the thread.  Never fails: errors are retried and shown in
  // Snapshot().
  explicit NetfilterWatcher(int receive_buffer = kDefaultReceiveBuffer);
  NetfilterWatcher(const NetfilterWatcher&) = delete;
  NetfilterWatcher& operator=(const NetfilterWatcher&) = delete;
  ~NetfilterWatcher() override;

  NetfilterEventSnapshot Snapshot() const override;
  // Blocks until the socket is joined and seeded, or the timeout passes.
  bool WaitListening(std::chrono::milliseconds timeout) const;

 private:
  void Run(const std::stop_token& stop);
  bool ReadWatched(std::vector<NftChainInfo>* chains, uint32_t* generation,
                   std::string* error) const;
  void SetBroken(const std::string& why);

  const int receive_buffer_;
  mutable std::mutex mu_;
  mutable std::condition_variable listening_cv_;
  NetfilterEventState state_;  // GUARDED_BY(mu_)
  EventThread thread_;         // last: started after everything above exists
};

}  // namespace portmap
