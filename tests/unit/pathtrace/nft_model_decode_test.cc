// The nf_tables model decoders and NftSnapshot on rulesets recorded from a
// real kernel (tests/fixtures/pathtrace/README.md says how), plus hand-built
// messages for what a recording cannot show: malformed input, expressions
// the fixtures lack.
#include "pathtrace/nft_model_decode.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
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

NftSnapshot Load(const std::string& name) {
  NftSnapshot snap;
  Status st = snap.AddHex(ReadFixture(name));
  EXPECT_TRUE(st.ok()) << st.message();
  return snap;
}

Bytes B(std::initializer_list<uint8_t> b) { return Bytes(b); }

Bytes Name16(const std::string& s) {  // an interface name as nft stores it
  Bytes b(16, 0);
  std::copy(s.begin(), s.end(), b.begin());
  return b;
}

const NftChainModel& MustChain(const NftSnapshot& snap, uint8_t family, const std::string& table,
                               const std::string& name) {
  const NftChainModel* c = snap.FindChain(family, table, name);
  EXPECT_NE(c, nullptr) << name;
  static const NftChainModel kNone;
  return c != nullptr ? *c : kNone;
}

TEST(NftModelDecodeTest, DockerBridgesBaseChains) {
  NftSnapshot snap = Load("docker_bridges.hex");
  EXPECT_EQ(snap.generation(), 33U);
  const NftChainModel& fwd = MustChain(snap, NFPROTO_IPV4, "docker-bridges", "filter-FORWARD");
  EXPECT_EQ(fwd.hook, NF_INET_FORWARD);
  EXPECT_EQ(fwd.priority, 0);
  EXPECT_EQ(fwd.policy, static_cast<uint32_t>(NF_ACCEPT));
  EXPECT_EQ(fwd.type, "filter");
  EXPECT_EQ(fwd.handle, 10U);
  const NftChainModel& raw = MustChain(snap, NFPROTO_IPV4, "docker-bridges", "raw-PREROUTING");
  EXPECT_EQ(raw.hook, NF_INET_PRE_ROUTING);
  EXPECT_EQ(raw.priority, -300);  // signed, network order on the wire
  const NftChainModel& post = MustChain(snap, NFPROTO_IPV4, "docker-bridges", "nat-POSTROUTING");
  EXPECT_EQ(post.type, "nat");
  EXPECT_EQ(post.priority, 100);
  EXPECT_FALSE(MustChain(snap, NFPROTO_IPV4, "docker-bridges", "nat-prerouting-and-output").base());
  const NftTableModel* t = snap.FindTable(NFPROTO_IPV4, "docker-bridges");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->dormant());
}

TEST(NftModelDecodeTest, DockerBridgesPublishedPortRule) {
  NftSnapshot snap = Load("docker_bridges.hex");
  const NftChainModel& c =
      MustChain(snap, NFPROTO_IPV4, "docker-bridges", "filter-forward-in__bridge1");
  ASSERT_EQ(c.rules.size(), 4U);
  EXPECT_EQ(c.rules[1].comment, "ICC");
  EXPECT_EQ(c.rules[3].comment, "UNPUBLISHED PORT DROP");
  const NftRuleModel& r = c.rules[2];
  EXPECT_EQ(r.handle, 27U);
  EXPECT_EQ(r.comment, "");
  ASSERT_EQ(r.exprs.size(), 8U);
  const auto& daddr = std::get<PayloadExpr>(r.exprs[0]);
  EXPECT_EQ(daddr.base, static_cast<uint32_t>(NFT_PAYLOAD_NETWORK_HEADER));
  EXPECT_EQ(daddr.offset, 16U);
  EXPECT_EQ(daddr.len, 4U);
  EXPECT_EQ(daddr.dreg, NFT_REG_1);
  EXPECT_FALSE(daddr.sreg.has_value());
  const auto& cmp = std::get<CmpExpr>(r.exprs[1]);
  EXPECT_EQ(cmp.sreg, static_cast<uint32_t>(NFT_REG_1));
  EXPECT_EQ(cmp.op, static_cast<uint32_t>(NFT_CMP_EQ));
  EXPECT_EQ(cmp.data, B({192, 0, 2, 2}));
  EXPECT_EQ(std::get<MetaExpr>(r.exprs[2]).key, static_cast<uint32_t>(NFT_META_L4PROTO));
  EXPECT_EQ(std::get<CmpExpr>(r.exprs[3]).data, B({6}));
  EXPECT_EQ(std::get<PayloadExpr>(r.exprs[4]).base,
            static_cast<uint32_t>(NFT_PAYLOAD_TRANSPORT_HEADER));
  EXPECT_EQ(std::get<CmpExpr>(r.exprs[5]).data, B({0, 80}));
  EXPECT_EQ(std::get<PassiveExpr>(r.exprs[6]).name, "counter");
  EXPECT_FALSE(std::get<PassiveExpr>(r.exprs[6]).approximate);
  const auto& imm = std::get<ImmediateExpr>(r.exprs[7]);
  EXPECT_EQ(imm.dreg, static_cast<uint32_t>(NFT_REG_VERDICT));
  ASSERT_TRUE(imm.data.verdict.has_value());
  EXPECT_EQ(imm.data.verdict->code, NF_ACCEPT);
}

