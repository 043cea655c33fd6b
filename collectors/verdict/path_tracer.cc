#include "collectors/verdict/path_tracer.h"

#include <netinet/in.h>

#include <algorithm>
#include <utility>

#include "pathtrace/kernel_live.h"
#include "pathtrace/nft_live.h"
#include "util/fnv.h"

namespace portmap {

PathTracer::PathTracer(std::unique_ptr<pathtrace::RulesetSource> ruleset,
                       std::unique_ptr<pathtrace::KernelView> kernel,
                       std::unique_ptr<pathtrace::LegacyRuleset> legacy,
                       std::unique_ptr<ChangeWatch> watch)
    : ruleset_(std::move(ruleset)),
      kernel_(std::move(kernel)),
      legacy_(std::move(legacy)),
      watch_(std::move(watch)),
      tracer_(ruleset_.get(), kernel_.get(), legacy_.get()) {}

std::unique_ptr<PathTracer> PathTracer::OpenLive(const Paths& paths, Status* status) {
  NetlinkStatus nst;
  auto ruleset = std::make_unique<pathtrace::NftLiveRuleset>(pathtrace::NftLiveRuleset::Open(&nst));
  if (!nst.ok()) {
    *status = Status::Error("nf_tables: " + nst.message);
    return nullptr;
  }
  std::unique_ptr<pathtrace::LiveKernel> kernel = pathtrace::LiveKernel::Open(paths, status);
  if (!status->ok()) return nullptr;
  std::unique_ptr<RouteWatch> watch = RouteWatch::Open(status);
  if (!status->ok()) return nullptr;
  return std::make_unique<PathTracer>(std::move(ruleset), std::move(kernel),
                                      std::make_unique<pathtrace::LiveLegacyRuleset>(paths),
                                      std::move(watch));
}

Status PathTracer::ReadInputs(const std::set<std::pair<uint8_t, uint16_t>>& ports, Inputs* in) {
  Status st = ruleset_->Begin(&in->generation);
  if (!st.ok()) return st;
  if (legacy_ != nullptr) {
    st = legacy_->Begin();
    if (!st.ok()) return st;
    in->legacy = legacy_->Fingerprint();
  }
  Fnv1a h;
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP}) {
    const bool wanted = std::any_of(ports.begin(), ports.end(),
                                    [proto](const auto& p) { return p.first == proto; });
    if (!wanted) continue;
    std::vector<InetSocket> sockets;
    st = kernel_->Sockets(proto, &sockets);
    if (!st.ok()) return st;
    std::vector<std::tuple<uint16_t, uint8_t, std::array<uint8_t, 16>, uint32_t, int>> keys;
    for (const InetSocket& s : sockets) {
      if (!ports.contains({proto, s.sport})) continue;
      // A connected UDP socket takes only its peer's datagrams.
      if (proto == IPPROTO_UDP && s.dport != 0) continue;
      keys.emplace_back(s.sport, s.family, s.src, s.bound_if,
                        s.v6only.has_value() ? (*s.v6only ? 1 : 0) : -1);
    }
    std::sort(keys.begin(), keys.end());
    h.Add(&proto, 1);
    for (const auto& [port, family, addr, dev, v6only] : keys) {
      h.Add(&port, sizeof port);
      h.Add(&family, 1);
      h.Add(addr.data(), addr.size());
      h.Add(&dev, sizeof dev);
      h.Add(&v6only, sizeof v6only);
    }
  }
  in->sockets = h.value();
  return Status::Ok();
}

Status PathTracer::Refresh(const std::set<std::pair<uint8_t, uint16_t>>& ports,
                           Clock::time_point now) {
  now_ = now;
  // Drain the events first: a change during the reads below is then seen
  // at the next scrape, never lost.
  const bool routes_changed = watch_ == nullptr || watch_->Changed();
  Inputs in;
  Status st = ReadInputs(ports, &in);
  if (!st.ok()) {
    cache_.clear();
    have_inputs_ = false;
    ++epoch_;
    return st;
  }
  if (routes_changed || !have_inputs_ || !(in == inputs_)) {
    cache_.clear();
    ++epoch_;
  }
  inputs_ = in;
  have_inputs_ = true;
  std::erase_if(cache_, [now](const auto& kv) { return now - kv.second.at >= kMaxTraceAge; });
  return Status::Ok();
}

Status PathTracer::Trace(const pathtrace::Packet& pkt, pathtrace::TraceResult* result) {
  const Key key{pkt.nfproto,     pkt.l4proto, pkt.saddr.bytes,
                pkt.daddr.bytes, pkt.dport,   pkt.iif.index};
  if (auto it = cache_.find(key); it != cache_.end()) {
    ++cached_;
    *result = it->second.result;
    return Status::Ok();
  }
  Status st = tracer_.Trace(pkt, result);
  if (!st.ok()) return st;
  ++traced_;
  // A trace the ruleset changed under is not kept: the next scrape redoes it.
  if (result->generation == inputs_.generation) cache_[key] = Entry{*result, now_};
  return Status::Ok();
}

}  // namespace portmap
