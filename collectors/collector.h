// A Collector gathers one area of host state at scrape time and writes it as
// Prometheus metric families.
//
// The model is node_exporter's: nothing is cached between scrapes except what
// an event source (a netlink or D-Bus watcher owned by the collector) keeps
// current; each scrape builds fresh families, so nothing goes stale.
//
// Thread safety: Collect() may be called from several scrapes at once, each on
// its own thread, so a collector guards any state it shares between calls.
// A call that outlives its deadline is abandoned by the scrape (and reported as
// failed) but still runs to completion; it should watch ctx.stop and give up.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.h"
#include "util/paths.h"
#include "util/status.h"

namespace portmap {

class HostFacts;  // host_facts.h

// What one Collect() call may use.  Owned by the scrape runner; valid for the
// whole call, even one that overruns its deadline.
struct ScrapeContext {
  const Paths& paths;
  Clock::time_point deadline;  // give up (and return an error) after this
  std::stop_token stop;        // requested when the scrape abandons the call
  // This scrape's facts (host_facts.h): gathering collectors record into it,
  // judging ones read it sealed.  Null when nobody needs them (tests).
  HostFacts* facts = nullptr;

  // Time left before the deadline; zero or negative once it has passed.
  Clock::duration Remaining() const { return deadline - Clock::now(); }
  bool Expired() const { return stop.stop_requested() || Clock::now() >= deadline; }
};

class Collector {
 public:
  Collector() = default;
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  virtual ~Collector() = default;

  // Appends this collector's families to *out.  Returns Ok when everything it
  // watches was read, NoData when there is legitimately nothing to read (the
  // module is not loaded, the service is absent), Error otherwise.  Families
  // appended before a failure are still exported.
  virtual Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) = 0;
};

class PublishedPorts;   // published_ports.h
class ConfigStore;      // config/probe_config.h
class NetfilterSource;  // collectors/netfilter/netfilter.h

// Where netfilter's rules are read from: this network namespace's kernel
// (null, the default), or recorded messages in the golden /metrics test.
using NetfilterSourceFactory = std::function<std::unique_ptr<NetfilterSource>(const Paths&)>;

// What a collector's factory receives: the flags that concern collectors.
struct CollectorOptions {
  Paths paths;
  std::string docker_pidfile = "/var/run/docker.pid";  // --docker.pidfile, under rootfs
  // Docker's published ports, shared by the collectors that check them
  // (published_ports.h); null in tests that don't need them.
  std::shared_ptr<PublishedPorts> published_ports = nullptr;
  // The probe configuration in force (--config.file; reloads swap it).
  std::shared_ptr<ConfigStore> config = nullptr;
  std::string probe_vantage = "local";  // --probe.vantage
  // --probe.interval: probes run at most this often, scrapes in between show
  // the last results; 0 probes in every scrape.
  std::chrono::milliseconds probe_interval{15000};
  // Start the event watchers (netlink, D-Bus signals).  Off for a one-shot
  // run (`diagnose`): it sees no events, and a watcher still subscribing when
  // the only scrape runs would read as a failed collector.
  bool watch_events = true;
  NetfilterSourceFactory netfilter_source;  // null: the kernel's
};

using CollectorFactory = std::unique_ptr<Collector> (*)(const CollectorOptions&);

}  // namespace portmap
