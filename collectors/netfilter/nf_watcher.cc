#include "collectors/netfilter/nf_watcher.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "collectors/netfilter/nf_docker.h"

namespace portmap {

namespace {

constexpr auto kRetryDelay = std::chrono::seconds(5);
constexpr auto kResyncTimeout = std::chrono::seconds(10);

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

NfWatchedChain Key(const NftChainInfo& c) { return {NftFamilyName(c.family), c.table, c.name}; }

}  // namespace

bool NetfilterEventState::IsWatched(const NftChainInfo& c) {
  if (c.family != NFPROTO_IPV4 && c.family != NFPROTO_IPV6) return false;
  if (c.table == kDocker29Table) {
    return std::find(std::begin(kDocker29ChainNames), std::end(kDocker29ChainNames), c.name) !=
           std::end(kDocker29ChainNames);
  }
  return (c.table == "nat" || c.table == "filter") &&
         IsDockerRelevantChain(c.name, c.hook.has_value());
}

// A watched chain is known from now on: its counters exist, at 0 if new.
void NetfilterEventState::See(const NfWatchedChain& key) {
  snap_.deletions.try_emplace(key, 0);
  snap_.rule_deletions.try_emplace(key, 0);
}

void NetfilterEventState::Seed(const std::vector<NftChainInfo>& chains,
                               std::optional<uint32_t> generation) {
  generation_ = generation;
  present_.clear();
  for (const NftChainInfo& c : chains) {
    if (!IsWatched(c)) continue;
    present_.insert(Key(c));
    See(Key(c));
  }
}

void NetfilterEventState::OnMessages(const NftMessages& msgs, double now) {
  for (const NftChainInfo& c : msgs.chains) {
    if (!IsWatched(c)) continue;
    present_.insert(Key(c));
    See(Key(c));
  }
  for (const NftRuleInfo& r : msgs.deleted_rules) {
    auto it = snap_.rule_deletions.find({NftFamilyName(r.family), r.table, r.chain});
    if (it != snap_.rule_deletions.end()) ++it->second;
  }
  for (const NftChainInfo& c : msgs.deleted_chains) {
    // A DELCHAIN event of a base chain may carry no hook (measured on 6.18:
    // `delete chain ip nat PREROUTING` comes without NFTA_CHAIN_HOOK), so a
    // chain known to be present counts whatever the event says of it.
    if (!IsWatched(c) && !present_.contains(Key(c))) continue;
    present_.erase(Key(c));
    See(Key(c));
    ++snap_.deletions[Key(c)];
  }
  for (const NftGeneration& g : msgs.gens) {
    // Generations compare modulo 2^32: g is new when it is ahead.
    if (generation_ && static_cast<int32_t>(g.id - *generation_) <= 0) continue;
    generation_ = g.id;
    ++snap_.ruleset_changes;
    snap_.last_process = g.proc_name;
    snap_.last_pid = g.proc_pid;
    snap_.last_change_seconds = now;
  }
}

void NetfilterEventState::OnResync(const std::vector<NftChainInfo>& chains,
                                   std::optional<uint32_t> generation) {
  ++snap_.resyncs;
  if (generation) {
    if (generation_ && static_cast<int32_t>(*generation - *generation_) > 0) {
      snap_.ruleset_changes += *generation - *generation_;
    }
    generation_ = generation;
  }
  std::set<NfWatchedChain> now;
  for (const NftChainInfo& c : chains) {
    if (IsWatched(c)) now.insert(Key(c));
  }
  for (const NfWatchedChain& k : present_) {
    if (!now.contains(k)) ++snap_.deletions[k];
  }
  for (const NfWatchedChain& k : now) See(k);
  present_ = std::move(now);
}

NetfilterWatcher::NetfilterWatcher(int receive_buffer) : receive_buffer_(receive_buffer) {
  if (!thread_.ok()) {
    state_.mutable_snapshot()->error = "eventfd failed; nf_tables watcher not started";
    return;
  }
  thread_.Start([this](const std::stop_token& stop) { Run(stop); });
}

NetfilterWatcher::~NetfilterWatcher() { thread_.Stop(); }

NetfilterEventSnapshot NetfilterWatcher::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.snapshot();
}

