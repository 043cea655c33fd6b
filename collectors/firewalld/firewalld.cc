#include "collectors/firewalld/firewalld.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "collectors/host_facts.h"
#include "util/metrics.h"
#include "util/procfs.h"

namespace portmap {

namespace {

// The calls of one scrape, with the families they fill.
struct Families {
  prometheus::MetricFamily up =
      MakeFamily(kMetricFirewalldUp,
                 "Whether firewalld owns its D-Bus name and reports state RUNNING (0 when absent).",
                 MetricType::Gauge);
  prometheus::MetricFamily info = MakeFamily(
      kMetricFirewalldInfo, "firewalld's version, firewall backend and default zone; always 1.",
      MetricType::Gauge);
  prometheus::MetricFamily start = MakeFamily(
      kMetricFirewalldStartTimeSeconds,
      "Start time of the process owning firewalld's D-Bus name, Unix seconds.", MetricType::Gauge);
  prometheus::MetricFamily zones = MakeFamily(
      kMetricFirewalldInterfaceZoneInfo,
      "The firewalld zone an interface's traffic is handled by (the default zone when unbound).",
      MetricType::Gauge);
  prometheus::MetricFamily allowed = MakeFamily(
      kMetricFirewalldPortAllowed,
      "Whether firewalld's zone (of an uplink) lets new connections to this published port in.",
      MetricType::Gauge);
  prometheus::MetricFamily approximate =
      MakeFamily(kMetricFirewalldPortAllowedApproximate,
                 "1 when a rich rule or forward-port in the zone could change the "
                 "port_allowed verdict, which ignores them.",
                 MetricType::Gauge);

  void MoveTo(std::vector<prometheus::MetricFamily>* out) {
    for (auto* f : {&up, &info, &start, &zones, &allowed, &approximate}) {
      out->push_back(std::move(*f));
    }
  }
};

bool IsNoBus(const CallStatus& st) {
  return st.err == ENOENT || st.err == ECONNREFUSED || st.err == ENOTDIR;
}

// firewalld (or the bus) refused the caller: say what grants it, since the
// D-Bus error alone does not.
std::string Explained(const CallStatus& st) {
  if (st.error_name == "org.fedoraproject.FirewallD1.NotAuthorizedException" ||
      st.error_name == "org.freedesktop.DBus.Error.AccessDenied") {
    return st.message +
           " (a non-root exporter needs the polkit rule in docs/firewalld.md; without polkit "
           "firewalld answers uid 0 only)";
  }
  return st.message;
}

// The uplinks and bridges of this network namespace: class/net minus lo and
// bridge ports (veths of containers).
void LocalInterfaces(const Paths& paths, std::vector<std::string>* uplinks,
                     std::vector<std::string>* bridges) {
  std::vector<std::string> names;
  if (!ListDir(paths.Sys("class/net"), &names).ok()) return;
  for (const std::string& name : names) {
    if (name == "lo" || access(paths.Sys("class/net/" + name + "/brport").c_str(), F_OK) == 0) {
      continue;
    }
    if (access(paths.Sys("class/net/" + name + "/bridge").c_str(), F_OK) == 0) {
      bridges->push_back(name);
    } else {
      uplinks->push_back(name);
    }
  }
}

class FirewalldCollector : public Collector {
 public:
  FirewalldCollector(const CollectorOptions& options, std::unique_ptr<FirewalldClient> client,
                     std::unique_ptr<FirewalldEvents> events, PublishedPortsFn ports)
      : paths_(options.paths),
        client_(std::move(client)),
        events_(std::move(events)),
        ports_(std::move(ports)) {}

  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) override {
    Status status = CollectCached(ctx, out);
    CollectEvents(out);
    return status;
  }

 private:
  // What a read of firewalld's state depends on besides firewalld itself.
  struct Inputs {
    uint64_t changes = 0;  // the watcher's count when the read began
    std::string owner;
    std::vector<std::string> uplinks;
    std::vector<std::string> bridges;
    std::set<PublishedPort> ports;
    bool operator==(const Inputs&) const = default;
  };
  struct Cached {
    Inputs inputs;
    Clock::time_point read_at;
    Status status;
    std::vector<prometheus::MetricFamily> families;
  };

