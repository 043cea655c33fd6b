#include "config/probe_target.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>

namespace portmap {

namespace {

constexpr size_t kMaxNameLength = 253;
constexpr size_t kMaxLabelLength = 63;

}  // namespace

std::string ForbiddenTargetByte(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::string at = " at offset " + std::to_string(i);
    if (c == 0) return "contains a NUL byte" + at;
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      (void)std::snprintf(hex, sizeof(hex), "0x%02x", c);
      return "contains the control character " + std::string(hex) + at;
    }
    if (c == ' ') return "contains whitespace (a space)" + at;
    // One level of percent-encoding is the HTTP layer's; a '%' left after it
    // is a double encoding or an IPv6 zone, neither of which is supported.
    if (c == '%') return "contains '%'" + at + " (IPv6 zones are not supported)";
    if (c == '/' || c == '@' || c == '?' || c == '#') {
      return "contains '" + std::string(1, static_cast<char>(c)) + "'" + at +
             " (a target is HOST:PORT, not a URL)";
    }
  }
  return "";
}

// RFC 1123, plus '_' which service names use.
bool ValidHostName(std::string_view host, std::string* why) {
  std::string_view name = host;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // absolute name
  if (name.empty()) {
    *why = "empty host name";
    return false;
  }
  if (name.size() > kMaxNameLength) {
    *why = "host name is " + std::to_string(name.size()) + " characters long; the limit is " +
           std::to_string(kMaxNameLength);
    return false;
  }
  std::string_view last_label;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view label = name.substr(start, end - start);
    if (label.empty()) {
      *why = "host name \"" + std::string(host) + "\" has an empty label";
      return false;
    }
    if (label.size() > kMaxLabelLength) {
      *why = "host name label \"" + std::string(label) + "\" is longer than 63 characters";
      return false;
    }
    for (const char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (!std::isalnum(u) && c != '-' && c != '_') {
        // Non-ASCII bytes as hex: the message may end up in an HTTP body.
        char shown[16];
        if (u < 0x80) {
          (void)std::snprintf(shown, sizeof(shown), "'%c'", c);
        } else {
          (void)std::snprintf(shown, sizeof(shown), "byte 0x%02x", u);
        }
        *why = "host name \"" + std::string(host) + "\" contains " + shown +
               " (allowed: letters, digits, '-', '_', '.')";
        return false;
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      *why = "host name label \"" + std::string(label) + "\" starts or ends with '-'";
      return false;
    }
    last_label = label;
    start = end + 1;
  }
  // "127.1", "1.2.3.999", "2130706433": getaddrinfo would take some of these
  // as IPv4 in inet_aton's loose forms and send the rest to DNS; neither is
  // what the user meant, and the loose forms would slip past an allow list
  // written with dotted quads.
  in_addr loose{};
  if (std::all_of(last_label.begin(), last_label.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      inet_aton(std::string(host).c_str(), &loose) != 0) {
    *why =
        "\"" + std::string(host) + "\" is not a dotted-quad IPv4 address (a.b.c.d) nor a host name";
    return false;
  }
  return true;
}

namespace {

Status ParsePort(std::string_view text, uint16_t* port) {
  if (text.empty()) return Status::Error("no port after ':' (expected HOST:PORT)");
  const std::string bad = "port \"" + std::string(text) + "\" is not a number in 1..65535";
  if (!std::all_of(text.begin(), text.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return Status::Error(bad + " (service names are not looked up)");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535) {
    return Status::Error(bad);
  }
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

int PreferredFamily(const ProbeModule& module) {
  return module.preferred_ip_protocol == IpProtocol::kIp6 ? AF_INET6 : AF_INET;
}

const char* FamilyName(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

// Fills `out` with address `bytes` of `family` and `port`.
void SetAddress(int family, const void* bytes, uint16_t port, sockaddr_storage* out,
                socklen_t* len) {
  *out = {};
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, bytes, sizeof(sin->sin_addr));
    *len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, bytes, sizeof(sin6->sin6_addr));
    *len = sizeof(sockaddr_in6);
  }
}

// A getaddrinfo_a request and everything it points to, on the heap: glibc's
// resolver thread writes into it until the request completes.
struct NameRequest {
  std::string name;
  addrinfo hints{};
  gaicb cb{};
  ~NameRequest() {
    if (cb.ar_result != nullptr) freeaddrinfo(cb.ar_result);
  }
};

// Requests abandoned at their deadline while a resolver thread was already
// running them (gai_cancel's EAI_NOTCANCELED): they must outlive the
// lookup, so they are parked here and freed by a later resolution once glibc
// reports them done.  Parking costs no thread; the list is bounded by glibc's
// resolver threads (only running requests are not cancelable), and whatever
// is still parked at exit is reclaimed with the process.
std::mutex orphans_mu;
std::list<std::unique_ptr<NameRequest>> orphans;  // GUARDED_BY(orphans_mu)

void ReapOrphans() {
  std::lock_guard<std::mutex> lock(orphans_mu);
  orphans.remove_if([](const auto& request) { return gai_error(&request->cb) != EAI_INPROGRESS; });
}

Status ResolveName(const ProbeTarget& target, const ProbeModule& module, Clock::time_point deadline,
                   ResolvedTarget* out) {
  ReapOrphans();
  const int preferred = PreferredFamily(module);
  auto request = std::make_unique<NameRequest>();
  request->name = target.host;
  // Both families at once when falling back is allowed (one lookup, then a
  // choice), as blackbox_exporter's chooseProtocol does; otherwise only the
  // preferred one.  No AI_ADDRCONFIG: a host with only loopback IPv6 should
  // still probe ::1.
  request->hints.ai_family = module.ip_protocol_fallback ? AF_UNSPEC : preferred;
  request->hints.ai_socktype = SOCK_STREAM;
  request->hints.ai_protocol = IPPROTO_TCP;
  request->cb.ar_name = request->name.c_str();
  request->cb.ar_request = &request->hints;
  gaicb* list[] = {&request->cb};
  const std::string what = "resolve " + target.host + ": ";
  if (const int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0) {
    return Status::Error(what + gai_strerror(rc));
  }
  int rc;
  while ((rc = gai_error(&request->cb)) == EAI_INPROGRESS) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      if (gai_cancel(&request->cb) == EAI_NOTCANCELED) {
        std::lock_guard<std::mutex> lock(orphans_mu);
        orphans.push_back(std::move(request));
      }
      // EAI_CANCELED: glibc dropped it; EAI_ALLDONE: finished just now, and
      // the destructor frees its result.  Either way past the deadline.
      return Status::Error(what + "no answer before the deadline");
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec timeout{static_cast<time_t>(ns / 1000000000),
                           static_cast<long>(ns % 1000000000)};
    // EAI_AGAIN (timed out), EAI_INTR (a signal), 0 (done): gai_error decides.
    gai_suspend(list, 1, &timeout);
  }
  if (rc != 0) {
    // EAI_SYSTEM's errno belongs to glibc's resolver thread, not this one.
    return Status::Error(what + gai_strerror(rc));
  }
  const addrinfo* fallback = nullptr;
  for (const addrinfo* ai = request->cb.ar_result; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == preferred) {
      std::memcpy(&out->address, ai->ai_addr, ai->ai_addrlen);
      out->address_len = ai->ai_addrlen;
      return Status::Ok();
    }
    if (fallback == nullptr && (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)) {
      fallback = ai;
    }
  }
  if (fallback == nullptr || !module.ip_protocol_fallback) {
    return Status::Error(what + "no " + FamilyName(preferred) + " address");
  }
  std::memcpy(&out->address, fallback->ai_addr, fallback->ai_addrlen);
  out->address_len = fallback->ai_addrlen;
  return Status::Ok();
}

}  // namespace

