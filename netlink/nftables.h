// nftables: reads nf_tables chains and their rules from the kernel over
// NETLINK_NETFILTER, and decodes the messages.
//
// A read (Read) is: NFT_MSG_GETGEN (the ruleset generation), a GETTABLE dump, a
// GETCHAIN dump per family holding a table of interest (the kernel filters
// chain dumps by family only, not by table), then one
// GETRULE dump *per chain of interest* (NFTA_RULE_TABLE + NFTA_RULE_CHAIN):
// a per-chain dump of a small chain costs well under a millisecond beside
// 50,000 foreign rules, where a table dump costs hundreds of ms.
//
// Consistency: every dump message carries the low 16 bits of the generation
// it was built from in nfgenmsg.res_id.  A message whose generation differs
// from the GETGEN answer means a commit happened in between; the whole read
// is redone, at most kNftReadAttempts times, then reported as EAGAIN.
//
// Rules are interpreted, not mirrored: an expression list is evaluated just
// enough to recover what iptables-nft wrote (counter, jump/goto verdict, and
// for DNAT rules the published port).  Both encodings iptables-nft has used
// are understood:
//   -p tcp          payload(network+9, 1) == 6, or meta l4proto == 6
//   --dport N       payload(transport+2, 2) == N, or xt match "tcp"/"udp"
//   -d ADDR         payload(network+16, 4) == ADDR (ip6: +24, 16)
//   ! -i docker0    meta iifname != "docker0"
//   -j DNAT ...     xt target "DNAT" rev 0 (nf_nat_ipv4_multi_range_compat),
//                   rev 1 (nf_nat_range) or rev 2 (nf_nat_range2)
//   dnat to A:P     native nat expression (nft, Docker 29's nftables backend):
//                   immediate loads of A and P into registers, then nat dnat
// Expressions this does not know are skipped: a rule it cannot fully read
// still counts, with its counter, it just publishes nothing.
//
// No libnftnl: the eight expressions above decode in a page with libmnl's
// attribute pattern, where libnftnl would build (and allocate) a full object
// tree per rule and still leave the xt payloads and register tracking to us.
//
// Errors are values (NetlinkStatus, errno inside): EPERM without
// CAP_NET_ADMIN, ETIMEDOUT past the deadline, EAGAIN when the ruleset kept
// changing.  Decoders are pure (bytes in, structs out) for tests and fuzzing.
//
// Thread safety: an NftablesReader is used by one thread at a time; decoders
// are stateless.
#pragma once

#include <linux/netlink.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "netlink/nf_ruleset.h"
#include "netlink/socket.h"

namespace portmap {

inline constexpr int kNftReadAttempts = 4;

// NFT_MSG_NEWGEN: the answer to GETGEN, and the event closing every commit.
struct NftGeneration {
  uint32_t id = 0;
  uint32_t proc_pid = 0;  // the committing process, events only
  std::string proc_name;  // e.g. "iptables-nft", "firewalld", "nft"
};

struct NftTable {
  uint8_t family = 0;  // NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET, ...
  std::string name;
};

struct NftChainInfo {
  uint8_t family = 0;
  std::string table;
  std::string name;
  std::optional<uint32_t> hook;    // NF_INET_*; set for base chains
  std::optional<uint32_t> policy;  // NF_ACCEPT / NF_DROP; base chains
};

struct NftRuleInfo {
  uint8_t family = 0;
  std::string table;
  std::string chain;
  NfRule rule;
};

// What a buffer of NETLINK_NETFILTER messages held, by kind (other message
// types are ignored).  `generations` holds each dump message's res_id.
struct NftMessages {
  std::vector<NftGeneration> gens;           // NFT_MSG_NEWGEN
  std::vector<NftTable> tables;              // NFT_MSG_NEWTABLE
  std::vector<NftChainInfo> chains;          // NFT_MSG_NEWCHAIN
  std::vector<NftRuleInfo> rules;            // NFT_MSG_NEWRULE
  std::vector<NftChainInfo> deleted_chains;  // NFT_MSG_DELCHAIN (events)
  std::vector<NftRuleInfo> deleted_rules;    // NFT_MSG_DELRULE (events)
  std::vector<uint16_t> generations;
};

// Decodes one message into *out.  Returns MNL_CB_OK, or MNL_CB_ERROR with
// errno set (EINVAL) for a malformed message of a known type.
int DecodeNftMessage(const nlmsghdr* nlh, NftMessages* out);

// Decodes a whole buffer (a datagram, or recorded messages back to back; any
// alignment).  Messages decoded before a malformed one are kept.
NetlinkStatus DecodeNftBuffer(const void* buf, size_t len, NftMessages* out);

// "ipv4" for NFPROTO_IPV4, "ipv6" for NFPROTO_IPV6, "inet", "bridge", ...
std::string NftFamilyName(uint8_t family);

// nft(8)'s word for a family: "ip", "ip6", "inet", "arp", "bridge", "netdev".
std::string NftFamilyWord(uint8_t family);

// A request buffer: a header and two names of at most NFT_NAME_MAXLEN fit;
// 4-byte aligned for libmnl.
using NftRequestBuf = std::array<uint32_t, 256>;

// Starts an nf_tables request of `msg_type` (NFT_MSG_GET*) for `family` in
// *buf: the netlink header with `flags` and `seq`, and the nfgenmsg.
nlmsghdr* PutNftRequest(NftRequestBuf* buf, uint16_t msg_type, uint16_t flags, uint8_t family,
                        uint32_t seq);

// True when a read that began at generation `before`, ended at `after`, and
// saw dump messages stamped `stamps` (res_id, the generation's low 16 bits)
// saw one ruleset; false when a commit happened in between.
bool NftReadConsistent(uint32_t before, uint32_t after, const std::vector<uint16_t>& stamps);

// Which chains' rules to read: (family, table, chain) -> wanted.
using NftChainFilter = std::function<bool(const NftChainInfo&)>;

struct NftRuleset {
  uint32_t generation = 0;
  std::vector<NfChain> chains;  // the wanted chains, in dump order
};

class NftablesReader {
 public:
  // Opens a NETLINK_NETFILTER socket in the caller's network namespace.
  static NftablesReader Open(NetlinkStatus* status);