TEST(NftModelDecodeTest, DockerBridgesDnatMasqFibAndVerdictMaps) {
  NftSnapshot snap = Load("docker_bridges.hex");
  const NftRuleModel& dnat =
      MustChain(snap, NFPROTO_IPV4, "docker-bridges", "nat-prerouting-and-output").rules.at(0);
  EXPECT_EQ(dnat.comment, "DNAT");
  EXPECT_EQ(std::get<ImmediateExpr>(dnat.exprs[7]).data.value, B({192, 0, 2, 2}));
  EXPECT_EQ(std::get<ImmediateExpr>(dnat.exprs[8]).dreg, static_cast<uint32_t>(NFT_REG_2));
  const auto& nat = std::get<NatExpr>(dnat.exprs[9]);
  EXPECT_EQ(nat.kind, NatExpr::Kind::kNat);
  EXPECT_EQ(nat.type, static_cast<uint32_t>(NFT_NAT_DNAT));
  EXPECT_EQ(nat.family, static_cast<uint32_t>(NFPROTO_IPV4));
  EXPECT_EQ(nat.reg_addr_min, NFT_REG_1);
  EXPECT_EQ(nat.reg_addr_max, NFT_REG_1);
  EXPECT_EQ(nat.reg_proto_min, NFT_REG_2);
  EXPECT_EQ(nat.reg_proto_max, NFT_REG_2);
  EXPECT_EQ(nat.flags, 3U);  // NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED

  const NftRuleModel& masq =
      MustChain(snap, NFPROTO_IPV4, "docker-bridges", "nat-postrouting-out__bridge1").rules.at(0);
  EXPECT_EQ(std::get<NatExpr>(masq.exprs.back()).kind, NatExpr::Kind::kMasq);
  EXPECT_EQ(masq.comment, "MASQUERADE");

  const NftRuleModel& pre =
      MustChain(snap, NFPROTO_IPV4, "docker-bridges", "nat-PREROUTING").rules.at(0);
  const auto& fib = std::get<FibExpr>(pre.exprs[0]);
  EXPECT_EQ(fib.result, static_cast<uint32_t>(NFT_FIB_RESULT_ADDRTYPE));
  EXPECT_EQ(fib.flags, static_cast<uint32_t>(NFTA_FIB_F_DADDR));
  EXPECT_EQ(fib.dreg, static_cast<uint32_t>(NFT_REG_1));
  const auto& jump = std::get<ImmediateExpr>(pre.exprs[3]).data.verdict;
  ASSERT_TRUE(jump.has_value());
  EXPECT_EQ(*jump, (NftVerdict{NFT_JUMP, "nat-prerouting-and-output"}));

  const NftRuleModel& vmap =
      MustChain(snap, NFPROTO_IPV4, "docker-bridges", "filter-FORWARD").rules.at(0);
  const auto& lookup = std::get<LookupExpr>(vmap.exprs[1]);
  EXPECT_EQ(lookup.set, "filter-forward-in-jumps");
  EXPECT_EQ(lookup.sreg, static_cast<uint32_t>(NFT_REG_1));
  EXPECT_EQ(lookup.dreg, NFT_REG_VERDICT);
  EXPECT_FALSE(lookup.invert);

  const NftSetModel* set = snap.FindSet(NFPROTO_IPV4, "docker-bridges", lookup.set, 0);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->flags, static_cast<uint32_t>(NFT_SET_MAP));
  EXPECT_EQ(set->key_len, 16U);
  EXPECT_EQ(set->data_type, static_cast<uint32_t>(NFT_DATA_VERDICT));
  ASSERT_EQ(set->elems.size(), 2U);
  EXPECT_EQ(set->elems[0].key, Name16("bridge1"));
  EXPECT_EQ(set->elems[0].data.verdict, (NftVerdict{NFT_JUMP, "filter-forward-in__bridge1"}));
  EXPECT_EQ(set->elems[1].key, Name16("docker0"));
  EXPECT_EQ(set->elems[1].flags, 0U);
}

TEST(NftModelDecodeTest, InetFilterSets) {
  NftSnapshot snap = Load("inet_filter.hex");
  const NftSetModel* v4 = snap.FindSet(NFPROTO_INET, "filter", "allowed_v4", 0);
  ASSERT_NE(v4, nullptr);
  EXPECT_EQ(v4->flags, static_cast<uint32_t>(NFT_SET_INTERVAL));
  // rbtree intervals, dumped from the highest: each range as its end
  // (NFT_SET_ELEM_INTERVAL_END) then its start; 0.0.0.0 ends the gap below.
  ASSERT_EQ(v4->elems.size(), 7U);
  EXPECT_EQ(v4->elems[0].key, B({198, 51, 100, 100}));
  EXPECT_EQ(v4->elems[0].flags, static_cast<uint32_t>(NFT_SET_ELEM_INTERVAL_END));
  EXPECT_EQ(v4->elems[1].key, B({198, 51, 100, 0}));
  EXPECT_EQ(v4->elems[1].flags, 0U);
  EXPECT_EQ(v4->elems[6].key, B({0, 0, 0, 0}));
  EXPECT_EQ(v4->elems[6].flags, static_cast<uint32_t>(NFT_SET_ELEM_INTERVAL_END));

  const NftSetModel* svc = snap.FindSet(NFPROTO_INET, "filter", "allowed_svc", 0);
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->flags, static_cast<uint32_t>(NFT_SET_INTERVAL | NFT_SET_CONCAT));
  EXPECT_EQ(svc->key_len, 12U);
  EXPECT_EQ(svc->field_len, (std::vector<uint8_t>{4, 1, 2}));
  ASSERT_EQ(svc->elems.size(), 2U);
  // Concatenated fields each padded to 4 bytes; a range's end in key_end.
  EXPECT_EQ(svc->elems[0].key, B({10, 1, 0, 0, 6, 0, 0, 0, 0x1f, 0x40, 0, 0}));
  EXPECT_EQ(svc->elems[0].key_end, B({10, 1, 255, 255, 6, 0, 0, 0, 0x1f, 0x90, 0, 0}));
  EXPECT_EQ(svc->elems[0].flags, 0U);

  const NftSetModel* map = snap.FindSet(NFPROTO_INET, "filter", "port_to_backend", 0);
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->data_len, 4U);
  ASSERT_EQ(map->elems.size(), 2U);
  EXPECT_EQ(map->elems[0].key, B({0, 80}));
  EXPECT_EQ(map->elems[0].data.value, B({10, 0, 0, 2}));
  EXPECT_FALSE(map->elems[0].data.verdict.has_value());

  const NftSetModel* vmap = snap.FindSet(NFPROTO_INET, "filter", "svc_vmap", 0);
  ASSERT_NE(vmap, nullptr);
  ASSERT_EQ(vmap->elems.size(), 3U);
  EXPECT_EQ(vmap->elems[0].data.verdict, (NftVerdict{NFT_JUMP, "ssh_alt"}));
  EXPECT_EQ(vmap->elems[2].data.verdict, (NftVerdict{NF_DROP, ""}));

  const NftSetModel* anon = snap.FindSet(NFPROTO_INET, "filter", "__map0", 0);
  ASSERT_NE(anon, nullptr);
  EXPECT_EQ(anon->flags, static_cast<uint32_t>(NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP));
  const NftSetModel* seen = snap.FindSet(NFPROTO_INET, "filter", "seen", 0);
  ASSERT_NE(seen, nullptr);
  EXPECT_TRUE(seen->elems.empty());
}

