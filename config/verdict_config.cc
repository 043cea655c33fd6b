#include "config/verdict_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace portmap {

namespace {

using config_yaml::YamlSource;

// IFNAMSIZ (16) less the terminating NUL.
constexpr size_t kMaxInterfaceName = 15;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// What `address` is when no packet from another host carries it as its
// source (the kernel drops it as a martian); "" when one may.
std::string NotAClientV4(const in_addr& address) {
  const uint32_t a = ntohl(address.s_addr);
  if ((a >> 24) == 0) return "an address in 0.0.0.0/8";
  if ((a >> 24) == 127) return "a loopback address";
  if ((a >> 28) == 0xe) return "a multicast address";
  if (a == 0xffffffff) return "the broadcast address";
  return "";
}

std::string NotAClientV6(const in6_addr& address) {
  if (IN6_IS_ADDR_UNSPECIFIED(&address)) return "the unspecified address";
  if (IN6_IS_ADDR_LOOPBACK(&address)) return "the loopback address";
  if (IN6_IS_ADDR_MULTICAST(&address)) return "a multicast address";
  return "";
}

// "verdict.sources[2]"
std::string Place(const std::string& where, size_t index) {
  return where + "[" + std::to_string(index) + "]";
}

std::string DuplicateItem(std::string_view what, const std::string& text, const std::string& where,
                          size_t first_index, int first_line) {
  return "duplicate " + std::string(what) + " " + Quote(text) + " in " + where + " (the same as " +
         Place(where, first_index) + ", line " + std::to_string(first_line) + ")";
}

// Reads the list `node`, named `where` ("verdict.sources"), into `*out`:
// each item a string that `parse` turns into a value.  An item equal to an
// earlier one (after `parse`: 2001:DB8::1 is 2001:db8::1) is an error.
template <typename T, typename Parse>
Status ParseList(const YamlSource& src, const YAML::Node& node, const std::string& where,
                 std::string_view what, const Parse& parse, std::vector<T>* out) {
  out->clear();
  if (node.IsNull()) return Status::Ok();
  if (!node.IsSequence()) {
    return src.Error(node, where + " must be a list, not " + config_yaml::DescribeNodeType(node));
  }
  std::map<T, std::pair<size_t, int>> first;  // value -> its index and line, for duplicates
  size_t index = 0;
  for (const YAML::Node& item : node) {
    const std::string at = Place(where, index);
    std::string text;
    // An empty item ("-" alone) has no place of its own: yaml-cpp marks it
    // where the next token starts, so its error points at the list.
    if (Status status = src.GetString(node, item, at, &text); !status.ok()) return status;
    T value;
    if (Status status = parse(text, &value); !status.ok()) {
      return src.Error(item, at + " " + Quote(text) + " " + status.message());
    }
    auto [it, inserted] = first.emplace(value, std::make_pair(index, item.Mark().line + 1));
    if (!inserted) {
      return src.Error(item, DuplicateItem(what, text, where, it->second.first, it->second.second));
    }
    out->push_back(std::move(value));
    ++index;
  }
  return Status::Ok();
}

}  // namespace

Status NormalizeVerdictSource(std::string_view text, std::string* normalized) {
  const std::string address(text);
  if (address.find('/') != std::string::npos) {
    return Status::Error("is a network, not one address (give the client's address)");
  }
  // inet_pton stops at a NUL, so "1.2.3.4\0junk" would pass as 1.2.3.4.
  const bool has_nul = address.find('\0') != std::string::npos;
  char buffer[INET6_ADDRSTRLEN] = {};
  std::string what;
  if (in_addr v4; !has_nul && inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    what = NotAClientV4(v4);
    if (what.empty()) inet_ntop(AF_INET, &v4, buffer, sizeof(buffer));
  } else if (in6_addr v6; !has_nul && inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      return Status::Error("is an IPv4-mapped IPv6 address (give the IPv4 address)");
    }
    what = NotAClientV6(v6);
    if (what.empty()) inet_ntop(AF_INET6, &v6, buffer, sizeof(buffer));
  } else {
    return Status::Error("is not a literal IPv4 or IPv6 address (host names are not looked up)");
  }
  if (!what.empty()) {
    return Status::Error("is " + what + ", which no packet from another host comes from");
  }
  *normalized = buffer;
  return Status::Ok();
}

Status CheckInterfaceName(std::string_view name) {
  if (name.empty()) return Status::Error("is empty");
  if (name.size() > kMaxInterfaceName) {
    return Status::Error("is longer than " + std::to_string(kMaxInterfaceName) +
                         " characters, the kernel's limit for an interface name");
  }
  if (name == "." || name == "..") return Status::Error("is not an interface name");
  for (char c : name) {
    if (c == '/') return Status::Error("contains '/', which an interface name cannot");
    if (c == ':') {
      return Status::Error(
          "contains ':', which an interface name cannot (eth0:1 is an "
          "address label on eth0)");
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte == 0x7f) {
      return Status::Error("contains whitespace or a control character");
    }
  }
  return Status::Ok();
}

Status ParseVerdictPort(std::string_view text, VerdictPort* out) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::Error("is not PORT/PROTO (e.g. 5000/tcp, 53/udp)");
  }
  const std::string_view port_text = text.substr(0, slash);
  const std::string_view proto = text.substr(slash + 1);
  unsigned value = 0;
  const char* end = port_text.data() + port_text.size();
  const bool digits =
      !port_text.empty() &&
      std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (const auto result = std::from_chars(port_text.data(), end, value);
      !digits || result.ec != std::errc() || result.ptr != end || value < 1 || value > 65535) {
    return Status::Error("has a port that is not a number in 1..65535");
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") {
    return Status::Error("has a protocol that is not tcp, udp or sctp");
  }
  out->proto = std::string(proto);
  out->port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Status ParseVerdictConfig(const YamlSource& src, const YAML::Node& node, VerdictConfig* out) {
  return src.ForEachEntry(
      node, "verdict",
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        const std::string where = "verdict." + key;
        if (key == "sources") {
          return ParseList(src, value, where, "source", NormalizeVerdictSource, &out->sources);
        }
        if (key == "interfaces") {
          return ParseList(
              src, value, where, "interface",
              [](std::string_view text, std::string* name) {
                *name = std::string(text);
                return CheckInterfaceName(text);
              },
              &out->interfaces);
        }
        if (key == "ports")
          return ParseList(src, value, where, "port", ParseVerdictPort, &out->ports);
        return src.UnknownKey(key_node, key, "verdict");
      });
}

}  // namespace portmap