Status ParseProbeTarget(std::string_view text, ProbeTarget* out) {
  if (text.empty()) return Status::Error("empty target (expected HOST:PORT)");
  if (text.size() > kMaxTargetLength) {
    return Status::Error("target is " + std::to_string(text.size()) + " bytes long; the limit is " +
                         std::to_string(kMaxTargetLength));
  }
  if (const std::string bad = ForbiddenTargetByte(text); !bad.empty()) {
    return Status::Error("target " + bad);
  }
  ProbeTarget target;
  std::string_view port_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Status::Error("target has '[' without ']'");
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return Status::Error("no port after ']' (expected [IPV6]:PORT)");
    if (rest.front() != ':') return Status::Error("expected ':' after ']' (expected [IPV6]:PORT)");
    port_text = rest.substr(1);
    target.host = std::string(text.substr(1, close - 1));
    if (Status s = ParsePort(port_text, &target.port); !s.ok()) return s;
    in6_addr v6{};
    if (target.host.empty()) return Status::Error("empty address in brackets");
    if (inet_pton(AF_INET6, target.host.c_str(), &v6) != 1) {
      return Status::Error("\"[" + target.host + "]\" is not a bracketed IPv6 address");
    }
    target.literal = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Status::Error("no port (expected HOST:PORT)");
    const std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      // Without brackets the last group of an IPv6 address and a port look
      // alike ("::1:5000"), so suggest whichever readings are addresses.
      in6_addr v6{};
      const bool whole = inet_pton(AF_INET6, std::string(text).c_str(), &v6) == 1;
      const bool head = inet_pton(AF_INET6, std::string(host).c_str(), &v6) == 1;
      const std::string as_whole = "[" + std::string(text) + "]:PORT";
      if (head) {
        return Status::Error("an IPv6 address needs brackets, as in [" + std::string(host) +
                             "]:" + std::string(text.substr(colon + 1)) +
                             (whole ? " (or " + as_whole + ")" : ""));
      }
      if (whole) {
        return Status::Error("\"" + std::string(text) +
                             "\" looks like an IPv6 address without a port; write " + as_whole);
      }
      return Status::Error("host \"" + std::string(host) +
                           "\" contains ':' (an IPv6 address needs brackets: [IPV6]:PORT)");
    }
    if (host.find_first_of("[]") != std::string_view::npos) {
      return Status::Error("misplaced bracket (expected [IPV6]:PORT)");
    }
    if (Status s = ParsePort(text.substr(colon + 1), &target.port); !s.ok()) return s;
    if (host.empty()) return Status::Error("empty host (expected HOST:PORT)");
    target.host = std::string(host);
    in_addr v4{};
    if (inet_pton(AF_INET, target.host.c_str(), &v4) == 1) {
      target.literal = true;
    } else if (std::string why; !ValidHostName(host, &why)) {
      return Status::Error(why);
    }
  }
  *out = std::move(target);
  return Status::Ok();
}

