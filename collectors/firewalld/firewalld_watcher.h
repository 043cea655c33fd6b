// FirewalldWatcher: counts firewalld's reloads and (re)starts as they happen,
// and tells the collector when firewalld's runtime state may have changed.
//
// Either one wipes Docker's chains under the iptables backend, and either one
// can land between two scrapes; the D-Bus signals do not miss it.  One
// background thread per exporter owns its own system-bus connection,
// subscribed to
//   org.fedoraproject.FirewallD1.Reloaded             (sent by reload and
//                                                      completeReload)
//   org.freedesktop.DBus.NameOwnerChanged, arg0 = org.fedoraproject.FirewallD1
//   every other signal firewalld sends: each runtime change (zone.PortAdded,
//       zone.InterfaceAdded, policy.PolicyUpdated, DefaultZoneChanged, a
//       timed entry expiring ...) emits one, before firewall-cmd's call returns
//
// Counting rules (FirewalldEventState, unit-tested on its own):
//   changes   every signal from firewalld, every owner change and every
//             (re)connection: while it stays the same, firewalld's runtime
//             state (what the collector reads) is what it was.
//   reloads   every Reloaded signal.
//   restarts  every time the name gets an owner different from the last one
//             seen — a start after the exporter started counts, the owner
//             found when the watcher first connects does not.  After a lost
//             connection the owner is read again and a different one counts.
//
// When the bus goes away (dbus-daemon restarted, socket missing) the thread
// reconnects with a bounded backoff (kMinBackoff doubling to kMaxBackoff);
// Snapshot().listening says whether it is subscribed right now.
//
// Sync(): a signal firewalld sent before firewall-cmd got its answer may still
// sit in this connection's socket when the next scrape comes.  Sync asks the
// thread to Ping firewalld's owner (org.freedesktop.DBus.Peer, answered by
// libdbus without entering firewalld's Python code; the bus daemon when the
// name has no owner) and waits for the reply: messages from one sender
// arrive in order, so once the reply is handled, so is every signal sent
// before it — and a stopped or wedged firewalld, which cannot answer, makes
// Sync fail instead of vouching for a state nobody can read.
//
// Stopping: the thread polls the bus descriptor and an eventfd together (an
// sd_bus_wait() alone cannot be woken), so the destructor writes the eventfd
// and joins; no thread outlives the watcher.
//
// Thread safety: Snapshot() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "util/event_thread.h"

struct sd_bus;  // <systemd/sd-bus.h>

namespace portmap {

struct FirewalldEventsSnapshot {
  uint64_t changes = 0;  // see "Counting rules"
  uint64_t reloads = 0;
  uint64_t restarts = 0;
  uint64_t reconnects = 0;  // bus connections re-made after a loss
  bool listening = false;
  std::string owner;  // the name's current unique owner; "" when none
  std::string error;  // why not listening
};

// The counting rules, without I/O or locking.
class FirewalldEventState {
 public:
  void OnReloaded() { ++snap_.reloads; }
  // Any signal from firewalld (Reloaded included).
  void OnSignal() { ++snap_.changes; }
  // NameOwnerChanged(name, old_owner, new_owner) for firewalld's name.
  void OnOwnerChanged(const std::string& new_owner);
  // The owner read right after (re)subscribing; `first` for the first
  // connection of the watcher's life.
  void OnConnected(const std::string& owner, bool first);

  const FirewalldEventsSnapshot& snapshot() const { return snap_; }
  FirewalldEventsSnapshot* mutable_snapshot() { return &snap_; }

 private:
  std::string last_owner_;  // the last non-empty owner seen
  FirewalldEventsSnapshot snap_;
};

// Where the collector gets the counters from; a fake in tests.
class FirewalldEvents {
 public:
  virtual ~FirewalldEvents() = default;
  virtual FirewalldEventsSnapshot Snapshot() const = 0;
  // True once every signal the bus sent before this call has been counted;
  // false when that cannot be known by `deadline` (not listening, bus slow).
  virtual bool Sync(std::chrono::steady_clock::time_point deadline) = 0;
};

class FirewalldWatcher : public FirewalldEvents {
 public:
  static constexpr std::chrono::milliseconds kMinBackoff{500};
  static constexpr std::chrono::milliseconds kMaxBackoff{30000};
  // Bounds the connect and the subscription calls of the thread.
  static constexpr std::chrono::milliseconds kCallTimeout{5000};

  // Starts the thread; never fails (a bus error is retried and shown).
  FirewalldWatcher();
  FirewalldWatcher(const FirewalldWatcher&) = delete;
  FirewalldWatcher& operator=(const FirewalldWatcher&) = delete;
  ~FirewalldWatcher() override;

  FirewalldEventsSnapshot Snapshot() const override;
  bool Sync(std::chrono::steady_clock::time_point deadline) override;

  // Blocks until subscribed (or the timeout passes); for tests.
  bool WaitListening(std::chrono::milliseconds timeout) const;

 private:
  void Run(const std::stop_token& stop);
  // One connection's life; returns when it fails or a stop is requested,
  // true when it got as far as subscribing (which resets the backoff).
  bool Listen(const std::stop_token& stop, bool* first);
  void SetBroken(const std::string& why);
  // On the thread: Pings the bus for the Sync() requests not yet sent.
  int SendPing(sd_bus* bus);

  friend struct FirewalldWatcherCallbacks;

  mutable std::mutex mu_;
  mutable std::condition_variable listening_cv_;
  FirewalldEventState state_;  // GUARDED_BY(mu_)
  // Sync(): requests are numbered; a Ping carries the highest number asked
  // when it was sent, and its reply marks every request up to it done.
  std::condition_variable sync_cv_;
  uint64_t sync_asked_ = 0;     // GUARDED_BY(mu_)
  uint64_t sync_sent_ = 0;      // GUARDED_BY(mu_)
  uint64_t sync_done_ = 0;      // GUARDED_BY(mu_)
  std::deque<uint64_t> pings_;  // GUARDED_BY(mu_); in flight, oldest first
  int sync_fd_ = -1;            // eventfd: Sync() wakes the thread
  EventThread thread_;          // last: started after everything above exists
};

}  // namespace portmap
