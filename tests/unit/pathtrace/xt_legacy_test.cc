// The legacy (ip_tables) table decoder and walk: on tables recorded from the
// lab with iptables-legacy (tests/fixtures/xtables/) and on blobs built here
// entry by entry for jumps, gotos, returns and the jump stack.
#include "pathtrace/xt_legacy.h"

// clang-format off
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
// clang-format on

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace portmap::pathtrace {
namespace {

Addr A(const std::string& text) {
  Addr a;
  a.family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, text.c_str(), a.bytes.data()), 1) << text;
  return a;
}

class FakeKernel : public KernelView {
 public:
  std::set<std::string> local;
  Status Route(const RouteQuery&, RouteAnswer* a) override {
    *a = RouteAnswer{};
    a->type = 1;  // RTN_UNICAST
    return Status::Ok();
  }
  Status Listening(uint8_t, uint8_t, const Addr&, uint16_t, bool* l) override {
    *l = false;
    return Status::Ok();
  }
  Status LinkByIndex(uint32_t, Interface*) override { return Status::NoData("none"); }
  Status LinkByName(const std::string&, Interface*) override { return Status::NoData("none"); }
  Status IsLocalAddress(const Addr& addr, uint32_t, bool* is_local) override {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, addr.bytes.data(), buf, sizeof buf);
    *is_local = local.count(buf) > 0;
    return Status::Ok();
  }
  Status NetSysctl(const std::string&, int64_t*) override { return Status::NoData("none"); }
};

