#include "exporter/diagnose/diagnose_format.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace portmap {

namespace {

// ANSI styles; all empty without colour so the text is the same otherwise.
struct Paint {
  bool on;
  std::string operator()(const char* code, const std::string& s) const {
    return on ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
  }
  std::string Good(const std::string& s) const { return (*this)("32", s); }
  std::string Bad(const std::string& s) const { return (*this)("1;31", s); }
  std::string Warn(const std::string& s) const { return (*this)("33", s); }
  std::string Head(const std::string& s) const { return (*this)("1", s); }
};

std::string PortProto(int port, const std::string& proto) {
  return std::to_string(port) + "/" + proto;
}

std::string Millis(double seconds) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1000);
  return buf;
}

// One line saying why a section is empty, or "" when its collector ran fine.
std::string Unchecked(const Report& r, const std::string& collector, const Paint& p) {
  if (!CollectorRan(r, collector)) {
    return "  " + p.Warn("not checked: the " + collector + " collector is disabled") + "\n";
  }
  if (const CollectorOutcome* c = FailedCollector(r, collector)) {
    if (c->no_data) return "  nothing to read: " + c->message + "\n";
    return "  " + p.Warn("could not check: " + collector + ": " + c->message) + "\n";
  }
  return "";
}

// Whether the verdict checked `cause` for this port and found it not holding.
bool VerdictCleared(const Report& r, int port, const std::string& proto, const std::string& cause) {
  for (const PortReport& pr : r.ports) {
    if (pr.port != port || pr.proto != proto) continue;
    for (const std::string& c : pr.checked) {
      if (c == cause) return true;
    }
  }
  return false;
}

void Firewalld(const Report& r, const Paint& p, std::ostream& o) {
  const FirewalldSection& fw = r.firewalld;
  o << p.Head("firewalld") << "\n" << Unchecked(r, "firewalld", p);
  if (fw.up.has_value()) {
    if (!*fw.up) {
      o << "  running: no (nothing of firewalld can block a port)\n";
    } else {
      o << "  running: yes, version " << fw.version << ", backend " << fw.backend
        << ", default zone " << fw.default_zone << "\n";
    }
  }
  for (const ZoneOfInterface& z : fw.zones) {
    o << "  zone of " << z.interface << ": " << z.zone << "\n";
  }
  for (const PortInZone& z : fw.ports) {
    o << "  " << PortProto(z.port, z.proto) << " in zone " << z.zone << ": ";
    if (z.allowed) {
      o << p.Good("allowed");
    } else if (VerdictCleared(r, z.port, z.proto, "firewalld_port_closed")) {
      // Said here too: "not allowed" in red above a verdict that finds the
      // port reachable reads like a contradiction (real dockerd + firewalld's
      // iptables backend, lab.firewalld.dockerd).
      o << p.Warn("not allowed") << ", yet not blocking: the connection is forwarded to a "
        << "container and Docker's FORWARD rules accept it before firewalld's zone rules ("
        << fw.backend << " backend)";
    } else {
      o << p.Bad("not allowed");
    }
    o << (z.approximate ? " (approximate: a rich rule or forward-port may change it)" : "") << "\n";
  }
  if (fw.up.value_or(false) && fw.start_time) {
    o << "  started: " << UtcTimestamp(*fw.start_time);
    if (fw.started_after_dockerd) {
      o << (*fw.started_after_dockerd
                ? p.Bad(" — after dockerd (" + UtcTimestamp(*fw.dockerd_start_time) +
                        "): its start flushed Docker's chains unless dockerd rebuilt them")
                : " — before dockerd (" + UtcTimestamp(*fw.dockerd_start_time) + ")");
    }
    o << "\n";
  }
}

void Docker(const Report& r, const Paint& p, std::ostream& o) {
  const DockerSection& d = r.docker;
  const FirewalldSection& fw = r.firewalld;
  o << p.Head("Docker chains") << "\n";
  if (fw.dockerd_up.has_value()) {
    o << "  dockerd: "
      << (*fw.dockerd_up ? "running" + (fw.dockerd_start_time
                                            ? " since " + UtcTimestamp(*fw.dockerd_start_time)
                                            : std::string())
                         : std::string("not running"))
      << "\n";
  }
  o << Unchecked(r, "netfilter", p);
  if (d.chains.empty() && CollectorRan(r, "netfilter") && !FailedCollector(r, "netfilter")) {
    o << (fw.dockerd_up == true ? "  " + p.Bad("none of Docker's chains exist, yet dockerd runs: "
                                               "wiped (restart docker rebuilds them)")
                                : std::string("  no Docker chains in any backend"))
      << "\n";
  }
  for (const ChainState& c : d.chains) {
    o << "  " << c.backend << " " << c.family << " " << c.table << " " << c.chain << ": "
      << (c.present ? p.Good("present") : p.Bad("MISSING"));
    if (c.rules) o << ", " << *c.rules << (*c.rules == 1 ? " rule" : " rules");
    o << "\n";
  }
  for (const ForwardPolicy& f : d.forward_policies) {
    o << "  " << f.backend << " " << f.family
      << " filter FORWARD policy: " << (f.accept ? "ACCEPT" : "DROP") << "\n";
  }
  for (const PublishedMapping& m : d.published) {
    o << "  DNAT " << PortProto(m.host_port, m.proto) << ": " << m.host_ip << ":" << m.host_port
      << " -> " << m.container_ip << ":" << m.container_port << " (" << m.backend << ")\n";
  }
}

