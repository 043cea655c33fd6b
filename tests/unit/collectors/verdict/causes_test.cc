// Where a trace stopped, named as a cause: the rules of causes.h on traces
// built the way the tracer reports them.
#include "collectors/verdict/causes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portmap {
namespace {

using pathtrace::Outcome;
using pathtrace::RuleRef;
using pathtrace::StopKind;
using pathtrace::TraceResult;
using pathtrace::TraceStep;

TraceResult StoppedBy(std::string backend, std::string family, std::string table, std::string chain,
                      bool policy = false, uint64_t handle = 4) {
  TraceResult t;
  t.outcome = Outcome::kTimeout;
  t.stop = StopKind::kRule;
  t.stop_phase = "forward";
  t.dnat = true;
  RuleRef r;
  r.backend = std::move(backend);
  r.family = std::move(family);
  r.table = std::move(table);
  r.chain = std::move(chain);
  r.policy = policy;
  r.handle = handle;
  t.stopped_at = r;
  return t;
}

std::vector<std::string> Names(const PathVerdict& v) {
  std::vector<std::string> names;
  for (BlockCause c : v.causes) names.emplace_back(BlockCauseName(c));
  return names;
}

using Names_ = std::vector<std::string>;

TEST(CausesTest, WhoseRuleStoppedIt) {
  struct Row {
    TraceResult trace;
    const char* cause;
  };
  TraceResult raw_prio = StoppedBy("nf_tables", "inet", "mine", "pre");
  raw_prio.stop_phase = "prerouting";
  raw_prio.stop_priority = -300;
  const Row rows[] = {
      {StoppedBy("nf_tables", "inet", "firewalld", "filter_FWD_public"), "firewalld_port_closed"},
      {StoppedBy("x_tables", "ip", "filter", "IN_public"), "firewalld_port_closed"},
      {StoppedBy("nf_tables", "ip", "filter", "FWDI_public_deny"), "firewalld_port_closed"},
      {StoppedBy("nf_tables", "ip", "raw", "PREROUTING"), "raw_drop"},
      {StoppedBy("nf_tables", "ip", "docker-bridges", "raw-PREROUTING"), "raw_drop"},
      {raw_prio, "raw_drop"},
      {StoppedBy("nf_tables", "ip", "filter", "DOCKER-USER"), "docker_user_drop"},
      {StoppedBy("x_tables", "ip", "filter", "DOCKER"), "docker_rule_drop"},
      {StoppedBy("nf_tables", "ip", "docker-bridges", "filter-forward-in__docker0"),
       "docker_rule_drop"},
      {StoppedBy("nf_tables", "ip", "filter", "FORWARD", true), "forward_policy_drop"},
      {StoppedBy("x_tables", "ip", "filter", "FORWARD", true), "forward_policy_drop"},
      {StoppedBy("nf_tables", "inet", "filter", "forward", true), "foreign_rule_drop"},
      {StoppedBy("nf_tables", "ip", "filter", "ufw-reject-forward"), "foreign_rule_drop"},
      {StoppedBy("nf_tables", "ip", "filter", "FORWARD"), "foreign_rule_drop"},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(BlockCauseName(RuleCause(r.trace)), r.cause)
        << r.trace.stopped_at->family << " " << r.trace.stopped_at->table << " "
        << r.trace.stopped_at->chain;
  }
}

TEST(CausesTest, FirewalldsFinalRejectIsFirewalldsOnlyAfterItsZones) {
  TraceResult t = StoppedBy("x_tables", "ip", "filter", "INPUT");
  t.outcome = Outcome::kUnreachable;
  EXPECT_EQ(RuleCause(t), BlockCause::kForeignRuleDrop) << "a user's own INPUT reject";
  TraceStep jump;
  jump.rule = RuleRef{"x_tables", "ip", "filter", "INPUT", 3, false, "", ""};
  jump.verdict = "jump INPUT_ZONES";
  t.steps.push_back(jump);
  EXPECT_EQ(RuleCause(t), BlockCause::kFirewalldPortClosed);
}

TEST(CausesTest, KernelDecisions) {
  TraceResult t;
  t.outcome = Outcome::kTimeout;
  t.dnat = true;
  t.reason = "the kernel's route lookup refused it";
  t.stop = StopKind::kForwarding;
  EXPECT_EQ(Names(JudgeTrace(t, {true, true})), Names_{"ip_forward_disabled"});
  t.stop = StopKind::kReversePath;
  EXPECT_EQ(Names(JudgeTrace(t, {true, true})), Names_{"rp_filter"});
  t.stop = StopKind::kRoute;
  EXPECT_EQ(Names(JudgeTrace(t, {true, true})), Names_{"no_route"});
  t.outcome = Outcome::kRefused;
  t.stop = StopKind::kPeerNoListener;
  EXPECT_EQ(Names(JudgeTrace(t, {true, true})), Names_{"no_listener"});
}

TEST(CausesTest, NotDnatedAndNotServedBlamesTheMissingDnat) {
  TraceResult t;
  t.outcome = Outcome::kRefused;
  t.local = true;
  t.stop = StopKind::kNoListener;
  EXPECT_EQ(Names(JudgeTrace(t, {true, false})), Names_{"docker_chain_missing"});
  EXPECT_EQ(Names(JudgeTrace(t, {true, true})), Names_{"dnat_rule_missing"});
  EXPECT_EQ(Names(JudgeTrace(t, {false, true})), Names_{"no_listener"})
      << "a port Docker never DNATs (API only) is the host's to serve";

  // The classic wipe: firewalld started after dockerd, the zone rejects.
  TraceResult w = StoppedBy("x_tables", "ip", "filter", "IN_public");
  w.outcome = Outcome::kUnreachable;
  w.dnat = false;
  w.local = true;
  const PathVerdict v = JudgeTrace(w, {true, false});
  EXPECT_EQ(Names(v), (Names_{"docker_chain_missing", "firewalld_port_closed"}));
  EXPECT_EQ(v.place, "no DNAT for the port; x_tables filter IN_public: rule #4 rejects");
}

TEST(CausesTest, OutcomesThatAreNotBlocked) {
  TraceResult t;
  t.outcome = Outcome::kConnected;
  EXPECT_EQ(JudgeTrace(t, {}).state, PathVerdict::State::kReachable);
  t.outcome = Outcome::kDelivered;
  EXPECT_EQ(JudgeTrace(t, {}).state, PathVerdict::State::kReachable);
  t.outcome = Outcome::kUnknown;
  t.reason = "nat redirect is not modelled";
  const PathVerdict v = JudgeTrace(t, {});
  EXPECT_EQ(v.state, PathVerdict::State::kUnknown);
  EXPECT_EQ(v.reason, "nat redirect is not modelled");
  EXPECT_TRUE(v.causes.empty());
}

TEST(CausesTest, Places) {
  TraceResult t = StoppedBy("nf_tables", "inet", "filter", "forward", true);
  EXPECT_EQ(RulePlace(t), "nf_tables inet filter forward: policy drop");
  t = StoppedBy("nf_tables", "ip", "docker-bridges", "filter-forward-in__docker0", false, 9);
  t.stopped_at->comment = "UNPUBLISHED PORT DROP";
  EXPECT_EQ(RulePlace(t),
            "nf_tables ip docker-bridges filter-forward-in__docker0: rule handle 9 drops "
            "(\"UNPUBLISHED PORT DROP\")");
}

TEST(CausesTest, CauseNamesAreTheContract) {
  const char* names[] = {"ip_forward_disabled",
                         "rp_filter",
                         "no_route",
                         "raw_drop",
                         "firewalld_port_closed",
                         "docker_user_drop",
                         "docker_rule_drop",
                         "forward_policy_drop",
                         "foreign_rule_drop",
                         "docker_chain_missing",
                         "dnat_rule_missing",
                         "no_listener"};
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(BlockCauseName(static_cast<BlockCause>(i)), names[i]);
  }
}

}  // namespace
}  // namespace portmap