XtLegacyTable Load(const std::string& name) {
  std::ifstream in(std::string(PORTMAP_FIXTURES) + "/xtables/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  XtTableBlob blob;
  EXPECT_TRUE(XtTableBlobFromText(text.str(), &blob).ok()) << name;
  XtLegacyTable t;
  const Status st = DecodeXtLegacyTable(blob, &t);
  EXPECT_TRUE(st.ok()) << name << ": " << st.message();
  return t;
}

// A TCP SYN from outside, 192.0.2.10:40000 -> 198.51.100.1:5000, in on eth0.
Packet Syn(uint16_t dport = 5000) {
  Packet p;
  p.saddr = A("192.0.2.10");
  p.daddr = A("198.51.100.1");
  p.sport = 40000;
  p.dport = dport;
  p.iif = Interface{2, "eth0", 1};
  return p;
}

TEST(XtLegacyTest, DecodesLabFilterAsIptablesSave) {
  const XtLegacyTable t = Load("lab_filter.txt");
  EXPECT_EQ(t.stacksize, 5u);
  std::vector<std::string> rules;
  for (const XtLegacyEntry& e : t.entries) {
    if (e.role == XtLegacyEntry::Role::kRule || e.role == XtLegacyEntry::Role::kPolicy) {
      rules.push_back(XtLegacyEntryText(t, e));
    }
  }
  const std::vector<std::string> want = {
      "-P INPUT ACCEPT",
      "-A FORWARD -j DOCKER-USER",
      "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
      "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A FORWARD -o docker0 -j DOCKER",
      "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT",
      "-A FORWARD -i docker0 -o docker0 -j ACCEPT",
      "-P FORWARD DROP",
      "-P OUTPUT ACCEPT",
      "-A DOCKER -d 203.0.113.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5000 -j ACCEPT",
      "-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2",
      "-A DOCKER-ISOLATION-STAGE-1 -j RETURN",
      "-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP",
      "-A DOCKER-ISOLATION-STAGE-2 -j RETURN",
      "-A DOCKER-USER -j RETURN",
  };
  EXPECT_EQ(rules, want);
  // Positions count within each chain, from 1.
  const XtLegacyEntry& docker = t.entries[t.IndexAt(1744)];
  EXPECT_EQ(docker.chain, "DOCKER");
  EXPECT_EQ(docker.position, 1u);
  EXPECT_EQ(t.entries[t.IndexAt(1944)].role, XtLegacyEntry::Role::kChainReturn);
}

TEST(XtLegacyTest, LabFilterForwardAcceptsThePublishedPort) {
  const XtLegacyTable t = Load("lab_filter.txt");
  FakeKernel k;
  Packet p = Syn();
  p.daddr = A("203.0.113.2");  // after DNAT
  p.ct.status = IPS_DST_NAT;
  p.oif = Interface{4, "docker0", 1};
  std::vector<TraceStep> steps;
  const ChainOutcome out = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", &steps);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kAccept) << out.reason;
  ASSERT_TRUE(out.decided.has_value());
  EXPECT_EQ(out.decided->backend, "x_tables");
  EXPECT_EQ(out.decided->family, "ip");
  EXPECT_EQ(out.decided->table, "filter");
  EXPECT_EQ(out.decided->chain, "DOCKER");
  EXPECT_EQ(out.decided->handle, 1u);
  EXPECT_FALSE(out.decided->policy);
  std::vector<std::string> verdicts;
  for (const TraceStep& s : steps) verdicts.push_back(s.verdict);
  EXPECT_EQ(verdicts, (std::vector<std::string>{"", "jump DOCKER-USER", "return",
                                                "jump DOCKER-ISOLATION-STAGE-1", "return",
                                                "jump DOCKER", "accept"}));
  EXPECT_EQ(steps.back().depth, 1);
  EXPECT_EQ(steps.back().phase, "forward");

  // Another port falls through DOCKER to the FORWARD policy.
  p.dport = 5001;
  const ChainOutcome dropped = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", nullptr);
  ASSERT_EQ(dropped.kind, ChainOutcome::Kind::kDrop);
  EXPECT_TRUE(dropped.decided->policy);
  EXPECT_EQ(dropped.decided->chain, "FORWARD");
  EXPECT_EQ(dropped.decided->text, "-P FORWARD DROP");
  // The reply of an established connection takes rule 3.
  Packet reply = p;
  reply.ct.ctinfo = IP_CT_ESTABLISHED_REPLY;
  const ChainOutcome est = EvalXtLegacyHook(t, NF_INET_FORWARD, &reply, &k, "forward", nullptr);
  ASSERT_EQ(est.kind, ChainOutcome::Kind::kAccept);
  EXPECT_EQ(est.decided->handle, 3u);
}

TEST(XtLegacyTest, LabNatDnatsALocalDestination) {
  const XtLegacyTable t = Load("lab_nat.txt");
  FakeKernel k;
  k.local.insert("198.51.100.1");
  Packet p = Syn();
  std::vector<TraceStep> steps;
  const ChainOutcome out = EvalXtLegacyHook(t, NF_INET_PRE_ROUTING, &p, &k, "prerouting", &steps);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kAccept) << out.reason;
  EXPECT_EQ(out.decided->chain, "DOCKER");
  EXPECT_EQ(out.decided->handle, 2u);
  EXPECT_EQ(p.daddr, A("203.0.113.2"));
  EXPECT_EQ(p.dport, 5000);
  EXPECT_TRUE(p.ct.status & IPS_DST_NAT);
  EXPECT_EQ(steps.back().verdict, "dnat to 203.0.113.2:5000");

  // Not addressed to the host: the policy, nothing rewritten.
  k.local.clear();
  Packet q = Syn();
  const ChainOutcome pass = EvalXtLegacyHook(t, NF_INET_PRE_ROUTING, &q, &k, "prerouting", nullptr);
  EXPECT_EQ(pass.kind, ChainOutcome::Kind::kAccept);
  EXPECT_TRUE(pass.decided->policy);
  EXPECT_EQ(q.daddr, A("198.51.100.1"));
  EXPECT_EQ(q.ct.status, 0u);
}

