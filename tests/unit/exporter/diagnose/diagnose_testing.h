// The diagnose tests' helpers: families from exposition lines, the
// verdict's series of a blocked path, fixed traces, and the golden check
// (tests/fixtures/diagnose/; PORTMAP_UPDATE_GOLDEN=1 rewrites the goldens).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/diagnose/diagnose.h"
#include "exporter/diagnose/diagnose_format.h"
#include "pathtrace/packet.h"
#include "pathtrace/trace_result.h"
#include "util/metrics.h"

namespace portmap::diagnose_testing {

inline const std::string kGolden = std::string(PORTMAP_FIXTURES) + "/diagnose";

// A healthy Docker host, as `name{labels} value` lines (exposition syntax,
// one series a line): firewalld running with the iptables backend,
// dockerd started before it, Docker's chains, ip_forward on at run time
// only (nothing persists it, the CentOS 7 case), 5000/tcp connecting locally.
inline constexpr char kHealthy[] = R"(
portmap_dockerd_up 1
portmap_dockerd_start_time_seconds 1764000000
portmap_firewalld_up 1
portmap_firewalld_info{version="1.3.0",backend="iptables",default_zone="public"} 1
portmap_firewalld_start_time_seconds 1763990000
portmap_firewalld_interface_zone_info{interface="eth0",zone="public"} 1
portmap_firewalld_port_allowed{proto="tcp",port="5000",zone="public"} 1
portmap_firewalld_port_allowed_approximate{proto="tcp",port="5000",zone="public"} 0
portmap_netfilter_chain_present{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} 1
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} 2
portmap_netfilter_chain_present{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} 1
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} 1
portmap_netfilter_chain_policy_accept{backend="nftables",family="ipv4",table="filter",chain="FORWARD"} 0
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="5000",container_ip="203.0.113.2",container_port="5000",backend="nftables"} 1
portmap_ip_forward_enabled{family="ipv4"} 1
portmap_ip_forward_persisted{family="ipv4"} 0
portmap_ip_forward_persisted_info{family="ipv4",file="",value=""} 1
portmap_probe_outcome{vantage="local",target="127.0.0.1:5000",outcome="connected"} 1
portmap_probe_connect_seconds{vantage="local",target="127.0.0.1:5000"} 0.0004
portmap_probe_outcome{vantage="local",target="198.51.100.1:5000",outcome="connected"} 1
portmap_probe_connect_seconds{vantage="local",target="198.51.100.1:5000"} 0.0005
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 1
)";

// One traced path: the default client on eth0 to eth0's address.
struct Path {
  std::string family = "ipv4", interface = "eth0", client = "203.0.113.7", address = "198.51.100.1";
};

// The labels of the rule or policy a path stopped at; Rule() for a kernel
// decision.
inline std::string Rule(const std::string& backend = "", const std::string& table_family = "",
                        const std::string& table = "", const std::string& chain = "",
                        const std::string& handle = "", const std::string& comment = "") {
  return "backend=\"" + backend + "\",table_family=\"" + table_family + "\",table=\"" + table +
         "\",chain=\"" + chain + "\",handle=\"" + handle + "\",comment=\"" + comment + "\"";
}

// `value` as a label value in the exposition format: " and \ escaped.
inline std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The verdict's series for a blocked path of PORT/tcp and one of its causes:
// portmap_published_port_blocked and portmap_published_port_blocked_info.
inline std::string Blocked(const std::string& cause, const std::string& outcome,
                           const std::string& place, const std::string& rule = Rule(),
                           const Path& path = {}, int port = 5000) {
  const std::string pp = "proto=\"tcp\",host_port=\"" + std::to_string(port) + "\"";
  return "portmap_published_port_reachable_predicted{" + pp + "} 0\n" +
         "portmap_published_port_blocked{" + pp + ",cause=\"" + cause + "\"} 1\n" +
         "portmap_published_port_blocked_info{" + pp + ",cause=\"" + cause + "\",family=\"" +
         path.family + "\",interface=\"" + path.interface + "\",client=\"" + path.client +
         "\",address=\"" + path.address + "\",outcome=\"" + outcome + "\",place=\"" +
         Escape(place) + "\"," + rule + "} 1\n";
}

