// netfilter_record: reads the DOCKER* and base chains of nat/filter through
// NftablesReader, as the collector does, and writes every message received as
// hex (one message per line) to stdout, for tests/fixtures/nftables/.
// With --legacy TABLE: the x_tables table instead, as XtTableBlobToText.
// With --events SECONDS: the NFNLGRP_NFTABLES events seen in that time.
// A lab tool: run it inside the lab's dockerhost namespace.
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstdio>
#include <string>
#include <vector>

#include "netlink/nftables.h"
#include "netlink/xtables.h"

namespace {

int Print(const nlmsghdr* nlh) {
  const auto* b = reinterpret_cast<const unsigned char*>(nlh);
  for (uint32_t i = 0; i < nlh->nlmsg_len; ++i) (void)std::printf("%02x", b[i]);
  (void)std::printf("\n");
  return MNL_CB_OK;
}

void PrintChains(const std::vector<portmap::NfChain>& chains) {
  for (const portmap::NfChain& c : chains) {
    (void)std::fprintf(stderr, "%s %s %s base=%d policy=%d rules=%zu\n", c.family.c_str(),
                       c.table.c_str(), c.name.c_str(), c.base,
                       c.policy_accept.value_or(false) ? 1 : 0, c.rules.size());
    for (const auto& r : c.rules) {
      if (r.dnat) {
        (void)std::fprintf(stderr, "  dnat %s %s:%u -> %s:%u\n", r.dnat->proto.c_str(),
                           r.dnat->host_ip.c_str(), r.dnat->host_port, r.dnat->container_ip.c_str(),
                           r.dnat->container_port);
      }
      if (!r.jump.empty()) (void)std::fprintf(stderr, "  jump %s\n", r.jump.c_str());
    }
  }
}

int RecordLegacy(const std::string& table) {
  portmap::XtTableBlob blob;
  portmap::NetlinkStatus st = portmap::XtReadTable(
      table, std::chrono::steady_clock::now() + std::chrono::seconds(5), &blob);
  if (!st.ok()) {
    (void)std::fprintf(stderr, "netfilter_record: %s\n", st.message.c_str());
    return 1;
  }
  (void)std::fputs(portmap::XtTableBlobToText(blob).c_str(), stdout);
  std::vector<portmap::NfChain> chains;
  st = portmap::DecodeXtTable(blob, &chains);
  if (!st.ok()) {
    (void)std::fprintf(stderr, "netfilter_record: %s\n", st.message.c_str());
    return 1;
  }
  PrintChains(chains);
  return 0;
}

int RecordEvents(int seconds) {
  portmap::NetlinkStatus st;
  portmap::NetlinkSocket sock = portmap::NetlinkSocket::Open(NETLINK_NETFILTER, &st);
  if (st.ok()) st = sock.JoinGroup(NFNLGRP_NFTABLES);
  if (st.ok()) st = sock.SetReceiveBuffer(16 << 20);
  if (!st.ok()) {
    (void)std::fprintf(stderr, "netfilter_record: %s\n", st.message.c_str());
    return 1;
  }
  (void)std::fprintf(stderr, "netfilter_record: listening\n");
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    bool woken = false;
    st = sock.ReceiveEvents(-1, std::chrono::milliseconds(100), Print, &woken);
    if (!st.ok()) {
      (void)std::fprintf(stderr, "netfilter_record: %s\n", st.message.c_str());
      return 1;
    }
  }
  (void)std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using portmap::NetlinkStatus;
  if (argc == 3 && std::string(argv[1]) == "--legacy") return RecordLegacy(argv[2]);
  if (argc == 3 && std::string(argv[1]) == "--events") return RecordEvents(std::stoi(argv[2]));
  NetlinkStatus st;
  portmap::NftablesReader reader = portmap::NftablesReader::Open(&st);
  if (!st.ok()) {
    (void)std::fprintf(stderr, "netfilter_record: %s\n", st.message.c_str());
    return 1;
  }
  reader.SetTap(Print);
  portmap::NftRuleset rs;
  st = reader.Read(
      {NFPROTO_IPV4, NFPROTO_IPV6}, {"nat", "filter"},
      [](const portmap::NftChainInfo&) { return true; },
      std::chrono::steady_clock::now() + std::chrono::seconds(5), &rs);
  if (!st.ok()) {
    (void)std::fprintf(stderr, "netfilter_record: %s\n", st.message.c_str());
    return 1;
  }
  PrintChains(rs.chains);
  return 0;
}