  NftablesReader() = default;
  NftablesReader(NftablesReader&&) noexcept = default;
  NftablesReader& operator=(NftablesReader&&) noexcept = default;
  NftablesReader(const NftablesReader&) = delete;
  NftablesReader& operator=(const NftablesReader&) = delete;

  bool valid() const { return sock_.valid(); }

  // The current ruleset generation (NFT_MSG_GETGEN).
  NetlinkStatus ReadGeneration(std::chrono::steady_clock::time_point deadline, NftGeneration* gen);

  // Reads every chain of the tables named in `tables` (any family among
  // `families`) that `want` selects, with its rules, all from one generation.
  NetlinkStatus Read(const std::vector<uint8_t>& families, const std::vector<std::string>& tables,
                     const NftChainFilter& want, std::chrono::steady_clock::time_point deadline,
                     NftRuleset* out);

  // The same, without listing every chain: gets each chain of `names` by
  // name in each such table (a missing one is skipped), then every chain a
  // read rule jumps to whose name `follow` accepts.  Its cost does not grow
  // with foreign chains: a GETCHAIN dump of a family with kube-proxy's
  // thousands of chains costs milliseconds, a get by name microseconds.
  NetlinkStatus ReadNamed(const std::vector<uint8_t>& families,
                          const std::vector<std::string>& tables,
                          const std::vector<std::string>& names,
                          const std::function<bool(const std::string&)>& follow,
                          std::chrono::steady_clock::time_point deadline, NftRuleset* out);

  // For recording test data: called with every message received.
  void SetTap(NetlinkCallback tap) { tap_ = std::move(tap); }

 private:
  explicit NftablesReader(NetlinkSocket sock) : sock_(std::move(sock)) {}

  // One dump of `msg_type` for `family`, with string attributes (type, value)
  // as the filter; decodes into *out.
  NetlinkStatus DumpInto(uint16_t msg_type, uint8_t family,
                         const std::vector<std::pair<uint16_t, std::string>>& attrs,
                         std::chrono::steady_clock::time_point deadline, NftMessages* out,
                         bool dump = true);
  // One chain's attributes and its rules (a GETRULE dump filtered by table
  // and chain) into *chain; dumps into *msgs so its generations accumulate
  // for FinishRead.
  NetlinkStatus ReadChain(const NftChainInfo& c, std::chrono::steady_clock::time_point deadline,
                          NftMessages* msgs, NfChain* chain);
  // Reads the generation again; EAGAIN when a commit fell inside the read
  // that began at `first_generation`.
  NetlinkStatus FinishRead(uint32_t first_generation, const NftMessages& msgs,
                           std::chrono::steady_clock::time_point deadline, NftRuleset* out);
  NetlinkStatus ReadNamedOnce(const std::vector<uint8_t>& families,
                              const std::vector<std::string>& tables,
                              const std::vector<std::string>& names,
                              const std::function<bool(const std::string&)>& follow,
                              std::chrono::steady_clock::time_point deadline, NftRuleset* out);
  NetlinkStatus ReadOnce(const std::vector<uint8_t>& families,
                         const std::vector<std::string>& tables, const NftChainFilter& want,
                         std::chrono::steady_clock::time_point deadline, NftRuleset* out);

  NetlinkSocket sock_;
  NetlinkCallback tap_;
};

}  // namespace portmap
