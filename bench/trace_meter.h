// trace_meter: times the packet tracer's calls into the kernel for
// trace_bench.cc — RulesetSource, KernelView and LegacyRuleset wrappers that
// add each call's wall time, by call kind, to a Meter, which also counts the
// nf_tables messages received meanwhile (through NftLiveRuleset's tap).
//
// Thread safety: one thread, like the tracer it wraps.
#pragma once

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "pathtrace/kernel.h"
#include "pathtrace/ruleset.h"
#include "pathtrace/xt_legacy_source.h"
#include "util/status.h"

namespace portmap::bench {

namespace pt = portmap::pathtrace;

using Clock = std::chrono::steady_clock;

inline double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// The nf_tables message types counted (NFT_MSG_*, below NFT_MSG_MAX).
inline constexpr size_t kMessageTypes = 64;

// "chain" for NFT_MSG_NEWCHAIN, and so on.
inline std::string MessageKind(size_t type) {
  switch (type) {
    case NFT_MSG_NEWTABLE:
      return "table";
    case NFT_MSG_NEWCHAIN:
      return "chain";
    case NFT_MSG_NEWRULE:
      return "rule";
    case NFT_MSG_NEWSET:
      return "set";
    case NFT_MSG_NEWSETELEM:
      return "setelem";
    case NFT_MSG_NEWGEN:
      return "gen";
    default:
      return "type " + std::to_string(type);
  }
}

// One call kind's cost within one trace.
struct Tally {
  double us = 0;
  int calls = 0;
  size_t messages = 0;
  size_t bytes = 0;
  std::array<size_t, kMessageTypes> kinds{};  // messages by NFT_MSG_* type
};
using Tallies = std::map<std::string, Tally>;

// Times calls by name, and counts the nf_tables messages received meanwhile
// (through NftLiveRuleset's tap).  Costs a map lookup per call and a few
// increments per message: the headline figures are measured without it.
class Meter {
 public:
  void Reset() { tallies_.clear(); }
  const Tallies& tallies() const { return tallies_; }

  template <class F>
  portmap::Status Time(const std::string& key, F&& f) {
    Tally& t = tallies_[key];
    Tally* outer = current_;
    current_ = &t;
    const auto start = Clock::now();
    portmap::Status st = f();
    t.us += MicrosSince(start);
    ++t.calls;
    current_ = outer;
    return st;
  }

  int OnMessage(const nlmsghdr* m) {
    if (current_ != nullptr) {
      ++current_->messages;
      current_->bytes += m->nlmsg_len;
      ++current_->kinds[NFNL_MSG_TYPE(m->nlmsg_type) % kMessageTypes];
    }
    return 1;  // MNL_CB_OK
  }

 private:
  Tallies tallies_;
  Tally* current_ = nullptr;
};

inline const char* FamilyName(uint8_t family) {
  switch (family) {
    case 1:
      return "inet";
    case 2:
      return "ip";
    case 3:
      return "arp";
    case 5:
      return "netdev";
    case 7:
      return "bridge";
    case 10:
      return "ip6";
    default:
      return "family?";
  }
}

// "ip prerouting", "netdev ingress": hooks are numbered per family.
inline std::string HookName(uint8_t nfproto, uint32_t hook) {
  static const char* const kInet[] = {"prerouting", "input",       "forward",
                                      "output",     "postrouting", "ingress"};
  static const char* const kNetdev[] = {"ingress", "egress"};
  const char* name = nullptr;
  if (nfproto == 5 /* NFPROTO_NETDEV */) {
    if (hook < 2) name = kNetdev[hook];
  } else if (hook < 6) {
    name = kInet[hook];
  }
  return std::string(FamilyName(nfproto)) + " " +
         (name != nullptr ? name : "hook " + std::to_string(hook));
}

class TimedRuleset : public pt::RulesetSource {
 public:
  TimedRuleset(pt::RulesetSource* inner, Meter* meter) : inner_(inner), meter_(meter) {}
  portmap::Status Begin(uint32_t* g) override {
    return meter_->Time("nft Begin (GETGEN)", [&] { return inner_->Begin(g); });
  }
  portmap::Status StillCurrent(bool* c) override {
    return meter_->Time("nft StillCurrent (GETGEN)", [&] { return inner_->StillCurrent(c); });
  }
  portmap::Status BaseChains(uint8_t nfproto, uint32_t hook,
                             std::vector<const pt::NftChainModel*>* chains) override {
    return meter_->Time("nft BaseChains " + HookName(nfproto, hook),
                        [&] { return inner_->BaseChains(nfproto, hook, chains); });
  }
  portmap::Status Chain(uint8_t family, const std::string& table, const std::string& name,
                        const pt::NftChainModel** chain) override {
    return meter_->Time(std::string("nft Chain ") + FamilyName(family) + " " + table + " " + name,
                        [&] { return inner_->Chain(family, table, name, chain); });
  }
  portmap::Status Set(uint8_t family, const std::string& table, const std::string& name,
                      uint32_t id, const pt::NftSetModel** set) override {
    return meter_->Time(std::string("nft Set ") + FamilyName(family) + " " + table + " " + name,
                        [&] { return inner_->Set(family, table, name, id, set); });
  }

 private:
  pt::RulesetSource* inner_;
  Meter* meter_;
};

class TimedKernel : public pt::KernelView {
 public:
  TimedKernel(pt::KernelView* inner, Meter* meter) : inner_(inner), meter_(meter) {}
  portmap::Status Route(const pt::RouteQuery& q, pt::RouteAnswer* a) override {
    return meter_->Time("kernel Route", [&] { return inner_->Route(q, a); });
  }
  portmap::Status Listening(uint8_t nfproto, uint8_t l4proto, const pt::Addr& addr, uint16_t port,
                            bool* listening) override {
    return meter_->Time("kernel Listening",
                        [&] { return inner_->Listening(nfproto, l4proto, addr, port, listening); });
  }
  portmap::Status LinkByIndex(uint32_t index, pt::Interface* link) override {
    return meter_->Time("kernel LinkByIndex", [&] { return inner_->LinkByIndex(index, link); });
  }
  portmap::Status LinkByName(const std::string& name, pt::Interface* link) override {
    return meter_->Time("kernel LinkByName", [&] { return inner_->LinkByName(name, link); });
  }
  portmap::Status IsLocalAddress(const pt::Addr& addr, uint32_t dev, bool* local) override {
    return meter_->Time("kernel IsLocalAddress",
                        [&] { return inner_->IsLocalAddress(addr, dev, local); });
  }
  portmap::Status NetSysctl(const std::string& key, int64_t* value) override {
    return meter_->Time("kernel NetSysctl", [&] { return inner_->NetSysctl(key, value); });
  }

 private:
  pt::KernelView* inner_;
  Meter* meter_;
};

class TimedLegacy : public pt::LegacyRuleset {
 public:
  TimedLegacy(pt::LegacyRuleset* inner, Meter* meter) : inner_(inner), meter_(meter) {}
  portmap::Status Begin() override {
    return meter_->Time("legacy Begin (x_tables)", [&] { return inner_->Begin(); });
  }
  const std::vector<pt::XtLegacyTable>& Tables() const override { return inner_->Tables(); }
  const std::vector<std::string>& Ip6Tables() const override { return inner_->Ip6Tables(); }

 private:
  pt::LegacyRuleset* inner_;
  Meter* meter_;
};

}  // namespace portmap::bench
