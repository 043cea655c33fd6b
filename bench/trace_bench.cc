// trace_bench: what one `portmap_exporter trace` costs in the caller's network
// namespace, read cold and warm.  Driven by bench/trace.sh, which builds the
// namespace and its rulesets.
//
//   trace_bench COLD WARM FROM IIF ADDR:PORT
//
// Cold: COLD traces, each opening everything afresh as the command does
// (LiveKernel, the input interface by name, NftLiveRuleset,
// LiveLegacyRuleset), so each reads from the kernel every chain and set it
// walks, and frees them at its end.  Warm: WARM traces through one
// LiveKernel and one NftLiveRuleset, whose cache stays valid while the
// generation does not change.  Every trace must end "connected"; any other
// outcome prints the trace and fails.
//
// The headline figures come from plain traces.  Then the same numbers of
// cold and warm traces run metered (trace_meter.h: every call into the
// kernel timed, nf_tables messages counted) for the breakdown, and the
// nf_tables dumps a cold trace made are repeated straight from the kernel,
// with nothing decoded and then decoded but not cached, to tell the
// kernel's part from ours.
//
// Prints one line:
//   cold_median_us cold_p95_us warm_median_us warm_p95_us outcome chains rules
//   cold_messages cold_kib warm_messages
// (chains and rules: what a cold trace left in NftLiveRuleset::cache();
// messages: nf_tables messages received per trace), then the breakdown as
// lines starting with '#' (per call kind, the median over the traces).
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bench/trace_meter.h"
#include "netlink/socket.h"
#include "pathtrace/kernel_live.h"
#include "pathtrace/nft_live.h"
#include "pathtrace/nft_model_decode.h"
#include "pathtrace/tracer.h"
#include "pathtrace/xt_legacy_source.h"

namespace pt = portmap::pathtrace;
using portmap::bench::Clock;
using portmap::bench::Meter;
using portmap::bench::MicrosSince;
using portmap::bench::Tallies;
using portmap::bench::Tally;
using portmap::bench::TimedKernel;
using portmap::bench::TimedLegacy;
using portmap::bench::TimedRuleset;

