#include "exporter/web/listen_address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <cstring>

namespace portmap {

namespace {

constexpr std::string_view kLocalhost = "localhost";

Status Bad(std::string_view text, std::string_view why) {
  return Status::Error("invalid listen address \"" + std::string(text) + "\": " + std::string(why));
}

// Digits only: std::from_chars alone would accept "+1" in some libraries and
// stops silently at "80x".
bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  unsigned value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  if (value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

// A zone is an interface name or a decimal index (RFC 4007 allows both).
bool ParseZone(const std::string& zone, uint32_t* scope_id) {
  if (zone.empty()) return false;
  if (zone.find_first_not_of("0123456789") == std::string::npos) {
    unsigned long index = 0;  // NOLINT(google-runtime-int): from_chars' type
    auto [ptr, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), index);
    if (ec != std::errc() || index == 0 || index > UINT32_MAX) return false;
    *scope_id = static_cast<uint32_t>(index);
    return true;
  }
  *scope_id = if_nametoindex(zone.c_str());
  return *scope_id != 0;
}

}  // namespace

SocketAddress SocketAddress::Ipv4(const in_addr& addr, uint16_t port) {
  SocketAddress out;
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage_);
  sin->sin_family = AF_INET;
  sin->sin_addr = addr;
  sin->sin_port = htons(port);
  return out;
}

SocketAddress SocketAddress::Ipv6(const in6_addr& addr, uint16_t port, uint32_t scope_id) {
  SocketAddress out;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_addr = addr;
  sin6->sin6_port = htons(port);
  sin6->sin6_scope_id = scope_id;
  return out;
}

SocketAddress SocketAddress::Ipv4Loopback(uint16_t port) {
  in_addr addr{};
  addr.s_addr = htonl(INADDR_LOOPBACK);
  return Ipv4(addr, port);
}

SocketAddress SocketAddress::Ipv6Loopback(uint16_t port) { return Ipv6(in6addr_loopback, port); }

SocketAddress SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress out;
  if ((sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
      (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6))) {
    std::memcpy(&out.storage_, sa,
                sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  }
  return out;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

socklen_t SocketAddress::size() const {
  if (family() == AF_INET) return sizeof(sockaddr_in);
  if (family() == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

std::string SocketAddress::ToString() const {
  char host[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, host,
              sizeof(host));
    return std::string(host) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    std::string zone;
    if (sin6->sin6_scope_id != 0) {
      char name[IF_NAMESIZE] = {};
      zone = "%" + std::string(if_indextoname(sin6->sin6_scope_id, name) != nullptr
                                   ? name
                                   : std::to_string(sin6->sin6_scope_id));
    }
    return "[" + std::string(host) + zone + "]:" + std::to_string(port());
  }
  return "(no address)";
}

SocketAddress ListenAddress::Ipv4Address() const {
  if (!ServesIpv4()) return {};
  in_addr addr{};  // INADDR_ANY
  if (family == Family::kIpv4 && inet_pton(AF_INET, host.c_str(), &addr) != 1) return {};
  return SocketAddress::Ipv4(addr, port);
}

SocketAddress ListenAddress::Ipv6Address() const {
  if (!ServesIpv6()) return {};
  in6_addr addr = in6addr_any;
  if (family == Family::kIpv6 && inet_pton(AF_INET6, host.c_str(), &addr) != 1) return {};
  return SocketAddress::Ipv6(addr, port, scope_id);
}

std::string ListenAddress::ToString() const {
  switch (family) {
    case Family::kAny:
      return ":" + std::to_string(port);
    case Family::kIpv4:
      return host + ":" + std::to_string(port);
    case Family::kIpv6:
      return Ipv6Address().ToString();
  }
  return "";
}

Status ParseListenAddress(std::string_view text, ListenAddress* out) {
  *out = ListenAddress();
  if (text.empty()) return Bad(text, "empty; want HOST:PORT, e.g. \":9806\"");
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Bad(text, "missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return Bad(text, "want \":PORT\" after ']', e.g. \"[::1]:9806\"");
    }
    port = rest.substr(1);
    bracketed = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Bad(text, "missing ':' before the port; for every address write \":" +
                           std::string(text) + "\"");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Bad(text, "an IPv6 address needs brackets, e.g. \"[::1]:9806\"");
    }
    if (host.find_first_of("[]") != std::string_view::npos) return Bad(text, "unbalanced brackets");
  }
  if (port.empty()) return Bad(text, "missing port after ':'");
  if (!ParsePort(port, &out->port)) {
    return Bad(text, "port \"" + std::string(port) + "\" is not a number from 0 to 65535");
  }

  if (!bracketed) {
    if (host.empty()) return Status::Ok();  // kAny
    out->family = ListenAddress::Family::kIpv4;
    if (host == kLocalhost) {
      out->host = "127.0.0.1";
      return Status::Ok();
    }
    in_addr addr{};
    out->host = std::string(host);
    if (inet_pton(AF_INET, out->host.c_str(), &addr) != 1) {
      return Bad(text, "\"" + out->host +
                           "\" is not an IPv4 address; give an address (only \"localhost\" is "
                           "accepted as a name, and means 127.0.0.1)");
    }
    return Status::Ok();
  }

  out->family = ListenAddress::Family::kIpv6;
  std::string_view zone;
  const size_t percent = host.find('%');
  const bool has_zone = percent != std::string_view::npos;
  if (has_zone) {
    zone = host.substr(percent + 1);
    host = host.substr(0, percent);
  }
  out->host = std::string(host);
  in6_addr addr{};
  if (inet_pton(AF_INET6, out->host.c_str(), &addr) != 1) {
    in_addr v4{};
    if (inet_pton(AF_INET, out->host.c_str(), &v4) == 1) {
      return Bad(text, "brackets are for IPv6 addresses; write \"" + out->host + ":" +
                           std::string(port) + "\"");
    }
    return Bad(text, "\"" + out->host + "\" is not an IPv6 address");
  }
  if (has_zone && !ParseZone(std::string(zone), &out->scope_id)) {
    return Bad(text, "zone \"" + std::string(zone) + "\" is not a network interface here");
  }
  return Status::Ok();
}

}  // namespace portmap