const NftRuleModel& RuleByHandle(const NftChainModel& c, uint64_t handle) {
  for (const NftRuleModel& r : c.rules) {
    if (r.handle == handle) return r;
  }
  ADD_FAILURE() << "no rule " << handle << " in " << c.name;
  static const NftRuleModel kNone;
  return kNone;
}

TEST(NftModelDecodeTest, InetFilterExpressions) {
  NftSnapshot snap = Load("inet_filter.hex");
  const NftChainModel& in = MustChain(snap, NFPROTO_INET, "filter", "input");
  EXPECT_EQ(in.policy, static_cast<uint32_t>(NF_DROP));
  EXPECT_TRUE(std::get<LookupExpr>(RuleByHandle(in, 23).exprs[3]).invert);  // != @allowed_v6
  const auto& bo = std::get<ByteorderExpr>(RuleByHandle(in, 24).exprs[4]);
  EXPECT_EQ(bo.sreg, static_cast<uint32_t>(NFT_REG32_01));
  EXPECT_EQ(bo.dreg, static_cast<uint32_t>(NFT_REG32_01));
  EXPECT_EQ(bo.op, static_cast<uint32_t>(NFT_BYTEORDER_HTON));
  EXPECT_EQ(bo.len, 1U);  // as nft 1.0.6 builds `meta l4proto` in a concatenation
  EXPECT_EQ(bo.size, 2U);
  const auto& range = std::get<RangeExpr>(RuleByHandle(in, 30).exprs[3]);
  EXPECT_EQ(range.op, static_cast<uint32_t>(NFT_RANGE_NEQ));
  EXPECT_EQ(range.from, B({0x03, 0xe8}));
  EXPECT_EQ(range.to, B({0x07, 0xd0}));
  EXPECT_TRUE(std::get<PassiveExpr>(RuleByHandle(in, 31).exprs[8]).approximate);  // dynset
  EXPECT_EQ(std::get<RejectExpr>(RuleByHandle(in, 32).exprs[5]).type,
            static_cast<uint32_t>(NFT_REJECT_ICMPX_UNREACH));
  EXPECT_EQ(std::get<RejectExpr>(RuleByHandle(in, 33).exprs[7]).type,
            static_cast<uint32_t>(NFT_REJECT_TCP_RST));
  EXPECT_EQ(std::get<UnknownExpr>(RuleByHandle(in, 34).exprs[4]).name, "connlimit over");
  EXPECT_TRUE(std::get<PassiveExpr>(RuleByHandle(in, 35).exprs[4]).approximate);
  EXPECT_EQ(std::get<UnknownExpr>(RuleByHandle(in, 36).exprs[4]).name, "quota over");
  EXPECT_EQ(std::get<PassiveExpr>(RuleByHandle(in, 37).exprs[4]).name, "quota");
  EXPECT_EQ(std::get<UnknownExpr>(RuleByHandle(in, 38).exprs[4]).name, "limit over");
  EXPECT_EQ(std::get<PassiveExpr>(RuleByHandle(in, 21).exprs[6]).name, "limit");
  EXPECT_TRUE(std::get<PassiveExpr>(RuleByHandle(in, 21).exprs[6]).approximate);
  EXPECT_EQ(std::get<UnknownExpr>(RuleByHandle(in, 39).exprs[0]).name, "numgen");
  const auto& mark = std::get<MetaExpr>(RuleByHandle(in, 40).exprs[1]);
  EXPECT_EQ(mark.key, static_cast<uint32_t>(NFT_META_MARK));
  EXPECT_EQ(mark.sreg, NFT_REG_1);
  EXPECT_FALSE(mark.dreg.has_value());
  EXPECT_EQ(std::get<CtExpr>(RuleByHandle(in, 41).exprs[2]).sreg, NFT_REG_1);
  const auto& shl = std::get<BitwiseExpr>(RuleByHandle(in, 42).exprs[1]);
  EXPECT_EQ(shl.op, static_cast<uint32_t>(NFT_BITWISE_LSHIFT));
  EXPECT_EQ(shl.shift, B({4, 0, 0, 0}));  // host order
  EXPECT_EQ(shl.len, 4U);
  EXPECT_EQ(std::get<BitwiseExpr>(RuleByHandle(in, 43).exprs[1]).op,
            static_cast<uint32_t>(NFT_BITWISE_RSHIFT));
  const auto& bool_op = std::get<BitwiseExpr>(RuleByHandle(in, 44).exprs[3]);
  EXPECT_EQ(bool_op.op, static_cast<uint32_t>(NFT_BITWISE_BOOL));
  EXPECT_EQ(bool_op.mask, B({0xff, 0x03}));
  EXPECT_EQ(bool_op.xor_value, B({0x00, 0x20}));
  const auto& write = std::get<PayloadExpr>(RuleByHandle(in, 44).exprs[4]);
  EXPECT_EQ(write.sreg, NFT_REG_1);
  EXPECT_FALSE(write.dreg.has_value());
  const auto& ct = std::get<CtExpr>(RuleByHandle(in, 45).exprs[0]);
  EXPECT_EQ(ct.key, static_cast<uint32_t>(NFT_CT_SRC_IP));
  EXPECT_EQ(ct.direction, 0);  // IP_CT_DIR_ORIGINAL
  EXPECT_FALSE(std::get<CtExpr>(RuleByHandle(in, 45).exprs[2]).direction.has_value());

  const NftChainModel& raw = MustChain(snap, NFPROTO_INET, "filter", "raw_prerouting");
  EXPECT_TRUE(std::holds_alternative<NotrackExpr>(RuleByHandle(raw, 53).exprs[4]));
  const auto& rpf = std::get<FibExpr>(RuleByHandle(raw, 54).exprs[0]);
  EXPECT_EQ(rpf.result, static_cast<uint32_t>(NFT_FIB_RESULT_OIF));
  EXPECT_EQ(rpf.flags,
            static_cast<uint32_t>(NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT));
  const NftChainModel& nat = MustChain(snap, NFPROTO_INET, "filter", "nat_prerouting");
  EXPECT_EQ(std::get<LookupExpr>(RuleByHandle(nat, 55).exprs[3]).dreg, NFT_REG_1);
  const auto& redir = std::get<NatExpr>(RuleByHandle(nat, 56).exprs[5]);
  EXPECT_EQ(redir.kind, NatExpr::Kind::kRedir);
  EXPECT_EQ(redir.reg_proto_min, NFT_REG_1);
  EXPECT_FALSE(redir.reg_addr_min.has_value());
  const NftChainModel& post = MustChain(snap, NFPROTO_INET, "filter", "nat_postrouting");
  EXPECT_EQ(std::get<NatExpr>(RuleByHandle(post, 57).exprs[2]).flags, 4U);  // random
  EXPECT_EQ(std::get<NatExpr>(RuleByHandle(post, 58).exprs[5]).type,
            static_cast<uint32_t>(NFT_NAT_SNAT));
  EXPECT_EQ(RuleByHandle(MustChain(snap, NFPROTO_INET, "filter", "ssh_alt"), 15).comment,
            "alt ssh from the allowed v4 ranges");
}