TEST(XtLegacyTest, LabNatVariantsAndMasquerade) {
  const XtLegacyTable t = Load("lab_nat_variants.txt");
  FakeKernel k;
  // Locally generated: OUTPUT, "! -d 127.0.0.0/8" keeps 127.0.0.1 out.
  Packet p = Syn(5353);
  p.l4proto = IPPROTO_UDP;
  p.daddr = A("127.0.0.1");
  p.iif = Interface{};
  k.local.insert("127.0.0.1");
  ChainOutcome out = EvalXtLegacyHook(t, NF_INET_LOCAL_OUT, &p, &k, "output", nullptr);
  EXPECT_TRUE(out.decided->policy);
  // Arriving from outside, it is DNATed to port 53.
  p.iif = Interface{2, "eth0", 1};
  out = EvalXtLegacyHook(t, NF_INET_PRE_ROUTING, &p, &k, "prerouting", nullptr);
  EXPECT_EQ(out.decided->handle, 3u);
  EXPECT_EQ(p.dport, 53);

  Packet m = Syn();
  m.saddr = A("203.0.113.5");
  m.oif = Interface{2, "eth0", 1};
  out = EvalXtLegacyHook(t, NF_INET_POST_ROUTING, &m, &k, "postrouting", nullptr);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kAccept);
  EXPECT_EQ(out.decided->chain, "POSTROUTING");
  EXPECT_EQ(out.decided->handle, 1u);
  EXPECT_EQ(out.decided->text, "-A POSTROUTING -s 203.0.113.0/24 ! -o docker0 -j MASQUERADE");
}

// Builds a filter table (INPUT, FORWARD, OUTPUT) entry by entry; a jump
// names its chain and is resolved to the offset of the chain's first entry.
class Builder {
 public:
  size_t Add(const ipt_ip& ip, const std::vector<std::pair<std::string, Bytes>>& matches,
             const std::string& target, uint8_t rev, const Bytes& tinfo, bool is_goto = false,
             uint8_t match_rev = 0) {
    Bytes e(sizeof(ipt_entry), 0);
    ipt_entry h{};
    h.ip = ip;
    if (is_goto) h.ip.flags |= IPT_F_GOTO;
    for (const auto& [name, info] : matches) {
      Bytes m(XT_ALIGN(sizeof(xt_entry_match) + info.size()), 0);
      xt_entry_match mh{};
      mh.u.user.match_size = static_cast<uint16_t>(m.size());
      std::strncpy(mh.u.user.name, name.c_str(), sizeof mh.u.user.name - 1);
      mh.u.user.revision = name == "mark" ? 1 : match_rev;
      std::memcpy(m.data(), &mh, sizeof mh);
      std::memcpy(m.data() + sizeof mh, info.data(), info.size());
      e.insert(e.end(), m.begin(), m.end());
    }
    h.target_offset = static_cast<uint16_t>(e.size());
    Bytes t(XT_ALIGN(sizeof(xt_entry_target) + std::max<size_t>(tinfo.size(), 4)), 0);
    xt_entry_target th{};
    th.u.user.target_size = static_cast<uint16_t>(t.size());
    std::strncpy(th.u.user.name, target.c_str(), sizeof th.u.user.name - 1);
    th.u.user.revision = rev;
    std::memcpy(t.data(), &th, sizeof th);
    std::memcpy(t.data() + sizeof th, tinfo.data(), tinfo.size());
    e.insert(e.end(), t.begin(), t.end());
    h.next_offset = static_cast<uint16_t>(e.size());
    std::memcpy(e.data(), &h, sizeof h);
    entries_.push_back(e);
    return entries_.size() - 1;
  }
  size_t Verdict(int32_t v, const ipt_ip& ip = {}) { return Add(ip, {}, "", 0, Int(v)); }
  size_t Jump(const std::string& chain, const ipt_ip& ip = {}, bool is_goto = false) {
    jumps_.push_back({entries_.size(), chain});
    return Add(ip, {}, "", 0, Int(0), is_goto);
  }
  size_t Chain(const std::string& name) {
    Bytes n(XT_FUNCTION_MAXNAMELEN, 0);
    std::memcpy(n.data(), name.data(), name.size());
    heads_[name] = entries_.size();
    return Add({}, {}, "ERROR", 0, n);
  }
  uint32_t Offset(size_t i) const {
    uint32_t off = 0;
    for (size_t j = 0; j < i; ++j) off += static_cast<uint32_t>(entries_[j].size());
    return off;
  }
  struct Hook {
    uint32_t hook;
    size_t entry, underflow;
  };
  XtTableBlob Blob(const std::string& table, const std::vector<Hook>& hooks) {
    XtTableBlob blob;
    blob.name = table;
    for (const Hook& h : hooks) {
      blob.valid_hooks |= 1u << h.hook;
      blob.hook_entry[h.hook] = Offset(h.entry);
      blob.underflow[h.hook] = Offset(h.underflow);
    }
    for (const auto& [from, chain] : jumps_) {
      const int32_t v = static_cast<int32_t>(Offset(heads_.at(chain) + 1));
      std::memcpy(entries_[from].data() + sizeof(ipt_entry) + sizeof(xt_entry_target), &v, 4);
    }
    for (const Bytes& e : entries_) blob.entries.insert(blob.entries.end(), e.begin(), e.end());
    blob.num_entries = static_cast<uint32_t>(entries_.size());
    return blob;
  }

