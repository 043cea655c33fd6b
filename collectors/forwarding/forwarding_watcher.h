// ForwardingWatcher: sees every flip of the global forwarding switches as it
// happens, not only the value a scrape happens to read.
//
// The CentOS 7 failure is a window: dockerd sets net.ipv4.ip_forward = 1, a
// network restart sets it to 0 and back, and every published port times out
// meanwhile.  A scrape-time read misses a flip that lands between two scrapes;
// rtnetlink does not.  One background thread per exporter owns a NETLINK_ROUTE
// socket joined to RTNLGRP_IPV4_NETCONF and RTNLGRP_IPV6_NETCONF and decodes
// RTM_NEWNETCONF for NETCONFA_IFINDEX_ALL (the global switch), counting real
// transitions (0->1 and 1->0; a repeated value is not a change) and the wall
// time of the last one.
//
// Lost events: when the socket overflows (ENOBUFS) the watcher discards what
// is still queued (older than what was lost) and re-reads the switches from
// <procfs>/sys/net, counts a resync, and counts a transition if
// the value differs from the one it held (a 1->0->1 burst lost entirely is
// invisible; the resync counter says that it may have happened).
//
// Per-interface values are not mirrored here: the collector reads them from
// /proc at scrape time, where the interface name and its value come from one
// directory listing.  An ifindex->name map built at event time would race with
// renames and deletions and adds nothing a scrape does not already read fresh.
//
// The socket lives in the network namespace of the thread that constructs the
// watcher (the exporter's); nothing here calls setns().
//
// Thread safety: Snapshot() may be called from any thread at any time; the
// destructor wakes the thread through an eventfd and joins it.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "netlink/netconf.h"
#include "util/event_thread.h"

namespace portmap {

enum class IpFamily { kIpv4 = 0, kIpv6 = 1 };
inline constexpr size_t kIpFamilyCount = 2;

struct ForwardingSnapshot {
  struct Family {
    std::optional<int> value;        // last known global switch (0/1)
    uint64_t changes = 0;            // transitions seen since start
    double last_change_seconds = 0;  // Unix time of the last one; 0: none
  };
  std::array<Family, kIpFamilyCount> families;
  uint64_t resyncs = 0;
  bool listening = false;  // the socket is open and joined
  std::string error;       // why it is not, when it is not
};

// The transition bookkeeping, without I/O or locking (unit-tested directly).
class ForwardingState {
 public:
  // The value read right after joining the groups; not a transition.
  void Seed(IpFamily family, std::optional<int> value);
  // Applies a decoded event observed at `now` (Unix seconds).
  void OnEvent(const NetconfEvent& event, double now);
  // After lost events: the values re-read from /proc at `now`.
  void OnResync(std::optional<int> ipv4, std::optional<int> ipv6, double now);

  const ForwardingSnapshot& snapshot() const { return snap_; }
  ForwardingSnapshot* mutable_snapshot() { return &snap_; }

 private:
  void Observe(IpFamily family, int value, double now);

  ForwardingSnapshot snap_;
};

// Where the collector gets transition counts from; a fake in tests.
class ForwardingEvents {
 public:
  virtual ~ForwardingEvents() = default;
  virtual ForwardingSnapshot Snapshot() const = 0;
};

class ForwardingWatcher : public ForwardingEvents {
 public:
  // 1 MiB: one ip_forward write emits a message per interface, and a host
  // with hundreds of veths should not overflow during such a burst.
  static constexpr int kDefaultReceiveBuffer = 1 << 20;

  // Starts the thread; `procfs` is the --path.procfs root used to seed and
  // resync.  Never fails: a socket error is retried and shown in Snapshot().
  // `receive_buffer` is for tests that provoke ENOBUFS.
  explicit ForwardingWatcher(std::string procfs, int receive_buffer = kDefaultReceiveBuffer);
  ForwardingWatcher(const ForwardingWatcher&) = delete;
  ForwardingWatcher& operator=(const ForwardingWatcher&) = delete;
  ~ForwardingWatcher() override;

  ForwardingSnapshot Snapshot() const override;

  // Blocks until the socket is joined (or the timeout passes).  The
  // constructor already joins it when it can; this matters after a failure.
  bool WaitListening(std::chrono::milliseconds timeout) const;

 private:
  void Run(const std::stop_token& stop, NetlinkSocket sock);
  // Opens and joins *sock, then seeds (first) or resyncs from /proc.
  bool OpenAndSeed(NetlinkSocket* sock, bool first);
  std::optional<int> ReadSwitch(IpFamily family) const;
  void SetBroken(const std::string& why);

  const std::string procfs_;
  const int receive_buffer_;
  mutable std::mutex mu_;
  mutable std::condition_variable listening_cv_;
  ForwardingState state_;  // GUARDED_BY(mu_)
  EventThread thread_;     // last: started after everything above exists
};

}  // namespace portmap
