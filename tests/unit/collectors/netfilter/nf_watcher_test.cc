// The nf_tables event bookkeeping on events recorded from the lab while
// `fault.sh chain flush` and `fault.sh rules restore` ran, and while
// `iptables -t nat -F DOCKER` flushed a kept chain (iptables-nft 1.8.9), and
// the watcher itself against the real kernel when allowed.
#include "collectors/netfilter/nf_watcher.h"

#include <gtest/gtest.h>
#include <linux/netfilter.h>

#include <fstream>
#include <string>
#include <vector>

namespace portmap {
namespace {

NftMessages LoadEvents(const std::string& name) {
  std::ifstream in(std::string(PORTMAP_FIXTURES) + "/nftables/" + name);
  EXPECT_TRUE(in.good()) << name;
  NftMessages all;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<uint8_t> d;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      d.push_back(static_cast<uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    EXPECT_TRUE(DecodeNftBuffer(d.data(), d.size(), &all).ok());
  }
  return all;
}

NftChainInfo Chain(const char* table, const char* name, bool base = false) {
  NftChainInfo c;
  c.family = NFPROTO_IPV4;
  c.table = table;
  c.name = name;
  if (base) c.hook = 0;
  return c;
}

std::vector<NftChainInfo> LabChains() {
  return {Chain("nat", "DOCKER"),
          Chain("nat", "PREROUTING", true),
          Chain("nat", "OUTPUT", true),
          Chain("nat", "POSTROUTING", true),
          Chain("filter", "DOCKER"),
          Chain("filter", "DOCKER-USER"),
          Chain("filter", "FORWARD", true),
          Chain("filter", "DOCKER-ISOLATION-STAGE-1"),
          Chain("filter", "DOCKER-ISOLATION-STAGE-2")};
}

TEST(NfWatcherTest, ChainFlushCountsEachWatchedChainOnce) {
  NetfilterEventState state;
  state.Seed(LabChains());
  state.OnMessages(LoadEvents("events_chain_flush.hex"), 1000);
  const NetfilterEventSnapshot& s = state.snapshot();
  EXPECT_EQ(s.deletions.at({"ipv4", "nat", "DOCKER"}), 1u);
  EXPECT_EQ(s.rule_deletions.at({"ipv4", "nat", "DOCKER"}), 2u);  // flushed, then deleted
  EXPECT_EQ(s.deletions.at({"ipv4", "filter", "DOCKER"}), 1u);
  EXPECT_EQ(s.deletions.at({"ipv4", "filter", "DOCKER-USER"}), 1u);
  EXPECT_EQ(s.deletions.at({"ipv4", "filter", "DOCKER-ISOLATION-STAGE-1"}), 1u);
  EXPECT_EQ(s.deletions.at({"ipv4", "filter", "DOCKER-ISOLATION-STAGE-2"}), 1u);
  EXPECT_EQ(s.deletions.at({"ipv4", "filter", "FORWARD"}), 0u);      // survives the flush
  EXPECT_EQ(s.deletions.count({"ipv4", "nat", "POSTROUTING"}), 0u);  // not watched
  EXPECT_GE(s.ruleset_changes, 1u);
  EXPECT_EQ(s.last_process, "iptables-nft");
  EXPECT_EQ(s.last_change_seconds, 1000);
}

TEST(NfWatcherTest, BaseChainDeletionWithoutItsHookCounts) {
  // `nft flush ruleset`, or iptables-restore replacing nat: the kernel's
  // DELCHAIN of a base chain may come without NFTA_CHAIN_HOOK.
  NetfilterEventState state;
  state.Seed(LabChains());
  NftMessages msgs;
  msgs.deleted_chains = {Chain("nat", "PREROUTING"), Chain("filter", "FORWARD"),
                         Chain("nat", "POSTROUTING")};
  state.OnMessages(msgs, 1000);
  const NetfilterEventSnapshot& s = state.snapshot();
  EXPECT_EQ(s.deletions.at({"ipv4", "nat", "PREROUTING"}), 1u);
  EXPECT_EQ(s.deletions.at({"ipv4", "filter", "FORWARD"}), 1u);
  EXPECT_EQ(s.deletions.count({"ipv4", "nat", "POSTROUTING"}), 0u) << "never watched";
  state.OnMessages(msgs, 1001);
  EXPECT_EQ(s.deletions.at({"ipv4", "nat", "PREROUTING"}), 1u) << "already gone: not again";
}

TEST(NfWatcherTest, FlushKeepingTheChainCountsEachRule) {
  // The kernel notifies a flush (DELRULE without a handle) rule by rule.
  const NftMessages msgs = LoadEvents("events_nat_docker_flush_rules.hex");
  ASSERT_EQ(msgs.deleted_rules.size(), 2u);
  for (const NftRuleInfo& r : msgs.deleted_rules) {
    EXPECT_EQ(r.family, NFPROTO_IPV4);
    EXPECT_EQ(r.table, "nat");
    EXPECT_EQ(r.chain, "DOCKER");
  }
  EXPECT_TRUE(msgs.deleted_chains.empty());
  EXPECT_EQ(msgs.gens.size(), 1u);

  NetfilterEventState state;
  state.Seed(LabChains());
  state.OnMessages(msgs, 1000);
  const NetfilterEventSnapshot& s = state.snapshot();
  EXPECT_EQ(s.rule_deletions.at({"ipv4", "nat", "DOCKER"}), 2u);
  EXPECT_EQ(s.deletions.at({"ipv4", "nat", "DOCKER"}), 0u);  // the chain stays
  EXPECT_EQ(s.rule_deletions.at({"ipv4", "filter", "DOCKER"}), 0u);
  EXPECT_EQ(s.rule_deletions.size(), s.deletions.size());  // the same chains
}

TEST(NfWatcherTest, RuleDeletionsOfUnseenChainsAreNotCounted) {
  NetfilterEventState state;  // nat DOCKER never seen: a foreign chain for all it knows
  state.Seed({Chain("filter", "DOCKER-USER")});
  state.OnMessages(LoadEvents("events_nat_docker_flush_rules.hex"), 1);
  EXPECT_EQ(state.snapshot().rule_deletions.count({"ipv4", "nat", "DOCKER"}), 0u);
  EXPECT_EQ(state.snapshot().rule_deletions.at({"ipv4", "filter", "DOCKER-USER"}), 0u);
}

TEST(NfWatcherTest, RestoreAfterFlushThenResyncSeesNothingLost) {
  NetfilterEventState state;
  state.Seed(LabChains());
  state.OnMessages(LoadEvents("events_chain_flush.hex"), 1);
  state.OnMessages(LoadEvents("events_rules_restore.hex"), 2);
  const uint64_t before = state.snapshot().deletions.at({"ipv4", "nat", "DOCKER"});
  state.OnResync(LabChains());  // everything is back: no deletion to add
  EXPECT_EQ(state.snapshot().deletions.at({"ipv4", "nat", "DOCKER"}), before);
  EXPECT_EQ(state.snapshot().resyncs, 1u);
}

NftMessages Commit(uint32_t generation) {
  NftMessages msgs;
  msgs.gens.push_back({generation, 4242, "iptables-nft-restore"});
  return msgs;
}

TEST(NfWatcherTest, CommitsWhoseEventsWereLostStillCount) {
  NetfilterEventState state;
  state.Seed(LabChains(), 100);
  state.OnMessages(Commit(101), 1);
  EXPECT_EQ(state.snapshot().ruleset_changes, 1u);
  // ENOBUFS: a 100k-rule restore's events overflowed the socket; the read
  // after it finds generation 104, so three more commits happened.
  state.OnResync(LabChains(), 104);
  EXPECT_EQ(state.snapshot().ruleset_changes, 4u);
  EXPECT_EQ(state.snapshot().resyncs, 1u);
  // Events of those commits still queued behind the overflow are not
  // counted again; the next new one is.
  state.OnMessages(Commit(103), 2);
  state.OnMessages(Commit(104), 2);
  EXPECT_EQ(state.snapshot().ruleset_changes, 4u);
  state.OnMessages(Commit(105), 3);
  EXPECT_EQ(state.snapshot().ruleset_changes, 5u);
  EXPECT_EQ(state.snapshot().last_process, "iptables-nft-restore");
}

TEST(NfWatcherTest, GenerationsCompareAcrossTheWrap) {
  NetfilterEventState state;
  state.Seed(LabChains(), 0xffffffffu);
  state.OnMessages(Commit(0), 1);
  state.OnResync(LabChains(), 2);
  EXPECT_EQ(state.snapshot().ruleset_changes, 3u);
}

TEST(NfWatcherTest, ResyncCountsChainsThatVanishedUnseen) {
  NetfilterEventState state;
  state.Seed(LabChains());
  state.OnResync({Chain("filter", "FORWARD", true)});
  EXPECT_EQ(state.snapshot().deletions.at({"ipv4", "filter", "DOCKER-USER"}), 1u);
  EXPECT_EQ(state.snapshot().deletions.at({"ipv4", "filter", "FORWARD"}), 0u);
  state.OnResync({Chain("filter", "FORWARD", true)});  // still gone: not counted again
  EXPECT_EQ(state.snapshot().deletions.at({"ipv4", "filter", "DOCKER-USER"}), 1u);
}

TEST(NfWatcherTest, ForeignChainsAreNotWatched) {
  EXPECT_FALSE(NetfilterEventState::IsWatched(Chain("filter", "KUBE-SERVICES")));
  EXPECT_FALSE(NetfilterEventState::IsWatched(Chain("raw", "DOCKER")));
  EXPECT_TRUE(NetfilterEventState::IsWatched(Chain("filter", "DOCKER-CT")));
}

TEST(NfWatcherTest, StopsCleanly) {
  // Whatever the privileges, the thread starts and the destructor joins it.
  for (int i = 0; i < 3; ++i) {
    NetfilterWatcher watcher;
    (void)watcher.WaitListening(std::chrono::milliseconds(50));
  }
}

}  // namespace
}  // namespace portmap
