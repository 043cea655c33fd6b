// The report as JSON (docs/diagnose.md has the schema).
#include <nlohmann/json.hpp>

#include "exporter/diagnose/diagnose_format.h"
#include "exporter/trace/trace_format.h"

namespace portmap {

namespace {

using nlohmann::json;

json Optional(const std::optional<bool>& v) { return v ? json(*v) : json(); }
json Optional(const std::optional<double>& v) { return v ? json(*v) : json(); }
json OrNull(const std::string& s) { return s.empty() ? json() : json(s); }

// "checked" and "error" of a section fed by `collector`.
void SectionStatus(const Report& r, const std::string& collector, json* j) {
  (*j)["checked"] = CollectorRan(r, collector);
  const CollectorOutcome* c = FailedCollector(r, collector);
  (*j)["error"] = c ? json(c->message) : json();
}

json PortJson(const PortReport& port) {
  json causes = json::array();
  for (const CauseReport& c : port.causes) {
    causes.push_back({{"cause", c.cause},
                      {"why", c.why},
                      {"fix", c.fix},
                      {"stick", c.stick},
                      {"note", OrNull(c.note)}});
  }
  json paths = json::array();
  for (const PathReport& p : port.paths) {
    paths.push_back({{"cause", p.cause},
                     {"family", p.family},
                     {"interface", p.interface},
                     {"client", p.client},
                     {"address", p.address},
                     {"outcome", p.outcome},
                     {"place", p.place},
                     {"backend", p.backend},
                     {"table_family", p.table_family},
                     {"table", p.table},
                     {"chain", p.chain},
                     {"handle", p.handle},
                     {"comment", p.comment}});
  }
  json unknown = json::array();
  for (const UnknownPath& u : port.unknown) {
    unknown.push_back({{"family", u.family}, {"interface", u.interface}, {"reason", u.reason}});
  }
  json traces = json::array();
  for (const PathTrace& t : port.traces) {
    // The trace command's own document (docs/trace.md), as a value.
    traces.push_back(
        {{"family", t.family},
         {"interface", t.interface},
         {"client", t.client},
         {"address", t.address},
         {"trace", t.error.empty() ? json::parse(FormatTraceJson(t.packet, t.result)) : json()},
         {"error", OrNull(t.error)}});
  }
  return {
      {"proto", port.proto}, {"port", port.port}, {"reachable_predicted", Optional(port.reachable)},
      {"causes", causes},    {"paths", paths},    {"unknown", unknown},
      {"traces", traces}};
}

}  // namespace

std::string FormatReportJson(const Report& r) {
  json j;
  j["schema_version"] = kDiagnoseSchemaVersion;
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
  for (const PortReport& port : r.ports) ports.push_back(PortJson(port));
  json warnings = json::array();
  for (const CauseReport& w : r.warnings) {
    warnings.push_back({{"warning", w.cause}, {"why", w.why}, {"fix", w.fix}});
  }
  j["warnings"] = warnings;
  json verdict;
  SectionStatus(r, "verdict", &verdict);
  verdict["ports"] = ports;
  verdict["trace_error"] = OrNull(r.trace_error);
  j["verdict"] = verdict;
  return j.dump(2) + "\n";
}

}  // namespace portmap