// `base` with each line of `changes` replacing the line of the same series,
// or added; a change whose value is "-" removes the series.
inline std::string With(const std::string& base, const std::string& changes) {
  std::map<std::string, std::string> lines;
  std::vector<std::string> order;
  auto put = [&](const std::string& line) {
    const size_t space = line.rfind(' ');
    if (line.empty() || space == std::string::npos) return;
    const std::string key = line.substr(0, space);
    if (!lines.count(key)) order.push_back(key);
    lines[key] = line.substr(space + 1);
  };
  std::istringstream b(base), c(changes);
  for (std::string line; std::getline(b, line);) put(line);
  for (std::string line; std::getline(c, line);) put(line);
  std::string out;
  for (const std::string& key : order) {
    if (lines[key] != "-") out += key + " " + lines[key] + "\n";
  }
  return out;
}

inline std::vector<prometheus::MetricFamily> Families(const std::string& text) {
  std::vector<prometheus::MetricFamily> out;
  static const std::regex kLine(R"(^([a-z_]+)(\{(.*)\})? (\S+)$)");
  // A value may hold \" and \\ (the exposition format's escapes).
  static const std::regex kLabel(R"(([a-z_]+)="((?:[^"\\]|\\.)*)\")");
  static const std::regex kEscape(R"(\\(.))");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.empty()) continue;
    EXPECT_TRUE(std::regex_match(line, m, kLine)) << line;
    Labels labels;
    const std::string body = m[3];
    for (std::sregex_iterator it(body.begin(), body.end(), kLabel), end; it != end; ++it) {
      labels.push_back({(*it)[1], std::regex_replace((*it)[2].str(), kEscape, "$1")});
    }
    auto f = MakeFamily(m[1], "test", MetricType::Gauge);
    AddSample(&f, labels, std::stod(m[4]));
    out.push_back(std::move(f));
  }
  MergeAndSort(&out);
  return out;
}

inline std::vector<CollectorOutcome> AllOk() {
  std::vector<CollectorOutcome> out;
  for (const char* name : {"docker", "firewalld", "forwarding", "netfilter", "probe", "verdict"}) {
    out.push_back({name, true, false, ""});
  }
  return out;
}

inline void ExpectGolden(const std::string& name, const std::string& got) {
  const std::string path = kGolden + "/" + name;
  // Read once per check, before any thread starts: getenv is safe here.
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  if (const char* update = std::getenv("PORTMAP_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path) << got;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing; PORTMAP_UPDATE_GOLDEN=1 writes it";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(want.str(), got) << "differs from " << path;
}

// Fixed traces for AttachTraces, by the path's interface: the packet is
// built from the request as RunDiagnose's tracer builds it; an interface
// without a trace is one that is gone.
inline PathTraceFn FixedTraces(std::map<std::string, pathtrace::TraceResult> by_interface) {
  return
      [by_interface = std::move(by_interface)](const TraceRequest& q, pathtrace::Packet* pkt,
                                               pathtrace::TraceResult* result, std::string* error) {
        auto it = by_interface.find(q.interface);
        if (it == by_interface.end()) {
          *error = "no interface named " + q.interface + " now";
          return Status::Ok();
        }
        pkt->nfproto = q.family == "ipv6" ? 10 : 2;
        pkt->l4proto = q.proto == "udp" ? 17 : 6;
        pkt->saddr = *pathtrace::ParseAddr(q.client);
        pkt->daddr = *pathtrace::ParseAddr(q.address);
        pkt->sport = 40000;
        pkt->dport = static_cast<uint16_t>(q.port);
        pkt->iif = {2, q.interface, 1};
        *result = it->second;
        return Status::Ok();
      };
}

// Builds the report, attaches `traces` (none: the tracer is not asked),
// checks the exit status and both goldens.
inline Report Check(const std::string& name, const std::string& families, int want_status,
                    const std::vector<CollectorOutcome>& outcomes = AllOk(),
                    const std::vector<int>& only = {}, const PathTraceFn& traces = nullptr) {
  Report r = BuildReport(Families(families), outcomes, only);
  if (traces) AttachTraces(traces, &r);
  EXPECT_EQ(DiagnoseExitStatus(r), want_status) << name;
  ExpectGolden(name + ".txt", FormatReportText(r, false));
  const std::string json = FormatReportJson(r);
  ExpectGolden(name + ".json", json);
  const auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["schema_version"], kDiagnoseSchemaVersion);
  EXPECT_EQ(parsed["exit_status"], want_status);
  return r;
}

inline std::vector<std::string> Causes(const Report& r) {
  std::vector<std::string> out;
  for (const PortReport& p : r.ports) {
    for (const CauseReport& c : p.causes) out.push_back(c.cause);
  }
  return out;
}

}  // namespace portmap::diagnose_testing
