// One base chain under nft_do_chain's rules: registers, sets and maps,
// jumps, gotos and returns, and the expressions' corner cases.
#include "pathtrace/nft_eval.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "pathtrace/nft_expr_eval.h"
#include "tests/unit/pathtrace/fakes.h"

namespace portmap::pathtrace {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the fakes' helpers

class NftEvalTest : public ::testing::Test {
 protected:
  NftEvalTest() {
    pkt_.saddr = *ParseAddr("198.51.100.2");
    pkt_.daddr = *ParseAddr("203.0.113.2");
    pkt_.sport = 40000;
    pkt_.dport = 5000;
    pkt_.iif = Interface{2, "eth0", 1};
    pkt_.oif = Interface{3, "docker0", 1};
    pkt_.ct.attached = true;
    base_ = &rules_.AddChain(Base(NFPROTO_INET, "t", "fwd", NF_INET_FORWARD, 0));
  }

  ChainOutcome Run() {
    steps_.clear();
    NftEvalContext ctx{&rules_, &kernel_, NF_INET_FORWARD, "forward", &steps_};
    return EvalNftBaseChain(*base_, &pkt_, ctx);
  }

  FakeRuleset rules_;
  FakeKernel kernel_;
  Packet pkt_;
  NftChainModel* base_;
  std::vector<TraceStep> steps_;
};

TEST_F(NftEvalTest, Reg1AndReg32_00AreTheSameBytes) {
  NftRegs regs;
  ASSERT_TRUE(nft_internal::RegStoreU32(&regs, NFT_REG_1, 0x11223344));
  EXPECT_EQ(nft_internal::RegPtr(&regs, NFT_REG_1, 4),
            nft_internal::RegPtr(&regs, NFT_REG32_00, 4));
  EXPECT_EQ(nft_internal::RegPtr(&regs, NFT_REG_4, 16) + 12,
            nft_internal::RegPtr(&regs, NFT_REG32_15, 4));
  EXPECT_EQ(nft_internal::RegPtr(&regs, NFT_REG32_15, 8), nullptr);  // past the file
  EXPECT_EQ(nft_internal::RegPtr(&regs, NFT_REG_VERDICT, 4), nullptr);
}

TEST_F(NftEvalTest, JumpReturnsGotoDoesNot) {
  auto& a = rules_.AddChain(User(NFPROTO_INET, "t", "a"));
  auto& b = rules_.AddChain(User(NFPROTO_INET, "t", "b"));
  a.rules.push_back(Rule(10, {}, {Verdict(-5)}));                    // return
  b.rules.push_back(Rule(20, {TcpDport(1)}, {Verdict(NF_ACCEPT)}));  // no match: b ends
  base_->policy = NF_DROP;
  base_->rules.push_back(Rule(1, {}, {Verdict(-3, "a")}));                // jump a: comes back
  base_->rules.push_back(Rule(2, {TcpDport(5000)}, {Verdict(-4, "b")}));  // goto b
  base_->rules.push_back(Rule(3, {}, {Verdict(NF_ACCEPT)}));              // never reached
  const ChainOutcome out = Run();
  EXPECT_EQ(out.kind, ChainOutcome::Kind::kDrop);  // b's end returns to no one: policy
  ASSERT_TRUE(out.decided.has_value());
  EXPECT_TRUE(out.decided->policy);
}

TEST_F(NftEvalTest, IntervalSetLookup) {
  NftSetModel s;
  s.family = NFPROTO_INET;
  s.table = "t";
  s.name = "ports";
  s.flags = NFT_SET_INTERVAL;
  s.key_len = 2;
  s.elems = {{Be16(0), {}, NFT_SET_ELEM_INTERVAL_END, {}},
             {Be16(4000), {}, 0, {}},
             {Be16(5000), {}, NFT_SET_ELEM_INTERVAL_END, {}},  // 4000-4999
             {Be16(5000), {}, 0, {}},
             {Be16(5001), {}, NFT_SET_ELEM_INTERVAL_END, {}}};  // 5000
  rules_.AddSet(s);
  std::vector<NftExpr> lookup = {PayloadExpr{NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1, {}},
                                 LookupExpr{"ports", 0, NFT_REG_1, std::nullopt, false}};
  base_->rules.push_back(Rule(1, {lookup}, {Verdict(NF_DROP)}));
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kDrop);
  pkt_.dport = 5001;
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kAccept);
  pkt_.dport = 4000;
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kDrop);
  pkt_.dport = 3999;
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kAccept);
}

TEST_F(NftEvalTest, ConcatenatedRangesLookup) {
  // ip daddr . tcp dport in { 203.0.113.0-203.0.113.255 . 5000-5001 }
  NftSetModel s;
  s.family = NFPROTO_INET;
  s.table = "t";
  s.name = "svc";
  s.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT;
  s.key_len = 8;
  s.field_len = {4, 2};
  Bytes lo = AddrBytes("203.0.113.0"), hi = AddrBytes("203.0.113.255");
  Bytes plo = Be16(5000), phi = Be16(5001);
  lo.insert(lo.end(), {plo[0], plo[1], 0, 0});
  hi.insert(hi.end(), {phi[0], phi[1], 0, 0});
  s.elems = {{lo, hi, 0, {}}};
  rules_.AddSet(s);
  std::vector<NftExpr> key = {PayloadExpr{NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1, {}},
                              PayloadExpr{NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01, {}},
                              LookupExpr{"svc", 0, NFT_REG_1, std::nullopt, false}};
  base_->rules.push_back(Rule(1, {key}, {Verdict(NF_DROP)}));
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kDrop);
  pkt_.dport = 5002;
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kAccept);
}

