#include "exporter/diagnose/diagnose.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <utility>

#include "collectors/docker/docker.h"
#include "collectors/firewalld/firewalld.h"
#include "collectors/forwarding/forwarding.h"
#include "collectors/netfilter/netfilter.h"
#include "collectors/probe/probe_metrics.h"
#include "collectors/verdict/verdict.h"

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

// The zones in which `proto`/`port` is closed; when the collector judged no
// zone for it, the zones of the uplinks, else the default zone.
std::vector<std::string> ClosedZones(const FirewalldSection& fw, const std::string& proto,
                                     int port) {
  std::set<std::string> zones;
  for (const PortInZone& p : fw.ports) {
    if (p.proto == proto && p.port == port && !p.allowed) zones.insert(p.zone);
  }
  if (zones.empty() && !fw.default_zone.empty()) zones.insert(fw.default_zone);
  return {zones.begin(), zones.end()};
}

CauseReport Explain(const std::string& cause, const std::string& proto, int port, const Report& r) {
  const std::string pp = std::to_string(port) + "/" + proto;
  CauseReport c;
  c.cause = cause;
  if (cause == "ip_forward_disabled") {
    c.why =
        "net.ipv4.ip_forward is 0: the kernel drops the DNATed SYN silently (other hosts "
        "time out)";
    c.fix = "sysctl -w net.ipv4.ip_forward=1";
    const ForwardingSection& f = r.forwarding;
    if (!f.persisted_file.empty() && !f.persisted.value_or(true)) {
      c.stick = f.persisted_file + " sets it to " + f.persisted_value +
                " and wins at boot: set it to 1 there (or in a file that sorts after it), then "
                "sysctl --system";
    } else {
      c.stick =
          "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-docker-ip-forward.conf && "
          "sysctl --system";
    }
  } else if (cause == "firewalld_port_closed") {
    std::string zones, fix, stick;
    for (const std::string& z : ClosedZones(r.firewalld, proto, port)) {
      zones += (zones.empty() ? "" : ", ") + z;
      std::string cmd = "firewall-cmd --zone=";
      cmd.append(z).append(" --add-port=").append(pp);
      fix += (fix.empty() ? "" : " && ") + cmd;
      stick += (stick.empty() ? "" : " && ") + cmd + " --permanent";
    }
    c.why = "firewalld does not allow " + pp + " in zone " + zones;
    c.fix = fix;
    // No --reload: the runtime change is already in force, and with the
    // iptables backend a reload flushes Docker's chains (cause 2).
    c.stick = stick;
    c.note = "no --reload needed; with the iptables backend a reload wipes Docker's chains";
  } else if (cause == "docker_chain_missing") {
    c.why = "nat DOCKER is missing, so " + pp +
            " is not DNATed to its container and the host path is cut off";
    const FirewalldSection& fw = r.firewalld;
    if (fw.started_after_dockerd.value_or(false)) {
      c.why += "; firewalld started at " + UtcTimestamp(*fw.start_time) + ", after dockerd (" +
               UtcTimestamp(*fw.dockerd_start_time) + "): its start flushed Docker's chains";
    }
    c.fix = "systemctl restart docker";
    c.stick =
        "restart docker after every firewalld start or reload, or set "
        "FirewallBackend=nftables in /etc/firewalld/firewalld.conf (it leaves Docker's "
        "iptables chains alone)";
  } else if (cause == "dnat_rule_missing") {
    c.why = "nat DOCKER has no DNAT rule for " + pp;
    c.fix = "docker restart $(docker ps -q --filter publish=" + pp + ")";
    c.stick =
        "if it vanishes again, something rewrites nat DOCKER "
        "(portmap_netfilter_last_change_info names it); systemctl restart docker rebuilds "
        "every rule";
  } else if (cause == "forward_policy_drop") {
    c.why = "filter FORWARD drops by policy and Docker's filter DOCKER holds no ACCEPT for it";
    c.fix = "systemctl restart docker";
    c.stick = "keep site rules in DOCKER-USER; never flush FORWARD or DOCKER";
  } else {
    c.why = "blocked (" + cause + ")";
  }
  return c;
}

int CauseRank(const std::string& cause) {
  static const char* const kOrder[] = {"ip_forward_disabled", "docker_chain_missing",
                                       "dnat_rule_missing", "firewalld_port_closed",
                                       "forward_policy_drop"};
  for (int i = 0; i < 5; ++i) {
    if (cause == kOrder[i]) return i;
  }
  return 5;
}

void ReadVerdict(const std::vector<MetricFamily>& fam, Report* r) {
  std::map<std::pair<int, std::string>, PortReport> ports;
  auto port_of = [&](const ClientMetric& m) -> PortReport* {
    const int port = ToPort(LabelValue(m, "host_port"));
    if (!Wanted(r->only_ports, port)) return nullptr;
    PortReport& p = ports[{port, LabelValue(m, "proto")}];
    p.port = port;
    p.proto = LabelValue(m, "proto");
    return &p;
  };
  Each(fam, kMetricPublishedPortReachablePredicted, [&](const ClientMetric& m, double v) {
    if (PortReport* p = port_of(m)) p->reachable = v != 0;
  });
  Each(fam, kMetricPublishedPortBlocked, [&](const ClientMetric& m, double v) {
    PortReport* p = port_of(m);
    if (p == nullptr) return;
    if (v != 0) {
      p->causes.push_back(Explain(LabelValue(m, "cause"), p->proto, p->port, *r));
    } else {
      p->checked.push_back(LabelValue(m, "cause"));
    }
  });
  // A port Docker publishes that the verdict did not judge (collector off).
  for (const PublishedMapping& m : r->docker.published) {
    if (!Wanted(r->only_ports, m.host_port)) continue;
    PortReport& p = ports[{m.host_port, m.proto}];
    p.port = m.host_port;
    p.proto = m.proto;
  }
  for (auto& [key, p] : ports) {
    std::sort(p.checked.begin(), p.checked.end());
    // The verdict's own order (collectors/verdict/verdict_rules.h), whatever the samples' order.
    std::sort(p.causes.begin(), p.causes.end(),
              [](const auto& a, const auto& b) { return CauseRank(a.cause) < CauseRank(b.cause); });
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
  Each(families, kMetricProbeOutcome, [&](const ClientMetric& m, double v) {
    const std::string target = LabelValue(m, "target");
    if (v == 0 || !Wanted(only_ports, TargetPort(target))) return;
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
    CauseReport w = Explain("ip_forward_disabled", "tcp", 0, r);
    w.cause = "ip_forward_not_persisted";
    w.why = fwd.persisted_file.empty()
                ? "net.ipv4.ip_forward is 1 at run time only: nothing persists it, so the next "
                  "reboot, sysctl --system or network restart turns it off"
                : "net.ipv4.ip_forward is 1 now, but " + fwd.persisted_file + " sets it to " +
                      fwd.persisted_value + " at boot";
    w.fix = w.stick;
    w.stick.clear();
    r.warnings.push_back(w);
  }
  const bool nat_docker = std::any_of(
      r.docker.chains.begin(), r.docker.chains.end(),
      [](const ChainState& c) { return c.present && c.table == "nat" && c.chain == "DOCKER"; });
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
    if (p.reachable == false || !p.causes.empty()) return 1;
    if (!p.reachable) unknown = true;
  }
  return unknown ? 2 : 0;
}

}  // namespace portmap
