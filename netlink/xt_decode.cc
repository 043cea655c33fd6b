// The x_tables blob decoder: ipt_entry list -> chains (xtables.h).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <string>

#include "netlink/xt_payload.h"
#include "netlink/xtables.h"

namespace portmap {

namespace {

constexpr const char* kHookNames[kXtNumHooks] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT",
                                                 "POSTROUTING"};

// One entry, copied out of the blob after its bounds were checked.
struct Entry {
  uint32_t offset = 0;
  ipt_ip ip{};  // ipt_entry's fields (it ends in a flexible array)
  xt_counters counters{};
  uint16_t target_offset = 0;
  uint16_t next_offset = 0;
  std::string target;  // "" for the standard target
  int target_rev = 0;
  const uint8_t* target_data = nullptr;
  size_t target_len = 0;
  int verdict = 0;         // standard target only
  std::string error_name;  // ERROR target only
  std::string proto;       // from -p or a tcp/udp match
  uint16_t dport = 0;
};

NetlinkStatus Malformed(uint32_t offset, const char* what) {
  return NetlinkStatus::Errno(EINVAL, "x_tables entry at " + std::to_string(offset) + ": " + what);
}

// Reads the entry at `off`; checks that it, its matches and its target fit.
NetlinkStatus ReadEntry(const std::vector<uint8_t>& blob, uint32_t off, Entry* e) {
  const size_t size = blob.size();
  if (off > size || size - off < sizeof(ipt_entry)) return Malformed(off, "truncated");
  e->offset = off;
  const uint8_t* raw = blob.data() + off;
  std::memcpy(&e->ip, raw + offsetof(ipt_entry, ip), sizeof e->ip);
  std::memcpy(&e->counters, raw + offsetof(ipt_entry, counters), sizeof e->counters);
  std::memcpy(&e->target_offset, raw + offsetof(ipt_entry, target_offset), sizeof(uint16_t));
  std::memcpy(&e->next_offset, raw + offsetof(ipt_entry, next_offset), sizeof(uint16_t));
  const uint32_t next = e->next_offset;
  const uint32_t toff = e->target_offset;
  if (next > size - off || toff < sizeof(ipt_entry) ||
      static_cast<size_t>(toff) + sizeof(xt_entry_target) > next) {
    return Malformed(off, "bad offsets");
  }
  const uint8_t* base = blob.data() + off;
  if ((e->ip.invflags & XT_INV_PROTO) == 0 && e->ip.proto != 0) {
    e->proto = XtProtoName(static_cast<uint8_t>(e->ip.proto));
  }
  for (uint32_t m = sizeof(ipt_entry); m < toff;) {
    xt_entry_match match{};
    if (toff - m < sizeof(match)) return Malformed(off, "truncated match");
    std::memcpy(&match, base + m, sizeof match);
    const uint16_t msize = match.u.user.match_size;
    if (msize < sizeof(match) || msize > toff - m) return Malformed(off, "bad match size");
    char name[XT_EXTENSION_MAXNAMELEN + 1] = {};
    std::memcpy(name, match.u.user.name, XT_EXTENSION_MAXNAMELEN);
    DecodeXtPortMatch(name, base + m + sizeof(match), msize - sizeof(match), &e->proto, &e->dport);
    m += msize;
  }
  xt_entry_target target{};
  std::memcpy(&target, base + toff, sizeof target);
  const uint16_t tsize = target.u.user.target_size;
  if (tsize < sizeof(target) || tsize > next - toff) return Malformed(off, "bad target size");
  char tname[XT_EXTENSION_MAXNAMELEN + 1] = {};
  std::memcpy(tname, target.u.user.name, XT_EXTENSION_MAXNAMELEN);
  e->target = tname;
  e->target_rev = target.u.user.revision;
  e->target_data = base + toff + sizeof(target);
  e->target_len = tsize - sizeof(target);
  if (e->target.empty()) {
    if (e->target_len < sizeof(int)) return Malformed(off, "short standard target");
    std::memcpy(&e->verdict, e->target_data, sizeof(int));
  } else if (e->target == XT_ERROR_TARGET) {
    char ename[XT_FUNCTION_MAXNAMELEN + 1] = {};
    std::memcpy(ename, e->target_data, std::min<size_t>(e->target_len, XT_FUNCTION_MAXNAMELEN));
    e->error_name = ename;
  }
  return NetlinkStatus::Ok();
}

NfRule MakeRule(const Entry& e) {
  NfRule rule;
  rule.packets = e.counters.pcnt;
  rule.bytes = e.counters.bcnt;
  if (e.target == "DNAT") {
    NfPortMapping m;
    if (DecodeXtDnat(e.target_rev, e.target_data, e.target_len, false, &m.container_ip,
                     &m.container_port)) {
      m.proto = e.proto;
      const bool any_dst = e.ip.dmsk.s_addr == 0 || (e.ip.invflags & IPT_INV_DSTIP) != 0;
      m.host_ip = any_dst ? "0.0.0.0" : XtAddrString(&e.ip.dst, 4);
      m.host_port = e.dport;
      if (m.container_port == 0) m.container_port = e.dport;
      rule.dnat = m;
    }
  }
  return rule;
}

}  // namespace