  static Bytes Int(int32_t v) {
    Bytes b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
  }
  template <typename T>
  static Bytes Info(const T& t) {
    Bytes b(sizeof t);
    std::memcpy(b.data(), &t, sizeof t);
    return b;
  }

 private:
  std::vector<Bytes> entries_;
  std::vector<std::pair<size_t, std::string>> jumps_;
  std::map<std::string, size_t> heads_;
};

std::vector<Builder::Hook> Filter(size_t input, size_t forward, size_t policy, size_t output) {
  return {{NF_INET_LOCAL_IN, input, input},
          {NF_INET_FORWARD, forward, policy},
          {NF_INET_LOCAL_OUT, output, output}};
}

ipt_ip Proto(uint16_t p) {
  ipt_ip ip{};
  ip.proto = p;
  return ip;
}

// -i NAME as iptables writes it: a trailing '+' stays in the name and the
// mask stops before it; otherwise the mask covers the NUL too.
ipt_ip InIface(const std::string& name) {
  ipt_ip ip{};
  std::strncpy(ip.iniface, name.c_str(), sizeof ip.iniface - 1);
  const bool wild = name.back() == '+';
  std::memset(ip.iniface_mask, 0xff, wild ? name.size() - 1 : name.size() + 1);
  return ip;
}

// FORWARD: -p tcp -j A; -p udp -g B; -i dock+ -j ACCEPT; policy DROP.
// A: -m mark --mark 0x1 -j DROP; -j MARK --set-xmark 0x1/0xffffffff; -j B.
// B: -i dock+ -j RETURN; -p tcp -m tcp --dport 5000 -j REJECT --reject-with tcp-reset.
XtLegacyTable JumpTable(Builder* b) {
  const size_t input = b->Verdict(-NF_ACCEPT - 1);
  const size_t fwd = b->Jump("A", Proto(IPPROTO_TCP));
  b->Jump("B", Proto(IPPROTO_UDP), true);
  b->Verdict(-NF_ACCEPT - 1, InIface("dock+"));
  const size_t policy = b->Verdict(-NF_DROP - 1);
  const size_t output = b->Verdict(-NF_ACCEPT - 1);
  b->Chain("A");
  const xt_mark_mtinfo1 mk{1, 0xffffffff, 0};
  b->Add({}, {{"mark", Builder::Info(mk)}}, "", 0, Builder::Int(-NF_DROP - 1));
  const xt_mark_tginfo2 set{1, 0xffffffff};
  b->Add({}, {}, "MARK", 2, Builder::Info(set));
  b->Jump("B");
  b->Verdict(XT_RETURN);
  b->Chain("B");
  b->Verdict(XT_RETURN, InIface("dock+"));
  xt_tcp tcp{};
  tcp.spts[1] = 0xffff;
  tcp.dpts[0] = tcp.dpts[1] = 5000;
  const ipt_reject_info rej{IPT_TCP_RESET};
  b->Add(Proto(IPPROTO_TCP), {{"tcp", Builder::Info(tcp)}}, "REJECT", 0, Builder::Info(rej));
  b->Verdict(XT_RETURN);
  b->Chain("ERROR");
  XtLegacyTable t;
  const Status st = DecodeXtLegacyTable(b->Blob("filter", Filter(input, fwd, policy, output)), &t);
  EXPECT_TRUE(st.ok()) << st.message();
  return t;
}

