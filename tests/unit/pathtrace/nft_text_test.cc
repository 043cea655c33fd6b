// NftRuleText against the oracle: for every rule and set of every recorded
// ruleset (tests/fixtures/pathtrace/), the text must be what
// `nft --debug=netlink list ruleset` printed for the same kernel state
// (NAME.netlink.txt beside NAME.hex).  Passive and unknown expressions, whose
// model keeps only a name, must print that name; a payload write prints
// nft's text without the checksum fields.
#include "pathtrace/nft_text.h"

#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "pathtrace/nft_snapshot.h"

namespace portmap::pathtrace {
namespace {

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(PORTMAP_FIXTURES) + "/pathtrace/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

uint8_t FamilyOf(const std::string& word) {
  if (word == "ip") return NFPROTO_IPV4;
  if (word == "ip6") return NFPROTO_IPV6;
  if (word == "inet") return NFPROTO_INET;
  ADD_FAILURE() << "family " << word;
  return 0;
}

using RuleKey = std::tuple<uint8_t, std::string, std::string, uint64_t>;
using SetKey = std::tuple<uint8_t, std::string, std::string>;

// What nft --debug=netlink printed: each rule's expression lines, each set's
// element lines, before the ruleset listing that follows them.
struct NftDebug {
  std::map<RuleKey, std::vector<std::string>> rules;
  std::map<SetKey, std::vector<std::string>> elems;
};

NftDebug ParseDebug(const std::string& text) {
  NftDebug out;
  std::istringstream lines(text);
  std::string line;
  std::vector<std::string>* current = nullptr;
  while (std::getline(lines, line)) {
    if (line.rfind("table ", 0) == 0 || line.rfind("# Warning", 0) == 0) break;
    if (line.rfind("  [ ", 0) == 0 || line.rfind("\telement ", 0) == 0) {
      if (current != nullptr) current->push_back(line.substr(line[0] == '\t' ? 1 : 2));
      continue;
    }
    if (line.empty() || line[0] == ' ' || line[0] == '\t') continue;  // userdata, blank
    std::istringstream words(line);
    std::string family, table, name;
    words >> family >> table >> name;
    if (name.rfind('@', 0) == 0) {
      current = &out.elems[SetKey{FamilyOf(family), table, name.substr(1)}];
    } else {
      uint64_t handle = 0;
      words >> handle;
      current = &out.rules[RuleKey{FamilyOf(family), table, name, handle}];
    }
  }
  return out;
}

std::string Hex8(const Bytes& b) {
  std::string out;
  for (size_t i = 0; i < b.size(); i += 4) {
    uint32_t w = 0;
    std::memcpy(&w, b.data() + i, std::min<size_t>(4, b.size() - i));
    char buf[16];
    (void)std::snprintf(buf, sizeof buf, "%.8x ", w);
    out += buf;
  }
  return out;
}

// libnftnl's nftnl_set_elem_snprintf_default on the model.
std::string ElemText(const NftSetElem& e) {
  std::string out = "element " + Hex8(e.key);
  if (!e.key_end.empty()) out += " - " + Hex8(e.key_end);
  out += " : ";
  if (e.data.verdict.has_value()) {
    const NftVerdict& v = *e.data.verdict;
    out += NftVerdictString(v).substr(0, NftVerdictString(v).find(' ')) + " ";
    if (!v.chain.empty()) out += "-> " + v.chain + " ";
  } else {
    out += Hex8(e.data.value);
  }
  return out + std::to_string(e.flags) + " [end]";
}

class NftTextFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NftTextFixtureTest, RulesReadAsNftDebugPrintsThem) {
  NftSnapshot snap;
  ASSERT_TRUE(snap.AddHex(ReadFixture(GetParam() + ".hex")).ok());
  const NftDebug want = ParseDebug(ReadFixture(GetParam() + ".netlink.txt"));
  ASSERT_FALSE(want.rules.empty());
  size_t rules = 0;
  for (const NftChainModel* c : snap.Chains()) rules += c->rules.size();
  EXPECT_EQ(rules, want.rules.size());
  for (const auto& [key, lines] : want.rules) {
    const auto& [family, table, chain, handle] = key;
    SCOPED_TRACE(::testing::Message() << table << " " << chain << " handle " << handle);
    const NftChainModel* c = snap.FindChain(family, table, chain);
    ASSERT_NE(c, nullptr);
    const NftRuleModel* rule = nullptr;
    for (const NftRuleModel& r : c->rules) {
      if (r.handle == handle) rule = &r;
    }
    ASSERT_NE(rule, nullptr);
    ASSERT_EQ(rule->exprs.size(), lines.size());
    std::string joined;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string mine = NftExprText(rule->exprs[i]);
      if (std::holds_alternative<PassiveExpr>(rule->exprs[i]) ||
          std::holds_alternative<UnknownExpr>(rule->exprs[i])) {
        // "[ limit over ]" is kept from "[ limit rate 10/second ... flags 0x1 ]".
        const std::string name = mine.substr(2, mine.find(' ', 2) - 2);
        EXPECT_EQ(lines[i].rfind("[ " + name + " ", 0), 0U) << lines[i] << " vs " << mine;
      } else if (const auto* p = std::get_if<PayloadExpr>(&rule->exprs[i]); p && p->sreg) {
        EXPECT_EQ(lines[i].rfind(mine.substr(0, mine.size() - 1) + "csum_type ", 0), 0U)
            << lines[i] << " vs " << mine;
      } else {
        EXPECT_EQ(mine, lines[i]);
      }
      joined += (i == 0 ? "" : " ") + mine;
    }
    EXPECT_EQ(NftRuleText(*rule), joined);
  }
}

