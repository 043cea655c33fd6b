// PublishedPorts: the ports Docker publishes on this host, for collectors
// that check each one against their own view: firewalld's zones, the
// probes, the verdict.
//
// They come from Docker's DNAT rules (nat DOCKER in both iptables backends,
// and Docker 29's nftables chain docker-bridges nat-prerouting-and-output),
// from the Docker Engine API when discovery.docker is on (RememberApi: ports
// published on 127.0.0.1 only, or by a daemon with "iptables": false, have no
// DNAT), and from the configuration (`verdict: ports:`), and are
// REMEMBERED for the exporter's lifetime: a firewalld start wipes those rules
// at exactly the moment "is 5000/tcp open in the zone?" matters, so a port
// that vanished from the kernel is still checked.  The memory is fed by a
// read when the exporter starts (Read()) and by every netfilter scrape;
// collectors read it with Remembered(), so a scrape reads the rules once.
// An exporter started after a wipe cannot know the ports until Docker
// rebuilds its rules (discovery through the Docker Engine API closes that
// gap).  Ports are never forgotten: a port unpublished on purpose keeps being
// checked until the exporter restarts, which costs a series, not a false page.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/docker_api.h"
#include "netlink/nf_ruleset.h"

namespace portmap {

class NetfilterSource;

// A published port as other collectors need it: protocol and host port.
struct PublishedPortRef {
  std::string proto;  // "tcp" | "udp" | "sctp"
  uint16_t port = 0;

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>.
  auto operator<=>(const PublishedPortRef&) const = default;
};

// What is remembered of one published port.
struct PublishedPortDetail {
  PublishedPortRef ref;
  // The host addresses it is published on, as the rule or the API names them
  // ("0.0.0.0", "::", "127.0.0.1", "192.0.2.7"); empty when only named by
  // the configuration.
  std::set<std::string> host_ips;
  bool dnat = false;   // a Docker DNAT rule published it at some point
  bool named = false;  // named by the configuration or `diagnose --port`: a port
                       // Docker publishes, whatever its rules say now
};

class PublishedPorts {
 public:
  explicit PublishedPorts(std::unique_ptr<NetfilterSource> source);
  PublishedPorts(const PublishedPorts&) = delete;
  PublishedPorts& operator=(const PublishedPorts&) = delete;
  ~PublishedPorts();

  // Ports named without a mapping (the configuration, `diagnose PORT/PROTO`).
  void Remember(const std::vector<PublishedPortRef>& ports);
  // Ports Docker's DNAT rules publish.
  void RememberMappings(const std::vector<NfPortMapping>& mappings);
  // The ports the Engine API lists now (replacing the last list, kept for
  // LastApiPorts) and, remembered, each one it publishes.
  void RememberApi(const std::vector<DockerApiPort>& ports);

  // Reads the DNAT rules now (bounded by `deadline`), remembers what they
  // publish, and returns every port remembered, sorted.  A failed read still
  // returns what is remembered.
  std::vector<PublishedPortRef> Read(Clock::time_point deadline);

  std::vector<PublishedPortRef> Remembered() const;
  std::vector<PublishedPortDetail> Details() const;  // sorted by ref
  std::vector<DockerApiPort> LastApiPorts() const;

 private:
  std::mutex read_mu_;  // one kernel read at a time
  const std::unique_ptr<NetfilterSource> source_;

  mutable std::mutex mu_;
  std::map<PublishedPortRef, PublishedPortDetail> remembered_;  // GUARDED_BY(mu_)
  std::vector<DockerApiPort> last_api_;                         // GUARDED_BY(mu_)
};

// The port a DNAT mapping publishes; none when it names no protocol or port.
std::optional<PublishedPortRef> PublishedPortOf(const NfPortMapping& mapping);

// The mappings Docker's DNAT rules in `chains` publish (IsDockerDnatChain).
std::vector<NfPortMapping> PublishedMappingsOf(const std::vector<NfChain>& chains);

// Reads the rules where options.netfilter_source says: by default this
// network namespace's (NewKernelNetfilterSource).
std::shared_ptr<PublishedPorts> NewPublishedPorts(const CollectorOptions& options);

}  // namespace portmap
