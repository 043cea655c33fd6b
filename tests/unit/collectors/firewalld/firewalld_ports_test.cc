// Does firewalld's zone let a published port in (collectors/firewalld/firewalld_ports.h),
// on plain settings values shaped like firewalld 1.3's stock zones, services
// and Docker's `docker` zone / `docker-forwarding` policy.
#include "collectors/firewalld/firewalld_ports.h"

#include <gtest/gtest.h>

namespace portmap {
namespace {

const PublishedPort kRegistry{"tcp", 5000};

// firewalld 1.3's public zone: target default, ssh and dhcpv6-client.
ZoneSettings Public() {
  ZoneSettings z;
  z.target = "default";
  z.services = {"ssh", "dhcpv6-client"};
  return z;
}

FirewalldView StockServices() {
  FirewalldView v;
  v.services["ssh"].ports = {{"22", "tcp"}};
  v.services["dhcpv6-client"].ports = {{"546", "udp"}};
  v.services["docker-registry"].ports = {{"5000", "tcp"}};
  v.services["registry-bundle"].includes = {"docker-registry"};
  return v;
}

TEST(PortStringCoversTest, SinglesRangesAndGarbage) {
  EXPECT_TRUE(PortStringCovers("5000", 5000));
  EXPECT_FALSE(PortStringCovers("5001", 5000));
  EXPECT_TRUE(PortStringCovers("4000-6000", 5000));
  EXPECT_TRUE(PortStringCovers("5000-5000", 5000));
  EXPECT_FALSE(PortStringCovers("5001-6000", 5000));
  EXPECT_FALSE(PortStringCovers("", 5000));
  EXPECT_FALSE(PortStringCovers("50a0", 5000));
  EXPECT_FALSE(PortStringCovers("70000", 5000));
  EXPECT_FALSE(PortStringCovers("-", 5000));
}

TEST(EvaluatePortTest, StockPublicZoneDoesNotAllowIt) {
  const PortVerdict v = EvaluatePort(kRegistry, "public", Public(), StockServices());
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.by, "");
  EXPECT_FALSE(v.approximate);
}

TEST(EvaluatePortTest, PortEntryAllowsItForItsProtocolOnly) {
  ZoneSettings z = Public();
  z.ports = {{"5000", "udp"}};
  EXPECT_FALSE(EvaluatePort(kRegistry, "public", z, StockServices()).allowed);
  z.ports.push_back({"4990-5010", "tcp"});
  const PortVerdict v = EvaluatePort(kRegistry, "public", z, StockServices());
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.by, "port");
}

TEST(EvaluatePortTest, ServiceAndIncludedService) {
  ZoneSettings z = Public();
  z.services.push_back("docker-registry");
  EXPECT_EQ(EvaluatePort(kRegistry, "public", z, StockServices()).by, "service:docker-registry");
  ZoneSettings bundle = Public();
  bundle.services.push_back("registry-bundle");
  EXPECT_EQ(EvaluatePort(kRegistry, "public", bundle, StockServices()).by,
            "service:registry-bundle");
  // A service firewalld did not describe (removed meanwhile) covers nothing.
  ZoneSettings unknown = Public();
  unknown.services.push_back("nonexistent");
  EXPECT_FALSE(EvaluatePort(kRegistry, "public", unknown, StockServices()).allowed);
}

TEST(EvaluatePortTest, IncludeCyclesEnd) {
  FirewalldView v;
  v.services["a"].includes = {"b"};
  v.services["b"].includes = {"a"};
  ZoneSettings z = Public();
  z.services = {"a"};
  EXPECT_FALSE(EvaluatePort(kRegistry, "public", z, v).allowed);
}

TEST(EvaluatePortTest, TargetsAndProtocols) {
  ZoneSettings trusted;
  trusted.target = "ACCEPT";  // trusted, and Docker's docker zone
  EXPECT_EQ(EvaluatePort(kRegistry, "docker", trusted, {}).by, "target");
  ZoneSettings drop;
  drop.target = "DROP";
  EXPECT_FALSE(EvaluatePort(kRegistry, "drop", drop, {}).allowed);
  drop.protocols = {"tcp"};
  EXPECT_EQ(EvaluatePort(kRegistry, "drop", drop, {}).by, "protocol");
}

TEST(EvaluatePortTest, DockerForwardingPolicy) {
  FirewalldView v = StockServices();
  PolicySettings p;
  p.target = "ACCEPT";
  p.ingress_zones = {"ANY"};
  p.egress_zones = {"docker"};
  v.policies["docker-forwarding"] = p;
  EXPECT_EQ(EvaluatePort(kRegistry, "public", Public(), v).by, "policy:docker-forwarding");
  // A policy from another zone, or to another egress zone, does not apply.
  v.policies["docker-forwarding"].ingress_zones = {"internal"};
  EXPECT_FALSE(EvaluatePort(kRegistry, "public", Public(), v).allowed);
  v.policies["docker-forwarding"].ingress_zones = {"public"};
  v.policies["docker-forwarding"].egress_zones = {"dmz"};
  EXPECT_FALSE(EvaluatePort(kRegistry, "public", Public(), v).allowed);
  // CONTINUE with a port entry.
  PolicySettings cont;
  cont.target = "CONTINUE";
  cont.ingress_zones = {"public"};
  cont.egress_zones = {"HOST"};
  cont.ports = {{"5000", "tcp"}};
  v.policies["to-host"] = cont;
  EXPECT_EQ(EvaluatePort(kRegistry, "public", Public(), v).by, "policy:to-host");
}