  // The state families from the last read while the watcher has seen no
  // signal from firewalld since and nothing else it depends on changed;
  // else a read over D-Bus (CollectState), kept when firewalld was RUNNING
  // and every call answered.
  Status CollectCached(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) {
    Inputs inputs;
    LocalInterfaces(paths_, &inputs.uplinks, &inputs.bridges);
    const std::vector<PublishedPortRef> refs =
        ports_ ? ports_(ctx.deadline) : std::vector<PublishedPortRef>();
    for (const PublishedPortRef& r : refs) inputs.ports.insert({r.proto, r.port});

    const bool watched =
        events_ != nullptr && events_->Sync(std::min(ctx.deadline, Clock::now() + kSyncBudget));
    if (watched) {
      const FirewalldEventsSnapshot snap = events_->Snapshot();
      inputs.changes = snap.changes;
      inputs.owner = snap.owner;
      if (snap.listening && snap.owner.empty()) {
        // The bus said the name has no owner and has said nothing since.
        Families f;
        AddSample(&f.up, {}, 0);
        f.MoveTo(out);
        return Status::Ok();
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_ && cached_->inputs == inputs && Clock::now() - cached_->read_at < kMaxCacheAge) {
        for (const auto& f : cached_->families) out->push_back(f);
        return cached_->status;
      }
    }

    Families f;
    bool running = false;
    Status status = CollectState(ctx, inputs, &f, &running);
    std::vector<prometheus::MetricFamily> families;
    f.MoveTo(&families);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++reads_;
      if (watched && running && status.ok()) {
        cached_ = Cached{std::move(inputs), Clock::now(), status, families};
      } else {
        cached_.reset();
      }
    }
    for (auto& fam : families) out->push_back(std::move(fam));
    return status;
  }

  Status CollectState(const ScrapeContext& ctx, const Inputs& inputs, Families* f,
                      bool* running) const {
    // No bus at all: found on opening, or on the first call of a kept
    // connection whose daemon went away (the session reconnects once).
    auto failed = [f](const CallStatus& st) {
      if (!IsNoBus(st)) return Status::Error(st.message);
      AddSample(&f->up, {}, 0);
      return Status::NoData("no system bus: " + st.message);
    };
    CallStatus st;
    std::unique_ptr<FirewalldSession> s = client_->Open(ctx.deadline, &st);
    if (s == nullptr) return failed(st);
    bool owned = false;
    if (st = s->NameHasOwner(&owned); !st.ok()) return failed(st);
    std::string state;
    if (owned) st = s->Property("state", &state);
    if (!owned || IsNoOwner(st)) {
      AddSample(&f->up, {}, 0);  // not running: a state of the host
      return Status::Ok();
    }
    if (!st.ok()) return Status::Error(Explained(st));  // e.g. stopped: timed out
    AddSample(&f->up, {}, state == "RUNNING" ? 1 : 0);
    if (state != "RUNNING") {  // INIT/FAILED: zones are not there
      return Status::Ok();
    }
    *running = true;

    std::string errors;
    auto note = [&errors](const CallStatus& cs) {
      if (cs.ok()) return true;
      AppendError(&errors, Explained(cs));
      return false;
    };
    std::string version;
    std::string backend;
    std::string default_zone;
    note(s->Property("version", &version));
    if (!s->ConfigProperty("FirewallBackend", &backend).ok()) backend = BackendFromRootfs();
    note(s->DefaultZone(&default_zone));
    AddSample(&f->info,
              {{"version", version}, {"backend", backend}, {"default_zone", default_zone}}, 1);

    uint32_t pid = 0;
    double started = 0;
    if (note(s->OwnerPid(&pid)) &&
        ProcessStartTimeSeconds(paths_, pid, sysconf(_SC_CLK_TCK), &started).ok()) {
      AddSample(&f->start, {}, started);
    }

    std::vector<std::string> ingress_zones;
    CollectZones(s.get(), default_zone, inputs, f, &ingress_zones, note);
    if (!inputs.ports.empty()) CollectPorts(s.get(), inputs.ports, ingress_zones, f, note);
    if (!errors.empty()) return Status::Error(errors);
    return Status::Ok();
  }