TEST_P(NftTextFixtureTest, SetElementsAreWhatNftDebugPrints) {
  NftSnapshot snap;
  ASSERT_TRUE(snap.AddHex(ReadFixture(GetParam() + ".hex")).ok());
  const NftDebug want = ParseDebug(ReadFixture(GetParam() + ".netlink.txt"));
  EXPECT_EQ(snap.Sets().size(), want.elems.size());
  for (const auto& [key, lines] : want.elems) {
    const auto& [family, table, name] = key;
    const NftSetModel* s = snap.FindSet(family, table, name, 0);
    ASSERT_NE(s, nullptr) << name;
    std::vector<std::string> mine;
    for (const NftSetElem& e : s->elems) mine.push_back(ElemText(e));
    EXPECT_EQ(mine, lines) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Recorded, NftTextFixtureTest,
                         ::testing::Values("docker_bridges", "firewalld_inet", "inet_filter",
                                           "iptables_nft"));

TEST(NftTextTest, KnownRulesReadExactly) {
  NftSnapshot snap;
  ASSERT_TRUE(snap.AddHex(ReadFixture("docker_bridges.hex")).ok());
  const NftChainModel* c =
      snap.FindChain(NFPROTO_IPV4, "docker-bridges", "filter-forward-in__bridge1");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->rules.size(), 4U);
  EXPECT_EQ(NftRuleText(c->rules[2]),
            "[ payload load 4b @ network header + 16 => reg 1 ] [ cmp eq reg 1 0x020200c0 ] "
            "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
            "[ payload load 2b @ transport header + 2 => reg 1 ] [ cmp eq reg 1 0x00005000 ] "
            "[ counter ] [ immediate reg 0 accept ]");
  EXPECT_EQ(NftRuleText(c->rules[3]), "[ counter ] [ immediate reg 0 drop ]");
  const NftChainModel* dnat =
      snap.FindChain(NFPROTO_IPV4, "docker-bridges", "nat-prerouting-and-output");
  ASSERT_NE(dnat, nullptr);
  ASSERT_EQ(dnat->rules.size(), 1U);
  EXPECT_EQ(NftRuleText(dnat->rules[0]),
            "[ meta load iifname => reg 1 ] "
            "[ cmp neq reg 1 0x64697262 0x00316567 0x00000000 0x00000000 ] "
            "[ meta load l4proto => reg 1 ] [ cmp eq reg 1 0x00000006 ] "
            "[ payload load 2b @ transport header + 2 => reg 1 ] [ cmp eq reg 1 0x0000901f ] "
            "[ counter ] [ immediate reg 1 0x020200c0 ] [ immediate reg 2 0x00005000 ] "
            "[ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg 2 "
            "flags 0x3 ]");
  const NftChainModel* fwd = snap.FindChain(NFPROTO_IPV4, "docker-bridges", "filter-FORWARD");
  ASSERT_NE(fwd, nullptr);
  EXPECT_EQ(NftRuleText(fwd->rules[0]),
            "[ meta load oifname => reg 1 ] "
            "[ lookup reg 1 set filter-forward-in-jumps dreg 0 0x0 ]");
}

TEST(NftTextTest, ChainHeaders) {
  NftChainModel c;
  c.family = NFPROTO_IPV4;
  EXPECT_EQ(NftChainText(c), "");  // not a base chain
  c.hook = NF_INET_FORWARD;
  c.type = "filter";
  c.policy = NF_DROP;
  EXPECT_EQ(NftChainText(c), "type filter hook forward priority 0; policy drop;");
  c.hook = NF_INET_PRE_ROUTING;
  c.type = "nat";
  c.priority = -100;
  c.policy = NF_ACCEPT;
  EXPECT_EQ(NftChainText(c), "type nat hook prerouting priority -100; policy accept;");
  c.family = NFPROTO_INET;
  c.hook = NF_INET_INGRESS;
  c.device = "eth0";
  c.type = "filter";
  EXPECT_EQ(NftChainText(c),
            "type filter hook ingress device \"eth0\" priority -100; policy accept;");
  c.device = "eth0,eth1";
  EXPECT_EQ(NftChainText(c),
            "type filter hook ingress devices = { eth0, eth1 } priority -100; policy accept;");
}

TEST(NftTextTest, ChainHeadersOfRecordedChains) {
  NftSnapshot snap;
  ASSERT_TRUE(snap.AddHex(ReadFixture("firewalld_inet.hex")).ok());
  const NftChainModel* c = snap.FindChain(NFPROTO_INET, "firewalld", "filter_INPUT");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(NftChainText(*c), "type filter hook input priority 10; policy accept;");
  c = snap.FindChain(NFPROTO_INET, "firewalld", "nat_PREROUTING");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(NftChainText(*c), "type nat hook prerouting priority -90; policy accept;");
}

TEST(NftTextTest, VerdictsAndUnmodelled) {
  EXPECT_EQ(NftExprText(ImmediateExpr{0, NftData{{}, NftVerdict{NFT_GOTO, "x"}}}),
            "[ immediate reg 0 goto -> x ]");
  EXPECT_EQ(NftExprText(ImmediateExpr{0, NftData{{}, NftVerdict{NFT_RETURN, ""}}}),
            "[ immediate reg 0 return ]");
  EXPECT_EQ(NftExprText(UnknownExpr{"numgen"}), "[ numgen ]");
  EXPECT_EQ(NftExprText(PassiveExpr{"counter", false}), "[ counter ]");
  EXPECT_EQ(NftExprText(NotrackExpr{}), "[ notrack ]");
  EXPECT_EQ(NftExprText(XtExpr{true, "DNAT", 2, {}}), "[ target name DNAT rev 2 ]");
  EXPECT_EQ(NftRuleText(NftRuleModel{}), "");
}

}  // namespace
}  // namespace portmap::pathtrace