std::vector<std::string> Verdicts(const std::vector<TraceStep>& steps) {
  std::vector<std::string> v;
  for (const TraceStep& s : steps) v.push_back(s.verdict);
  return v;
}

TEST(XtLegacyWalkTest, JumpMarkAndReject) {
  Builder b;
  const XtLegacyTable t = JumpTable(&b);
  FakeKernel k;
  Packet p = Syn();
  std::vector<TraceStep> steps;
  const ChainOutcome out = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", &steps);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kReject) << out.reason;
  EXPECT_TRUE(out.reject.tcp_reset);
  EXPECT_EQ(out.decided->chain, "B");
  EXPECT_EQ(out.decided->handle, 2u);
  EXPECT_EQ(out.decided->text, "-A B -p tcp -m tcp --dport 5000 -j REJECT --reject-with tcp-reset");
  EXPECT_EQ(p.mark, 1u);
  EXPECT_EQ(Verdicts(steps),
            (std::vector<std::string>{"", "jump A", "mark set 0x1", "jump B", "reject"}));
  EXPECT_EQ(steps.back().depth, 2);
}

TEST(XtLegacyWalkTest, ReturnsUnwindTheJumpStack) {
  Builder b;
  const XtLegacyTable t = JumpTable(&b);
  FakeKernel k;
  // From a dock+ interface B returns to A, A ends and returns to FORWARD,
  // whose third rule accepts.
  Packet p = Syn();
  p.iif = Interface{5, "docker1", 1};
  std::vector<TraceStep> steps;
  ChainOutcome out = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", &steps);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kAccept) << out.reason;
  EXPECT_EQ(out.decided->chain, "FORWARD");
  EXPECT_EQ(out.decided->handle, 3u);
  EXPECT_EQ(out.decided->text, "-A FORWARD -i dock+ -j ACCEPT");
  EXPECT_EQ(Verdicts(steps), (std::vector<std::string>{"", "jump A", "mark set 0x1", "jump B",
                                                       "return", "return", "accept"}));
  // Another port from eth0: B and A run out, FORWARD's policy drops.
  Packet q = Syn(6000);
  out = EvalXtLegacyHook(t, NF_INET_FORWARD, &q, &k, "forward", nullptr);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kDrop);
  EXPECT_TRUE(out.decided->policy);
  // A second pass with the mark already set drops in A.
  q.mark = 1;
  out = EvalXtLegacyHook(t, NF_INET_FORWARD, &q, &k, "forward", nullptr);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kDrop);
  EXPECT_EQ(out.decided->chain, "A");
  EXPECT_EQ(out.decided->handle, 1u);
}