std::string FormatAddressPort(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &sin.sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(sin.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(sin6.sin6_port));
  }
  return "unknown-family-" + std::to_string(address.ss_family);
}

Status ResolveProbeTarget(const ProbeTarget& target, const ProbeModule& module,
                          Clock::time_point deadline, ResolvedTarget* out) {
  if (Clock::now() >= deadline) {
    return Status::Error("resolve " + target.host + ": deadline passed before resolving");
  }
  ResolvedTarget resolved;
  if (target.literal) {
    unsigned char bytes[16];
    const int family = target.host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    if (inet_pton(family, target.host.c_str(), bytes) != 1) {
      return Status::Error("\"" + target.host + "\" is not an IP address");
    }
    // The family preference is for names; a literal is what the user asked
    // for, unless they also forbade leaving the preferred family.
    if (family != PreferredFamily(module) && !module.ip_protocol_fallback) {
      return Status::Error(std::string("target ") + target.host + " is an " + FamilyName(family) +
                           " address but the module wants " + FamilyName(PreferredFamily(module)) +
                           " without fallback");
    }
    SetAddress(family, bytes, target.port, &resolved.address, &resolved.address_len);
  } else {
    if (Status s = ResolveName(target, module, deadline, &resolved); !s.ok()) return s;
    auto& address = resolved.address;
    if (address.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in&>(address).sin_port = htons(target.port);
    } else {
      reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(target.port);
    }
  }
  if (!module.source_ip_address.empty()) {
    const int family = resolved.address.ss_family;
    unsigned char bytes[16];
    if (inet_pton(family, module.source_ip_address.c_str(), bytes) != 1) {
      const int other = family == AF_INET ? AF_INET6 : AF_INET;
      if (inet_pton(other, module.source_ip_address.c_str(), bytes) == 1) {
        return Status::Error("source_ip_address " + module.source_ip_address + " is " +
                             FamilyName(other) + " but the target " + target.host +
                             " resolved to " + FormatAddressPort(resolved.address));
      }
      return Status::Error("source_ip_address \"" + module.source_ip_address +
                           "\" is not an IP address");
    }
    SetAddress(family, bytes, 0, &resolved.source, &resolved.source_len);
  }
  *out = resolved;
  return Status::Ok();
}

}  // namespace portmap