TEST(NftModelDecodeTest, FirewalldPrioritiesAndGotos) {
  NftSnapshot snap = Load("firewalld_inet.hex");
  EXPECT_EQ(MustChain(snap, NFPROTO_INET, "firewalld", "mangle_PREROUTING").priority, -140);
  EXPECT_EQ(MustChain(snap, NFPROTO_INET, "firewalld", "nat_PREROUTING").priority, -90);
  EXPECT_EQ(MustChain(snap, NFPROTO_INET, "firewalld", "nat_POSTROUTING").priority, 110);
  const NftChainModel& zones = MustChain(snap, NFPROTO_INET, "firewalld", "filter_INPUT_ZONES");
  ASSERT_EQ(zones.rules.size(), 3U);
  EXPECT_EQ(std::get<CmpExpr>(zones.rules[0].exprs[1]).data, Name16("docker0"));
  EXPECT_EQ(std::get<ImmediateExpr>(zones.rules[0].exprs[2]).data.verdict,
            (NftVerdict{NFT_GOTO, "filter_IN_docker"}));
  EXPECT_EQ(std::get<ImmediateExpr>(zones.rules[2].exprs[0]).data.verdict,
            (NftVerdict{NFT_GOTO, "filter_IN_public"}));
  const NftChainModel& input = MustChain(snap, NFPROTO_INET, "firewalld", "filter_INPUT");
  const auto& reject = std::get<RejectExpr>(input.rules.back().exprs.back());
  EXPECT_EQ(reject.type, static_cast<uint32_t>(NFT_REJECT_ICMPX_UNREACH));
  EXPECT_EQ(reject.code, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
}

TEST(NftModelDecodeTest, IptablesNftCompatExpressions) {
  NftSnapshot snap = Load("iptables_nft.hex");
  const NftChainModel& fwd = MustChain(snap, NFPROTO_IPV4, "filter", "FORWARD");
  EXPECT_EQ(fwd.policy, static_cast<uint32_t>(NF_DROP));
  const auto& conntrack = std::get<XtExpr>(fwd.rules[2].exprs[2]);
  EXPECT_FALSE(conntrack.target);
  EXPECT_EQ(conntrack.name, "conntrack");
  EXPECT_EQ(conntrack.rev, 3U);
  EXPECT_FALSE(conntrack.info.empty());
  const NftChainModel& input = MustChain(snap, NFPROTO_IPV4, "filter", "INPUT");
  const auto& comment = std::get<XtExpr>(input.rules[0].exprs[3]);
  EXPECT_EQ(comment.name, "comment");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(comment.info.data())), "ssh and web");
  const NftChainModel& dnat = MustChain(snap, NFPROTO_IPV4, "nat", "DOCKER");
  const auto& target = std::get<XtExpr>(dnat.rules[1].exprs.back());
  EXPECT_TRUE(target.target);
  EXPECT_EQ(target.name, "DNAT");
  EXPECT_EQ(target.rev, 2U);
  EXPECT_EQ(MustChain(snap, NFPROTO_IPV6, "nat", "PREROUTING").rules.size(), 1U);
}

TEST(NftModelDecodeTest, StampsCarryTheGeneration) {
  const std::string text = ReadFixture("inet_filter.hex");
  std::istringstream lines(text);
  std::string line;
  NftModelMessages m;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    Bytes b;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      b.push_back(static_cast<uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    ASSERT_TRUE(DecodeNftModelBuffer(b.data(), b.size(), &m).ok());
  }
  ASSERT_EQ(m.gens, (std::vector<uint32_t>{37, 37}));
  EXPECT_EQ(m.stamps.size(),
            m.tables.size() + m.chains.size() + m.rules.size() + m.sets.size() + m.elems.size());
  for (uint16_t s : m.stamps) EXPECT_EQ(s, 37);
}

