// The trace command's packet from its flags, and its two formats.
#include "exporter/trace/trace_command.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <nlohmann/json.hpp>

#include "exporter/trace/trace_format.h"
#include "tests/unit/pathtrace/fakes.h"

namespace portmap {
namespace {

using pathtrace::Outcome;

TEST(TraceCommandTest, IifDefaultsToTheRouteBackToTheClient) {
  pathtrace::testing::FakeKernel kernel;
  TraceFlags f;
  f.from = "198.51.100.2";
  f.to = "198.51.100.1:5000";
  pathtrace::Packet pkt;
  std::string error;
  ASSERT_TRUE(BuildTracePacket(f, &kernel, &pkt, &error)) << error;
  EXPECT_EQ(pkt.iif.name, "eth0");
  EXPECT_EQ(pkt.dport, 5000);
  EXPECT_EQ(pkt.l4proto, 6);
  f.iif = "docker0";
  f.proto = "udp";
  ASSERT_TRUE(BuildTracePacket(f, &kernel, &pkt, &error)) << error;
  EXPECT_EQ(pkt.iif.index, 3U);
  EXPECT_EQ(pkt.l4proto, 17);
}

TEST(TraceCommandTest, BadFlagsNameTheProblem) {
  pathtrace::testing::FakeKernel kernel;
  pathtrace::Packet pkt;
  std::string error;
  TraceFlags f;
  f.from = "198.51.100.2";
  for (const char* to : {"198.51.100.1", "198.51.100.1:0", "198.51.100.1:70000", "host:80",
                         "[2001:db8::1]:80", "2001:db8::1:80"}) {
    f.to = to;
    EXPECT_FALSE(BuildTracePacket(f, &kernel, &pkt, &error)) << to;
    EXPECT_FALSE(error.empty());
  }
  f.to = "198.51.100.1:80";
  f.iif = "nosuch0";
  EXPECT_FALSE(BuildTracePacket(f, &kernel, &pkt, &error));
  EXPECT_NE(error.find("nosuch0"), std::string::npos);
  f.iif.clear();
  kernel.local_addrs = {*pathtrace::ParseAddr("198.51.100.2")};
  EXPECT_FALSE(BuildTracePacket(f, &kernel, &pkt, &error));
  EXPECT_NE(error.find("own address"), std::string::npos);
}

TEST(TraceCommandTest, JsonCarriesOutcomeAndStoppedAt) {
  pathtrace::Packet pkt;
  pkt.saddr = *pathtrace::ParseAddr("198.51.100.2");
  pkt.daddr = *pathtrace::ParseAddr("198.51.100.1");
  pkt.dport = 5000;
  pathtrace::TraceResult r;
  r.outcome = Outcome::kTimeout;
  r.reason = "dropped in forward by inet filter forward policy";
  r.client_errno = "ETIMEDOUT";
  r.stopped_at =
      pathtrace::RuleRef{"nf_tables", "inet", "filter", "forward", 0, true, "policy drop", ""};
  r.steps.push_back({"forward", 0, "policy", r.stopped_at, "drop"});
  const auto j = nlohmann::json::parse(FormatTraceJson(pkt, r));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["outcome"], "timeout");
  EXPECT_EQ(j["errno"], "ETIMEDOUT");
  EXPECT_EQ(j["stopped_at"]["chain"], "forward");
  EXPECT_EQ(j["stopped_at"]["policy"], true);
  EXPECT_EQ(j["packet"]["dport"], 5000);
  EXPECT_EQ(j["steps"].size(), 1U);
  EXPECT_EQ(TraceExitStatus(r), 1);
  const std::string text = FormatTraceText(pkt, r);
  EXPECT_NE(text.find("outcome: timeout"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped at: inet filter forward policy"), std::string::npos) << text;
  r.outcome = Outcome::kConnected;
  r.stopped_at.reset();
  EXPECT_TRUE(nlohmann::json::parse(FormatTraceJson(pkt, r))["stopped_at"].is_null());
  EXPECT_EQ(TraceExitStatus(r), 0);
  r.outcome = Outcome::kUnknown;
  EXPECT_EQ(TraceExitStatus(r), 2);
}

}  // namespace
}  // namespace portmap
