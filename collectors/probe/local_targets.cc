#include "collectors/probe/local_targets.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>

namespace portmap {

Status ReadHostAddresses(std::vector<HostAddress>* out) {
  out->clear();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return Status::Error("getifaddrs: " + ErrnoText(errno));
  for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_addr->sa_family != AF_INET) continue;
    if ((ifa->ifa_flags & IFF_UP) == 0 || (ifa->ifa_flags & IFF_LOOPBACK) != 0) continue;
    const in_addr addr = reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr)->sin_addr;
    const uint32_t host = ntohl(addr.s_addr);
    if ((host >> 24) == 127 || (host >> 16) == 0xa9fe) continue;  // loopback, 169.254/16
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, text, sizeof(text));
    out->push_back({ifa->ifa_name, text});
  }
  freeifaddrs(list);
  return Status::Ok();
}

std::vector<std::string> LocalTargets(const std::set<uint16_t>& ports,
                                      const std::vector<HostAddress>& addresses,
                                      const InterfacePattern& exclude) {
  std::set<std::string> hosts = {"127.0.0.1"};
  for (const HostAddress& a : addresses) {
    if (!exclude.FullMatch(a.interface)) hosts.insert(a.address);
  }
  std::set<std::string> targets;
  for (uint16_t port : ports) {
    for (const std::string& host : hosts) targets.insert(host + ":" + std::to_string(port));
  }
  return {targets.begin(), targets.end()};
}

}  // namespace portmap
