// diagnose: the report built from hand-built families, for a healthy host and
// for each cause, rendered as text and JSON and compared with golden files in
// tests/fixtures/diagnose/.  Regenerate them after a deliberate change with
//   PORTMAP_UPDATE_GOLDEN=1 ./portmap_unit_tests --gtest_filter='Diagnose*'
// and review the diff.
#include "exporter/diagnose/diagnose.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "exporter/diagnose/diagnose_format.h"
#include "exporter/flags.h"
#include "util/metrics.h"

namespace portmap {
namespace {

using testing::HasSubstr;

const std::string kGolden = std::string(PORTMAP_FIXTURES) + "/diagnose";

// A healthy Docker host, as `name{labels} value` lines (exposition syntax,
// no commas inside values): firewalld running with the iptables backend,
// dockerd started before it, Docker's chains, ip_forward on at run time
// only (nothing persists it, the CentOS 7 case), 5000/tcp connecting locally.
const char* const kHealthy = R"(
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
portmap_probe_outcome{vantage="local",target="127.0.0.1:5000",outcome="timeout"} 0
portmap_probe_connect_seconds{vantage="local",target="127.0.0.1:5000"} 0.0004
portmap_probe_outcome{vantage="local",target="198.51.100.1:5000",outcome="connected"} 1
portmap_probe_connect_seconds{vantage="local",target="198.51.100.1:5000"} 0.0005
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 1
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="ip_forward_disabled"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="forward_policy_drop"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="firewalld_port_closed"} 0
)";

// `base` with each line of `changes` replacing the line of the same series,
// or added; a change whose value is "-" removes the series.
std::string With(const std::string& base, const std::string& changes) {
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

std::vector<prometheus::MetricFamily> Families(const std::string& text) {
  std::vector<prometheus::MetricFamily> out;
  static const std::regex kLine(R"(^([a-z_]+)(\{(.*)\})? (\S+)$)");
  static const std::regex kLabel(R"(([a-z_]+)="([^"]*)\")");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.empty()) continue;
    EXPECT_TRUE(std::regex_match(line, m, kLine)) << line;
    Labels labels;
    const std::string body = m[3];
    for (std::sregex_iterator it(body.begin(), body.end(), kLabel), end; it != end; ++it) {
      labels.push_back({(*it)[1], (*it)[2]});
    }
    auto f = MakeFamily(m[1], "test", MetricType::Gauge);
    AddSample(&f, labels, std::stod(m[4]));
    out.push_back(std::move(f));
  }
  MergeAndSort(&out);
  return out;
}

std::vector<CollectorOutcome> AllOk() {
  std::vector<CollectorOutcome> out;
  for (const char* name : {"docker", "firewalld", "forwarding", "netfilter", "probe", "verdict"}) {
    out.push_back({name, true, false, ""});
  }
  return out;
}

void ExpectGolden(const std::string& name, const std::string& got) {
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

// Builds the report, checks the exit status and both goldens.
Report Check(const std::string& name, const std::string& families, int want_status,
             const std::vector<CollectorOutcome>& outcomes = AllOk(),
             const std::vector<int>& only = {}) {
  Report r = BuildReport(Families(families), outcomes, only);
  EXPECT_EQ(DiagnoseExitStatus(r), want_status) << name;
  ExpectGolden(name + ".txt", FormatReportText(r, false));
  const std::string json = FormatReportJson(r);
  ExpectGolden(name + ".json", json);
  const auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["schema_version"], 1);
  EXPECT_EQ(parsed["exit_status"], want_status);
  return r;
}

std::vector<std::string> Causes(const Report& r) {
  std::vector<std::string> out;
  for (const PortReport& p : r.ports) {
    for (const CauseReport& c : p.causes) out.push_back(c.cause);
  }
  return out;
}

TEST(DiagnoseTest, Healthy) {
  const Report r = Check("healthy", kHealthy, 0);
  ASSERT_EQ(r.ports.size(), 1u);
  EXPECT_EQ(r.ports[0].reachable, true);
  EXPECT_EQ(r.firewalld.started_after_dockerd, false);
}

TEST(DiagnoseTest, IpForwardOffNotPersisted) {
  const Report r = Check("ip_forward_disabled", With(kHealthy, R"(
portmap_ip_forward_enabled{family="ipv4"} 0
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="ip_forward_disabled"} 1
)"),
                         1);
  ASSERT_EQ(Causes(r), std::vector<std::string>{"ip_forward_disabled"});
  EXPECT_NE(r.ports[0].causes[0].stick.find("/etc/sysctl.d/99-docker-ip-forward.conf"),
            std::string::npos);
}

