#include "exporter/diagnose/diagnose_format.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "exporter/diagnose/diagnose_paths.h"
#include "exporter/trace/trace_format.h"

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

// Whether the verdict predicts this port reachable: every traced path gets
// through, so nothing on them blocks it.
bool VerdictCleared(const Report& r, int port, const std::string& proto) {
  return std::any_of(r.ports.begin(), r.ports.end(), [&](const PortReport& pr) {
    return pr.port == port && pr.proto == proto && pr.reachable == true;
  });
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
    } else if (VerdictCleared(r, z.port, z.proto)) {
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
      const std::string when = UtcTimestamp(*fw.dockerd_start_time);
      if (!*fw.started_after_dockerd) {
        o << " — before dockerd (" << when << ")";
      } else if (fw.backend == "nftables") {
        // Its nftables backend leaves Docker's chains alone.
        o << " — after dockerd (" << when << ")";
      } else {
        o << p.Bad(" — after dockerd (" + when +
                   "): its start flushed Docker's chains unless dockerd rebuilt them");
      }
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

// "198.51.100.1:5000", "[2001:db8::1]:5000".
std::string HostPort(const std::string& address, int port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// `text` with each non-empty line indented by `indent`.
std::string Indent(const std::string& text, const std::string& indent) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) out += (line.empty() ? "" : indent) + line + "\n";
  return out;
}

// Each blocked path once, with its causes and its trace.
void Paths(const PortReport& port, const Paint& p, std::ostream& o) {
  for (size_t i = 0; i < port.paths.size(); ++i) {
    const PathReport& path = port.paths[i];
    if (i > 0 && SamePath(path, port.paths[i - 1])) continue;
    std::string causes;
    for (size_t j = i; j < port.paths.size() && SamePath(port.paths[j], path); ++j) {
      causes += (causes.empty() ? "" : ", ") + port.paths[j].cause;
    }
    o << "    path " << path.client << " on " << path.interface << " -> "
      << HostPort(path.address, port.port) << ": " << p.Bad(path.outcome) << " — " << path.place
      << " (" << causes << ")\n";
    for (const PathTrace& t : port.traces) {
      if (t.family != path.family || t.interface != path.interface || t.client != path.client ||
          t.address != path.address) {
        continue;
      }
      o << (t.error.empty() ? Indent(FormatTraceText(t.packet, t.result), "      ")
                            : "      " + p.Warn("no trace: " + t.error) + "\n");
    }
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
    if (!port.causes.empty() || !port.paths.empty() || port.reachable == false) {
      o << p.Bad("BLOCKED from other hosts") << "\n";
    } else if (port.reachable) {
      o << p.Good("reachable from other hosts") << "\n";
    } else if (!port.unknown.empty()) {
      o << p.Warn("cannot tell: a traced path could not be decided") << "\n";
    } else if (!CollectorRan(r, "verdict") || FailedCollector(r, "verdict") != nullptr) {
      o << p.Warn("cannot tell (not checked: verdict)") << "\n";
    } else {
      o << p.Warn("cannot tell: the verdict traced no path to it") << "\n";
    }
    for (const CauseReport& c : port.causes) {
      o << "    cause " << p.Bad(c.cause) << ": " << c.why << "\n"
        << "      fix now:       " << c.fix << "\n"
        << "      make it stick: " << c.stick << "\n";
      if (!c.note.empty()) o << "      note:          " << c.note << "\n";
    }
    Paths(port, p, o);
    for (const UnknownPath& u : port.unknown) {
      std::string where = u.family;
      if (!u.interface.empty()) where += (where.empty() ? "on " : " on ") + u.interface;
      o << "    undecided" << (where.empty() ? "" : " " + where) << ": " << u.reason << "\n";
    }
  }
  if (!r.trace_error.empty()) {
    o << "  " << p.Warn("blocked paths not traced: " + r.trace_error) << "\n";
  }
}

void Warnings(const Report& r, const Paint& p, std::ostream& o) {
  for (const CauseReport& w : r.warnings) {
    o << "  " << p.Warn("warning " + w.cause) << ": " << w.why << "\n"
      << "      make it stick: " << w.fix << "\n";
  }
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

}  // namespace portmap
