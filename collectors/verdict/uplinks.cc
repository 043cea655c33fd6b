#include "collectors/verdict/uplinks.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace portmap {

namespace {

using pathtrace::Addr;
using pathtrace::KernelView;
using pathtrace::RouteAnswer;
using pathtrace::RouteQuery;

constexpr int kSubnetCandidates = 8;  // addresses tried from the start of a subnet

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// An address of the uplink's family a client could reach it on.
bool UsableAddress(const AddrInfo& a) {
  if (a.family == AF_INET) return a.scope != RT_SCOPE_HOST && a.scope != RT_SCOPE_NOWHERE;
  return a.scope == RT_SCOPE_UNIVERSE && (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) == 0;
}

Addr AddrOf(const AddrInfo& a) {
  Addr out;
  out.family = a.family;
  std::copy_n(a.local.begin(), out.size(), out.bytes.begin());
  return out;
}

// `base` with its host part cleared (prefix `prefixlen`) plus `k`.
Addr SubnetAddress(const Addr& base, uint8_t prefixlen, uint32_t k) {
  Addr a = base;
  const size_t n = a.size();
  for (size_t i = 0; i < n; ++i) {
    const int bits = std::clamp(static_cast<int>(prefixlen) - static_cast<int>(i * 8), 0, 8);
    a.bytes[i] &= static_cast<uint8_t>(0xff00 >> bits);
  }
  uint64_t carry = k;
  for (size_t i = n; i-- > 0 && carry != 0;) {
    const uint64_t sum = a.bytes[i] + (carry & 0xff);
    a.bytes[i] = static_cast<uint8_t>(sum);
    carry = (carry >> 8) + (sum >> 8);
  }
  return a;
}

// The interface the kernel sends replies to `client` through; 0 if none.
uint32_t RouteBack(KernelView* kernel, const Addr& client) {
  RouteQuery q;
  q.dst = client;
  RouteAnswer a;
  if (!kernel->Route(q, &a).ok() || a.error != 0 || a.type != RTN_UNICAST) return 0;
  return a.oif;
}

bool IsLocal(KernelView* kernel, const Addr& a) {
  bool local = false;
  return !kernel->IsLocalAddress(a, 0, &local).ok() || local;  // unknown counts as taken
}

// A veth counts like any link: a host inside LXC or a kind node has its
// uplink on one.  Docker's veths are ports of its bridges (master set).
bool Excluded(const LinkInfo& l) {
  return (l.flags & IFF_UP) == 0 || (l.flags & IFF_LOOPBACK) != 0 || l.master != 0 ||
         IsDockerInterfaceName(l.name);
}

// Whether `a` lies in the subnet of `u`'s address.
bool InSubnet(const Uplink& u, const Addr& a) {
  if (a.family != u.addr.family) return false;
  return SubnetAddress(a, u.prefixlen, 0) == SubnetAddress(u.addr, u.prefixlen, 0);
}

}  // namespace

bool IsDockerInterfaceName(const std::string& name) {
  if (name == "docker0" || name == "docker_gwbridge") return true;
  return name.size() == 15 && name.starts_with("br-") &&
         std::all_of(name.begin() + 3, name.end(), IsHex);
}

Status FindUplinks(KernelView* kernel, uint8_t family, const std::vector<std::string>& names,
                   std::vector<Uplink>* uplinks) {
  uplinks->clear();
  std::vector<LinkInfo> links;
  Status st = kernel->Links(&links);
  if (!st.ok()) return st;
  std::vector<AddrInfo> addrs;
  st = kernel->Addresses(family, &addrs);
  if (!st.ok()) return st;
  std::map<uint32_t, const AddrInfo*> first;  // the first usable address per interface
  for (const AddrInfo& a : addrs) {
    if (a.family != family || !UsableAddress(a)) continue;
    // IPv4 secondaries come after their primary; keep the primary.
    if (family == AF_INET && (a.flags & IFA_F_SECONDARY) != 0) continue;
    first.emplace(a.index, &a);
  }
  auto add = [&](const LinkInfo& l) {
    auto it = first.find(l.index);
    if (it == first.end()) return;
    Uplink u;
    u.link.index = l.index;
    u.link.name = l.name;
    u.link.type = l.type;
    u.addr = AddrOf(*it->second);
    u.prefixlen = it->second->prefixlen;
    uplinks->push_back(std::move(u));
  };
  if (!names.empty()) {
    for (const std::string& name : names) {
      auto it = std::find_if(links.begin(), links.end(),
                             [&](const LinkInfo& l) { return l.name == name; });
      if (it != links.end()) add(*it);
    }
    return Status::Ok();
  }
  // A bridge with veth ports is a container network (Docker's under any
  // name, LXC's), not a way in from outside.
  std::set<uint32_t> container_bridges;
  for (const LinkInfo& l : links) {
    if (l.kind == "veth" && l.master != 0) container_bridges.insert(l.master);
  }
  for (const LinkInfo& l : links) {
    if (!Excluded(l) && !container_bridges.contains(l.index)) add(l);
  }
  return Status::Ok();
}