  template <typename Note>
  void CollectZones(FirewalldSession* s, const std::string& default_zone, const Inputs& inputs,
                    Families* f, std::vector<std::string>* ingress_zones, Note note) const {
    std::map<std::string, std::string> zone_of;
    dbus::NameToLists active;
    if (note(s->ActiveZones(&active))) {
      for (const auto& [zone, lists] : active) {
        auto it = lists.find("interfaces");
        if (it == lists.end()) continue;
        for (const std::string& iface : it->second) zone_of[iface] = zone;
      }
    }
    const std::vector<std::string>& uplinks = inputs.uplinks;
    std::vector<std::string> local = uplinks;
    local.insert(local.end(), inputs.bridges.begin(), inputs.bridges.end());
    for (const std::string& iface : local) {
      if (zone_of.count(iface) != 0) continue;
      std::string zone;
      if (!note(s->ZoneOfInterface(iface, &zone))) continue;
      zone_of[iface] = zone.empty() ? default_zone : zone;
    }
    for (const auto& [iface, zone] : zone_of) {
      AddSample(&f->zones, {{"interface", iface}, {"zone", zone}}, 1);
    }
    std::set<std::string> ingress;
    for (const std::string& iface : uplinks) {
      if (auto it = zone_of.find(iface); it != zone_of.end()) ingress.insert(it->second);
    }
    // No uplink found (a fixture sysfs, or none configured): new traffic of
    // unbound interfaces lands in the default zone.
    if (ingress.empty() && !default_zone.empty()) ingress.insert(default_zone);
    ingress_zones->assign(ingress.begin(), ingress.end());
  }

  template <typename Note>
  void CollectPorts(FirewalldSession* s, const std::set<PublishedPort>& ports,
                    const std::vector<std::string>& ingress_zones, Families* f, Note note) const {
    FirewalldView view;
    dbus::NameToLists active;
    if (note(s->ActivePolicies(&active))) {
      for (const auto& [name, lists] : active) {
        dbus::Settings settings;
        if (!note(s->PolicySettings(name, &settings))) continue;
        PolicySettings p = PolicyFromSettings(settings);
        if (auto it = lists.find("ingress_zones"); it != lists.end()) p.ingress_zones = it->second;
        if (auto it = lists.find("egress_zones"); it != lists.end()) p.egress_zones = it->second;
        view.policies[name] = std::move(p);
      }
    }
    for (const std::string& zone_name : ingress_zones) {
      dbus::Settings settings;
      if (!note(s->ZoneSettings(zone_name, &settings))) continue;
      const ZoneSettings zone = ZoneFromSettings(settings);
      FetchServices(s, ReferencedServices(zone, view), &view, note);
      for (const PublishedPort& port : ports) {
        const PortVerdict v = EvaluatePort(port, zone_name, zone, view);
        const Labels labels = {
            {"proto", port.proto}, {"port", std::to_string(port.port)}, {"zone", zone_name}};
        AddSample(&f->allowed, labels, v.allowed ? 1 : 0);
        AddSample(&f->approximate, labels, v.approximate ? 1 : 0);
      }
    }
  }

  // Fetches the named services and, breadth first, the services they
  // include, at most kMaxServiceIncludeDepth levels down.

  template <typename Note>
  void FetchServices(FirewalldSession* s, std::vector<std::string> names, FirewalldView* view,
                     Note note) const {
    for (int depth = 0; depth <= kMaxServiceIncludeDepth && !names.empty(); ++depth) {
      std::vector<std::string> next;
      for (const std::string& name : names) {
        if (view->services.count(name) != 0) continue;
        dbus::Settings settings;
        if (!note(s->ServiceSettings(name, &settings))) continue;
        ServiceSettings svc = ServiceFromSettings(settings);
        next.insert(next.end(), svc.includes.begin(), svc.includes.end());
        view->services[name] = std::move(svc);
      }
      names = std::move(next);
    }
  }

