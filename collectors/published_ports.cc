#include "collectors/published_ports.h"

#include "collectors/netfilter/netfilter.h"

namespace portmap {

PublishedPorts::PublishedPorts(std::unique_ptr<NetfilterSource> source)
    : source_(std::move(source)) {}

PublishedPorts::~PublishedPorts() = default;

void PublishedPorts::Remember(const std::vector<PublishedPortRef>& ports) {
  std::lock_guard<std::mutex> lock(mu_);
  remembered_.insert(ports.begin(), ports.end());
}

std::vector<PublishedPortRef> PublishedPorts::Read(Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    std::vector<NfChain> chains;
    if (source_->ReadNftables(deadline, &chains).ok()) Remember(PublishedPortsOf(chains));
    chains.clear();
    bool loaded = false;
    if (source_->ReadLegacy(deadline, &chains, &loaded).ok() && loaded) {
      Remember(PublishedPortsOf(chains));
    }
  }
  return Remembered();
}

std::vector<PublishedPortRef> PublishedPorts::Remembered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {remembered_.begin(), remembered_.end()};
}

std::optional<PublishedPortRef> PublishedPortOf(const NfPortMapping& mapping) {
  if (mapping.proto.empty() || mapping.host_port == 0) return std::nullopt;
  return PublishedPortRef{mapping.proto, mapping.host_port};
}

std::vector<PublishedPortRef> PublishedPortsOf(const std::vector<NfChain>& chains) {
  std::vector<PublishedPortRef> ports;
  for (const NfChain& chain : chains) {
    if (chain.table != "nat" || chain.name != "DOCKER") continue;
    for (const NfRule& rule : chain.rules) {
      if (!rule.dnat) continue;
      if (auto port = PublishedPortOf(*rule.dnat)) ports.push_back(*port);
    }
  }
  return ports;
}

std::shared_ptr<PublishedPorts> NewPublishedPorts(const CollectorOptions& options) {
  return std::make_shared<PublishedPorts>(NewNetfilterSource(options));
}

}  // namespace portmap
