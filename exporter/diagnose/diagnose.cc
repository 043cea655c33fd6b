#include "exporter/diagnose/diagnose.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <initializer_list>
#include <map>
#include <tuple>
#include <utility>

#include "collectors/docker/docker.h"
#include "collectors/firewalld/firewalld.h"
#include "collectors/forwarding/forwarding.h"
#include "collectors/netfilter/netfilter.h"
#include "collectors/netfilter/nf_docker.h"
#include "collectors/probe/probe_metrics.h"
#include "collectors/verdict/verdict.h"
#include "exporter/diagnose/diagnose_causes.h"

namespace portmap {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

const MetricFamily* Find(const std::vector<MetricFamily>& families, const std::string& name) {
  for (const MetricFamily& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string LabelValue(const ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

double Value(const MetricFamily& f, const ClientMetric& m) {
  switch (f.type) {
    case prometheus::MetricType::Counter:
      return m.counter.value;
    case prometheus::MetricType::Gauge:
      return m.gauge.value;
    default:
      return m.untyped.value;
  }
}

// Calls fn(metric, value) for every sample of `name`.
template <typename F>
void Each(const std::vector<MetricFamily>& families, const std::string& name, F fn) {
  const MetricFamily* f = Find(families, name);
  if (f == nullptr) return;
  for (const ClientMetric& m : f->metric) fn(m, Value(*f, m));
}

// The value of the sample of `name` whose `key` label is `want` ("" = the
// unlabelled one, or the first).
std::optional<double> One(const std::vector<MetricFamily>& families, const std::string& name,
                          const std::string& key = "", const std::string& want = "") {
  std::optional<double> out;
  Each(families, name, [&](const ClientMetric& m, double v) {
    if (!out && (key.empty() || LabelValue(m, key) == want)) out = v;
  });
  return out;
}

int ToPort(const std::string& s) { return std::atoi(s.c_str()); }

bool Wanted(const std::vector<int>& only, int port) {
  return only.empty() || std::find(only.begin(), only.end(), port) != only.end();
}

// The port of a probe target "HOST:PORT" / "[V6]:PORT"; 0 when none.
int TargetPort(const std::string& target) {
  const size_t colon = target.rfind(':');
  return colon == std::string::npos ? 0 : ToPort(target.substr(colon + 1));
}

void ReadFirewalld(const std::vector<MetricFamily>& fam, FirewalldSection* fw) {
  if (auto up = One(fam, kMetricFirewalldUp)) fw->up = *up != 0;
  Each(fam, kMetricFirewalldInfo, [&](const ClientMetric& m, double) {
    fw->version = LabelValue(m, "version");
    fw->backend = LabelValue(m, "backend");
    fw->default_zone = LabelValue(m, "default_zone");
  });
  Each(fam, kMetricFirewalldInterfaceZoneInfo, [&](const ClientMetric& m, double) {
    fw->zones.push_back({LabelValue(m, "interface"), LabelValue(m, "zone")});
  });
  std::map<std::tuple<std::string, int, std::string>, bool> approximate;
  Each(fam, kMetricFirewalldPortAllowedApproximate, [&](const ClientMetric& m, double v) {
    approximate[{LabelValue(m, "proto"), ToPort(LabelValue(m, "port")), LabelValue(m, "zone")}] =
        v != 0;
  });
  Each(fam, kMetricFirewalldPortAllowed, [&](const ClientMetric& m, double v) {
    PortInZone p{LabelValue(m, "proto"), LabelValue(m, "zone"), ToPort(LabelValue(m, "port")),
                 v != 0, false};
    p.approximate = approximate[{p.proto, p.port, p.zone}];
    fw->ports.push_back(p);
  });
  fw->start_time = One(fam, kMetricFirewalldStartTimeSeconds);
  fw->dockerd_start_time = One(fam, kMetricDockerdStartTimeSeconds);
  if (auto up = One(fam, kMetricDockerdUp)) fw->dockerd_up = *up != 0;
  if (fw->start_time && fw->dockerd_start_time) {
    fw->started_after_dockerd = *fw->start_time > *fw->dockerd_start_time;
  }
  std::sort(fw->zones.begin(), fw->zones.end(),
            [](const auto& a, const auto& b) { return a.interface < b.interface; });
  std::sort(fw->ports.begin(), fw->ports.end(), [](const auto& a, const auto& b) {
    return std::tie(a.port, a.proto, a.zone) < std::tie(b.port, b.proto, b.zone);
  });
}

void ReadDocker(const std::vector<MetricFamily>& fam, DockerSection* d) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, int> rules;
  Each(fam, kMetricNetfilterChainRules, [&](const ClientMetric& m, double v) {
    rules[{LabelValue(m, "backend"), LabelValue(m, "family"), LabelValue(m, "table"),
           LabelValue(m, "chain")}] = static_cast<int>(v);
  });
  Each(fam, kMetricNetfilterChainPresent, [&](const ClientMetric& m, double v) {
    ChainState c{LabelValue(m, "backend"),
                 LabelValue(m, "family"),
                 LabelValue(m, "table"),
                 LabelValue(m, "chain"),
                 v != 0,
                 std::nullopt};
    if (auto it = rules.find({c.backend, c.family, c.table, c.chain}); it != rules.end()) {
      c.rules = it->second;
    }
    d->chains.push_back(c);
  });
  Each(fam, kMetricNetfilterChainPolicyAccept, [&](const ClientMetric& m, double v) {
    d->forward_policies.push_back({LabelValue(m, "backend"), LabelValue(m, "family"), v != 0});
  });
  Each(fam, kMetricPublishedPortInfo, [&](const ClientMetric& m, double) {
    d->published.push_back({LabelValue(m, "proto"), LabelValue(m, "host_ip"),
                            LabelValue(m, "container_ip"), LabelValue(m, "backend"),
                            ToPort(LabelValue(m, "host_port")),
                            ToPort(LabelValue(m, "container_port"))});
  });
  std::sort(d->chains.begin(), d->chains.end(), [](const auto& a, const auto& b) {
    return std::tie(a.backend, a.family, a.table, a.chain) <
           std::tie(b.backend, b.family, b.table, b.chain);
  });
  std::sort(d->forward_policies.begin(), d->forward_policies.end(),
            [](const auto& a, const auto& b) {
              return std::tie(a.backend, a.family) < std::tie(b.backend, b.family);
            });
  std::sort(d->published.begin(), d->published.end(), [](const auto& a, const auto& b) {
    return std::tie(a.host_port, a.proto, a.host_ip, a.backend) <
           std::tie(b.host_port, b.proto, b.host_ip, b.backend);
  });
}

void ReadForwarding(const std::vector<MetricFamily>& fam, ForwardingSection* f) {
  if (auto v = One(fam, kMetricIpForwardEnabled, "family", "ipv4")) f->runtime = *v != 0;
  if (auto v = One(fam, kMetricIpForwardPersisted, "family", "ipv4")) f->persisted = *v != 0;
  Each(fam, kMetricIpForwardPersistedInfo, [&](const ClientMetric& m, double) {
    if (LabelValue(m, "family") != "ipv4") return;
    f->persisted_file = LabelValue(m, "file");
    f->persisted_value = LabelValue(m, "value");
  });
}

// The port's causes, blocked paths and undecided paths, as the verdict
// exports them (collectors/verdict/verdict.h); each cause explained
// (diagnose_causes.cc).
void ReadVerdict(const std::vector<MetricFamily>& fam, Report* r) {
  std::map<std::pair<int, std::string>, PortReport> ports;
  std::map<std::pair<int, std::string>, std::vector<std::string>> causes;
  auto port_of = [&](const ClientMetric& m) -> PortReport* {
    const int port = ToPort(LabelValue(m, "host_port"));
    if (!Wanted(r->only_ports, port)) return nullptr;
    PortReport& p = ports[{port, LabelValue(m, "proto")}];
    p.port = port;
    p.proto = LabelValue(m, "proto");
    return &p;
  };
  auto add_cause = [&](const PortReport& p, const std::string& cause) {
    std::vector<std::string>& c = causes[{p.port, p.proto}];
    if (std::ranges::find(c, cause) == c.end()) c.push_back(cause);
  };
  Each(fam, kMetricPublishedPortReachablePredicted, [&](const ClientMetric& m, double v) {
    if (PortReport* p = port_of(m)) p->reachable = v != 0;
  });
  Each(fam, kMetricPublishedPortBlocked, [&](const ClientMetric& m, double v) {
    PortReport* p = v != 0 ? port_of(m) : nullptr;
    if (p != nullptr) add_cause(*p, LabelValue(m, "cause"));
  });
  Each(fam, kMetricPublishedPortBlockedInfo, [&](const ClientMetric& m, double v) {
    PortReport* p = v != 0 ? port_of(m) : nullptr;
    if (p == nullptr) return;
    PathReport path;
    for (auto [field, label] : std::initializer_list<std::pair<std::string*, const char*>>{
             {&path.cause, "cause"},
             {&path.family, "family"},
             {&path.interface, "interface"},
             {&path.client, "client"},
             {&path.address, "address"},
             {&path.outcome, "outcome"},
             {&path.place, "place"},
             {&path.backend, "backend"},
             {&path.table_family, "table_family"},
             {&path.table, "table"},
             {&path.chain, "chain"},
             {&path.handle, "handle"},
             {&path.comment, "comment"}}) {
      *field = LabelValue(m, label);
    }
    add_cause(*p, path.cause);
    p->paths.push_back(std::move(path));
  });
  Each(fam, kMetricPublishedPortPredictionUnknown, [&](const ClientMetric& m, double v) {
    PortReport* p = v != 0 ? port_of(m) : nullptr;
    if (p == nullptr) return;
    p->unknown.push_back(
        {LabelValue(m, "family"), LabelValue(m, "interface"), LabelValue(m, "reason")});
  });
  // A port Docker publishes that the verdict did not judge (collector off).
  for (const PublishedMapping& m : r->docker.published) {
    if (!Wanted(r->only_ports, m.host_port)) continue;
    PortReport& p = ports[{m.host_port, m.proto}];
    p.port = m.host_port;
    p.proto = m.proto;
  }
  // A port named with --port: the command has the verdict judge it as TCP,
  // so it is reported even when nothing was said of it (the verdict failed).
  for (int port : r->only_ports) {
    PortReport& p = ports[{port, "tcp"}];
    p.port = port;
    p.proto = "tcp";
  }
  for (auto& [key, p] : ports) {
    std::sort(p.paths.begin(), p.paths.end(), [](const PathReport& a, const PathReport& b) {
      return std::make_tuple(a.family, a.interface, a.client, a.address, CauseRank(a.cause)) <
             std::make_tuple(b.family, b.interface, b.client, b.address, CauseRank(b.cause));
    });
    std::sort(p.unknown.begin(), p.unknown.end(), [](const UnknownPath& a, const UnknownPath& b) {
      return std::tie(a.family, a.interface, a.reason) < std::tie(b.family, b.interface, b.reason);
    });
    // The verdict's order, whatever the samples' order.
    std::vector<std::string>& names = causes[key];
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return std::make_pair(CauseRank(a), a) < std::make_pair(CauseRank(b), b);
    });
    for (const std::string& cause : names) p.causes.push_back(Explain(cause, p, *r));
    r->ports.push_back(std::move(p));
  }
}

}  // namespace