TEST(DiagnoseTest, IpForwardOffByAFile) {
  const Report r = Check("ip_forward_disabled_by_file", With(kHealthy, R"(
portmap_ip_forward_enabled{family="ipv4"} 0
portmap_ip_forward_persisted_info{family="ipv4",file="",value=""} -
portmap_ip_forward_persisted_info{family="ipv4",file="/etc/sysctl.d/90-hardening.conf",value="0"} 1
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="ip_forward_disabled"} 1
)"),
                         1);
  EXPECT_NE(r.ports[0].causes[0].stick.find("/etc/sysctl.d/90-hardening.conf sets it to 0"),
            std::string::npos);
}

// firewalld (re)started after dockerd: its start wiped the chains, and the
// port is not open in the zone, so docker-proxy's host path is rejected.
TEST(DiagnoseTest, ChainsWipedByFirewalld) {
  const Report r = Check("chains_wiped", With(kHealthy, R"(
portmap_firewalld_start_time_seconds 1764000600
portmap_firewalld_port_allowed{proto="tcp",port="5000",zone="public"} 0
portmap_netfilter_chain_present{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} 0
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} -
portmap_netfilter_chain_present{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} 0
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} -
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="5000",container_ip="203.0.113.2",container_port="5000",backend="nftables"} -
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="ip_forward_disabled"} -
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="forward_policy_drop"} -
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="docker_chain_missing"} 1
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="dnat_rule_missing"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="firewalld_port_closed"} 1
)"),
                         1);
  EXPECT_EQ(Causes(r), (std::vector<std::string>{"docker_chain_missing", "firewalld_port_closed"}));
  EXPECT_EQ(r.firewalld.started_after_dockerd, true);
  EXPECT_NE(r.ports[0].causes[0].why.find("after dockerd"), std::string::npos);
  EXPECT_NE(r.ports[0].causes[1].fix.find("firewall-cmd --zone=public --add-port=5000/tcp"),
            std::string::npos);
}

// The same wipe seen by a run without --port: the ports went with the rules,
// so "no published ports" would be a false all-clear.
TEST(DiagnoseTest, ChainsWipedPortsUnknown) {
  const Report r = Check("chains_wiped_ports_unknown", R"(
portmap_dockerd_up 1
portmap_dockerd_start_time_seconds 1764000000
portmap_firewalld_up 1
portmap_firewalld_info{version="1.3.0",backend="iptables",default_zone="public"} 1
portmap_firewalld_start_time_seconds 1764000600
portmap_ip_forward_enabled{family="ipv4"} 1
)",
                         2);
  EXPECT_TRUE(r.ports.empty());
  EXPECT_NE(r.ports_unknown.find("nat DOCKER is gone"), std::string::npos);
}

TEST(DiagnoseTest, DnatRuleMissing) {
  const Report r = Check("dnat_rule_missing", With(kHealthy, R"(
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="5000",container_ip="203.0.113.2",container_port="5000",backend="nftables"} -
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="dnat_rule_missing"} 1
)"),
                         1);
  EXPECT_EQ(Causes(r), std::vector<std::string>{"dnat_rule_missing"});
}

TEST(DiagnoseTest, ForwardPolicyDrop) {
  const Report r = Check("forward_policy_drop", With(kHealthy, R"(
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} 0
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 0
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="forward_policy_drop"} 1
)"),
                         1);
  EXPECT_EQ(Causes(r), std::vector<std::string>{"forward_policy_drop"});
}

TEST(DiagnoseTest, PortNotInTheZoneYetForwardedPastFirewalld) {
  // Recorded with a real dockerd 20.10 and firewalld 1.3 (iptables backend,
  // lab.firewalld.dockerd): 5000/tcp is in no zone, yet Docker's FORWARD
  // rules accept the DNATed connection first; the verdict clears
  // firewalld_port_closed, and the zone's line must say why.
  const Report r = Check("port_closed_not_blocking", With(kHealthy, R"(
portmap_firewalld_port_allowed{proto="tcp",port="5000",zone="public"} 0
)"),
                         0);
  EXPECT_TRUE(Causes(r).empty());
  EXPECT_THAT(FormatReportText(r, false),
              HasSubstr("5000/tcp in zone public: not allowed, yet not blocking"));
}