// One nf_tables message built with libmnl, for what no recording shows.
class Msg {
 public:
  explicit Msg(uint16_t type, uint8_t family = NFPROTO_INET) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(nfgenmsg)));
    nfg->nfgen_family = family;
    nfg->res_id = htons(5);
  }
  nlmsghdr* nlh() { return nlh_; }
  void Str(uint16_t type, const char* s) { mnl_attr_put_strz(nlh_, type, s); }
  void U32(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh_, type, htonl(v)); }
  nlattr* Nest(uint16_t type) { return mnl_attr_nest_start(nlh_, type); }
  void End(nlattr* n) { mnl_attr_nest_end(nlh_, n); }
  Status Decode(NftModelMessages* out) { return DecodeNftModelMessage(nlh_, out); }

 private:
  std::array<uint32_t, 1024> buf_{};
  nlmsghdr* nlh_;
};

// A rule "t c" holding one expression `name` whose data `fill` writes
// (no NFTA_EXPR_DATA when fill is null).
Status OneExpr(const char* name, const std::function<void(Msg*)>& fill, NftExpr* out) {
  Msg m(NFT_MSG_NEWRULE);
  m.Str(NFTA_RULE_TABLE, "t");
  m.Str(NFTA_RULE_CHAIN, "c");
  nlattr* list = m.Nest(NFTA_RULE_EXPRESSIONS);
  nlattr* elem = m.Nest(NFTA_LIST_ELEM);
  m.Str(NFTA_EXPR_NAME, name);
  if (fill) {
    nlattr* data = m.Nest(NFTA_EXPR_DATA);
    fill(&m);
    m.End(data);
  }
  m.End(elem);
  m.End(list);
  NftModelMessages msgs;
  Status st = m.Decode(&msgs);
  if (st.ok() && msgs.rules.size() == 1 && msgs.rules[0].rule.exprs.size() == 1) {
    *out = msgs.rules[0].rule.exprs[0];
  }
  return st;
}

std::string UnknownName(const NftExpr& e) {
  const auto* u = std::get_if<UnknownExpr>(&e);
  return u != nullptr ? u->name : "(not unknown)";
}

TEST(NftModelDecodeTest, ExpressionsNoRecordingHas) {
  NftExpr e;
  ASSERT_TRUE(OneExpr(
                  "osf", [](Msg* m) { m->U32(NFTA_OSF_DREG, NFT_REG_1); }, &e)
                  .ok());
  EXPECT_EQ(UnknownName(e), "osf");
  ASSERT_TRUE(OneExpr("notrack", nullptr, &e).ok());
  EXPECT_TRUE(std::holds_alternative<NotrackExpr>(e));
  ASSERT_TRUE(OneExpr(
                  "bitwise",
                  [](Msg* m) {
                    m->U32(NFTA_BITWISE_SREG, NFT_REG_1);
                    m->U32(NFTA_BITWISE_DREG, NFT_REG_1);
                    m->U32(NFTA_BITWISE_LEN, 4);
                    m->U32(NFTA_BITWISE_OP, 3);  // and with a second register (6.13)
                  },
                  &e)
                  .ok());
  EXPECT_EQ(UnknownName(e), "bitwise op 3");
  ASSERT_TRUE(OneExpr(
                  "quota", [](Msg* m) { m->U32(NFTA_QUOTA_FLAGS, NFT_QUOTA_F_DEPLETED); }, &e)
                  .ok());
  EXPECT_EQ(UnknownName(e), "quota depleted");
  ASSERT_TRUE(OneExpr(
                  "quota",
                  [](Msg* m) { m->U32(NFTA_QUOTA_FLAGS, NFT_QUOTA_F_INV | NFT_QUOTA_F_DEPLETED); },
                  &e)
                  .ok());
  ASSERT_TRUE(std::holds_alternative<PassiveExpr>(e));  // over its quota: `quota over` matches
  EXPECT_FALSE(std::get<PassiveExpr>(e).approximate);
  ASSERT_TRUE(OneExpr(
                  "objref", [](Msg* m) { m->U32(NFTA_OBJREF_IMM_TYPE, 1); }, &e)
                  .ok());
  EXPECT_EQ(std::get<PassiveExpr>(e).name, "objref");  // a named counter
  ASSERT_TRUE(OneExpr(
                  "objref", [](Msg* m) { m->U32(NFTA_OBJREF_IMM_TYPE, 2); }, &e)
                  .ok());
  EXPECT_EQ(UnknownName(e), "objref quota");
  ASSERT_TRUE(OneExpr(
                  "objref",
                  [](Msg* m) {
                    m->U32(NFTA_OBJREF_SET_SREG, NFT_REG_1);
                    m->Str(NFTA_OBJREF_SET_NAME, "m");
                  },
                  &e)
                  .ok());
  EXPECT_EQ(UnknownName(e), "objref map");
  ASSERT_TRUE(OneExpr(
                  "dynset", [](Msg* m) { m->U32(NFTA_DYNSET_OP, NFT_DYNSET_OP_DELETE); }, &e)
                  .ok());
  EXPECT_FALSE(std::get<PassiveExpr>(e).approximate);
  ASSERT_TRUE(OneExpr(
                  "dynset",
                  [](Msg* m) {
                    m->U32(NFTA_DYNSET_OP, NFT_DYNSET_OP_ADD);
                    m->U32(NFTA_DYNSET_FLAGS, NFT_DYNSET_F_INV);
                  },
                  &e)
                  .ok());
  EXPECT_EQ(UnknownName(e), "dynset inverted");
  ASSERT_TRUE(OneExpr(
                  "lookup",
                  [](Msg* m) {
                    m->Str(NFTA_LOOKUP_SET, "s");
                    m->U32(NFTA_LOOKUP_SREG, NFT_REG_1);
                    m->U32(NFTA_LOOKUP_FLAGS, 2);  // a flag this model does not know
                  },
                  &e)
                  .ok());
  EXPECT_EQ(UnknownName(e), "lookup flags 2");
  ASSERT_TRUE(OneExpr(
                  "lookup",
                  [](Msg* m) {
                    m->U32(NFTA_LOOKUP_SET_ID, 7);  // in a transaction: by id only
                    m->U32(NFTA_LOOKUP_SREG, NFT_REG_1);
                  },
                  &e)
                  .ok());
  EXPECT_EQ(std::get<LookupExpr>(e).set_id, 7U);
  EXPECT_TRUE(std::get<LookupExpr>(e).set.empty());
  ASSERT_TRUE(OneExpr(
                  "bitwise",
                  [](Msg* m) {  // kernels before 5.6: no NFTA_BITWISE_OP
                    m->U32(NFTA_BITWISE_SREG, NFT_REG_1);
                    m->U32(NFTA_BITWISE_DREG, NFT_REG_2);
                    m->U32(NFTA_BITWISE_LEN, 1);
                    for (uint16_t a : {NFTA_BITWISE_MASK, NFTA_BITWISE_XOR}) {
                      nlattr* d = m->Nest(a);
                      const uint8_t v = a == NFTA_BITWISE_MASK ? 0xf0 : 0x01;
                      mnl_attr_put(m->nlh(), NFTA_DATA_VALUE, 1, &v);
                      m->End(d);
                    }
                  },
                  &e)
                  .ok());
  EXPECT_EQ(std::get<BitwiseExpr>(e).op, static_cast<uint32_t>(NFT_BITWISE_BOOL));
  EXPECT_EQ(std::get<BitwiseExpr>(e).mask, B({0xf0}));
  EXPECT_EQ(std::get<BitwiseExpr>(e).xor_value, B({0x01}));
}

