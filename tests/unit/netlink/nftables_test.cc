// The nf_tables decoders on messages recorded from the lab (iptables-nft
// 1.8.9; tests/fixtures/nftables/README.md says how), plus hand-built
// messages for the encodings older iptables-nft versions write.
#include "netlink/nftables.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <array>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace portmap {
namespace {

using Bytes = std::vector<uint8_t>;

// One message per line, as hex; '#' starts a comment line.
std::vector<Bytes> LoadHex(const std::string& name) {
  std::ifstream in(std::string(PORTMAP_FIXTURES) + "/nftables/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<Bytes> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Bytes d;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      d.push_back(static_cast<uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    out.push_back(std::move(d));
  }
  return out;
}

NftMessages DecodeFixture(const std::string& name) {
  NftMessages msgs;
  for (const Bytes& d : LoadHex(name)) {
    NetlinkStatus st = DecodeNftBuffer(d.data(), d.size(), &msgs);
    EXPECT_TRUE(st.ok()) << name << ": " << st.message;
  }
  return msgs;
}

std::vector<const NftRuleInfo*> RulesOf(const NftMessages& m, uint8_t family,
                                        const std::string& table, const std::string& chain) {
  std::vector<const NftRuleInfo*> out;
  for (const NftRuleInfo& r : m.rules) {
    if (r.family == family && r.table == table && r.chain == chain) out.push_back(&r);
  }
  return out;
}

TEST(NftablesTest, LabRulesetChainsAndRuleCounts) {
  NftMessages m = DecodeFixture("lab_docker_ipt189.hex");
  ASSERT_EQ(m.gens.size(), 2u);  // GETGEN before and after the read
  EXPECT_EQ(m.gens[0].id, m.gens[1].id);
  EXPECT_TRUE(NftReadConsistent(m.gens[0].id, m.gens[1].id, m.generations));

  bool nat = false, filter = false;
  for (const NftTable& t : m.tables) {
    nat |= t.family == NFPROTO_IPV4 && t.name == "nat";
    filter |= t.family == NFPROTO_IPV4 && t.name == "filter";
  }
  EXPECT_TRUE(nat && filter);

  const NftChainInfo* forward = nullptr;
  const NftChainInfo* docker_user = nullptr;
  for (const NftChainInfo& c : m.chains) {
    if (c.table == "filter" && c.name == "FORWARD") forward = &c;
    if (c.table == "filter" && c.name == "DOCKER-USER") docker_user = &c;
  }
  ASSERT_NE(forward, nullptr);
  ASSERT_TRUE(forward->hook.has_value());
  EXPECT_EQ(*forward->hook, static_cast<uint32_t>(NF_INET_FORWARD));
  ASSERT_TRUE(forward->policy.has_value());
  EXPECT_EQ(*forward->policy, static_cast<uint32_t>(NF_DROP));  // the lab's -P FORWARD DROP
  ASSERT_NE(docker_user, nullptr);
  EXPECT_FALSE(docker_user->hook.has_value());

  // The counts `iptables-nft -S` shows for the lab.
  EXPECT_EQ(RulesOf(m, NFPROTO_IPV4, "nat", "DOCKER").size(), 2u);
  EXPECT_EQ(RulesOf(m, NFPROTO_IPV4, "nat", "PREROUTING").size(), 1u);
  EXPECT_EQ(RulesOf(m, NFPROTO_IPV4, "filter", "FORWARD").size(), 6u);
  EXPECT_EQ(RulesOf(m, NFPROTO_IPV4, "filter", "DOCKER").size(), 1u);
  EXPECT_EQ(RulesOf(m, NFPROTO_IPV4, "filter", "DOCKER-ISOLATION-STAGE-1").size(), 2u);
  EXPECT_EQ(RulesOf(m, NFPROTO_IPV4, "filter", "DOCKER-ISOLATION-STAGE-2").size(), 2u);
  EXPECT_EQ(RulesOf(m, NFPROTO_IPV4, "filter", "DOCKER-USER").size(), 1u);

  auto fwd = RulesOf(m, NFPROTO_IPV4, "filter", "FORWARD");
  EXPECT_EQ(fwd[0]->rule.jump, "DOCKER-USER");
  EXPECT_EQ(fwd[1]->rule.jump, "DOCKER-ISOLATION-STAGE-1");
  EXPECT_EQ(fwd[2]->rule.jump, "");  // -j ACCEPT is a verdict, not a jump
  EXPECT_EQ(fwd[3]->rule.jump, "DOCKER");
}

TEST(NftablesTest, LabDnatNativeEncodingAndXtTargetRev2) {
  NftMessages m = DecodeFixture("lab_docker_ipt189.hex");
  auto docker = RulesOf(m, NFPROTO_IPV4, "nat", "DOCKER");
  ASSERT_EQ(docker.size(), 2u);
  EXPECT_FALSE(docker[0]->rule.dnat.has_value());  // -i docker0 -j RETURN
  ASSERT_TRUE(docker[1]->rule.dnat.has_value());
  const NfPortMapping want{"tcp", "0.0.0.0", 5000, "203.0.113.2", 5000};
  EXPECT_EQ(*docker[1]->rule.dnat, want);
}

TEST(NftablesTest, LabDnatWithHostAddressUdpAndIpv6) {
  NftMessages m = DecodeFixture("lab_dnat_variants.hex");
  auto v4 = RulesOf(m, NFPROTO_IPV4, "nat", "DOCKER");
  ASSERT_EQ(v4.size(), 3u);
  ASSERT_TRUE(v4[2]->rule.dnat.has_value());
  EXPECT_EQ(*v4[2]->rule.dnat, (NfPortMapping{"udp", "127.0.0.1", 5353, "203.0.113.2", 53}));
  auto v6 = RulesOf(m, NFPROTO_IPV6, "nat", "DOCKER");
  ASSERT_EQ(v6.size(), 1u);
  ASSERT_TRUE(v6[0]->rule.dnat.has_value());
  EXPECT_EQ(*v6[0]->rule.dnat, (NfPortMapping{"tcp", "::", 8080, "2001:db8::2", 80}));
}

TEST(NftablesTest, LabAfterFlushHasNoDockerChains) {
  NftMessages m = DecodeFixture("lab_after_flush.hex");
  for (const NftChainInfo& c : m.chains) EXPECT_EQ(c.name.rfind("DOCKER", 0), std::string::npos);
  EXPECT_TRUE(m.rules.empty());
}

TEST(NftablesTest, GenerationCheck) {
  EXPECT_TRUE(NftReadConsistent(0x10005, 0x10005, {5, 5, 5}));
  EXPECT_TRUE(NftReadConsistent(7, 7, {}));
  EXPECT_FALSE(NftReadConsistent(0x10005, 0x10006, {5}));     // a commit after the dumps
  EXPECT_FALSE(NftReadConsistent(0x10005, 0x10005, {5, 6}));  // one dump saw the next
}

// --- Hand-built messages: the encodings older iptables-nft writes ----------

class RuleBuilder {
 public:
  RuleBuilder(uint8_t family, const char* table, const char* chain) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(nfgenmsg)));
    nfg->nfgen_family = family;
    mnl_attr_put_strz(nlh_, NFTA_RULE_TABLE, table);
    mnl_attr_put_strz(nlh_, NFTA_RULE_CHAIN, chain);
    exprs_ = mnl_attr_nest_start(nlh_, NFTA_RULE_EXPRESSIONS);
  }
  nlattr* Begin(const char* name) {
    elem_ = mnl_attr_nest_start(nlh_, NFTA_LIST_ELEM);
    mnl_attr_put_strz(nlh_, NFTA_EXPR_NAME, name);
    return mnl_attr_nest_start(nlh_, NFTA_EXPR_DATA);
  }
  void End(nlattr* data) {
    mnl_attr_nest_end(nlh_, data);
    mnl_attr_nest_end(nlh_, elem_);
  }
  void U32(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh_, type, htonl(v)); }
  void Meta(uint32_t key, uint32_t dreg) {
    nlattr* d = Begin("meta");
    U32(NFTA_META_KEY, key);
    U32(NFTA_META_DREG, dreg);
    End(d);
  }
  void Cmp(uint32_t op, const void* data, size_t len) {
    nlattr* d = Begin("cmp");
    U32(NFTA_CMP_SREG, NFT_REG_1);
    U32(NFTA_CMP_OP, op);
    nlattr* v = mnl_attr_nest_start(nlh_, NFTA_CMP_DATA);
    mnl_attr_put(nlh_, NFTA_DATA_VALUE, len, data);
    mnl_attr_nest_end(nlh_, v);
    End(d);
  }
  void Xt(const char* kind, uint16_t name_attr, uint16_t rev_attr, uint16_t info_attr,
          const char* name, uint32_t rev, const void* info, size_t len) {
    nlattr* d = Begin(kind);
    mnl_attr_put_strz(nlh_, name_attr, name);
    U32(rev_attr, rev);
    mnl_attr_put(nlh_, info_attr, len, info);
    End(d);
  }
  const nlmsghdr* Finish() {
    mnl_attr_nest_end(nlh_, exprs_);
    return nlh_;
  }

 private:
  alignas(4) std::array<char, 4096> buf_{};
  nlmsghdr* nlh_;
  nlattr* exprs_;
  nlattr* elem_ = nullptr;
};

