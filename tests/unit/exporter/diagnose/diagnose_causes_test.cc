// diagnose: each cause of the verdict explained from its blocked paths, the
// paths' traces (AttachTraces, with fixed traces), undecided paths, and the
// causes' order; goldens in tests/fixtures/diagnose/ (diagnose_test.cc says
// how to regenerate them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "exporter/diagnose/diagnose.h"
#include "exporter/diagnose/diagnose_format.h"
#include "pathtrace/trace_result.h"
#include "tests/unit/exporter/diagnose/diagnose_testing.h"

namespace portmap {
namespace {

using namespace diagnose_testing;  // NOLINT(google-build-using-namespace): the tests' helpers
using testing::HasSubstr;

// firewalld's nftables backend after `systemctl restart nftables` flushed
// every table: Docker's chains are gone, firewalld rebuilt its own table,
// and its input chain rejects the port the host now gets.
TEST(DiagnoseTest, FirewalldNftablesBackendRejects) {
  const std::string place =
      "no DNAT for the port; nf_tables inet firewalld filter_INPUT: rule handle 12 rejects";
  const std::string rule = Rule("nf_tables", "inet", "firewalld", "filter_INPUT", "12");
  const Report r =
      Check("firewalld_nftables",
            With(kHealthy, R"(
portmap_firewalld_info{version="1.3.0",backend="iptables",default_zone="public"} -
portmap_firewalld_info{version="2.1.1",backend="nftables",default_zone="public"} 1
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
  const CauseReport& fw = r.ports[0].causes[1];
  EXPECT_EQ(fw.fix, "firewall-cmd --zone=public --add-port=5000/tcp");
  EXPECT_THAT(fw.why, HasSubstr("nf_tables inet firewalld filter_INPUT: rule handle 12 rejects"));
  EXPECT_THAT(fw.note, testing::Not(HasSubstr("wipes")));
  EXPECT_THAT(r.ports[0].causes[0].stick, HasSubstr("systemctl restart nftables"));
}

// Debian's /etc/nftables.conf: `table inet filter` with a forward chain of
// policy drop.  Docker's accept ends only its own chain; this one drops the
// connection.  The path's trace is attached.
TEST(DiagnoseTest, ForeignRuleDropWithItsTrace) {
  using pathtrace::RuleRef;
  pathtrace::TraceResult t;
  t.outcome = pathtrace::Outcome::kTimeout;
  t.reason = "dropped in forward by inet filter forward policy";
  t.client_errno = "ETIMEDOUT";
  t.generation = 41;
  const RuleRef policy{"nf_tables", "inet", "filter", "forward", 0, true, "policy drop", ""};
  t.stopped_at = policy;
  t.steps = {
      {"prerouting", 0,
       "table ip nat chain PREROUTING (type nat hook prerouting priority -100; policy accept;)",
       std::nullopt, ""},
      {"prerouting", 1, "rule matched",
       RuleRef{"nf_tables", "ip", "nat", "DOCKER", 12, false,
               "[ payload load 2b @ transport header + 2 => reg 1 ] [ cmp eq reg 1 0x00001388 ] "
               "[ nat dnat ip addr_min reg 1 proto_min reg 2 ]",
               ""},
       "dnat to 203.0.113.2:5000, accept"},
      {"routing", 0, "route: forward to 203.0.113.2 via interface 3", std::nullopt, ""},
      {"forward", 0,
       "table ip filter chain FORWARD (type filter hook forward priority 0; policy drop;)",
       std::nullopt, ""},
      {"forward", 1, "rule matched",
       RuleRef{"nf_tables", "ip", "filter", "DOCKER", 31, false,
               "[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x020071cb ] "
               "[ immediate reg 0 accept ]",
               ""},
       "accept"},
      {"forward", 0,
       "table inet filter chain forward (type filter hook forward priority 0; policy drop;)",
       std::nullopt, ""},
      {"forward", 0, "policy", policy, "drop"},
  };
  const Report r = Check("foreign_rule_drop",
                         With(kHealthy, Blocked("foreign_rule_drop", "timeout",
                                                "nf_tables inet filter forward: policy drop",
                                                Rule("nf_tables", "inet", "filter", "forward"))),
                         1, AllOk(), {}, FixedTraces({{"eth0", t}}));
  EXPECT_EQ(Causes(r), std::vector<std::string>{"foreign_rule_drop"});
  const CauseReport& c = r.ports[0].causes[0];
  EXPECT_THAT(c.why, HasSubstr("nf_tables inet filter forward: policy drop"));
  EXPECT_THAT(c.fix, HasSubstr("nft insert rule inet filter forward ct status dnat accept"));
  EXPECT_THAT(c.fix, HasSubstr("nft -a list chain inet filter forward"));
  ASSERT_EQ(r.ports[0].traces.size(), 1u);
  const std::string text = FormatReportText(r, false);
  EXPECT_THAT(text, HasSubstr("      trace: tcp 203.0.113.7:40000 -> 198.51.100.1:5000"));
  EXPECT_THAT(text, HasSubstr("      outcome: timeout (ETIMEDOUT)"));
  const auto j = nlohmann::json::parse(FormatReportJson(r));
  const auto& trace = j["verdict"]["ports"][0]["traces"][0];
  EXPECT_EQ(trace["interface"], "eth0");
  EXPECT_EQ(trace["trace"]["schema_version"], 1) << "the trace command's document, as a value";
  EXPECT_EQ(trace["trace"]["stopped_at"]["chain"], "forward");
  EXPECT_EQ(trace["trace"]["packet"]["sport"], 40000);
  EXPECT_TRUE(trace["error"].is_null());
}

// A broad DROP in DOCKER-USER; the tracer could not be opened (no
// CAP_NET_ADMIN): one line says so, the rest of the report stands.
TEST(DiagnoseTest, DockerUserDropWithoutTheTracer) {
  const Report r = Check(
      "docker_user_drop",
      With(kHealthy,
           Blocked("docker_user_drop", "timeout",
                   "nf_tables ip filter DOCKER-USER: rule handle 21 drops (\"site "
                   "policy\")",
                   Rule("nf_tables", "ip", "filter", "DOCKER-USER", "21", "site policy"))),
      1, AllOk(), {},
      [](const TraceRequest&, pathtrace::Packet*, pathtrace::TraceResult*, std::string*) {
        return Status::Error(
            "nf_tables: Operation not permitted (needs CAP_NET_ADMIN in this network namespace)");
      });
  EXPECT_EQ(Causes(r), std::vector<std::string>{"docker_user_drop"});
  EXPECT_THAT(r.ports[0].causes[0].fix,
              HasSubstr("nft delete rule ip filter DOCKER-USER handle 21"));
  EXPECT_THAT(r.trace_error, HasSubstr("CAP_NET_ADMIN"));
  EXPECT_TRUE(r.ports[0].traces.empty());
}

// Docker 28's DOCKER chain drops what is not for a published port: here the
// port's accept rule is gone.
TEST(DiagnoseTest, DockerRuleDrop) {
  const Report r = Check("docker_rule_drop",
                         With(kHealthy, Blocked("docker_rule_drop", "timeout",
                                                "nf_tables ip filter DOCKER: rule handle 31 drops",
                                                Rule("nf_tables", "ip", "filter", "DOCKER", "31"))),
                         1);
  EXPECT_EQ(Causes(r), std::vector<std::string>{"docker_rule_drop"});
  EXPECT_EQ(r.ports[0].causes[0].fix, "docker restart $(docker ps -q --filter publish=5000/tcp)");
}

// A blocklist in iptables' raw PREROUTING drops the client before conntrack;
// the second uplink's trace could not be made (the interface went away).
TEST(DiagnoseTest, RawDrop) {
  const std::string place = "x_tables raw PREROUTING: rule #1 drops";
  const std::string rule = Rule("x_tables", "ip", "raw", "PREROUTING", "1");
  pathtrace::TraceResult t;
  t.outcome = pathtrace::Outcome::kTimeout;
  t.reason = "dropped in prerouting by ip raw PREROUTING rule #1";
  t.generation = 41;
  t.client_errno = "ETIMEDOUT";
  t.stopped_at = pathtrace::RuleRef{
      "x_tables", "ip", "raw", "PREROUTING", 1, false, "-s 203.0.113.0/24 -j DROP", ""};
  t.steps = {{"prerouting", 0, "rule matched", t.stopped_at, "drop"}};
  const Report r = Check("raw_drop",
                         With(kHealthy, Blocked("raw_drop", "timeout", place, rule) +
                                            Blocked("raw_drop", "timeout", place, rule,
                                                    {"ipv4", "eth1", "203.0.113.7", "192.0.2.10"})),
                         1, AllOk(), {}, FixedTraces({{"eth0", t}}));
  EXPECT_EQ(Causes(r), std::vector<std::string>{"raw_drop"});
  EXPECT_THAT(r.ports[0].causes[0].fix, HasSubstr("iptables-legacy -t raw -D PREROUTING 1"));
  ASSERT_EQ(r.ports[0].traces.size(), 2u);
  EXPECT_TRUE(r.ports[0].traces[0].error.empty());
  EXPECT_EQ(r.ports[0].traces[1].error, "no interface named eth1 now");
  EXPECT_TRUE(r.trace_error.empty());
}

// A client from `verdict: sources` arrives on eth1, but the host routes it
// back through eth0: strict rp_filter drops it (Linux 6.13+: EINVAL).
TEST(DiagnoseTest, RpFilter) {
  const Report r = Check(
      "rp_filter",
      With(kHealthy,
           Blocked("rp_filter", "timeout",
                   "the kernel's route lookup refused it: invalid (EINVAL); rp_filter=1 on eth1 "
                   "(reverse-path filtering), or a martian or blackhole route",
                   Rule(), {"ipv4", "eth1", "10.1.2.3", "192.0.2.10"})),
      1);
  EXPECT_EQ(Causes(r), std::vector<std::string>{"rp_filter"});
  const CauseReport& c = r.ports[0].causes[0];
  EXPECT_THAT(c.why, HasSubstr("from 10.1.2.3 on eth1"));
  EXPECT_THAT(c.fix, HasSubstr("net.ipv4.conf.eth1.rp_filter=2"));
  EXPECT_FALSE(c.note.empty()) << "EINVAL is also a martian's answer";
}

// The container runs, but its service does not listen: its reset returns.
TEST(DiagnoseTest, NoListener) {
  const Report r =
      Check("no_listener",
            With(kHealthy, Blocked("no_listener", "refused",
                                   "nothing listens on 203.0.113.2:5000: its reset returns")),
            1);
  EXPECT_EQ(Causes(r), std::vector<std::string>{"no_listener"});
  EXPECT_THAT(r.ports[0].causes[0].stick, HasSubstr("port 5000 inside the container"));
}

// The trace could not decide a path: no prediction, exit status 2.
TEST(DiagnoseTest, UnknownPath) {
  const Report r = Check("unknown_path", With(kHealthy, R"x(
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} -
portmap_published_port_prediction_unknown_info{proto="tcp",host_port="5000",family="ipv4",interface="eth0",reason="nat redirect is not modelled (prerouting, ip nat PREROUTING handle 4)"} 1
portmap_published_port_prediction_unknown_info{proto="sctp",host_port="5000",family="",interface="",reason="sctp is not traced (TCP and UDP are)"} 1
)x"),
                         2);
  ASSERT_EQ(r.ports.size(), 2u);
  EXPECT_FALSE(r.ports[0].reachable.has_value());
  ASSERT_EQ(r.ports[1].unknown.size(), 1u);
  EXPECT_EQ(r.ports[1].unknown[0].interface, "eth0");
  EXPECT_TRUE(TraceRequests(r).empty());
}

// A blocked path wins over an undecided one: exit status 1.
TEST(DiagnoseTest, BlockedWinsOverUnknown) {
  const Report r =
      BuildReport(Families(With(kHealthy, Blocked("foreign_rule_drop", "timeout",
                                                  "nf_tables inet filter forward: policy drop",
                                                  Rule("nf_tables", "inet", "filter", "forward")) +
                                              R"(
portmap_published_port_prediction_unknown_info{proto="tcp",host_port="5000",family="ipv6",interface="eth0",reason="ip6tables-legacy tables exist"} 1
)")),
                  AllOk(), {});
  EXPECT_EQ(DiagnoseExitStatus(r), 1);
  EXPECT_THAT(FormatReportText(r, false),
              HasSubstr("    undecided ipv6 on eth0: ip6tables-legacy tables exist\n"));
}

// Each cause of the verdict has its own explanation, and the verdict's
// order.
TEST(DiagnoseTest, EveryCauseExplainedInOrder) {
  const std::vector<std::string> order = {"ip_forward_disabled",
                                          "docker_chain_missing",
                                          "dnat_rule_missing",
                                          "rp_filter",
                                          "no_route",
                                          "raw_drop",
                                          "firewalld_port_closed",
                                          "docker_user_drop",
                                          "docker_rule_drop",
                                          "forward_policy_drop",
                                          "foreign_rule_drop",
                                          "no_listener"};
  std::string families = kHealthy;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    families += Blocked(*it, "timeout", "somewhere");
  }
  const Report r = BuildReport(Families(families), AllOk(), {});
  EXPECT_EQ(Causes(r), order);
  for (const CauseReport& c : r.ports[0].causes) {
    EXPECT_EQ(c.why.find("blocked ("), std::string::npos) << c.cause;
    EXPECT_FALSE(c.fix.empty()) << c.cause;
    EXPECT_FALSE(c.stick.empty()) << c.cause;
  }
  EXPECT_LT(CauseRank("no_listener"), CauseRank("a_cause_of_tomorrow"));
}

// Blocked paths traced once each (two causes of one path: one trace); a
// tracer that cannot trace stops at the first path.
TEST(DiagnoseTest, AttachTracesOncePerPathAndStopsOnATracerError) {
  const std::string place =
      "no DNAT for the port; nf_tables ip filter INPUT: rule handle 9 rejects";
  const std::string rule = Rule("nf_tables", "ip", "filter", "INPUT", "9");
  Report r = BuildReport(
      Families(With(kHealthy, Blocked("docker_chain_missing", "unreachable", place, rule) +
                                  Blocked("firewalld_port_closed", "unreachable", place, rule) +
                                  Blocked("firewalld_port_closed", "unreachable", place, rule,
                                          {"ipv6", "eth0", "2001:db8:ffff::7", "2001:db8::1"}))),
      AllOk(), {});
  std::vector<std::string> asked;
  AttachTraces(
      [&](const TraceRequest& q, pathtrace::Packet*, pathtrace::TraceResult*, std::string*) {
        asked.push_back(q.family + " " + q.client + " " + q.address + " " + q.proto + " " +
                        std::to_string(q.port));
        return Status::Ok();
      },
      &r);
  EXPECT_EQ(asked, (std::vector<std::string>{"ipv4 203.0.113.7 198.51.100.1 tcp 5000",
                                             "ipv6 2001:db8:ffff::7 2001:db8::1 tcp 5000"}));
  EXPECT_EQ(r.ports[0].traces.size(), 2u);
  Report again = BuildReport(
      Families(With(kHealthy, Blocked("docker_chain_missing", "unreachable", place, rule))),
      AllOk(), {});
  int calls = 0;
  AttachTraces(
      [&](const TraceRequest&, pathtrace::Packet*, pathtrace::TraceResult*, std::string*) {
        ++calls;
        return Status::Error("netlink: Operation not permitted");
      },
      &again);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(again.trace_error, "netlink: Operation not permitted");
  EXPECT_THAT(FormatReportText(again, false),
              HasSubstr("  blocked paths not traced: netlink: Operation not permitted\n"));
  EXPECT_EQ(DiagnoseExitStatus(again), 1) << "a trace that could not be made changes nothing";
}

}  // namespace
}  // namespace portmap
