// diagnose: the report built from hand-built families, for a healthy host,
// the classic causes, a wipe seen without --port, failed collectors, no
// Docker at all and no CAP_NET_ADMIN, rendered as text and JSON and compared
// with golden files in tests/fixtures/diagnose/ (diagnose_causes_test.cc:
// the other causes, undecided paths and traces).  Regenerate them after a
// deliberate change with
//   PORTMAP_UPDATE_GOLDEN=1 ./portmap_unit_tests --gtest_filter='Diagnose*'
// and review the diff.
#include "exporter/diagnose/diagnose.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/diagnose/diagnose_format.h"
#include "exporter/flags.h"
#include "tests/unit/exporter/diagnose/diagnose_testing.h"

namespace portmap {
namespace {

using namespace diagnose_testing;  // NOLINT(google-build-using-namespace): the tests' helpers
using testing::HasSubstr;

const char kForwardingOff[] =
    "the kernel's route lookup refused it: host unreachable (EHOSTUNREACH); forwarding is off on "
    "eth0";

TEST(DiagnoseTest, Healthy) {
  const Report r = Check("healthy", kHealthy, 0);
  ASSERT_EQ(r.ports.size(), 1u);
  EXPECT_EQ(r.ports[0].reachable, true);
  EXPECT_TRUE(r.ports[0].paths.empty());
  EXPECT_EQ(r.firewalld.started_after_dockerd, false);
}

TEST(DiagnoseTest, IpForwardOffNotPersisted) {
  const Report r = Check("ip_forward_disabled", With(kHealthy, R"(
portmap_ip_forward_enabled{family="ipv4"} 0
)" + Blocked("ip_forward_disabled", "timeout", kForwardingOff)),
                         1);
  ASSERT_EQ(Causes(r), std::vector<std::string>{"ip_forward_disabled"});
  EXPECT_EQ(r.ports[0].causes[0].fix, "sysctl -w net.ipv4.ip_forward=1");
  EXPECT_NE(r.ports[0].causes[0].stick.find("/etc/sysctl.d/99-docker-ip-forward.conf"),
            std::string::npos);
}

TEST(DiagnoseTest, IpForwardOffByAFile) {
  const Report r = Check("ip_forward_disabled_by_file", With(kHealthy, R"(
portmap_ip_forward_enabled{family="ipv4"} 0
portmap_ip_forward_persisted_info{family="ipv4",file="",value=""} -
portmap_ip_forward_persisted_info{family="ipv4",file="/etc/sysctl.d/90-hardening.conf",value="0"} 1
)" + Blocked("ip_forward_disabled", "timeout", kForwardingOff)),
                         1);
  EXPECT_NE(r.ports[0].causes[0].stick.find("/etc/sysctl.d/90-hardening.conf sets it to 0"),
            std::string::npos);
}

// ip_forward is 1, but the switch of one interface is off (IPv4 checks the
// input interface), and IPv6 forwarding is off: each switch named.
TEST(DiagnoseTest, InterfaceAndIpv6ForwardingOff) {
  const Report r = BuildReport(
      Families(
          With(kHealthy, Blocked("ip_forward_disabled", "timeout",
                                 "the kernel's route lookup refused it: host unreachable "
                                 "(EHOSTUNREACH); forwarding is off on docker0") +
                             Blocked("ip_forward_disabled", "timeout", "IPv6 forwarding is off",
                                     Rule(), {"ipv6", "eth0", "2001:db8:ffff::7", "2001:db8::1"}))),
      AllOk(), {});
  ASSERT_EQ(Causes(r), std::vector<std::string>{"ip_forward_disabled"});
  const CauseReport& c = r.ports[0].causes[0];
  EXPECT_EQ(c.fix, "sysctl -w net.ipv4.conf.docker0.forwarding=1 net.ipv6.conf.all.forwarding=1");
  EXPECT_THAT(c.stick, HasSubstr("'net.ipv4.conf.docker0.forwarding = 1' "
                                 "'net.ipv6.conf.all.forwarding = 1'"));
  EXPECT_THAT(FormatReportText(r, false),
              HasSubstr("path 2001:db8:ffff::7 on eth0 -> [2001:db8::1]:5000: timeout"));
}

// firewalld (re)started after dockerd: its start wiped the chains, and the
// port is not open in the zone, so docker-proxy's host path is rejected.
TEST(DiagnoseTest, ChainsWipedByFirewalld) {
  const std::string place =
      "no DNAT for the port; nf_tables ip filter INPUT: rule handle 9 rejects";
  const std::string rule = Rule("nf_tables", "ip", "filter", "INPUT", "9");
  const Report r =
      Check("chains_wiped",
            With(kHealthy, R"(
portmap_firewalld_start_time_seconds 1764000600
portmap_firewalld_port_allowed{proto="tcp",port="5000",zone="public"} 0
portmap_netfilter_chain_present{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} 0
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} -
portmap_netfilter_chain_present{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} 0
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} -
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="5000",container_ip="203.0.113.2",container_port="5000",backend="nftables"} -
)" + Blocked("docker_chain_missing", "unreachable", place, rule) +
                               Blocked("firewalld_port_closed", "unreachable", place, rule)),
            1);
  EXPECT_EQ(Causes(r), (std::vector<std::string>{"docker_chain_missing", "firewalld_port_closed"}));
  EXPECT_EQ(r.firewalld.started_after_dockerd, true);
  EXPECT_NE(r.ports[0].causes[0].why.find("after dockerd"), std::string::npos);
  EXPECT_NE(r.ports[0].causes[1].fix.find("firewall-cmd --zone=public --add-port=5000/tcp"),
            std::string::npos);
  EXPECT_EQ(r.ports[0].paths.size(), 2u) << "one path, two causes: two series";
  EXPECT_EQ(TraceRequests(r).size(), 1u) << "traced once";
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
  const Report r = Check("dnat_rule_missing",
                         With(kHealthy, R"(
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="5000",container_ip="203.0.113.2",container_port="5000",backend="nftables"} -
)" + Blocked("dnat_rule_missing", "refused",
             "no DNAT for the port; nothing listens on 198.51.100.1:5000: the host answers "
             "with a reset")),
                         1);
  EXPECT_EQ(Causes(r), std::vector<std::string>{"dnat_rule_missing"});
}