bool NetfilterWatcher::WaitListening(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return listening_cv_.wait_for(lock, timeout, [this] { return state_.snapshot().listening; });
}

void NetfilterWatcher::SetBroken(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.mutable_snapshot()->listening = false;
  state_.mutable_snapshot()->error = why;
}

// The watched chains now, from a dump on a socket of its own.
bool NetfilterWatcher::ReadWatched(std::vector<NftChainInfo>* chains, uint32_t* generation,
                                   std::string* error) const {
  NetlinkStatus st;
  NftablesReader reader = NftablesReader::Open(&st);
  NftRuleset rs;
  if (st.ok()) {
    // Rules are not needed: a filter that selects no chain skips the rule dumps.
    st = reader.Read(
        {NFPROTO_IPV4, NFPROTO_IPV6}, {"nat", "filter", kDocker29Table},
        [chains](const NftChainInfo& c) {
          if (NetfilterEventState::IsWatched(c)) chains->push_back(c);
          return false;
        },
        std::chrono::steady_clock::now() + kResyncTimeout, &rs);
  }
  if (!st.ok()) *error = st.message;
  *generation = rs.generation;
  return st.ok();
}

void NetfilterWatcher::Run(const std::stop_token& stop) {
  // Applied message by message, in order: a batch that deletes a chain and
  // creates it again must leave it present.  A malformed message is skipped,
  // not fatal: the rest of the stream is good.
  const NetlinkCallback on_message = [this](const nlmsghdr* nlh) {
    NftMessages msgs;
    if (DecodeNftMessage(nlh, &msgs) == MNL_CB_OK &&
        (!msgs.gens.empty() || !msgs.chains.empty() || !msgs.deleted_chains.empty() ||
         !msgs.deleted_rules.empty())) {
      const double now = WallNow();
      std::lock_guard<std::mutex> lock(mu_);
      state_.OnMessages(msgs, now);
    }
    return MNL_CB_OK;
  };
  bool first_open = true;
  while (!stop.stop_requested()) {
    NetlinkStatus st;
    NetlinkSocket sock = NetlinkSocket::Open(NETLINK_NETFILTER, &st);
    if (st.ok()) st = sock.JoinGroup(NFNLGRP_NFTABLES);
    if (st.ok()) (void)sock.SetReceiveBuffer(receive_buffer_);  // best effort
    std::vector<NftChainInfo> chains;
    uint32_t generation = 0;
    std::string error;
    // Joined first, then read: a change between the two arrives as an event.
    if (st.ok() && !ReadWatched(&chains, &generation, &error)) {
      st = NetlinkStatus::Errno(EIO, error);
    }
    if (!st.ok()) {
      SetBroken(st.message);
      if (thread_.Sleep(kRetryDelay)) return;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (first_open) {
        state_.Seed(chains, generation);
      } else {
        state_.OnResync(chains, generation);  // events were lost while closed
      }
      state_.mutable_snapshot()->listening = true;
      state_.mutable_snapshot()->error.clear();
    }
    first_open = false;
    listening_cv_.notify_all();

    while (!stop.stop_requested()) {
      bool woken = false;
      st = sock.ReceiveEvents(thread_.wake_fd(), std::chrono::milliseconds(-1), on_message, &woken);
      if (woken) return;
      if (st.err == ENOBUFS) {
        chains.clear();
        if (ReadWatched(&chains, &generation, &error)) {
          std::lock_guard<std::mutex> lock(mu_);
          state_.OnResync(chains, generation);
        }
      } else if (!st.ok()) {
        break;  // the socket itself failed: reopen it after a pause
      }
    }
    if (stop.stop_requested()) return;
    SetBroken(st.message);
    if (thread_.Sleep(kRetryDelay)) return;
  }
}

}  // namespace portmap