NetlinkStatus DecodeXtTable(const XtTableBlob& blob, std::vector<NfChain>* chains) {
  std::vector<Entry> entries;
  for (uint32_t off = 0; off < blob.entries.size();) {
    Entry e;
    NetlinkStatus st = ReadEntry(blob.entries, off, &e);
    if (!st.ok()) return st;
    if (e.next_offset == 0) return Malformed(off, "zero size");
    off += e.next_offset;
    entries.push_back(std::move(e));
  }
  // First pass: where each chain's first rule sits, for jump verdicts.
  std::map<uint32_t, std::string> chain_at;
  for (size_t i = 0; i + 1 < entries.size(); ++i) {
    if (entries[i].target == XT_ERROR_TARGET)
      chain_at[entries[i + 1].offset] = entries[i].error_name;
  }
  std::vector<NfChain> out;
  NfChain* cur = nullptr;
  bool user = false;
  auto finish_user_chain = [&]() {
    // A user chain ends with the RETURN iptables appends; it is not a rule.
    if (cur != nullptr && user && !cur->rules.empty()) cur->rules.pop_back();
  };
  for (const Entry& e : entries) {
    int hook = -1;
    for (int h = 0; h < kXtNumHooks; ++h) {
      if ((blob.valid_hooks & (1U << h)) != 0 && blob.hook_entry[h] == e.offset) hook = h;
    }
    if (hook >= 0) {
      finish_user_chain();
      out.push_back({"ipv4", blob.name, kHookNames[hook], true, std::nullopt, {}});
      cur = &out.back();
      user = false;
    }
    if (e.target == XT_ERROR_TARGET) {
      finish_user_chain();
      cur = nullptr;
      if (e.error_name == XT_ERROR_TARGET) break;  // the table's end marker
      out.push_back({"ipv4", blob.name, e.error_name, false, std::nullopt, {}});
      cur = &out.back();
      user = true;
      continue;
    }
    if (cur == nullptr) return Malformed(e.offset, "rule outside any chain");
    bool policy = false;
    for (int h = 0; h < kXtNumHooks; ++h) {
      if ((blob.valid_hooks & (1U << h)) != 0 && blob.underflow[h] == e.offset && !user) {
        policy = true;
      }
    }
    if (policy) {
      // A standard verdict of -NF_ACCEPT-1 = -2 is ACCEPT, -1 is DROP.
      cur->policy_accept = e.target.empty() && e.verdict == -NF_ACCEPT - 1;
      cur = nullptr;
      continue;
    }
    NfRule rule = MakeRule(e);
    if (e.target.empty() && e.verdict >= 0 &&
        static_cast<uint32_t>(e.verdict) != e.offset + e.next_offset) {
      auto it = chain_at.find(static_cast<uint32_t>(e.verdict));
      if (it != chain_at.end()) rule.jump = it->second;
    }
    cur->rules.push_back(std::move(rule));
  }
  *chains = std::move(out);
  return NetlinkStatus::Ok();
}

}  // namespace portmap