TEST(NftablesTest, XtTcpMatchAndDnatRev0) {
  // ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80,
  // as iptables-nft wrote it before the native translation of -m tcp.
  RuleBuilder b(NFPROTO_IPV4, "nat", "DOCKER");
  b.Meta(NFT_META_IIFNAME, NFT_REG_1);
  const char ifname[16] = "docker0";
  b.Cmp(NFT_CMP_NEQ, ifname, 8);
  b.Meta(NFT_META_L4PROTO, NFT_REG_1);
  const uint8_t tcp = IPPROTO_TCP;
  b.Cmp(NFT_CMP_EQ, &tcp, 1);
  xt_tcp m{};
  m.spts[1] = 0xffff;
  m.dpts[0] = m.dpts[1] = 8080;
  b.Xt("match", NFTA_MATCH_NAME, NFTA_MATCH_REV, NFTA_MATCH_INFO, "tcp", 0, &m, sizeof m);
  nf_nat_ipv4_multi_range_compat t{};
  t.rangesize = 1;
  t.range[0].flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
  inet_pton(AF_INET, "10.0.0.2", &t.range[0].min_ip);
  t.range[0].max_ip = t.range[0].min_ip;
  t.range[0].min.all = t.range[0].max.all = htons(80);
  b.Xt("target", NFTA_TARGET_NAME, NFTA_TARGET_REV, NFTA_TARGET_INFO, "DNAT", 0, &t, sizeof t);
  const nlmsghdr* nlh = b.Finish();

  NftMessages msgs;
  ASSERT_EQ(DecodeNftMessage(nlh, &msgs), MNL_CB_OK);
  ASSERT_EQ(msgs.rules.size(), 1u);
  ASSERT_TRUE(msgs.rules[0].rule.dnat.has_value());
  EXPECT_EQ(*msgs.rules[0].rule.dnat, (NfPortMapping{"tcp", "0.0.0.0", 8080, "10.0.0.2", 80}));
}