TEST(NftModelDecodeTest, MalformedExpressionsAreErrors) {
  NftExpr e;
  Status st = OneExpr(
      "cmp",
      [](Msg* m) {  // no NFTA_CMP_DATA
        m->U32(NFTA_CMP_SREG, NFT_REG_1);
        m->U32(NFTA_CMP_OP, NFT_CMP_EQ);
      },
      &e);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'cmp'"), std::string::npos) << st.message();
  EXPECT_FALSE(OneExpr(
                   "meta",
                   [](Msg* m) {  // a register the kernel has not
                     m->U32(NFTA_META_KEY, NFT_META_MARK);
                     m->U32(NFTA_META_DREG, 99);
                   },
                   &e)
                   .ok());
  EXPECT_FALSE(OneExpr(
                   "payload",
                   [](Msg* m) {  // neither load nor write
                     m->U32(NFTA_PAYLOAD_BASE, 1);
                     m->U32(NFTA_PAYLOAD_OFFSET, 0);
                     m->U32(NFTA_PAYLOAD_LEN, 4);
                   },
                   &e)
                   .ok());
  EXPECT_FALSE(OneExpr(
                   "immediate",
                   [](Msg* m) {  // a jump without its chain
                     m->U32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                     nlattr* d = m->Nest(NFTA_IMMEDIATE_DATA);
                     nlattr* v = m->Nest(NFTA_DATA_VERDICT);
                     m->U32(NFTA_VERDICT_CODE, static_cast<uint32_t>(NFT_JUMP));
                     m->End(v);
                     m->End(d);
                   },
                   &e)
                   .ok());
  EXPECT_FALSE(OneExpr(
                   "cmp",
                   [](Msg* m) {  // a value larger than any register file
                     m->U32(NFTA_CMP_SREG, NFT_REG_1);
                     m->U32(NFTA_CMP_OP, NFT_CMP_EQ);
                     nlattr* d = m->Nest(NFTA_CMP_DATA);
                     const std::array<uint8_t, 65> big{};
                     mnl_attr_put(m->nlh(), NFTA_DATA_VALUE, big.size(), big.data());
                     m->End(d);
                   },
                   &e)
                   .ok());
  EXPECT_FALSE(OneExpr(
                   "reject", [](Msg* m) { mnl_attr_put_u16(m->nlh(), NFTA_REJECT_TYPE, 1); },
                   &e)
                   .ok());  // a u32 sent as u16
  // Unknown attributes of a known expression are skipped (newer kernels).
  EXPECT_TRUE(OneExpr(
                  "reject",
                  [](Msg* m) {
                    m->U32(NFTA_REJECT_TYPE, NFT_REJECT_TCP_RST);
                    m->U32(NFTA_REJECT_MAX + 1, 7);
                  },
                  &e)
                  .ok());
}