const CollectorOutcome* FailedCollector(const Report& r, const std::string& name) {
  for (const CollectorOutcome& c : r.collectors) {
    if (c.name == name && !c.ok) return &c;
  }
  return nullptr;
}

bool CollectorRan(const Report& r, const std::string& name) {
  return std::any_of(r.collectors.begin(), r.collectors.end(),
                     [&](const CollectorOutcome& c) { return c.name == name; });
}

Report BuildReport(const std::vector<MetricFamily>& families,
                   const std::vector<CollectorOutcome>& outcomes,
                   const std::vector<int>& only_ports) {
  Report r;
  r.only_ports = only_ports;
  r.collectors = outcomes;
  ReadFirewalld(families, &r.firewalld);
  ReadDocker(families, &r.docker);
  ReadForwarding(families, &r.forwarding);
  std::map<std::string, double> seconds;
  Each(families, kMetricProbeConnectSeconds,
       [&](const ClientMetric& m, double v) { seconds[LabelValue(m, "target")] = v; });
  // One outcome series per target, the one that holds.
  Each(families, kMetricProbeOutcome, [&](const ClientMetric& m, double) {
    const std::string target = LabelValue(m, "target");
    if (!Wanted(only_ports, TargetPort(target))) return;
    ProbeResult p{target, LabelValue(m, "outcome"), std::nullopt};
    if (auto it = seconds.find(target); it != seconds.end()) p.seconds = it->second;
    r.probes.push_back(p);
  });
  std::sort(r.probes.begin(), r.probes.end(), [](const auto& a, const auto& b) {
    return std::make_pair(TargetPort(a.target), a.target) <
           std::make_pair(TargetPort(b.target), b.target);
  });
  ReadVerdict(families, &r);
  if (const CollectorOutcome* nf = FailedCollector(r, "netfilter");
      nf != nullptr && nf->message.find("CAP_NET_ADMIN") != std::string::npos) {
    r.permission_error = nf->message;
  }
  const ForwardingSection& fwd = r.forwarding;
  if (fwd.runtime == true && fwd.persisted == false && !r.ports.empty()) {
    CauseReport w;
    w.cause = "ip_forward_not_persisted";
    w.why = fwd.persisted_file.empty()
                ? "net.ipv4.ip_forward is 1 at run time only: nothing persists it, so the next "
                  "reboot, sysctl --system or network restart turns it off"
                : "net.ipv4.ip_forward is 1 now, but " + fwd.persisted_file + " sets it to " +
                      fwd.persisted_value + " at boot";
    w.fix = IpForwardStick(r);
    r.warnings.push_back(w);
  }
  // Docker's nat chain: nat DOCKER, or Docker 29's docker-bridges one.
  const bool nat_docker =
      std::any_of(r.docker.chains.begin(), r.docker.chains.end(), [](const ChainState& c) {
        return c.present && ((c.table == "nat" && c.chain == "DOCKER") ||
                             (c.table == kDocker29Table && c.chain == kDocker29DnatChain));
      });
  if (r.ports.empty() && only_ports.empty()) {
    if (FailedCollector(r, "netfilter") != nullptr) {
      r.ports_unknown = "netfilter could not be read";
    } else if (CollectorRan(r, "netfilter") && !nat_docker && r.firewalld.dockerd_up == true) {
      r.ports_unknown = "dockerd runs but nat DOCKER is gone, and with it every DNAT rule";
    }
  }
  return r;
}

