// Test doubles for the tracer's two seams: a ruleset held in memory (chains
// and sets built by hand with the helpers below, encoded as the kernel holds
// them) and a kernel whose routes, sockets and links the test states.
#pragma once

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <vector>

#include "pathtrace/kernel.h"
#include "pathtrace/nft_model.h"
#include "pathtrace/ruleset.h"

namespace portmap::pathtrace::testing {

class FakeRuleset : public RulesetSource {
 public:
  NftChainModel& AddChain(NftChainModel c) { return chains_.emplace_back(std::move(c)); }
  NftSetModel& AddSet(NftSetModel s) { return sets_.emplace_back(std::move(s)); }
  int begins = 0;
  int changes_left = 0;  // StillCurrent answers false this many times

  Status Begin(uint32_t* generation) override {
    ++begins;
    *generation = 7;
    return Status::Ok();
  }
  Status StillCurrent(bool* current) override {
    *current = changes_left == 0;
    if (changes_left > 0) --changes_left;
    return Status::Ok();
  }
  Status BaseChains(uint8_t nfproto, uint32_t hook,
                    std::vector<const NftChainModel*>* chains) override {
    chains->clear();
    for (const auto& c : chains_) {
      if (c.hook == hook && (c.family == nfproto || c.family == NFPROTO_INET))
        chains->push_back(&c);
    }
    std::stable_sort(chains->begin(), chains->end(),
                     [](const auto* a, const auto* b) { return a->priority < b->priority; });
    return Status::Ok();
  }
  Status Chain(uint8_t family, const std::string& table, const std::string& name,
               const NftChainModel** chain) override {
    for (const auto& c : chains_) {
      if (c.family == family && c.table == table && c.name == name) {
        *chain = &c;
        return Status::Ok();
      }
    }
    return Status::NoData("no chain " + name);
  }
  Status Set(uint8_t family, const std::string& table, const std::string& name, uint32_t id,
             const NftSetModel** set) override {
    for (const auto& s : sets_) {
      if (s.family == family && s.table == table &&
          (s.name == name || (name.empty() && s.id == id))) {
        *set = &s;
        return Status::Ok();
      }
    }
    return Status::NoData("no set " + name);
  }

 private:
  std::list<NftChainModel> chains_;  // stable addresses
  std::list<NftSetModel> sets_;
};

class FakeKernel : public KernelView {
 public:
  // The route for a query; default: local for `local_addrs`, else forward via oif 3.
  std::function<RouteAnswer(const RouteQuery&)> route;
  std::vector<Addr> local_addrs;
  std::vector<std::pair<Addr, uint16_t>> listeners;  // family 0 address: wildcard
  std::map<uint32_t, Interface> links{
      {1, {1, "lo", 772}}, {2, {2, "eth0", 1}}, {3, {3, "docker0", 1}}};
  std::map<std::string, int64_t> sysctls;  // missing: 1
  PeerAnswer peer;                         // what every PeerListening answers
  std::vector<LinkInfo> link_dump;         // what Links() answers
  std::vector<AddrInfo> addr_dump;         // what Addresses() answers, of the family asked
  std::vector<InetSocket> socket_dump;     // what Sockets() answers, of the protocol asked

  Status Route(const RouteQuery& q, RouteAnswer* a) override {
    if (route) {
      *a = route(q);
      return Status::Ok();
    }
    *a = RouteAnswer{};
    for (const Addr& l : local_addrs) {
      if (l == q.dst) {
        a->type = RTN_LOCAL;
        a->oif = 1;
        return Status::Ok();
      }
    }
    a->type = RTN_UNICAST;
    // Towards the lab's container network by docker0, anything else by eth0.
    a->oif = q.dst.bytes[0] == 203 ? 3 : 2;
    return Status::Ok();
  }
  Status Listening(uint8_t, uint8_t, const Addr& addr, uint16_t port, bool* listening) override {
    *listening = false;
    for (const auto& [a, p] : listeners) {
      if (p == port && (a.family == 0 || a == addr)) *listening = true;
    }
    return Status::Ok();
  }
  Status LinkByIndex(uint32_t index, Interface* link) override {
    auto it = links.find(index);
    if (it == links.end()) return Status::NoData("no link");
    *link = it->second;
    return Status::Ok();
  }
  Status LinkByName(const std::string& name, Interface* link) override {
    for (const auto& [i, l] : links) {
      if (l.name == name) {
        *link = l;
        return Status::Ok();
      }
    }
    return Status::NoData("no link");
  }
  Status IsLocalAddress(const Addr& addr, uint32_t, bool* local) override {
    *local = false;
    for (const Addr& l : local_addrs) *local = *local || l == addr;
    return Status::Ok();
  }
  Status PeerListening(uint8_t, uint8_t, const Addr&, uint16_t, PeerAnswer* a) override {
    *a = peer;
    return Status::Ok();
  }
  Status Links(std::vector<LinkInfo>* out) override {
    *out = link_dump;
    return Status::Ok();
  }
  Status Addresses(uint8_t family, std::vector<AddrInfo>* out) override {
    out->clear();
    for (const AddrInfo& a : addr_dump) {
      if (a.family == family) out->push_back(a);
    }
    return Status::Ok();
  }
  Status Sockets(uint8_t, std::vector<InetSocket>* out) override {
    *out = socket_dump;
    return Status::Ok();
  }
  Status NetSysctl(const std::string& key, int64_t* value) override {
    auto it = sysctls.find(key);
    *value = it == sysctls.end() ? 1 : it->second;
    return Status::Ok();
  }
};

// --- Interfaces and addresses, as rtnetlink dumps them ----------------------

inline AddrInfo AddressOf(uint32_t index, const char* text, uint8_t prefixlen, uint32_t flags = 0) {
  AddrInfo a;
  const Addr addr = *ParseAddr(text);
  a.family = addr.family;
  a.index = index;
  a.prefixlen = prefixlen;
  a.flags = flags;
  std::copy(addr.bytes.begin(), addr.bytes.end(), a.local.begin());
  return a;
}
inline LinkInfo LinkOf(uint32_t index, const char* name, uint32_t flags, const char* kind = "",
                       uint32_t master = 0) {
  return LinkInfo{index, 1, flags, name, master, kind};
}

// --- Rule building, as nft encodes rules ------------------------------------

inline Bytes Be16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }
inline Bytes AddrBytes(const char* text) {
  Bytes b(4);
  inet_pton(AF_INET, text, b.data());
  return b;
}
inline Bytes HostU32(uint32_t v) {
  Bytes b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}