TEST(XtLegacyWalkTest, GotoReturnsToThePolicy) {
  Builder b;
  const XtLegacyTable t = JumpTable(&b);
  FakeKernel k;
  // UDP from docker1: -g B, B returns; a goto pushed nothing, so the return
  // falls to FORWARD's underflow (DROP), not to FORWARD's third rule.
  Packet p = Syn();
  p.l4proto = IPPROTO_UDP;
  p.iif = Interface{5, "docker1", 1};
  std::vector<TraceStep> steps;
  const ChainOutcome out = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", &steps);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kDrop);
  EXPECT_TRUE(out.decided->policy);
  EXPECT_EQ(Verdicts(steps), (std::vector<std::string>{"", "goto B", "return", "drop"}));
}

TEST(XtLegacyWalkTest, UnknownMatchStopsWithTheRule) {
  Builder b;
  const size_t input = b.Verdict(-NF_ACCEPT - 1);
  const size_t fwd = b.Add({}, {{"hashlimit", Bytes(16, 0)}}, "", 0, Builder::Int(-NF_DROP - 1));
  const size_t policy = b.Verdict(-NF_ACCEPT - 1);
  const size_t output = b.Verdict(-NF_ACCEPT - 1);
  b.Chain("ERROR");
  XtLegacyTable t;
  ASSERT_TRUE(DecodeXtLegacyTable(b.Blob("filter", Filter(input, fwd, policy, output)), &t).ok());
  FakeKernel k;
  Packet p = Syn();
  const ChainOutcome out = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", nullptr);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kUnknown);
  EXPECT_EQ(out.reason, "x_tables match hashlimit rev 0 is not modelled");
  EXPECT_EQ(out.decided->text, "-A FORWARD -m hashlimit -j DROP");
}

TEST(XtLegacyWalkTest, AJumpBeyondTheStackDrops) {
  // A chain jumping to itself: the kernel refuses such a table at load; the
  // walk still ends, as ipt_do_table would, when the jump stack is full.
  Builder b;
  const size_t input = b.Verdict(-NF_ACCEPT - 1);
  const size_t fwd = b.Jump("LOOP");
  const size_t policy = b.Verdict(-NF_ACCEPT - 1);
  const size_t output = b.Verdict(-NF_ACCEPT - 1);
  b.Chain("LOOP");
  b.Jump("LOOP");
  b.Verdict(XT_RETURN);
  b.Chain("ERROR");
  XtLegacyTable t;
  ASSERT_TRUE(DecodeXtLegacyTable(b.Blob("filter", Filter(input, fwd, policy, output)), &t).ok());
  EXPECT_EQ(t.stacksize, 2u);
  FakeKernel k;
  Packet p = Syn();
  const ChainOutcome out = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", nullptr);
  EXPECT_EQ(out.kind, ChainOutcome::Kind::kDrop);
  EXPECT_EQ(out.decided->chain, "LOOP");
}

TEST(XtLegacyWalkTest, HooksTheTableDoesNotHaveAndIpv6PassUntouched) {
  Builder b;
  const XtLegacyTable t = JumpTable(&b);
  FakeKernel k;
  Packet p = Syn();
  std::vector<TraceStep> steps;
  ChainOutcome out = EvalXtLegacyHook(t, NF_INET_PRE_ROUTING, &p, &k, "prerouting", &steps);
  EXPECT_EQ(out.kind, ChainOutcome::Kind::kAccept);
  EXPECT_FALSE(out.decided.has_value());
  p.nfproto = NFPROTO_IPV6;
  out = EvalXtLegacyHook(t, NF_INET_FORWARD, &p, &k, "forward", &steps);
  EXPECT_EQ(out.kind, ChainOutcome::Kind::kAccept);
  EXPECT_TRUE(steps.empty());
}

