// The legacy table decoder and ipt_do_table's walk.
#include "pathtrace/xt_legacy.h"

// glibc's netinet/in.h before any linux/ header.
// clang-format off
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter_ipv4/ip_tables.h>
// clang-format on

#include <cstring>

#include "pathtrace/xt_eval_internal.h"

namespace portmap::pathtrace {

namespace {

// An empty payload has no bytes at all (data() may be null).
std::string FieldString(const char* s, size_t max) {
  return s == nullptr || max == 0 ? std::string() : std::string(s, strnlen(s, max));
}

Status DecodeEntry(const std::vector<uint8_t>& b, size_t off, XtLegacyEntry* x) {
  ipt_entry e;
  std::memcpy(&e, b.data() + off, sizeof e);
  const size_t room = b.size() - off;
  if (e.next_offset < sizeof(ipt_entry) + sizeof(xt_entry_target) || e.next_offset > room ||
      e.target_offset < sizeof(ipt_entry) ||
      e.target_offset + sizeof(xt_entry_target) > e.next_offset) {
    return Status::Error("x_tables entry at " + std::to_string(off) + ": bad sizes");
  }
  x->offset = static_cast<uint32_t>(off);
  x->next_offset = e.next_offset;
  std::memcpy(x->src.data(), &e.ip.src, 4);
  std::memcpy(x->dst.data(), &e.ip.dst, 4);
  std::memcpy(x->smsk.data(), &e.ip.smsk, 4);
  std::memcpy(x->dmsk.data(), &e.ip.dmsk, 4);
  std::memcpy(x->iniface.data(), e.ip.iniface, 16);
  std::memcpy(x->outiface.data(), e.ip.outiface, 16);
  std::memcpy(x->iniface_mask.data(), e.ip.iniface_mask, 16);
  std::memcpy(x->outiface_mask.data(), e.ip.outiface_mask, 16);
  x->proto = e.ip.proto;
  x->flags = e.ip.flags;
  x->invflags = e.ip.invflags;
  // xt_ematch_foreach: matches fill the space up to target_offset.
  for (size_t m = sizeof(ipt_entry); m < e.target_offset;) {
    xt_entry_match h;
    if (e.target_offset - m < sizeof h) return Status::Error("x_tables match header cut short");
    std::memcpy(&h, b.data() + off + m, sizeof h);
    const size_t size = h.u.user.match_size;
    if (size < sizeof h || size > e.target_offset - m) {
      return Status::Error("x_tables match at " + std::to_string(off + m) + ": bad size");
    }
    XtLegacyMatch match;
    match.name = FieldString(h.u.user.name, sizeof h.u.user.name);
    match.rev = h.u.user.revision;
    match.info.assign(b.begin() + static_cast<std::ptrdiff_t>(off + m + sizeof h),
                      b.begin() + static_cast<std::ptrdiff_t>(off + m + size));
    x->matches.push_back(std::move(match));
    m += size;
  }
  xt_entry_target t;
  std::memcpy(&t, b.data() + off + e.target_offset, sizeof t);
  const size_t tsize = t.u.user.target_size;
  if (tsize < sizeof t || tsize > size_t{e.next_offset} - e.target_offset) {
    return Status::Error("x_tables target at " + std::to_string(off) + ": bad size");
  }
  x->target = FieldString(t.u.user.name, sizeof t.u.user.name);
  x->target_rev = t.u.user.revision;
  const auto tbegin = b.begin() + static_cast<std::ptrdiff_t>(off + e.target_offset);
  x->target_info.assign(tbegin + sizeof t, tbegin + static_cast<std::ptrdiff_t>(tsize));
  if (x->standard()) {
    if (x->target_info.size() < sizeof(int32_t)) return Status::Error("x_tables verdict cut short");
    std::memcpy(&x->verdict, x->target_info.data(), sizeof(int32_t));
  } else if (x->target == XT_ERROR_TARGET) {
    x->error_name =
        FieldString(reinterpret_cast<const char*>(x->target_info.data()), x->target_info.size());
  }
  return Status::Ok();
}

// libiptc's chains: built-in ones from the hook offsets, user ones from the
// ERROR entries; positions as iptables -L --line-numbers counts them.
void AssignChains(XtLegacyTable* t) {
  std::string chain;
  uint32_t pos = 0;
  bool user = false;
  const size_t n = t->entries.size();
  for (size_t i = 0; i < n; ++i) {
    XtLegacyEntry& e = t->entries[i];
    bool underflow = false;
    for (uint32_t h = 0; h < kXtNumHooks; ++h) {
      if (!(t->valid_hooks & (1u << h))) continue;
      if (e.offset == t->hook_entry[h]) {
        chain = XtHookChainName(h);
        pos = 0;
        user = false;
      }
      underflow = underflow || e.offset == t->underflow[h];
    }
    if (e.target == XT_ERROR_TARGET) {
      const bool last = i + 1 == n;
      e.role = last ? XtLegacyEntry::Role::kTableEnd : XtLegacyEntry::Role::kChainHead;
      chain = last ? "" : e.error_name;
      e.chain = chain;
      pos = 0;
      user = !last;
      continue;
    }
    e.chain = chain;
    if (underflow && !user) {
      e.role = XtLegacyEntry::Role::kPolicy;
    } else if (user && i + 1 < n && t->entries[i + 1].target == XT_ERROR_TARGET && e.standard() &&
               e.verdict == XT_RETURN && e.unconditional()) {
      e.role = XtLegacyEntry::Role::kChainReturn;
    } else {
      e.role = XtLegacyEntry::Role::kRule;
      e.position = ++pos;
    }
  }
}

}  // namespace

bool XtLegacyEntry::unconditional() const {
  auto zero = [](const auto& a) {
    for (auto v : a) {
      if (v != 0) return false;
    }
    return true;
  };
  return zero(src) && zero(dst) && zero(smsk) && zero(dmsk) && zero(iniface) && zero(outiface) &&
         zero(iniface_mask) && zero(outiface_mask) && proto == 0 && flags == 0 && invflags == 0 &&
         matches.empty();
}

size_t XtLegacyTable::IndexAt(uint32_t offset) const {
  size_t lo = 0, hi = entries.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (entries[mid].offset < offset) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < entries.size() && entries[lo].offset == offset ? lo : entries.size();
}

Status DecodeXtLegacyTable(const XtTableBlob& blob, XtLegacyTable* table) {
  XtLegacyTable t;
  t.name = blob.name;
  t.valid_hooks = blob.valid_hooks;
  for (int h = 0; h < kXtNumHooks; ++h) {
    t.hook_entry[h] = blob.hook_entry[h];
    t.underflow[h] = blob.underflow[h];
  }
  const std::vector<uint8_t>& b = blob.entries;
  for (size_t off = 0; off < b.size();) {
    if (b.size() - off < sizeof(ipt_entry)) return Status::Error("x_tables entry cut short");
    XtLegacyEntry e;
    if (Status st = DecodeEntry(b, off, &e); !st.ok()) return st;
    off += e.next_offset;
    if (e.target == XT_ERROR_TARGET) ++t.stacksize;
    t.entries.push_back(std::move(e));
  }
  if (t.entries.size() != blob.num_entries) {
    return Status::Error("x_tables table " + t.name + ": " + std::to_string(t.entries.size()) +
                         " entries, the kernel said " + std::to_string(blob.num_entries));
  }
  for (uint32_t h = 0; h < kXtNumHooks; ++h) {
    if (!(t.valid_hooks & (1u << h))) continue;
    if (t.IndexAt(t.hook_entry[h]) == t.entries.size() ||
        t.IndexAt(t.underflow[h]) == t.entries.size()) {
      return Status::Error("x_tables table " + t.name + ": hook " + std::to_string(h) +
                           " offsets are no entry");
    }
  }
  AssignChains(&t);
  *table = std::move(t);
  return Status::Ok();
}

const char* XtHookChainName(uint32_t hook) {
  static constexpr const char* kNames[kXtNumHooks] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT",
                                                      "POSTROUTING"};
  return hook < kXtNumHooks ? kNames[hook] : "";
}

int XtLegacyPriority(const std::string& table, uint32_t hook) {
  if (table == "raw") return -300;     // NF_IP_PRI_RAW
  if (table == "mangle") return -150;  // NF_IP_PRI_MANGLE
  if (table == "nat") {                // NF_IP_PRI_NAT_DST / NF_IP_PRI_NAT_SRC
    return hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_OUT ? -100 : 100;
  }
  if (table == "security") return 50;  // NF_IP_PRI_SECURITY
  return 0;                            // filter: NF_IP_PRI_FILTER
}

}  // namespace portmap::pathtrace
