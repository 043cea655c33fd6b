// path_tracer: the verdict's traces (pathtrace/tracer.h), kept while nothing
// they read has changed, so a scrape costs a lookup per port and path.
//
// A trace reads the nf_tables ruleset, the iptables-legacy tables, the
// routing decision (routes, addresses, rules, forwarding and rp_filter
// switches), the host's listening sockets and, for a container, its
// namespace's.  Refresh() at the start of each scrape compares what it can
// cheaply: the nf_tables generation (NFT_MSG_GETGEN), a fingerprint of the
// legacy tables (x_tables has no generation), rtnetlink change events
// (route_watch.h) and the host's sockets on the published ports (one
// sock_diag dump per protocol).  Any difference drops every cached trace.
// A container's listener has no cheap signal: every trace is redone after
// kMaxTraceAge at the latest.
//
// Thread safety: used by one thread at a time (the collector holds a mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include "collectors/verdict/route_watch.h"
#include "pathtrace/kernel.h"
#include "pathtrace/ruleset.h"
#include "pathtrace/trace_result.h"
#include "pathtrace/tracer.h"
#include "pathtrace/xt_legacy_source.h"
#include "util/clock.h"
#include "util/status.h"

namespace portmap {

inline constexpr std::chrono::seconds kMaxTraceAge{60};

class PathTracer {
 public:
  // `legacy` and `watch` may be null (no legacy tables; no route events:
  // then every Refresh counts as a change).
  PathTracer(std::unique_ptr<pathtrace::RulesetSource> ruleset,
             std::unique_ptr<pathtrace::KernelView> kernel,
             std::unique_ptr<pathtrace::LegacyRuleset> legacy, std::unique_ptr<ChangeWatch> watch);

  // Opens the live sources in the caller's network namespace.
  static std::unique_ptr<PathTracer> OpenLive(const Paths& paths, Status* status);

  // Starts a scrape at `now`: drops the cache when anything traced may have
  // changed.  `ports` are the published ports (l4proto, port) whose
  // listeners matter.  An error when the kernel cannot be read at all.
  Status Refresh(const std::set<std::pair<uint8_t, uint16_t>>& ports, Clock::time_point now);

  // The trace of `pkt`, cached when possible.
  Status Trace(const pathtrace::Packet& pkt, pathtrace::TraceResult* result);

  pathtrace::KernelView* kernel() { return kernel_.get(); }
  pathtrace::RulesetSource* ruleset() { return ruleset_.get(); }

  // Counts the times the cache was dropped: what was derived from routes,
  // addresses and links (the uplinks and their clients) is still good while
  // it stays the same.
  uint64_t epoch() const { return epoch_; }

  // For tests and the self-metrics: traces run and served from the cache.
  uint64_t traced() const { return traced_; }
  uint64_t cached() const { return cached_; }

 private:
  // What a cached trace depends on, compared at each Refresh.
  struct Inputs {
    uint32_t generation = 0;
    uint64_t legacy = 0;
    uint64_t sockets = 0;
    bool operator==(const Inputs&) const = default;
  };
  using Key = std::tuple<uint8_t, uint8_t, std::array<uint8_t, 16>, std::array<uint8_t, 16>,
                         uint16_t, uint32_t>;
  struct Entry {
    pathtrace::TraceResult result;
    Clock::time_point at;
  };

  Status ReadInputs(const std::set<std::pair<uint8_t, uint16_t>>& ports, Inputs* in);

  std::unique_ptr<pathtrace::RulesetSource> ruleset_;
  std::unique_ptr<pathtrace::KernelView> kernel_;
  std::unique_ptr<pathtrace::LegacyRuleset> legacy_;
  std::unique_ptr<ChangeWatch> watch_;
  pathtrace::Tracer tracer_;
  Inputs inputs_;
  bool have_inputs_ = false;
  Clock::time_point now_{};
  std::map<Key, Entry> cache_;
  uint64_t epoch_ = 0;
  uint64_t traced_ = 0;
  uint64_t cached_ = 0;
};

}  // namespace portmap