TEST(XtLegacyWalkTest, CorruptBlobsAreErrors) {
  Builder b;
  (void)JumpTable(&b);
  const XtTableBlob good = b.Blob("filter", Filter(0, 1, 4, 5));
  XtLegacyTable t;
  ASSERT_TRUE(DecodeXtLegacyTable(good, &t).ok());
  for (size_t len = 0; len < good.entries.size(); len += 4) {
    XtTableBlob cut = good;
    cut.entries.resize(len);
    (void)DecodeXtLegacyTable(cut, &t);  // must not read out of bounds (ASan)
  }
  XtTableBlob bad = good;
  bad.num_entries += 1;
  EXPECT_FALSE(DecodeXtLegacyTable(bad, &t).ok());
  bad = good;
  bad.hook_entry[NF_INET_FORWARD] += 8;
  EXPECT_FALSE(DecodeXtLegacyTable(bad, &t).ok());
  bad = good;
  bad.entries[offsetof(ipt_entry, next_offset)] = 0xff;
  bad.entries[offsetof(ipt_entry, next_offset) + 1] = 0xff;
  EXPECT_FALSE(DecodeXtLegacyTable(bad, &t).ok());
}

TEST(XtLegacyWalkTest, RawRunsBeforeConntrack) {
  // raw PREROUTING: -m conntrack --ctstate NEW -j DROP; -j CT --notrack;
  // -m state --state UNTRACKED -j ACCEPT.  Before conntrack the packet has no
  // entry (INVALID), so the first rule misses; after --notrack it is UNTRACKED.
  Builder b;
  xt_conntrack_mtinfo3 ct{};
  ct.match_flags = XT_CONNTRACK_STATE;
  ct.state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
  const size_t pre =
      b.Add({}, {{"conntrack", Builder::Info(ct)}}, "", 0, Builder::Int(-NF_DROP - 1), false, 3);
  xt_ct_target_info notrack{};
  notrack.flags = XT_CT_NOTRACK;
  b.Add({}, {}, "CT", 0, Builder::Info(notrack));
  const xt_state_info st{XT_STATE_UNTRACKED};
  b.Add({}, {{"state", Builder::Info(st)}}, "", 0, Builder::Int(-NF_ACCEPT - 1));
  const size_t policy = b.Verdict(-NF_ACCEPT - 1);
  b.Chain("ERROR");
  XtLegacyTable t;
  ASSERT_TRUE(DecodeXtLegacyTable(b.Blob("raw", {{NF_INET_PRE_ROUTING, pre, policy}}), &t).ok());
  FakeKernel k;
  Packet p = Syn();
  std::vector<TraceStep> steps;
  const ChainOutcome out = EvalXtLegacyHook(t, NF_INET_PRE_ROUTING, &p, &k, "prerouting", &steps);
  ASSERT_EQ(out.kind, ChainOutcome::Kind::kAccept) << out.reason;
  EXPECT_EQ(out.decided->handle, 3u);
  EXPECT_TRUE(p.ct.untracked);
  EXPECT_EQ(Verdicts(steps), (std::vector<std::string>{"", "notrack", "accept"}));
  EXPECT_EQ(steps[1].rule->text, "-A PREROUTING -j CT --notrack");
  EXPECT_EQ(out.decided->text, "-A PREROUTING -m state --state UNTRACKED -j ACCEPT");
}

TEST(XtLegacyTest, Priorities) {
  EXPECT_EQ(XtLegacyPriority("raw", NF_INET_PRE_ROUTING), -300);
  EXPECT_EQ(XtLegacyPriority("mangle", NF_INET_FORWARD), -150);
  EXPECT_EQ(XtLegacyPriority("nat", NF_INET_PRE_ROUTING), -100);
  EXPECT_EQ(XtLegacyPriority("nat", NF_INET_LOCAL_OUT), -100);
  EXPECT_EQ(XtLegacyPriority("nat", NF_INET_LOCAL_IN), 100);
  EXPECT_EQ(XtLegacyPriority("nat", NF_INET_POST_ROUTING), 100);
  EXPECT_EQ(XtLegacyPriority("filter", NF_INET_FORWARD), 0);
  EXPECT_EQ(XtLegacyPriority("security", NF_INET_LOCAL_IN), 50);
}

}  // namespace
}  // namespace portmap::pathtrace