void Forwarding(const Report& r, const Paint& p, std::ostream& o) {
  const ForwardingSection& f = r.forwarding;
  o << p.Head("ip_forward") << "\n" << Unchecked(r, "forwarding", p);
  if (f.runtime) {
    o << "  net.ipv4.ip_forward now: " << (*f.runtime ? p.Good("1") : p.Bad("0")) << "\n";
  }
  if (f.persisted) {
    o << "  at boot: ";
    if (f.persisted_file.empty()) {
      o << p.Warn("not persisted (no sysctl.d file sets it)") << "\n";
    } else {
      o << (*f.persisted ? "1" : p.Warn(f.persisted_value)) << ", from " << f.persisted_file
        << "\n";
    }
  }
  if (CollectorRan(r, "forwarding")) o << "  flips: not watched in a one-shot run\n";
}

void Probes(const Report& r, const Paint& p, std::ostream& o) {
  o << p.Head("local probes") << "\n" << Unchecked(r, "probe", p);
  if (r.probes.empty() && CollectorRan(r, "probe")) o << "  nothing to probe\n";
  for (const ProbeResult& pr : r.probes) {
    o << "  " << pr.target << ": "
      << (pr.outcome == "connected" ? p.Good(pr.outcome) : p.Bad(pr.outcome));
    if (pr.seconds) o << " (" << Millis(*pr.seconds) << ")";
    o << "\n";
  }
}

void Verdict(const Report& r, const Paint& p, std::ostream& o) {
  o << p.Head("verdict") << "\n" << Unchecked(r, "verdict", p);
  if (!r.ports_unknown.empty()) {
    o << "  " << p.Warn("published ports unknown: " + r.ports_unknown) << "\n";
    if (r.permission_error.empty()) o << "  name them: portmap_exporter diagnose --port PORT\n";
  } else if (r.ports.empty()) {
    o << "  no published ports" << (r.only_ports.empty() ? "" : " among --port") << "\n";
  }
  for (const PortReport& port : r.ports) {
    o << "  " << PortProto(port.port, port.proto) << ": ";
    if (!port.causes.empty() || port.reachable == false) {
      o << p.Bad("BLOCKED from other hosts") << "\n";
    } else if (port.reachable) {
      o << p.Good("reachable from other hosts") << "\n";
    } else {
      std::string missing;
      for (const char* c : {"firewalld", "forwarding", "netfilter", "verdict"}) {
        if (!CollectorRan(r, c) || FailedCollector(r, c) != nullptr) {
          missing += std::string(missing.empty() ? "" : ", ") + c;
        }
      }
      o << p.Warn("cannot tell (not checked: " + missing + ")") << "\n";
    }
    for (const CauseReport& c : port.causes) {
      o << "    cause " << p.Bad(c.cause) << ": " << c.why << "\n"
        << "      fix now:       " << c.fix << "\n"
        << "      make it stick: " << c.stick << "\n";
      if (!c.note.empty()) o << "      note:          " << c.note << "\n";
    }
  }
}

void Warnings(const Report& r, const Paint& p, std::ostream& o) {
  for (const CauseReport& w : r.warnings) {
    o << "  " << p.Warn("warning " + w.cause) << ": " << w.why << "\n"
      << "      make it stick: " << w.fix << "\n";
  }
}

nlohmann::json Optional(const std::optional<bool>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}
nlohmann::json Optional(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}
nlohmann::json OrNull(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

// "checked" and "error" of a section fed by `collector`.
void SectionStatus(const Report& r, const std::string& collector, nlohmann::json* j) {
  (*j)["checked"] = CollectorRan(r, collector);
  const CollectorOutcome* c = FailedCollector(r, collector);
  (*j)["error"] = c ? nlohmann::json(c->message) : nlohmann::json();
}

}  // namespace

std::string FormatReportText(const Report& r, bool color) {
  const Paint p{color};
  std::ostringstream o;
  if (!r.permission_error.empty()) {
    o << p.Bad("cannot diagnose: " + r.permission_error) << "\n"
      << "run it as root instead: sudo portmap_exporter diagnose\n\n";
  }
  Firewalld(r, p, o);
  o << "\n";
  Docker(r, p, o);
  o << "\n";
  Forwarding(r, p, o);
  o << "\n";
  Probes(r, p, o);
  o << "\n";
  Verdict(r, p, o);
  Warnings(r, p, o);
  switch (DiagnoseExitStatus(r)) {
    case 0:
      o << "\n"
        << p.Good(r.ports.empty() ? "exit status 0: no published ports"
                                  : "exit status 0: every published port is predicted reachable")
        << "\n";
      break;
    case 1:
      o << "\n" << p.Bad("exit status 1: a published port is blocked") << "\n";
      break;
    default:
      o << "\n" << p.Warn("exit status 2: could not check everything") << "\n";
  }
  return o.str();
}