  std::string BackendFromRootfs() const {
    std::string conf;
    if (!ReadFile(paths_.Root("etc/firewalld/firewalld.conf"), &conf).ok()) return "";
    std::string backend = BackendFromConf(conf);
    return backend.empty() ? "nftables" : backend;  // firewalld's own fallback
  }

  void CollectEvents(std::vector<prometheus::MetricFamily>* out) const {
    auto reads = MakeFamily("portmap_firewalld_state_reads_total",
                            "Reads of firewalld's runtime state over D-Bus since the exporter "
                            "started; scrapes between two changes reuse the last read.",
                            MetricType::Counter);
    {
      std::lock_guard<std::mutex> lock(mu_);
      AddSample(&reads, {}, static_cast<double>(reads_));
    }
    out->push_back(std::move(reads));
    if (events_ == nullptr) return;
    const FirewalldEventsSnapshot snap = events_->Snapshot();
    auto reloads = MakeFamily("portmap_firewalld_reloads_total",
                              "firewalld Reloaded signals seen since the exporter started.",
                              MetricType::Counter);
    auto restarts = MakeFamily("portmap_firewalld_restarts_total",
                               "Times firewalld's D-Bus name got a new owner (a start or restart) "
                               "since the exporter started.",
                               MetricType::Counter);
    auto listening = MakeFamily("portmap_firewalld_watcher_listening",
                                "1 while the exporter is subscribed to firewalld's D-Bus signals.",
                                MetricType::Gauge);
    AddSample(&reloads, {}, static_cast<double>(snap.reloads));
    AddSample(&restarts, {}, static_cast<double>(snap.restarts));
    AddSample(&listening, {}, snap.listening ? 1 : 0);
    out->push_back(std::move(reloads));
    out->push_back(std::move(restarts));
    out->push_back(std::move(listening));
  }

  // A watched read is kept at most this long: a safety net for a change that
  // sent no signal, at one read per five minutes.
  static constexpr auto kMaxCacheAge = std::chrono::minutes(5);
  // How long a scrape waits for the watcher to have handled what the bus sent.
  static constexpr auto kSyncBudget = std::chrono::seconds(1);

  const Paths paths_;
  const std::unique_ptr<FirewalldClient> client_;
  const std::unique_ptr<FirewalldEvents> events_;
  const PublishedPortsFn ports_;

  mutable std::mutex mu_;
  std::optional<Cached> cached_;  // GUARDED_BY(mu_)
  uint64_t reads_ = 0;            // GUARDED_BY(mu_)
};

}  // namespace

std::string BackendFromConf(const std::string& conf) {
  std::stringstream in(conf);
  std::string line;
  std::string backend;
  constexpr std::string_view kKey = "FirewallBackend=";
  while (std::getline(in, line)) {
    if (line.rfind(kKey, 0) != 0) continue;
    backend = line.substr(kKey.size());  // the last assignment wins
    while (!backend.empty() && (backend.back() == ' ' || backend.back() == '\r')) {
      backend.pop_back();
    }
  }
  return backend;
}

std::unique_ptr<Collector> NewFirewalldCollector(const CollectorOptions& options) {
  PublishedPortsFn ports;
  if (options.published_ports) {
    // What the netfilter collector's reads remembered (this scrape's, when it
    // ran first, else the last one's): nf_tables is read once per scrape.
    ports = [book = options.published_ports](Clock::time_point) { return book->Remembered(); };
  }
  return NewFirewalldCollectorWith(options, NewSdBusFirewalldClient(),
                                   options.watch_events ? std::make_unique<FirewalldWatcher>()
                                                        : std::unique_ptr<FirewalldWatcher>(),
                                   std::move(ports));
}

std::unique_ptr<Collector> NewFirewalldCollectorWith(const CollectorOptions& options,
                                                     std::unique_ptr<FirewalldClient> client,
                                                     std::unique_ptr<FirewalldEvents> events,
                                                     PublishedPortsFn ports) {
  return std::make_unique<FirewalldCollector>(options, std::move(client), std::move(events),
                                              std::move(ports));
}

}  // namespace portmap