TEST(DiagnoseTest, ForwardPolicyDrop) {
  const Report r = Check("forward_policy_drop",
                         With(kHealthy, R"(
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="filter",chain="DOCKER"} 0
)" + Blocked("forward_policy_drop", "timeout", "nf_tables ip filter FORWARD: policy drop",
             Rule("nf_tables", "ip", "filter", "FORWARD"))),
                         1);
  EXPECT_EQ(Causes(r), std::vector<std::string>{"forward_policy_drop"});
}

TEST(DiagnoseTest, PortNotInTheZoneYetForwardedPastFirewalld) {
  // Recorded with a real dockerd 20.10 and firewalld 1.3 (iptables backend,
  // lab.firewalld.dockerd): 5000/tcp is in no zone, yet Docker's FORWARD
  // rules accept the DNATed connection first; the verdict predicts it
  // reachable, and the zone's line must say why.
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

// firewalld's collector failed: its section says so; the verdict traces
// the rules themselves and still predicts.
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
)"),
        0, outcomes);
}

// The verdict collector failed: no prediction, "cannot tell", exit 2.
TEST(DiagnoseTest, VerdictFailed) {
  auto outcomes = AllOk();
  outcomes[5] = {"verdict", false, false,
                 "the ruleset or the kernel could not be read: Operation not permitted"};
  Check("verdict_failed", With(kHealthy, R"(
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} -
)"),
        2, outcomes);
}

// A port named with --port is reported even when the verdict said nothing
// of it: "no published ports among --port" would hide the failure.
TEST(DiagnoseTest, NamedPortReportedWhenTheVerdictFailed) {
  auto outcomes = AllOk();
  outcomes[5] = {"verdict", false, false, "the ruleset or the kernel could not be read"};
  const Report r = BuildReport(Families(kHealthy), outcomes, {6000});
  ASSERT_EQ(r.ports.size(), 1u);
  EXPECT_EQ(r.ports[0].port, 6000);
  EXPECT_EQ(r.ports[0].proto, "tcp");
  EXPECT_EQ(DiagnoseExitStatus(r), 2);
  EXPECT_THAT(FormatReportText(r, false),
              HasSubstr("  6000/tcp: cannot tell (not checked: verdict)\n"));
}

TEST(DiagnoseTest, PortFilter) {
  const Report r =
      Check("port_filter",
            With(kHealthy, Blocked("dnat_rule_missing", "refused",
                                   "no DNAT for the port; nothing listens on 198.51.100.1:8080: "
                                   "the host answers with a reset",
                                   Rule(), {}, 8080)),
            0, AllOk(), {5000});
  ASSERT_EQ(r.ports.size(), 1u);
  EXPECT_EQ(r.ports[0].port, 5000);
}

// The probe collector exports one outcome series per target, the one that
// holds: no 0 series for the others to skip.
TEST(DiagnoseTest, LocalProbesReadTheOneOutcomeSeries) {
  const Report r = BuildReport(Families(With(kHealthy, R"(
portmap_probe_outcome{vantage="local",target="198.51.100.1:5000",outcome="connected"} -
portmap_probe_outcome{vantage="local",target="198.51.100.1:5000",outcome="refused"} 1
)")),
                               AllOk(), {});
  ASSERT_EQ(r.probes.size(), 2u);
  EXPECT_EQ(r.probes[0].target, "127.0.0.1:5000");
  EXPECT_EQ(r.probes[0].outcome, "connected");
  EXPECT_EQ(r.probes[1].target, "198.51.100.1:5000");
  EXPECT_EQ(r.probes[1].outcome, "refused");
  EXPECT_EQ(r.probes[1].seconds, 0.0005);
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
