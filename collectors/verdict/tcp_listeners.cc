#include "collectors/verdict/tcp_listeners.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "util/procfs.h"

namespace portmap {

namespace {

// Quoted in errors, so a binary or huge line does not flood the log.
std::string Excerpt(std::string_view line) {
  constexpr size_t kMax = 120;
  if (line.size() <= kMax) return std::string(line);
  return std::string(line.substr(0, kMax)) + "...";
}

// Splits on spaces and tabs; the kernel pads columns with runs of spaces.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// Exactly `hex.size()` hex digits (from_chars alone would accept a sign or a
// shorter prefix).
template <typename T>
bool ParseHex(std::string_view hex, T* value) {
  if (hex.empty()) return false;
  for (char c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), *value, 16);
  return ec == std::errc() && ptr == hex.data() + hex.size();
}

// "0100007F:1388" -> ("127.0.0.1", 5000).  The kernel prints each 32-bit word
// of the address as it sits in memory (network byte order) but formatted as
// a host-endian %08X, so storing the parsed word back in host order restores
// the network bytes.  Recorded fixtures are therefore little-endian only,
// like every host this exporter runs on.
bool ParseAddress(std::string_view field, bool ipv6, TcpListener* out) {
  const size_t hex_len = ipv6 ? 32 : 8;
  if (field.size() != hex_len + 5 || field[hex_len] != ':') return false;
  uint16_t port = 0;
  if (!ParseHex(field.substr(hex_len + 1), &port)) return false;

  unsigned char bytes[16];
  for (size_t word = 0; word < hex_len / 8; ++word) {
    uint32_t value = 0;
    if (!ParseHex(field.substr(word * 8, 8), &value)) return false;
    std::memcpy(bytes + word * 4, &value, sizeof value);
  }
  char text[INET6_ADDRSTRLEN];
  if (::inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, text, sizeof text) == nullptr) return false;
  out->address = text;
  out->port = port;
  return true;
}

// Both files start "  sl  local_address ..." (the remaining column names
// differ between tcp and tcp6), so only the first two are checked: enough to
// refuse a file that is not a socket table at all.
bool IsHeader(std::string_view line) {
  std::vector<std::string_view> f = Fields(line);
  return f.size() >= 4 && f[0] == "sl" && f[1] == "local_address";
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

Status ParseProcNetTcp(std::string_view text, bool ipv6, std::vector<TcpListener>* out) {
  const char* file = ipv6 ? "tcp6" : "tcp";
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;

    if (line_no == 1) {
      if (!IsHeader(line)) {
        return Status::Error(std::string(file) + " line 1: not the kernel's header: \"" +
                             Excerpt(line) + "\"");
      }
      continue;
    }
    if (IsBlank(line)) continue;

    auto malformed = [&](const char* what) {
      return Status::Error(std::string(file) + " line " + std::to_string(line_no) + ": " + what +
                           ": \"" + Excerpt(line) + "\"");
    };
    // "   0: 0100007F:1388 00000000:0000 0A ...": slot, local, remote, state.
    std::vector<std::string_view> f = Fields(line);
    if (f.size() < 4) return malformed("too few fields");
    if (f[0].size() < 2 || f[0].back() != ':') return malformed("bad slot");
    uint32_t slot = 0;
    if (!std::all_of(f[0].begin(), f[0].end() - 1, [](char c) { return c >= '0' && c <= '9'; }) ||
        std::from_chars(f[0].data(), f[0].data() + f[0].size() - 1, slot).ec != std::errc()) {
      return malformed("bad slot");
    }
    TcpListener listener;
    if (!ParseAddress(f[1], ipv6, &listener)) return malformed("bad local address");
    TcpListener remote;
    if (!ParseAddress(f[2], ipv6, &remote)) return malformed("bad remote address");
    uint8_t state = 0;
    if (f[3].size() != 2 || !ParseHex(f[3], &state)) return malformed("bad state");

    constexpr uint8_t kTcpListen = 0x0A;  // TCP_LISTEN in include/net/tcp_states.h
    if (state == kTcpListen) out->push_back(std::move(listener));
  }
  if (line_no == 0) return Status::Error(std::string(file) + ": empty, no header");
  return Status::Ok();
}

Status ReadTcpListeners(const Paths& paths, std::vector<TcpListener>* out) {
  out->clear();
  std::string text;
  const std::string tcp = paths.Proc("net/tcp");
  ReadResult r = ReadFile(tcp, &text);
  // net/tcp exists in every network namespace; its absence means the procfs
  // path is wrong, which the operator has to hear about.
  if (!r.ok()) return Status::Error(r.error);
  Status s = ParseProcNetTcp(text, /*ipv6=*/false, out);
  if (!s.ok()) return Status::Error(tcp + ": " + s.message());

  const std::string tcp6 = paths.Proc("net/tcp6");
  r = ReadFile(tcp6, &text);
  if (r.code == ReadResult::Code::kNotFound) return Status::Ok();  // ipv6.disable=1
  if (!r.ok()) return Status::Error(r.error);
  s = ParseProcNetTcp(text, /*ipv6=*/true, out);
  if (!s.ok()) return Status::Error(tcp6 + ": " + s.message());
  return Status::Ok();
}

namespace {

// Loopback: 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6 (a dual-stack
// socket bound to ::ffff:127.0.0.1 only accepts loopback IPv4 peers).  An
// unparseable address counts as reachable, so a listener is never hidden by
// a text form this code did not expect.
bool IsLoopback(const std::string& address) {
  in_addr v4;
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

bool ListensBeyondLoopback(const std::vector<TcpListener>& listeners, uint16_t port) {
  for (const TcpListener& l : listeners) {
    if (l.port == port && !IsLoopback(l.address)) return true;
  }
  return false;
}

}  // namespace portmap