TEST(RichRuleTest, WhatMayConcernThePort) {
  EXPECT_FALSE(RichRuleMayMatch(
      "rule family=\"ipv6\" icmp-type name=\"neighbour-advertisement\" accept", kRegistry));
  EXPECT_TRUE(RichRuleMayMatch(
      "rule family=\"ipv4\" source address=\"192.0.2.0/24\" port port=\"5000\" protocol=\"tcp\" "
      "reject",
      kRegistry));
  EXPECT_FALSE(
      RichRuleMayMatch("rule family=\"ipv4\" port port=\"22\" protocol=\"tcp\" accept", kRegistry));
  EXPECT_TRUE(RichRuleMayMatch("rule port port=\"4000-6000\" protocol=\"tcp\" accept", kRegistry));
  EXPECT_TRUE(
      RichRuleMayMatch("rule family=\"ipv4\" source address=\"192.0.2.1\" drop", kRegistry));
  EXPECT_TRUE(RichRuleMayMatch("rule service name=\"docker-registry\" accept", kRegistry));
  EXPECT_FALSE(RichRuleMayMatch("rule protocol value=\"udp\" accept", kRegistry));
  EXPECT_TRUE(RichRuleMayMatch("rule protocol value=\"tcp\" accept", kRegistry));
  EXPECT_FALSE(RichRuleMayMatch("rule family=\"ipv4\" masquerade", kRegistry));
}

TEST(EvaluatePortTest, RichRulesAndForwardPortsMakeItApproximate) {
  ZoneSettings z = Public();
  z.rich_rules = {
      "rule family=\"ipv4\" source address=\"192.0.2.1\" port port=\"5000\" "
      "protocol=\"tcp\" accept"};
  PortVerdict v = EvaluatePort(kRegistry, "public", z, StockServices());
  EXPECT_FALSE(v.allowed);  // not guessed: the rule is for one source only
  EXPECT_TRUE(v.approximate);

  ZoneSettings fwd = Public();
  fwd.ports = {{"5000", "tcp"}};
  fwd.forward_ports = {{"5000", "tcp", "8080", ""}};
  v = EvaluatePort(kRegistry, "public", fwd, StockServices());
  EXPECT_TRUE(v.allowed);
  EXPECT_TRUE(v.approximate);
  fwd.forward_ports = {{"22", "tcp", "2222", ""}};
  EXPECT_FALSE(EvaluatePort(kRegistry, "public", fwd, StockServices()).approximate);
}

TEST(FromSettingsTest, KeysAsFirewalldNamesThem) {
  dbus::Settings zone;
  zone.strings["target"] = "ACCEPT";
  zone.lists["services"] = {"ssh"};
  zone.pairs["ports"] = {{"5000", "tcp"}};
  zone.lists["rules_str"] = {"rule drop"};  // zones say rules_str ...
  zone.quads["forward_ports"] = {{"80", "tcp", "8080", ""}};
  const ZoneSettings z = ZoneFromSettings(zone);
  EXPECT_EQ(z.target, "ACCEPT");
  EXPECT_EQ(z.services.size(), 1u);
  EXPECT_EQ(z.ports.size(), 1u);
  EXPECT_EQ(z.rich_rules.size(), 1u);
  EXPECT_EQ(z.forward_ports.size(), 1u);

  dbus::Settings policy;
  policy.lists["rich_rules"] = {"rule drop"};  // ... policies say rich_rules
  policy.lists["ingress_zones"] = {"ANY"};
  policy.lists["egress_zones"] = {"docker"};
  const PolicySettings p = PolicyFromSettings(policy);
  EXPECT_EQ(p.rich_rules.size(), 1u);
  EXPECT_EQ(p.ingress_zones, std::vector<std::string>{"ANY"});

  dbus::Settings svc;
  svc.pairs["ports"] = {{"5000", "tcp"}};
  svc.lists["includes"] = {"other"};
  EXPECT_EQ(ServiceFromSettings(svc).includes, std::vector<std::string>{"other"});

  const ZoneSettings referencing = Public();
  FirewalldView view;
  view.policies["p"].services = {"http"};
  EXPECT_EQ(ReferencedServices(referencing, view),
            (std::vector<std::string>{"dhcpv6-client", "http", "ssh"}));
}

}  // namespace
}  // namespace portmap
