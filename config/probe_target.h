// Probe targets: "HOST:PORT" as /probe?target= and the configuration give
// them, and their resolution to an address under a module's family
// preference.  --probe.allow is collectors/probe/allow_list.h.
//
// Thread safety: every function is pure or reentrant.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "config/probe_config.h"
#include "util/clock.h"
#include "util/status.h"

namespace portmap {

// Longest target accepted: a DNS name (253) plus ":65535", with room to spare.
inline constexpr size_t kMaxTargetLength = 512;

struct ProbeTarget {
  std::string host;  // a DNS name or a literal address, without brackets
  uint16_t port = 0;
  bool literal = false;  // host is a literal IPv4 or IPv6 address
};

// Parses "HOST:PORT", "[IPV6]:PORT" (an IPv6 literal needs the brackets).
// Errors say what is wrong, for a 400 answer: empty, too long (over
// kMaxTargetLength), a control character / NUL / whitespace / '%' / '/',
// no port ("host:", "host"), a port that is not a number in 1..65535
// (":99999", ":0", ":http"), an empty host (":5000"), a malformed name or
// bracketed address.
Status ParseProbeTarget(std::string_view text, ProbeTarget* out);

// The "[v6]:port" / "v4:port" spelling of an address (for the target label).
std::string FormatAddressPort(const sockaddr_storage& address);

struct ResolvedTarget {
  sockaddr_storage address{};
  socklen_t address_len = 0;
  sockaddr_storage source{};  // from the module's source_ip_address
  socklen_t source_len = 0;
};

// Resolves `target` under `module` by `deadline`: a literal as it is (an
// error if its family is the non-preferred one and fallback is off); a name
// through getaddrinfo_a, the preferred family's first address, else, with
// fallback, the other family's.  A source_ip_address that is not a literal IP
// of the chosen family is an error.
// A lookup still running at the deadline is cancelled; one glibc cannot
// cancel (a resolver thread already runs it) is parked and freed by a later
// call once it ends, so nothing is leaked and no thread waits for it.  glibc
// runs getaddrinfo_a lookups on a shared pool (20 threads), so a burst of
// names whose DNS never answers delays later lookups, within their deadlines.
Status ResolveProbeTarget(const ProbeTarget& target, const ProbeModule& module,
                          Clock::time_point deadline, ResolvedTarget* out);

// The syntax checks ParseProbeTarget applies, shared with --probe.allow
// (allow_list.cc).  ForbiddenTargetByte: what makes `text` unacceptable as
// HOST:PORT ("contains '/' at offset 4 (a target is HOST:PORT, not a URL)"),
// empty when every byte may appear.  ValidHostName: whether `host` is a
// syntactically valid DNS name (RFC 1123, plus '_'), and not a loose IPv4
// form ("127.1"); `why` says what is wrong otherwise.
std::string ForbiddenTargetByte(std::string_view text);
bool ValidHostName(std::string_view host, std::string* why);

}  // namespace portmap
