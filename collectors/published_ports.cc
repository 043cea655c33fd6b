#include "collectors/published_ports.h"

#include "collectors/netfilter/netfilter.h"
#include "collectors/netfilter/nf_docker.h"

namespace portmap {

PublishedPorts::PublishedPorts(std::unique_ptr<NetfilterSource> source)
    : source_(std::move(source)) {}

PublishedPorts::~PublishedPorts() = default;

void PublishedPorts::Remember(const std::vector<PublishedPortRef>& ports) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const PublishedPortRef& p : ports) {
    PublishedPortDetail& d = remembered_[p];
    d.ref = p;
    d.named = true;
  }
}

void PublishedPorts::RememberMappings(const std::vector<NfPortMapping>& mappings) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const NfPortMapping& m : mappings) {
    const auto ref = PublishedPortOf(m);
    if (!ref) continue;
    PublishedPortDetail& d = remembered_[*ref];
    d.ref = *ref;
    d.dnat = true;
    if (!m.host_ip.empty()) d.host_ips.insert(m.host_ip);
  }
}

void PublishedPorts::RememberApi(const std::vector<DockerApiPort>& ports) {
  std::lock_guard<std::mutex> lock(mu_);
  last_api_ = ports;
  for (const DockerApiPort& p : ports) {
    if (p.proto.empty() || p.host_port == 0) continue;
    const PublishedPortRef ref{p.proto, p.host_port};
    PublishedPortDetail& d = remembered_[ref];
    d.ref = ref;
    // The API leaves the address out for some daemons: Docker's default
    // binds every address of both families.
    if (p.host_ip.empty()) {
      d.host_ips.insert("0.0.0.0");
    } else {
      d.host_ips.insert(p.host_ip);
    }
  }
}

std::vector<PublishedPortRef> PublishedPorts::Read(Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(read_mu_);
    std::vector<NfChain> chains;
    if (source_->ReadNftables(deadline, &chains).ok())
      RememberMappings(PublishedMappingsOf(chains));
    chains.clear();
    bool loaded = false;
    if (source_->ReadLegacy(deadline, &chains, &loaded).ok() && loaded) {
      RememberMappings(PublishedMappingsOf(chains));
    }
  }
  return Remembered();
}

std::vector<PublishedPortRef> PublishedPorts::Remembered() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PublishedPortRef> refs;
  refs.reserve(remembered_.size());
  for (const auto& [ref, detail] : remembered_) refs.push_back(ref);
  return refs;
}

std::vector<PublishedPortDetail> PublishedPorts::Details() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PublishedPortDetail> out;
  out.reserve(remembered_.size());
  for (const auto& [ref, detail] : remembered_) out.push_back(detail);
  return out;
}

std::vector<DockerApiPort> PublishedPorts::LastApiPorts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_api_;
}

std::optional<PublishedPortRef> PublishedPortOf(const NfPortMapping& mapping) {
  if (mapping.proto.empty() || mapping.host_port == 0) return std::nullopt;
  return PublishedPortRef{mapping.proto, mapping.host_port};
}

std::vector<NfPortMapping> PublishedMappingsOf(const std::vector<NfChain>& chains) {
  std::vector<NfPortMapping> mappings;
  for (const NfChain& chain : chains) {
    if (!IsDockerDnatChain(chain.table, chain.name)) continue;
    for (const NfRule& rule : chain.rules) {
      if (rule.dnat) mappings.push_back(*rule.dnat);
    }
  }
  return mappings;
}

std::shared_ptr<PublishedPorts> NewPublishedPorts(const CollectorOptions& options) {
  return std::make_shared<PublishedPorts>(NewNetfilterSource(options));
}

}  // namespace portmap
