#include "collectors/probe/allow_list.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "config/probe_target.h"

namespace portmap {

namespace {

// Parses an address into (family, 16 bytes), an IPv4-mapped IPv6 address as
// the IPv4 address it stands for.
bool ParseIp(const std::string& text, int* family, unsigned char bytes[16]) {
  std::memset(bytes, 0, 16);
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    *family = AF_INET;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    *family = AF_INET;
    std::memcpy(bytes, &v6.s6_addr[12], 4);
  } else {
    *family = AF_INET6;
    std::memcpy(bytes, &v6, 16);
  }
  return true;
}

bool PrefixMatches(const unsigned char* a, const unsigned char* b, int prefix) {
  const int whole = prefix / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

std::string Lower(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!lower.empty() && lower.back() == '.') lower.pop_back();
  return lower;
}

// "--probe.allow entry "ENTRY"" followed by `parts`: the error for a bad entry.
template <typename... Parts>
Status BadEntry(const std::string& entry, const Parts&... parts) {
  std::string message = "--probe.allow entry \"";
  message += entry;
  message += '"';
  ((message += parts), ...);
  return Status::Error(message);
}

}  // namespace

Status ProbeAllowList::Parse(const std::vector<std::string>& entries, ProbeAllowList* out) {
  ProbeAllowList list;
  for (const std::string& entry : entries) {
    if (entry.empty()) return Status::Error("--probe.allow has an empty entry");
    if (const std::string bad = ForbiddenTargetByte(entry);
        !bad.empty() && entry.find('/') == std::string::npos) {
      return BadEntry(entry, " ", bad);
    }
    Cidr cidr;
    const size_t slash = entry.find('/');
    const std::string address = entry.substr(0, slash);
    if (slash != std::string::npos) {
      const std::string prefix = entry.substr(slash + 1);
      if (!ParseIp(address, &cidr.family, cidr.bytes)) {
        return BadEntry(entry, ": \"", address, "\" is not an IP address");
      }
      const int max = cidr.family == AF_INET ? 32 : 128;
      // A mapped IPv6 network is written with a 96-bit head start.
      const bool mapped = cidr.family == AF_INET && address.find(':') != std::string::npos;
      int value = -1;
      const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), value);
      if (prefix.empty() || ec != std::errc() || end != prefix.data() + prefix.size() ||
          value < (mapped ? 96 : 0) || value > (mapped ? 128 : max)) {
        return BadEntry(entry, ": prefix length \"", prefix, "\" is not in 0-",
                        std::to_string(mapped ? 128 : max));
      }
      cidr.prefix = mapped ? value - 96 : value;
      unsigned char network[16] = {};
      std::memcpy(network, cidr.bytes, cidr.prefix / 8);
      if (cidr.prefix % 8 != 0) {
        network[cidr.prefix / 8] = cidr.bytes[cidr.prefix / 8] & (0xff << (8 - cidr.prefix % 8));
      }
      // Host bits set usually mean a typo in the prefix length; on a list
      // that guards against scanning, say so rather than guess.
      if (std::memcmp(network, cidr.bytes, 16) != 0) {
        return BadEntry(entry, " has host bits set beyond the /", prefix);
      }
      list.cidrs_.push_back(cidr);
    } else if (ParseIp(entry, &cidr.family, cidr.bytes)) {
      cidr.prefix = cidr.family == AF_INET ? 32 : 128;
      list.cidrs_.push_back(cidr);
    } else if (std::string why; ValidHostName(entry, &why)) {
      list.names_.push_back(Lower(entry));
    } else {
      return BadEntry(entry, " is not a CIDR, an IP address or a host name: ", why);
    }
  }
  *out = std::move(list);
  return Status::Ok();
}

bool ProbeAllowList::AllowsName(std::string_view host) const {
  if (AllowsAll()) return true;
  const std::string lower = Lower(host);
  return std::find(names_.begin(), names_.end(), lower) != names_.end();
}

bool ProbeAllowList::AllowsAddress(const sockaddr_storage& address) const {
  if (AllowsAll()) return true;
  int family = 0;
  unsigned char bytes[16] = {};
  if (address.ss_family == AF_INET) {
    family = AF_INET;
    std::memcpy(bytes, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, 4);
  } else if (address.ss_family == AF_INET6) {
    const in6_addr& v6 = reinterpret_cast<const sockaddr_in6&>(address).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      family = AF_INET;
      std::memcpy(bytes, &v6.s6_addr[12], 4);
    } else {
      family = AF_INET6;
      std::memcpy(bytes, &v6, 16);
    }
  } else {
    return false;
  }
  return std::any_of(cidrs_.begin(), cidrs_.end(), [&](const Cidr& cidr) {
    return cidr.family == family && PrefixMatches(cidr.bytes, bytes, cidr.prefix);
  });
}

}  // namespace portmap