namespace {

constexpr int kRawRounds = 20;  // raw dumps per chain, median taken

// family, table, name
using ChainKey = std::tuple<uint8_t, std::string, std::string>;

struct Args {
  int cold = 0;
  int warm = 0;
  pt::Addr from;
  std::string iif;
  pt::Addr to;
  uint16_t port = 0;
};

bool ParseArgs(int argc, char** argv, Args* a) {
  if (argc != 6) return false;
  a->cold = std::atoi(argv[1]);
  a->warm = std::atoi(argv[2]);
  const auto from = pt::ParseAddr(argv[3]);
  a->iif = argv[4];
  const std::string to = argv[5];
  const size_t colon = to.rfind(':');
  if (!from.has_value() || colon == std::string::npos || a->cold < 1 || a->warm < 1) return false;
  const auto addr = pt::ParseAddr(to.substr(0, colon));
  const int port = std::atoi(to.c_str() + colon + 1);
  if (!addr.has_value() || addr->family != from->family || port < 1 || port > 65535) return false;
  a->from = *from;
  a->to = *addr;
  a->port = static_cast<uint16_t>(port);
  return true;
}

// The packet `trace --from FROM --iif IIF --to ADDR:PORT` builds
// (exporter/trace/trace_command.cc, BuildTracePacket).
portmap::Status BuildPacket(const Args& a, pt::KernelView* kernel, pt::Packet* pkt) {
  *pkt = pt::Packet{};
  pkt->nfproto = a.to.family == 10 ? 10 : 2;
  pkt->l4proto = 6;
  pkt->saddr = a.from;
  pkt->daddr = a.to;
  pkt->sport = 40000;
  pkt->dport = a.port;
  return kernel->LinkByName(a.iif, &pkt->iif);
}

bool Fail(const std::string& what) {
  (void)std::fprintf(stderr, "trace_bench: %s\n", what.c_str());
  return false;
}

// Every trace must connect: the benchmark times the path a published port
// takes, and a trace that stops early would time something else.
bool CheckConnected(const pt::TraceResult& r) {
  if (r.outcome == pt::Outcome::kConnected) return true;
  std::string text =
      std::string("outcome ") + pt::OutcomeName(r.outcome) + ", not connected: " + r.reason + "\n";
  for (const pt::TraceStep& s : r.steps) {
    text += "  " + s.phase + " " + std::string(static_cast<size_t>(s.depth) * 2, ' ') + s.text +
            (s.verdict.empty() ? "" : " -> " + s.verdict) + "\n";
  }
  return Fail(text);
}

// One cold trace exactly as the command makes it (exporter/trace/
// trace_command.cc), nothing metered: the headline figure.
bool PlainColdTrace(const Args& a) {
  portmap::Status st;
  auto kernel = pt::LiveKernel::Open(portmap::Paths{}, &st);
  if (kernel == nullptr) return Fail("open: " + st.message());
  pt::Packet pkt;
  if (st = BuildPacket(a, kernel.get(), &pkt); !st.ok()) return Fail("--iif: " + st.message());
  portmap::NetlinkStatus ns;
  pt::NftLiveRuleset nft = pt::NftLiveRuleset::Open(&ns);
  if (!ns.ok()) return Fail("nf_tables: " + ns.message);
  pt::LiveLegacyRuleset legacy{portmap::Paths{}};
  pt::TraceResult result;
  st = pt::Tracer(&nft, kernel.get(), &legacy).Trace(pkt, &result);
  if (!st.ok()) return Fail("trace: " + st.message());
  return CheckConnected(result);
}

// The same, metered call by call (trace_meter.h); *chains and *rules: what
// the cache held at the end, *read: the chains whose rules it read.
bool MeteredColdTrace(const Args& a, Meter* meter, size_t* chains, size_t* rules,
                      std::vector<ChainKey>* read) {
  std::unique_ptr<pt::LiveKernel> kernel;
  pt::NftLiveRuleset nft;
  portmap::Status st = meter->Time("open sockets", [&] {
    portmap::Status s;
    kernel = pt::LiveKernel::Open(portmap::Paths{}, &s);
    if (kernel == nullptr) return s;
    portmap::NetlinkStatus ns;
    nft = pt::NftLiveRuleset::Open(&ns);
    return ns.ok() ? portmap::Status::Ok() : portmap::Status::Error(ns.message);
  });
  if (!st.ok()) return Fail("open: " + st.message());
  nft.SetTap([meter](const nlmsghdr* m) { return meter->OnMessage(m); });
  pt::LiveLegacyRuleset legacy_live{portmap::Paths{}};
  TimedKernel timed_kernel(kernel.get(), meter);
  TimedRuleset timed_nft(&nft, meter);
  TimedLegacy timed_legacy(&legacy_live, meter);
  pt::Packet pkt;
  if (st = BuildPacket(a, &timed_kernel, &pkt); !st.ok()) return Fail("--iif: " + st.message());
  pt::TraceResult result;
  st = pt::Tracer(&timed_nft, &timed_kernel, &timed_legacy).Trace(pkt, &result);
  if (!st.ok()) return Fail("trace: " + st.message());
  if (!CheckConnected(result)) return false;
  *chains = 0;
  *rules = 0;
  read->clear();
  for (const pt::NftChainModel* c : nft.cache().Chains()) {
    ++*chains;
    *rules += c->rules.size();
    if (!c->rules.empty()) read->emplace_back(c->family, c->table, c->name);
  }
  // What the command pays on its way out: the sockets and the cache freed.
  st = meter->Time("close (sockets, cache freed)", [&] {
    nft = pt::NftLiveRuleset();
    kernel.reset();
    return portmap::Status::Ok();
  });
  return true;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

size_t TotalMessages(const Tallies& t, size_t* bytes) {
  size_t n = 0;
  *bytes = 0;
  for (const auto& [key, tally] : t) {
    n += tally.messages;
    *bytes += tally.bytes;
  }
  return n;
}

// '#' lines: per call kind, the median over the traces of its time per
// trace, slowest first; what is not in a call is the evaluation itself.
void PrintBreakdown(const char* label, const std::vector<Tallies>& runs,
                    const std::vector<double>& totals) {
  std::map<std::string, std::vector<double>> per_key;
  std::vector<double> rest;
  for (size_t i = 0; i < runs.size(); ++i) {
    double in_calls = 0;
    for (const auto& [key, t] : runs[i]) {
      per_key[key].push_back(t.us);
      in_calls += t.us;
    }
    rest.push_back(totals[i] - in_calls);
  }
  std::vector<std::pair<double, std::string>> order;
  order.reserve(per_key.size());
  for (const auto& [key, v] : per_key) order.emplace_back(Percentile(v, 0.5), key);
  std::sort(order.rbegin(), order.rend());
  (void)std::printf("# %s trace, metered, median %.1f us:\n", label, Percentile(totals, 0.5));
  for (const auto& [us, key] : order) {
    const Tally& t = runs.back().at(key);
    std::string kinds;
    if (t.messages > 0) {
      kinds = ", read";
      for (size_t type = 0; type < t.kinds.size(); ++type) {
        if (t.kinds[type] == 0) continue;
        kinds += " " + std::to_string(t.kinds[type]);
        kinds += " " + portmap::bench::MessageKind(type);
      }
      char size[32];
      (void)std::snprintf(size, sizeof size, " (%.1f KiB)", static_cast<double>(t.bytes) / 1024);
      kinds += size;
    }
    (void)std::printf("#   %9.1f us  %-44s x%d%s\n", us, key.c_str(), t.calls, kinds.c_str());
  }
  (void)std::printf("#   %9.1f us  %s\n", Percentile(rest, 0.5), "evaluation and the rest");
}

// One nf_tables dump straight from the kernel: `decode` false runs no
// decoder (what the kernel and the socket cost), true decodes each message
// into a throwaway NftModelMessages (no cache).  Returns microseconds.
double RawDump(portmap::NetlinkSocket* sock, uint16_t type, uint8_t family,
               const std::vector<std::pair<uint16_t, std::string>>& attrs, bool decode,
               size_t* messages, size_t* bytes) {
  std::array<uint32_t, 256> buf{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = sock->NextSeq();
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  for (const auto& [attr, value] : attrs) mnl_attr_put_strz(nlh, attr, value.c_str());
  *messages = 0;
  *bytes = 0;
  pt::NftModelMessages out;
  const auto start = Clock::now();
  const portmap::NetlinkStatus st = sock->Dump(
      nlh,
      [&](const nlmsghdr* m) {
        ++*messages;
        *bytes += m->nlmsg_len;
        if (decode) (void)pt::DecodeNftModelMessage(m, &out);
        return MNL_CB_OK;
      },
      start + std::chrono::seconds(5));
  const double us = MicrosSince(start);
  return st.ok() ? us : -1;
}

// '#' lines: the table and family chain dumps a cold trace makes
// (BaseChains) and the rule dump of each chain it read, straight from the
// kernel.
void PrintRawReads(const std::vector<ChainKey>& read) {
  portmap::NetlinkStatus ns;
  portmap::NetlinkSocket sock = portmap::NetlinkSocket::Open(NETLINK_NETFILTER, &ns);
  if (!ns.ok()) {
    (void)std::printf("# raw reads: %s\n", ns.message.c_str());
    return;
  }
  struct Item {
    std::string what;
    uint16_t type;
    uint8_t family;
    std::vector<std::pair<uint16_t, std::string>> attrs;
  };
  std::vector<Item> items = {{"GETTABLE dump", NFT_MSG_GETTABLE, NFPROTO_UNSPEC, {}},
                             {"GETCHAIN dump ip", NFT_MSG_GETCHAIN, NFPROTO_IPV4, {}},
                             {"GETCHAIN dump inet", NFT_MSG_GETCHAIN, NFPROTO_INET, {}},
                             {"GETCHAIN dump netdev", NFT_MSG_GETCHAIN, NFPROTO_NETDEV, {}}};
  for (const auto& [family, table, name] : read) {
    std::string what = std::string("GETRULE ") + portmap::bench::FamilyName(family);
    what += " " + table;
    what += " " + name;
    items.push_back(
        {what, NFT_MSG_GETRULE, family, {{NFTA_RULE_TABLE, table}, {NFTA_RULE_CHAIN, name}}});
  }
  (void)std::printf("# the same dumps straight from the kernel (median of %d):\n", kRawRounds);
  (void)std::printf("#   %9s  %9s  %-44s\n", "kernel", "+decode", "dump");
  for (const Item& it : items) {
    std::array<std::vector<double>, 2> us;
    size_t messages = 0;
    size_t bytes = 0;
    for (int r = 0; r < kRawRounds; ++r) {
      for (int decode = 0; decode < 2; ++decode) {
        us[decode].push_back(
            RawDump(&sock, it.type, it.family, it.attrs, decode == 1, &messages, &bytes));
      }
    }
    (void)std::printf("#   %6.1f us  %6.1f us  %-44s %zu messages (%.1f KiB)\n",
                      Percentile(us[0], 0.5), Percentile(us[1], 0.5), it.what.c_str(), messages,
                      static_cast<double>(bytes) / 1024);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) {
    (void)std::fprintf(stderr, "usage: %s COLD WARM FROM IIF ADDR:PORT\n", argv[0]);
    return 2;
  }
  // One untimed trace first: the first one in a namespace pays for page
  // faults and lazily created kernel state.
  if (!PlainColdTrace(a)) return 1;
  std::vector<double> cold_us;
  for (int i = 0; i < a.cold; ++i) {
    const auto start = Clock::now();
    if (!PlainColdTrace(a)) return 1;
    cold_us.push_back(MicrosSince(start));
  }
  Meter meter;
  size_t chains = 0;
  size_t rules = 0;
  std::vector<ChainKey> read;
  std::vector<double> metered_cold_us;
  std::vector<Tallies> cold_runs;
  for (int i = 0; i < a.cold; ++i) {
    meter.Reset();
    const auto start = Clock::now();
    if (!MeteredColdTrace(a, &meter, &chains, &rules, &read)) return 1;
    metered_cold_us.push_back(MicrosSince(start));
    cold_runs.push_back(meter.tallies());
  }

  portmap::Status st;
  auto kernel = pt::LiveKernel::Open(portmap::Paths{}, &st);
  portmap::NetlinkStatus ns;
  pt::NftLiveRuleset nft = pt::NftLiveRuleset::Open(&ns);
  if (kernel == nullptr || !ns.ok()) {
    Fail("open: " + st.message() + ns.message);
    return 1;
  }
  pt::LiveLegacyRuleset legacy{portmap::Paths{}};
  pt::Packet pkt;
  if (st = BuildPacket(a, kernel.get(), &pkt); !st.ok()) {
    Fail("--iif: " + st.message());
    return 1;
  }
  // Warm: the plain tracer, then the metered one over the same objects (and
  // so the same cache).  Index -1 fills the cache, untimed.
  pt::Tracer plain(&nft, kernel.get(), &legacy);
  TimedKernel timed_kernel(kernel.get(), &meter);
  TimedRuleset timed_nft(&nft, &meter);
  TimedLegacy timed_legacy(&legacy, &meter);
  pt::Tracer metered(&timed_nft, &timed_kernel, &timed_legacy);
  std::vector<double> warm_us;
  std::vector<double> metered_warm_us;
  std::vector<Tallies> warm_runs;
  for (pt::Tracer* tracer : {&plain, &metered}) {
    if (tracer == &metered) nft.SetTap([&meter](const nlmsghdr* m) { return meter.OnMessage(m); });
    for (int i = -1; i < a.warm; ++i) {
      meter.Reset();
      pt::TraceResult result;
      const auto start = Clock::now();
      st = tracer->Trace(pkt, &result);
      const double us = MicrosSince(start);
      if (!st.ok()) {
        Fail("trace: " + st.message());
        return 1;
      }
      if (!CheckConnected(result)) return 1;
      if (i < 0) continue;
      (tracer == &plain ? warm_us : metered_warm_us).push_back(us);
      if (tracer == &metered) warm_runs.push_back(meter.tallies());
    }
  }

  size_t cold_bytes = 0;
  size_t warm_bytes = 0;
  const size_t cold_msgs = TotalMessages(cold_runs.back(), &cold_bytes);
  const size_t warm_msgs = TotalMessages(warm_runs.back(), &warm_bytes);
  (void)std::printf("%.1f %.1f %.1f %.1f connected %zu %zu %zu %.1f %zu\n",
                    Percentile(cold_us, 0.5), Percentile(cold_us, 0.95), Percentile(warm_us, 0.5),
                    Percentile(warm_us, 0.95), chains, rules, cold_msgs,
                    static_cast<double>(cold_bytes) / 1024, warm_msgs);
  PrintBreakdown("cold", cold_runs, metered_cold_us);
  PrintBreakdown("warm", warm_runs, metered_warm_us);
  PrintRawReads(read);
  return 0;
}