TEST(NftablesTest, InvertedPortIsNotAPublishedPort) {
  RuleBuilder b(NFPROTO_IPV4, "nat", "DOCKER");
  xt_udp m{};
  m.dpts[0] = m.dpts[1] = 53;
  m.invflags = XT_UDP_INV_DSTPT;
  b.Xt("match", NFTA_MATCH_NAME, NFTA_MATCH_REV, NFTA_MATCH_INFO, "udp", 0, &m, sizeof m);
  nf_nat_range2 t{};
  t.flags = NF_NAT_RANGE_MAP_IPS;
  inet_pton(AF_INET, "10.0.0.3", &t.min_addr.in);
  b.Xt("target", NFTA_TARGET_NAME, NFTA_TARGET_REV, NFTA_TARGET_INFO, "DNAT", 2, &t, sizeof t);
  NftMessages msgs;
  ASSERT_EQ(DecodeNftMessage(b.Finish(), &msgs), MNL_CB_OK);
  ASSERT_TRUE(msgs.rules[0].rule.dnat.has_value());
  EXPECT_EQ(msgs.rules[0].rule.dnat->host_port, 0);
  EXPECT_EQ(msgs.rules[0].rule.dnat->proto, "udp");
  EXPECT_EQ(msgs.rules[0].rule.dnat->container_ip, "10.0.0.3");
}

TEST(NftablesTest, ShortDnatPayloadIsNoMappingNotACrash) {
  RuleBuilder b(NFPROTO_IPV4, "nat", "DOCKER");
  const uint8_t junk[3] = {1, 2, 3};
  b.Xt("target", NFTA_TARGET_NAME, NFTA_TARGET_REV, NFTA_TARGET_INFO, "DNAT", 2, junk, 3);
  NftMessages msgs;
  ASSERT_EQ(DecodeNftMessage(b.Finish(), &msgs), MNL_CB_OK);
  ASSERT_EQ(msgs.rules.size(), 1u);
  EXPECT_FALSE(msgs.rules[0].rule.dnat.has_value());
}

TEST(NftablesTest, WrongAttributeTypeIsAnError) {
  alignas(4) std::array<char, 512> buf{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN;
  mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg));
  mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, "filter");
  mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, "FORWARD");
  mnl_attr_put_u16(nlh, NFTA_CHAIN_POLICY, 1);  // a u32 attribute of 2 bytes
  NftMessages msgs;
  EXPECT_EQ(DecodeNftMessage(nlh, &msgs), MNL_CB_ERROR);
  EXPECT_TRUE(msgs.chains.empty());
}

TEST(NftablesTest, EveryTruncationOfEveryRecordedMessageIsSafe) {
  for (const char* name :
       {"lab_docker_ipt189.hex", "lab_dnat_variants.hex", "events_nat_docker_flush_rules.hex"}) {
    for (const Bytes& d : LoadHex(name)) {
      for (size_t len = 0; len < d.size(); ++len) {
        Bytes cut(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(len));
        if (cut.size() >= 4) {  // keep nlmsg_len honest, so the attributes get cut
          const uint32_t l = static_cast<uint32_t>(cut.size());
          std::memcpy(cut.data(), &l, 4);
        }
        NftMessages msgs;
        (void)DecodeNftBuffer(cut.data(), cut.size(), &msgs);
      }
    }
  }
}

TEST(NftablesTest, FamilyNames) {
  EXPECT_EQ(NftFamilyName(NFPROTO_IPV4), "ipv4");
  EXPECT_EQ(NftFamilyName(NFPROTO_IPV6), "ipv6");
  EXPECT_EQ(NftFamilyName(NFPROTO_INET), "inet");
  EXPECT_EQ(NftFamilyWord(NFPROTO_IPV4), "ip");
  EXPECT_EQ(NftFamilyWord(NFPROTO_IPV6), "ip6");
  EXPECT_EQ(NftFamilyWord(NFPROTO_NETDEV), "netdev");
}

}  // namespace
}  // namespace portmap