inline Bytes IfName(const std::string& name) {
  Bytes b(16, 0);
  std::memcpy(b.data(), name.data(), name.size());
  return b;
}

// `tcp dport N`: meta l4proto tcp, then the transport header's bytes 2-3.
inline std::vector<NftExpr> TcpDport(uint16_t port) {
  return {MetaExpr{NFT_META_L4PROTO, NFT_REG_1, std::nullopt}, CmpExpr{NFT_REG_1, NFT_CMP_EQ, {6}},
          PayloadExpr{NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1, std::nullopt},
          CmpExpr{NFT_REG_1, NFT_CMP_EQ, Be16(port)}};
}
inline std::vector<NftExpr> IifName(const std::string& name, bool equal = true) {
  return {MetaExpr{NFT_META_IIFNAME, NFT_REG_1, std::nullopt},
          CmpExpr{NFT_REG_1, equal ? NFT_CMP_EQ : NFT_CMP_NEQ, IfName(name)}};
}
inline std::vector<NftExpr> OifName(const std::string& name) {
  return {MetaExpr{NFT_META_OIFNAME, NFT_REG_1, std::nullopt},
          CmpExpr{NFT_REG_1, NFT_CMP_EQ, IfName(name)}};
}
inline std::vector<NftExpr> CtStatusDnat() {
  return {CtExpr{NFT_CT_STATUS, NFT_REG_1, std::nullopt, std::nullopt},
          BitwiseExpr{NFT_REG_1, NFT_REG_1, 4, NFT_BITWISE_BOOL, HostU32(0x20), HostU32(0), {}},
          CmpExpr{NFT_REG_1, NFT_CMP_NEQ, HostU32(0)}};
}
// `ct state established,related`
inline std::vector<NftExpr> CtEstablished() {
  return {CtExpr{NFT_CT_STATE, NFT_REG_1, std::nullopt, std::nullopt},
          BitwiseExpr{NFT_REG_1, NFT_REG_1, 4, NFT_BITWISE_BOOL, HostU32(0x6), HostU32(0), {}},
          CmpExpr{NFT_REG_1, NFT_CMP_NEQ, HostU32(0)}};
}
inline NftExpr Verdict(int32_t code, std::string chain = "") {
  return ImmediateExpr{NFT_REG_VERDICT, NftData{{}, NftVerdict{code, std::move(chain)}}};
}
inline std::vector<NftExpr> DnatTo(const char* addr, uint16_t port) {
  NatExpr nat;
  nat.type = NFT_NAT_DNAT;
  nat.family = NFPROTO_IPV4;
  nat.reg_addr_min = NFT_REG_1;
  nat.reg_proto_min = NFT_REG_2;
  nat.flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
  return {ImmediateExpr{NFT_REG_1, NftData{AddrBytes(addr), std::nullopt}},
          ImmediateExpr{NFT_REG_2, NftData{Be16(port), std::nullopt}}, nat};
}

inline NftRuleModel Rule(uint64_t handle, std::vector<std::vector<NftExpr>> parts,
                         std::vector<NftExpr> tail = {}) {
  NftRuleModel r;
  r.handle = handle;
  for (auto& p : parts) r.exprs.insert(r.exprs.end(), p.begin(), p.end());
  r.exprs.insert(r.exprs.end(), tail.begin(), tail.end());
  return r;
}

inline NftChainModel Base(uint8_t family, std::string table, std::string name, uint32_t hook,
                          int32_t prio, uint32_t policy = NF_ACCEPT, std::string type = "filter") {
  NftChainModel c;
  c.family = family;
  c.table = std::move(table);
  c.name = std::move(name);
  c.hook = hook;
  c.priority = prio;
  c.policy = policy;
  c.type = std::move(type);
  return c;
}
inline NftChainModel User(uint8_t family, std::string table, std::string name) {
  NftChainModel c;
  c.family = family;
  c.table = std::move(table);
  c.name = std::move(name);
  return c;
}

}  // namespace portmap::pathtrace::testing
