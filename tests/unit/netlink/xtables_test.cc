// The x_tables blob decoder on tables recorded from the lab with
// iptables-legacy 1.8.9 (tests/fixtures/xtables/README.md says how).
#include "netlink/xtables.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace portmap {
namespace {

XtTableBlob LoadBlob(const std::string& name) {
  std::ifstream in(std::string(PORTMAP_FIXTURES) + "/xtables/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  XtTableBlob blob;
  NetlinkStatus st = XtTableBlobFromText(text.str(), &blob);
  EXPECT_TRUE(st.ok()) << name << ": " << st.message;
  return blob;
}

std::vector<NfChain> Decode(const std::string& name) {
  std::vector<NfChain> chains;
  NetlinkStatus st = DecodeXtTable(LoadBlob(name), &chains);
  EXPECT_TRUE(st.ok()) << name << ": " << st.message;
  return chains;
}

const NfChain* Find(const std::vector<NfChain>& chains, const std::string& name) {
  for (const NfChain& c : chains) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST(XtablesTest, LabFilterChainsCountsAndPolicies) {
  std::vector<NfChain> chains = Decode("lab_filter.txt");
  // `iptables-legacy -S` in the lab: 6 + 1 + 2 + 2 + 1 rules.
  struct Want {
    const char* name;
    size_t rules;
  };
  for (Want w : {Want{"FORWARD", 6}, Want{"INPUT", 0}, Want{"OUTPUT", 0}, Want{"DOCKER", 1},
                 Want{"DOCKER-ISOLATION-STAGE-1", 2}, Want{"DOCKER-ISOLATION-STAGE-2", 2},
                 Want{"DOCKER-USER", 1}}) {
    const NfChain* c = Find(chains, w.name);
    ASSERT_NE(c, nullptr) << w.name;
    EXPECT_EQ(c->rules.size(), w.rules) << w.name;
    EXPECT_EQ(c->family, "ipv4");
    EXPECT_EQ(c->table, "filter");
  }
  const NfChain* forward = Find(chains, "FORWARD");
  EXPECT_TRUE(forward->base);
  ASSERT_TRUE(forward->policy_accept.has_value());
  EXPECT_FALSE(*forward->policy_accept);  // -P FORWARD DROP
  EXPECT_TRUE(*Find(chains, "INPUT")->policy_accept);
  EXPECT_FALSE(Find(chains, "DOCKER")->base);
  EXPECT_FALSE(Find(chains, "DOCKER")->policy_accept.has_value());

  EXPECT_EQ(forward->rules[0].jump, "DOCKER-USER");
  EXPECT_EQ(forward->rules[1].jump, "DOCKER-ISOLATION-STAGE-1");
  EXPECT_EQ(forward->rules[2].jump, "");  // ACCEPT
  EXPECT_EQ(forward->rules[3].jump, "DOCKER");
  EXPECT_EQ(Find(chains, "DOCKER-ISOLATION-STAGE-1")->rules[0].jump, "DOCKER-ISOLATION-STAGE-2");
  EXPECT_EQ(Find(chains, "DOCKER-USER")->rules[0].jump, "");  // -j RETURN, a verdict
}

TEST(XtablesTest, LabNatDnat) {
  std::vector<NfChain> chains = Decode("lab_nat.txt");
  const NfChain* docker = Find(chains, "DOCKER");
  ASSERT_NE(docker, nullptr);
  ASSERT_EQ(docker->rules.size(), 2u);
  EXPECT_FALSE(docker->rules[0].dnat.has_value());
  ASSERT_TRUE(docker->rules[1].dnat.has_value());
  EXPECT_EQ(*docker->rules[1].dnat, (NfPortMapping{"tcp", "0.0.0.0", 5000, "203.0.113.2", 5000}));
  EXPECT_EQ(Find(chains, "PREROUTING")->rules.at(0).jump, "DOCKER");
  EXPECT_EQ(Find(chains, "OUTPUT")->rules.at(0).jump, "DOCKER");
  EXPECT_EQ(Find(chains, "POSTROUTING")->rules.size(), 2u);
}

TEST(XtablesTest, LabNatDnatWithHostAddressAndUdp) {
  std::vector<NfChain> chains = Decode("lab_nat_variants.txt");
  const NfChain* docker = Find(chains, "DOCKER");
  ASSERT_NE(docker, nullptr);
  ASSERT_EQ(docker->rules.size(), 3u);
  ASSERT_TRUE(docker->rules[2].dnat.has_value());
  EXPECT_EQ(*docker->rules[2].dnat, (NfPortMapping{"udp", "127.0.0.1", 5353, "203.0.113.2", 53}));
}

TEST(XtablesTest, LabAfterFlushKeepsOnlyBaseChains) {
  std::vector<NfChain> chains = Decode("lab_filter_after_flush.txt");
  for (const NfChain& c : chains) {
    EXPECT_TRUE(c.base) << c.name;
    EXPECT_TRUE(c.rules.empty()) << c.name;
  }
  EXPECT_EQ(Find(chains, "DOCKER"), nullptr);
}

TEST(XtablesTest, TextRoundTrip) {
  XtTableBlob blob = LoadBlob("lab_nat.txt");
  XtTableBlob again;
  ASSERT_TRUE(XtTableBlobFromText(XtTableBlobToText(blob), &again).ok());
  EXPECT_EQ(again.entries, blob.entries);
  EXPECT_EQ(again.name, "nat");
}

TEST(XtablesTest, EveryTruncationIsAnErrorOrConsistent) {
  XtTableBlob blob = LoadBlob("lab_filter.txt");
  const std::vector<uint8_t> full = blob.entries;
  for (size_t len = 0; len < full.size(); len += 4) {
    blob.entries.assign(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    std::vector<NfChain> chains;
    (void)DecodeXtTable(blob, &chains);  // must not read out of bounds (ASan)
  }
}

TEST(XtablesTest, CorruptSizesAreErrors) {
  XtTableBlob blob = LoadBlob("lab_nat.txt");
  // ipt_entry.next_offset of the first entry (offset 90 in struct ipt_entry).
  blob.entries[90] = 0xff;
  blob.entries[91] = 0xff;
  std::vector<NfChain> chains;
  EXPECT_FALSE(DecodeXtTable(blob, &chains).ok());
  EXPECT_TRUE(chains.empty());
}

TEST(XtablesTest, LoadedTablesFromProcfs) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("xt_names_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "self/net");
  Paths paths;
  paths.procfs = dir.string();
  std::vector<std::string> tables;
  ASSERT_TRUE(XtLoadedTables(paths, &tables).ok());  // no file: nothing loaded
  EXPECT_TRUE(tables.empty());
  std::ofstream(dir / "self/net/ip_tables_names") << "filter\nnat\n";
  ASSERT_TRUE(XtLoadedTables(paths, &tables).ok());
  EXPECT_EQ(tables, (std::vector<std::string>{"filter", "nat"}));
  ASSERT_TRUE(XtLoadedIp6Tables(paths, &tables).ok());
  EXPECT_TRUE(tables.empty());
  std::ofstream(dir / "self/net/ip6_tables_names") << "filter\n";
  ASSERT_TRUE(XtLoadedIp6Tables(paths, &tables).ok());
  EXPECT_EQ(tables, (std::vector<std::string>{"filter"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace portmap