std::string FormatReportJson(const Report& r) {
  using nlohmann::json;
  json j;
  j["schema_version"] = 1;
  j["exit_status"] = DiagnoseExitStatus(r);
  j["permission_error"] = OrNull(r.permission_error);
  j["ports_unknown"] = OrNull(r.ports_unknown);
  j["only_ports"] = r.only_ports;
  json collectors = json::array();
  for (const CollectorOutcome& c : r.collectors) {
    collectors.push_back(
        {{"name", c.name}, {"ok", c.ok}, {"no_data", c.no_data}, {"error", OrNull(c.message)}});
  }
  j["collectors"] = collectors;

  const FirewalldSection& fw = r.firewalld;
  json f;
  SectionStatus(r, "firewalld", &f);
  f["up"] = Optional(fw.up);
  f["version"] = OrNull(fw.version);
  f["backend"] = OrNull(fw.backend);
  f["default_zone"] = OrNull(fw.default_zone);
  f["interface_zones"] = json::array();
  for (const ZoneOfInterface& z : fw.zones) {
    f["interface_zones"].push_back({{"interface", z.interface}, {"zone", z.zone}});
  }
  f["ports"] = json::array();
  for (const PortInZone& z : fw.ports) {
    f["ports"].push_back({{"proto", z.proto},
                          {"port", z.port},
                          {"zone", z.zone},
                          {"allowed", z.allowed},
                          {"approximate", z.approximate}});
  }
  f["start_time_seconds"] = Optional(fw.start_time);
  f["started_after_dockerd"] = Optional(fw.started_after_dockerd);
  j["firewalld"] = f;

  json d;
  SectionStatus(r, "netfilter", &d);
  d["dockerd_up"] = Optional(fw.dockerd_up);
  d["dockerd_start_time_seconds"] = Optional(fw.dockerd_start_time);
  d["chains"] = json::array();
  for (const ChainState& c : r.docker.chains) {
    d["chains"].push_back({{"backend", c.backend},
                           {"family", c.family},
                           {"table", c.table},
                           {"chain", c.chain},
                           {"present", c.present},
                           {"rules", c.rules ? json(*c.rules) : json()}});
  }
  d["forward_policies"] = json::array();
  for (const ForwardPolicy& fp : r.docker.forward_policies) {
    d["forward_policies"].push_back({{"backend", fp.backend},
                                     {"family", fp.family},
                                     {"policy", fp.accept ? "ACCEPT" : "DROP"}});
  }
  d["published"] = json::array();
  for (const PublishedMapping& m : r.docker.published) {
    d["published"].push_back({{"proto", m.proto},
                              {"host_ip", m.host_ip},
                              {"host_port", m.host_port},
                              {"container_ip", m.container_ip},
                              {"container_port", m.container_port},
                              {"backend", m.backend}});
  }
  j["docker"] = d;

  json ipf;
  SectionStatus(r, "forwarding", &ipf);
  ipf["runtime"] = Optional(r.forwarding.runtime);
  ipf["persisted"] = Optional(r.forwarding.persisted);
  ipf["persisted_file"] = OrNull(r.forwarding.persisted_file);
  ipf["persisted_value"] = OrNull(r.forwarding.persisted_value);
  ipf["flips"] = nullptr;  // a one-shot run watches no events
  j["ip_forward"] = ipf;

  json probes;
  SectionStatus(r, "probe", &probes);
  probes["results"] = json::array();
  for (const ProbeResult& pr : r.probes) {
    probes["results"].push_back(
        {{"target", pr.target}, {"outcome", pr.outcome}, {"seconds", Optional(pr.seconds)}});
  }
  j["probes"] = probes;

  json ports = json::array();
  for (const PortReport& port : r.ports) {
    json causes = json::array();
    for (const CauseReport& c : port.causes) {
      causes.push_back({{"cause", c.cause},
                        {"why", c.why},
                        {"fix", c.fix},
                        {"stick", c.stick},
                        {"note", OrNull(c.note)}});
    }
    ports.push_back({{"proto", port.proto},
                     {"port", port.port},
                     {"reachable_predicted", Optional(port.reachable)},
                     {"causes", causes},
                     {"not_blocking", port.checked}});
  }
  json warnings = json::array();
  for (const CauseReport& w : r.warnings) {
    warnings.push_back({{"warning", w.cause}, {"why", w.why}, {"fix", w.fix}});
  }
  j["warnings"] = warnings;
  json verdict;
  SectionStatus(r, "verdict", &verdict);
  verdict["ports"] = ports;
  j["verdict"] = verdict;
  return j.dump(2) + "\n";
}

}  // namespace portmap
