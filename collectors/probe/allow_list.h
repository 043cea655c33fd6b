// The /probe allow list, from --probe.allow (ParseFlags checks it; the
// /probe handler consults it before resolving and before connecting).
//
// Thread safety: ProbeAllowList is immutable after Parse; its const methods
// may run on several threads at once.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace portmap {

// --probe.allow: which targets /probe may connect to, so an exporter cannot
// be used to scan a network.  Entries are CIDRs ("198.51.100.0/24",
// "2001:db8::/32"), single addresses, or host names ("registry.example.com",
// compared case-insensitively with the target's host as written).  Empty =
// allow everything (the default, like blackbox_exporter).
class ProbeAllowList {
 public:
  // Parses the entries; a malformed one is an error naming it.  CIDRs must
  // have no host bits set ("10.0.0.1/8" is an error, likely a typo), and an
  // IPv4-mapped IPv6 entry ("::ffff:10.0.0.0/104") is the IPv4 network.
  static Status Parse(const std::vector<std::string>& entries, ProbeAllowList* out);

  bool AllowsAll() const { return cidrs_.empty() && names_.empty(); }
  // Both checks are true when AllowsAll().
  // Whether `host` as written is an allowed name (checked before resolving).
  bool AllowsName(std::string_view host) const;
  // Whether the resolved address is in an allowed network; an IPv4-mapped
  // IPv6 address is checked as the IPv4 address it carries.
  bool AllowsAddress(const sockaddr_storage& address) const;

 private:
  struct Cidr {
    int family = 0;
    unsigned char bytes[16] = {};
    int prefix = 0;
  };
  std::vector<Cidr> cidrs_;
  std::vector<std::string> names_;  // lower-case
};

}  // namespace portmap