TEST(NftModelDecodeTest, MalformedMessagesAreErrors) {
  NftModelMessages out;
  Msg chain(NFT_MSG_NEWCHAIN);
  chain.Str(NFTA_CHAIN_TABLE, "t");  // no name
  EXPECT_FALSE(chain.Decode(&out).ok());
  Msg hook(NFT_MSG_NEWCHAIN);
  hook.Str(NFTA_CHAIN_TABLE, "t");
  hook.Str(NFTA_CHAIN_NAME, "c");
  nlattr* h = hook.Nest(NFTA_CHAIN_HOOK);
  hook.U32(NFTA_HOOK_HOOKNUM, NF_INET_FORWARD);  // no priority
  hook.End(h);
  EXPECT_FALSE(hook.Decode(&out).ok());
  Msg elems(NFT_MSG_NEWSETELEM);
  elems.Str(NFTA_SET_ELEM_LIST_TABLE, "t");
  elems.Str(NFTA_SET_ELEM_LIST_SET, "s");
  nlattr* list = elems.Nest(NFTA_SET_ELEM_LIST_ELEMENTS);
  nlattr* el = elems.Nest(NFTA_LIST_ELEM);
  nlattr* key = elems.Nest(NFTA_SET_ELEM_KEY);
  nlattr* v = elems.Nest(NFTA_DATA_VERDICT);  // a key must be a value
  elems.U32(NFTA_VERDICT_CODE, NF_ACCEPT);
  elems.End(v);
  elems.End(key);
  elems.End(el);
  elems.End(list);
  EXPECT_FALSE(elems.Decode(&out).ok());
  // An expression list whose last element runs past its end: refused, not
  // read as a shorter rule (which might match where the real one does not).
  Msg cut(NFT_MSG_NEWRULE);
  cut.Str(NFTA_RULE_TABLE, "t");
  cut.Str(NFTA_RULE_CHAIN, "c");
  nlattr* exprs = cut.Nest(NFTA_RULE_EXPRESSIONS);
  nlattr* first = cut.Nest(NFTA_LIST_ELEM);
  cut.Str(NFTA_EXPR_NAME, "notrack");
  cut.End(first);
  nlattr* broken = cut.Nest(NFTA_LIST_ELEM);
  cut.Str(NFTA_EXPR_NAME, "counter");
  cut.End(broken);
  broken->nla_len = 200;
  cut.End(exprs);
  EXPECT_FALSE(cut.Decode(&out).ok());
  EXPECT_TRUE(out.rules.empty());
  EXPECT_TRUE(out.chains.empty());
  EXPECT_TRUE(out.elems.empty());

  // Too short for its nfgenmsg; another subsystem is skipped.
  std::array<uint32_t, 8> buf{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE;
  EXPECT_FALSE(DecodeNftModelMessage(nlh, &out).ok());
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | 0;
  EXPECT_TRUE(DecodeNftModelMessage(nlh, &out).ok());
}

TEST(NftModelDecodeTest, TruncatedAndCorruptedRecordingsNeverCrash) {
  // Every prefix of every recorded message, and each with one byte flipped:
  // decoded or refused, never read out of bounds (ASan runs this too).
  const std::string text = ReadFixture("inet_filter.hex");
  std::istringstream lines(text);
  std::string line;
  size_t refused = 0, runs = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    Bytes b;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      b.push_back(static_cast<uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    for (size_t len = 0; len < b.size(); len += 3) {
      Bytes cut(b.begin(), b.begin() + static_cast<long>(len));
      if (cut.size() >= 4) {
        const auto l = static_cast<uint32_t>(cut.size());
        std::memcpy(cut.data(), &l, sizeof l);  // a consistent, shorter message
      }
      NftModelMessages m;
      refused += DecodeNftModelBuffer(cut.data(), cut.size(), &m).ok() ? 0 : 1;
      ++runs;
    }
    for (size_t i = sizeof(nlmsghdr); i < b.size(); i += 7) {
      Bytes bad = b;
      bad[i] ^= 0x5a;
      NftModelMessages m;
      refused += DecodeNftModelBuffer(bad.data(), bad.size(), &m).ok() ? 0 : 1;
      ++runs;
    }
  }
  EXPECT_GT(runs, 1000U);
  EXPECT_GT(refused, runs / 10);  // most flips land in values, which decode
}

TEST(NftModelDecodeTest, UserdataComment) {
  const uint8_t both[] = {1, 2, 'a', 'b', 0, 4, 'x', 'y', 'z', 0};
  EXPECT_EQ(NftUserdataComment(both, sizeof both), "xyz");
  const uint8_t unterminated[] = {0, 2, 'h', 'i'};
  EXPECT_EQ(NftUserdataComment(unterminated, sizeof unterminated), "hi");
  const uint8_t too_long[] = {0, 9, 'a'};
  EXPECT_EQ(NftUserdataComment(too_long, sizeof too_long), "");
  EXPECT_EQ(NftUserdataComment(nullptr, 0), "");
}

TEST(NftModelDecodeTest, VerdictStrings) {
  EXPECT_EQ(NftVerdictString({NF_ACCEPT, ""}), "accept");
  EXPECT_EQ(NftVerdictString({NF_DROP, ""}), "drop");
  EXPECT_EQ(NftVerdictString({NFT_CONTINUE, ""}), "continue");
  EXPECT_EQ(NftVerdictString({NFT_RETURN, ""}), "return");
  EXPECT_EQ(NftVerdictString({NFT_JUMP, "DOCKER"}), "jump DOCKER");
  EXPECT_EQ(NftVerdictString({NFT_GOTO, "x"}), "goto x");
  EXPECT_EQ(NftVerdictString({NF_QUEUE | (3 << 16), ""}), "queue");
}

// Snapshots.

std::vector<std::string> HexLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

std::vector<std::string> Names(const std::vector<const NftChainModel*>& chains) {
  std::vector<std::string> out;
  out.reserve(chains.size());
  for (const NftChainModel* c : chains) out.push_back(c->table + " " + c->name);
  return out;
}

TEST(NftSnapshotTest, AnyOrderBuildsTheSameRuleset) {
  const NftSnapshot forward = Load("inet_filter.hex");
  std::vector<std::string> lines = HexLines(ReadFixture("inet_filter.hex"));
  std::reverse(lines.begin(), lines.end());  // rules before chains, elements before sets
  std::string reversed;
  for (const std::string& l : lines) reversed += l + "\n";
  NftSnapshot backward;
  ASSERT_TRUE(backward.AddHex(reversed).ok());
  ASSERT_EQ(backward.Chains().size(), forward.Chains().size());
  for (const NftChainModel* c : forward.Chains()) {
    const NftChainModel* b = backward.FindChain(c->family, c->table, c->name);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->hook, c->hook);
    ASSERT_EQ(b->rules.size(), c->rules.size()) << c->name;
    for (size_t i = 0; i < c->rules.size(); ++i) {
      // Reversed lines reverse the dump order of a chain's rules.
      EXPECT_EQ(b->rules[c->rules.size() - 1 - i].handle, c->rules[i].handle);
    }
  }
  const NftSetModel* s = backward.FindSet(NFPROTO_INET, "filter", "allowed_v4", 0);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->flags, static_cast<uint32_t>(NFT_SET_INTERVAL));
  EXPECT_EQ(s->elems.size(), 7U);
}