std::string UtcTimestamp(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  (void)std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int DiagnoseExitStatus(const Report& report) {
  if (!report.permission_error.empty() || !report.ports_unknown.empty()) return 2;
  bool unknown = false;
  for (const PortReport& p : report.ports) {
    // Blocked on some traced path, whatever else is undecided.
    if (p.reachable == false || !p.causes.empty() || !p.paths.empty()) return 1;
    // No prediction: a path could not be decided, or the verdict failed.
    if (!p.reachable) unknown = true;
  }
  return unknown ? 2 : 0;
}

std::vector<TraceRequest> TraceRequests(const Report& report) {
  std::vector<TraceRequest> out;
  for (const PortReport& port : report.ports) {
    for (const PathReport& p : port.paths) {
      TraceRequest q{port.proto, port.port, p.family, p.interface, p.client, p.address};
      const bool seen = std::any_of(out.begin(), out.end(), [&](const TraceRequest& o) {
        return std::tie(o.proto, o.port, o.family, o.interface, o.client, o.address) ==
               std::tie(q.proto, q.port, q.family, q.interface, q.client, q.address);
      });
      if (!seen) out.push_back(std::move(q));
    }
  }
  return out;
}

void AttachTraces(const PathTraceFn& trace, Report* report) {
  for (const TraceRequest& q : TraceRequests(*report)) {
    PathTrace t{q.family, q.interface, q.client, q.address, {}, {}, ""};
    const Status st = trace(q, &t.packet, &t.result, &t.error);
    if (!st.ok()) {
      report->trace_error = st.message();
      return;
    }
    for (PortReport& port : report->ports) {
      if (port.port == q.port && port.proto == q.proto) {
        port.traces.push_back(std::move(t));
        break;
      }
    }
  }
}

}  // namespace portmap