TEST_F(NftEvalTest, VerdictMapJumps) {
  // tcp dport vmap { 5000 : jump deny }
  NftSetModel s;
  s.family = NFPROTO_INET;
  s.table = "t";
  s.name = "__map0";
  s.flags = NFT_SET_MAP | NFT_SET_ANONYMOUS;
  s.key_len = 2;
  s.data_type = NFT_DATA_VERDICT;
  s.elems = {{Be16(5000), {}, 0, NftData{{}, NftVerdict{-3, "deny"}}}};
  rules_.AddSet(s);
  auto& deny = rules_.AddChain(User(NFPROTO_INET, "t", "deny"));
  deny.rules.push_back(Rule(7, {}, {RejectExpr{NFT_REJECT_TCP_RST, 0}}));
  base_->rules.push_back(Rule(1, {},
                              {PayloadExpr{NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1, {}},
                               LookupExpr{"__map0", 0, NFT_REG_1, NFT_REG_VERDICT, false}}));
  const ChainOutcome out = Run();
  EXPECT_EQ(out.kind, ChainOutcome::Kind::kReject);
  EXPECT_TRUE(out.reject.tcp_reset);
  EXPECT_EQ(out.decided->chain, "deny");
  pkt_.dport = 80;  // not in the map: the rule breaks, policy accept
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kAccept);
}

TEST_F(NftEvalTest, MissingSetIsUnknown) {
  base_->rules.push_back(Rule(1, {},
                              {PayloadExpr{NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1, {}},
                               LookupExpr{"gone", 0, NFT_REG_1, std::nullopt, false}}));
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kUnknown);
}

TEST_F(NftEvalTest, RangeAndByteorder) {
  // meta mark 0x10-0x20 via ntoh: mark is host order, the range big-endian.
  pkt_.mark = 0x18;
  std::vector<NftExpr> e = {MetaExpr{NFT_META_MARK, NFT_REG_1, std::nullopt},
                            ByteorderExpr{NFT_REG_1, NFT_REG_1, NFT_BYTEORDER_HTON, 4, 4},
                            RangeExpr{NFT_REG_1, NFT_RANGE_EQ, {0, 0, 0, 0x10}, {0, 0, 0, 0x20}}};
  base_->rules.push_back(Rule(1, {e}, {Verdict(NF_DROP)}));
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kDrop);
  pkt_.mark = 0x21;
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kAccept);
}

TEST_F(NftEvalTest, PayloadPastTheHeadersDoesNotMatch) {
  base_->rules.push_back(Rule(1, {},
                              {PayloadExpr{NFT_PAYLOAD_TRANSPORT_HEADER, 40, 4, NFT_REG_1, {}},
                               CmpExpr{NFT_REG_1, NFT_CMP_NEQ, HostU32(1)}, Verdict(NF_DROP)}));
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kAccept);
}

TEST_F(NftEvalTest, CtStateBeforeConntrackIsInvalid) {
  pkt_.ct.attached = false;
  std::vector<NftExpr> e = {CtExpr{NFT_CT_STATE, NFT_REG_1, std::nullopt, std::nullopt},
                            CmpExpr{NFT_REG_1, NFT_CMP_EQ, HostU32(1)}};  // invalid bit
  base_->rules.push_back(Rule(1, {e}, {Verdict(NF_DROP)}));
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kDrop);
}

TEST_F(NftEvalTest, MetaMarkSetThenMatched) {
  base_->rules.push_back(Rule(1, {},
                              {ImmediateExpr{NFT_REG_1, NftData{HostU32(0x42), {}}},
                               MetaExpr{NFT_META_MARK, std::nullopt, NFT_REG_1}}));
  base_->rules.push_back(Rule(2, {},
                              {MetaExpr{NFT_META_MARK, NFT_REG_1, std::nullopt},
                               CmpExpr{NFT_REG_1, NFT_CMP_EQ, HostU32(0x42)}, Verdict(NF_DROP)}));
  EXPECT_EQ(Run().kind, ChainOutcome::Kind::kDrop);
  EXPECT_EQ(pkt_.mark, 0x42U);
}

TEST_F(NftEvalTest, LimitMakesTheOutcomeApproximate) {
  base_->rules.push_back(Rule(1, {}, {PassiveExpr{"limit", true}, Verdict(NF_ACCEPT)}));
  const ChainOutcome out = Run();
  EXPECT_EQ(out.kind, ChainOutcome::Kind::kAccept);
  EXPECT_TRUE(out.approximate);
}

}  // namespace
}  // namespace portmap::pathtrace