bool DefaultClient(KernelView* kernel, const Uplink& uplink, Addr* client) {
  const auto doc =
      pathtrace::ParseAddr(uplink.addr.family == AF_INET ? "203.0.113.7" : "2001:db8:ffff::7");
  if (doc && RouteBack(kernel, *doc) == uplink.link.index) {
    *client = *doc;
    return true;
  }
  const int width = static_cast<int>(uplink.addr.size()) * 8;
  const int host_bits = width - uplink.prefixlen;
  if (host_bits <= 0) return false;
  // /31 and /127: the peer is the only other address (RFC 3021).
  const uint32_t count = host_bits == 1 ? 2 : kSubnetCandidates;
  for (uint32_t k = host_bits == 1 ? 0 : 1; k < count; ++k) {
    if (host_bits < 32 && k >= (1U << host_bits) - 1) break;  // the broadcast, or beyond
    const Addr candidate = SubnetAddress(uplink.addr, uplink.prefixlen, k);
    if (candidate == uplink.addr || IsLocal(kernel, candidate)) continue;
    if (RouteBack(kernel, candidate) == uplink.link.index) {
      *client = candidate;
      return true;
    }
  }
  return false;
}

Status FindOrigins(KernelView* kernel, uint8_t family, const std::vector<std::string>& names,
                   const std::vector<std::string>& sources, std::vector<TraceOrigin>* origins,
                   std::vector<std::string>* skipped) {
  origins->clear();
  std::vector<Uplink> uplinks;
  Status st = FindUplinks(kernel, family, names, &uplinks);
  if (!st.ok()) return st;
  // The same client on the same uplink once (a source may be a default too).
  auto add_origin = [origins](TraceOrigin o) {
    const bool seen = std::any_of(origins->begin(), origins->end(), [&](const TraceOrigin& x) {
      return x.uplink.link.index == o.uplink.link.index && x.client == o.client;
    });
    if (!seen) origins->push_back(std::move(o));
  };
  for (const Uplink& u : uplinks) {
    Addr client;
    if (DefaultClient(kernel, u, &client)) {
      add_origin({u, client});
    } else {
      skipped->push_back(u.link.name + ": no address of its subnet routes back through it");
    }
  }
  for (const std::string& text : sources) {
    const auto client = pathtrace::ParseAddr(text);
    if (!client || client->family != family) continue;
    // A client on an uplink's subnet arrives there, whatever route the host
    // would send its replies by (that is what rp_filter judges); any other
    // arrives on the uplink the host routes it back through.
    auto it = std::find_if(uplinks.begin(), uplinks.end(),
                           [&](const Uplink& u) { return InSubnet(u, *client); });
    const uint32_t oif = RouteBack(kernel, *client);
    if (it == uplinks.end()) {
      it = std::find_if(uplinks.begin(), uplinks.end(),
                        [&](const Uplink& u) { return u.link.index == oif; });
    }
    if (it != uplinks.end()) {
      add_origin({*it, *client});
      continue;
    }
    // Routed through an interface that is not an uplink (a VPN, a bridge
    // of one's own): the client still arrives there.
    Uplink u;
    if (oif == 0 || !kernel->LinkByIndex(oif, &u.link).ok()) {
      skipped->push_back("source " + text + ": no route back to it");
      continue;
    }
    std::vector<AddrInfo> addrs;
    if (kernel->Addresses(family, &addrs).ok()) {
      for (const AddrInfo& a : addrs) {
        if (a.index == oif && UsableAddress(a)) {
          u.addr = AddrOf(a);
          u.prefixlen = a.prefixlen;
          break;
        }
      }
    }
    if (u.addr.family == 0) {
      skipped->push_back("source " + text + ": " + u.link.name + " has no address to connect to");
      continue;
    }
    add_origin({u, *client});
  }
  return Status::Ok();
}

}  // namespace portmap