TEST(NftSnapshotTest, BaseChainsInPriorityThenCreationOrder) {
  // All four recordings come from one namespace, one after the other: their
  // tables' handles give the order they were created in.
  NftSnapshot snap;
  for (const char* f : {"docker_bridges.hex", "firewalld_inet.hex", "iptables_nft.hex"}) {
    ASSERT_TRUE(snap.AddHex(ReadFixture(f)).ok()) << f;
  }
  std::vector<const NftChainModel*> chains;
  ASSERT_TRUE(snap.BaseChains(NFPROTO_IPV4, NF_INET_PRE_ROUTING, &chains).ok());
  EXPECT_EQ(Names(chains), (std::vector<std::string>{
                               "docker-bridges raw-PREROUTING", "firewalld mangle_PREROUTING",
                               "docker-bridges nat-PREROUTING", "nat PREROUTING",
                               "firewalld nat_PREROUTING", "firewalld filter_PREROUTING"}));
  ASSERT_TRUE(snap.BaseChains(NFPROTO_IPV4, NF_INET_FORWARD, &chains).ok());
  EXPECT_EQ(Names(chains),
            (std::vector<std::string>{"docker-bridges filter-FORWARD", "filter FORWARD",
                                      "firewalld filter_FORWARD"}));
  ASSERT_TRUE(snap.BaseChains(NFPROTO_IPV6, NF_INET_LOCAL_IN, &chains).ok());
  ASSERT_EQ(Names(chains), (std::vector<std::string>{"filter INPUT", "firewalld filter_INPUT"}));
  EXPECT_EQ(chains[0]->family, NFPROTO_IPV6);
}

TEST(NftSnapshotTest, DormantTablesAndEqualPriorities) {
  NftSnapshot snap;
  snap.AddTable({NFPROTO_IPV4, "a", 2, 0});
  snap.AddTable({NFPROTO_IPV4, "sleeping", 1, NFT_TABLE_F_DORMANT});
  NftChainModel c;
  c.family = NFPROTO_IPV4;
  c.hook = NF_INET_LOCAL_IN;
  c.table = "a";
  c.name = "second";
  c.handle = 7;
  snap.AddChain(c);
  c.name = "first";
  c.handle = 3;
  snap.AddChain(c);
  c.table = "sleeping";
  c.name = "never";
  snap.AddChain(c);
  std::vector<const NftChainModel*> chains;
  ASSERT_TRUE(snap.BaseChains(NFPROTO_IPV4, NF_INET_LOCAL_IN, &chains).ok());
  EXPECT_EQ(Names(chains), (std::vector<std::string>{"a first", "a second"}));
  const NftChainModel* found = nullptr;
  EXPECT_TRUE(snap.Chain(NFPROTO_IPV4, "sleeping", "never", &found).ok());
}

TEST(NftSnapshotTest, LookupsAndDuplicates) {
  NftSnapshot snap;
  snap.set_generation(12);
  uint32_t gen = 0;
  ASSERT_TRUE(snap.Begin(&gen).ok());
  EXPECT_EQ(gen, 12U);
  bool current = false;
  ASSERT_TRUE(snap.StillCurrent(&current).ok());
  EXPECT_TRUE(current);

  NftRuleMessage r{NFPROTO_INET, "t", "c", NftRuleModel{4, "old", {}}};
  snap.AddRule(r);
  const NftChainModel* chain = nullptr;
  EXPECT_EQ(snap.Chain(NFPROTO_INET, "t", "c", &chain).code(), Status::Code::kNoData);
  NftChainModel c;
  c.family = NFPROTO_INET;
  c.table = "t";
  c.name = "c";
  snap.AddChain(c);
  r.rule.comment = "new";
  snap.AddRule(r);  // the same handle again: replaced, not doubled
  ASSERT_TRUE(snap.Chain(NFPROTO_INET, "t", "c", &chain).ok());
  ASSERT_EQ(chain->rules.size(), 1U);
  EXPECT_EQ(chain->rules[0].comment, "new");

  NftSetModel s;
  s.family = NFPROTO_INET;
  s.table = "t";
  s.name = "__set3";
  s.id = 5;
  snap.AddSetElems({NFPROTO_INET, "t", "__set3", {NftSetElem{B({1}), {}, 0, {}}}});
  snap.AddSet(s);
  const NftSetModel* found = nullptr;
  ASSERT_TRUE(snap.Set(NFPROTO_INET, "t", "", 5, &found).ok());
  EXPECT_EQ(found->name, "__set3");
  EXPECT_EQ(found->elems.size(), 1U);
  ASSERT_TRUE(snap.Set(NFPROTO_INET, "t", "renamed", 5, &found).ok());
  EXPECT_EQ(snap.Set(NFPROTO_INET, "t", "absent", 0, &found).code(), Status::Code::kNoData);
  EXPECT_EQ(snap.Set(NFPROTO_IPV4, "t", "__set3", 0, &found).code(), Status::Code::kNoData);
  EXPECT_FALSE(snap.AddHex("0a0b0\n").ok());
  snap.Clear();
  EXPECT_TRUE(snap.Chains().empty());
  EXPECT_EQ(snap.generation(), 0U);
}

}  // namespace
}  // namespace portmap::pathtrace