TEST(DiagnoseTest, NoDockerAtAll) {
  const Report r = Check("no_docker", R"(
portmap_dockerd_up 0
portmap_firewalld_up 0
portmap_ip_forward_enabled{family="ipv4"} 0
portmap_ip_forward_persisted{family="ipv4"} 0
portmap_ip_forward_persisted_info{family="ipv4",file="",value=""} 1
)",
                         0);
  EXPECT_TRUE(r.ports.empty());
}

TEST(DiagnoseTest, WithoutCapNetAdmin) {
  auto outcomes = AllOk();
  outcomes[3] = {"netfilter", false, false,
                 "reading netfilter needs CAP_NET_ADMIN (and CAP_NET_RAW for legacy iptables): "
                 "nftables: Operation not permitted"};
  const Report r = Check("no_cap_net_admin", R"(
portmap_dockerd_up 1
portmap_dockerd_start_time_seconds 1764000000
portmap_firewalld_up 0
portmap_ip_forward_enabled{family="ipv4"} 1
portmap_ip_forward_persisted{family="ipv4"} 0
portmap_ip_forward_persisted_info{family="ipv4",file="",value=""} 1
)",
                         2, outcomes);
  EXPECT_NE(r.permission_error.find("CAP_NET_ADMIN"), std::string::npos);
}

// A collector that failed leaves the verdict unknown: "cannot tell", exit 2.
TEST(DiagnoseTest, FirewalldFailed) {
  auto outcomes = AllOk();
  outcomes[1] = {"firewalld", false, false, "D-Bus: Connection timed out"};
  Check("firewalld_failed", With(kHealthy, R"(
portmap_firewalld_up -
portmap_firewalld_info{version="1.3.0",backend="iptables",default_zone="public"} -
portmap_firewalld_start_time_seconds -
portmap_firewalld_interface_zone_info{interface="eth0",zone="public"} -
portmap_firewalld_port_allowed{proto="tcp",port="5000",zone="public"} -
portmap_firewalld_port_allowed_approximate{proto="tcp",port="5000",zone="public"} -
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} -
portmap_published_port_blocked{proto="tcp",host_port="5000",cause="firewalld_port_closed"} -
)"),
        2, outcomes);
}

TEST(DiagnoseTest, PortFilter) {
  const Report r = Check("port_filter", With(kHealthy, R"(
portmap_published_port_reachable_predicted{proto="tcp",host_port="8080"} 0
portmap_published_port_blocked{proto="tcp",host_port="8080",cause="dnat_rule_missing"} 1
)"),
                         0, AllOk(), {5000});
  ASSERT_EQ(r.ports.size(), 1u);
  EXPECT_EQ(r.ports[0].port, 5000);
}

TEST(DiagnoseTest, ColorOnlyWhenAsked) {
  const Report r = BuildReport(Families(kHealthy), AllOk(), {});
  EXPECT_EQ(FormatReportText(r, false).find('\033'), std::string::npos);
  EXPECT_NE(FormatReportText(r, true).find("\033[32mreachable"), std::string::npos);
}

// The exporter's flags plus --port, --format and --no-color, only in
// diagnose mode.
TEST(DiagnoseFlagsTest, ParsesItsOwnFlagsOnTopOfTheExportersFlags) {
  auto parse = [](std::vector<const char*> args, DiagnoseFlags* d, Flags* flags) {
    args.insert(args.begin(), "diagnose");
    std::string error;
    std::ostringstream out;
    return ParseFlags(static_cast<int>(args.size()), args.data(), {}, flags, &error, out, d);
  };
  DiagnoseFlags d;
  Flags flags;
  ASSERT_EQ(parse({"--port", "5000", "--port=8080", "--format", "json", "--no-color",
                   "--path.rootfs", "/host"},
                  &d, &flags),
            FlagsOutcome::kRun);
  EXPECT_EQ(d.ports, (std::vector<int>{5000, 8080}));
  EXPECT_EQ(d.format, "json");
  EXPECT_TRUE(d.no_color);
  EXPECT_EQ(flags.paths.rootfs, "/host");
  for (const char* bad : {"--format=xml", "--port=0", "--port=70000", "--port=x"}) {
    DiagnoseFlags d2;
    EXPECT_EQ(parse({bad}, &d2, &flags), FlagsOutcome::kUsageError) << bad;
  }
  EXPECT_EQ(parse({"--port=5000"}, nullptr, &flags), FlagsOutcome::kUsageError)
      << "--port is diagnose-only";
}

}  // namespace
}  // namespace portmap
