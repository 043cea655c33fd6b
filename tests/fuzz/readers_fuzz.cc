// libFuzzer target: the readers of what another program wrote — rtnetlink's
// link and address dumps (DecodeLinkMessage, DecodeAddrMessage: the
// verdict's uplinks, with IFLA_LINKINFO nested) and the Docker Engine API's
// /containers/json (ParseContainersJson).  The first byte picks the reader.
// Invariants: no crash or sanitizer report (libmnl must never read past the
// buffer); a decoded link has an index, an address a family of
// IPv4 or IPv6; every port the API parser returns is in 1..65535.
#include <libmnl/libmnl.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "collectors/docker_api.h"
#include "netlink/rtlink.h"

namespace {

// Every message of a datagram, copied to an aligned buffer as recv() leaves
// it.  Walked by hand: mnl_nlmsg_ok casts nlmsg_len to int, so a length near
// 4 GiB would pass it (the kernel never sends one; the fuzzer does).
template <typename F>
void EachMessage(const uint8_t* data, size_t size, F decode) {
  std::vector<uint32_t> buf(size / sizeof(uint32_t) + 1);
  std::memcpy(buf.data(), data, size);
  const auto* base = reinterpret_cast<const uint8_t*>(buf.data());
  size_t off = 0;
  while (off <= size && size - off >= sizeof(nlmsghdr)) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(base + off);
    if (nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > size - off) break;
    decode(nlh);
    off += MNL_ALIGN(nlh->nlmsg_len);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0] % 3;
  ++data;
  --size;
  switch (pick) {
    case 0: {
      std::vector<portmap::LinkInfo> links;
      EachMessage(data, size, [&](const nlmsghdr* m) { portmap::DecodeLinkMessage(m, &links); });
      for (const auto& l : links) {
        if (l.index == 0) std::abort();
      }
      break;
    }
    case 1: {
      std::vector<portmap::AddrInfo> addrs;
      EachMessage(data, size, [&](const nlmsghdr* m) { portmap::DecodeAddrMessage(m, &addrs); });
      for (const auto& a : addrs) {
        if (a.family != 2 && a.family != 10) std::abort();
      }
      break;
    }
    default: {
      const std::string_view text(reinterpret_cast<const char*>(data), size);
      std::vector<portmap::DockerApiPort> ports;
      if (portmap::ParseContainersJson(text, &ports).ok()) {
        for (const auto& p : ports) {
          if (p.host_port == 0) std::abort();
        }
      }
    }
  }
  return 0;
}
