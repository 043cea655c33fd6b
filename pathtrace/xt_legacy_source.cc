// The loaded legacy tables, read with getsockopt.
#include "pathtrace/xt_legacy_source.h"

#include <linux/netfilter_ipv4/ip_tables.h>

#include <cstddef>
#include <cstring>

#include "netlink/xtables.h"
#include "util/fnv.h"

namespace portmap::pathtrace {

uint64_t XtTablesFingerprint(const std::vector<XtTableBlob>& blobs,
                             const std::vector<std::string>& ip6_tables) {
  Fnv1a h;
  for (const std::string& t : ip6_tables) h.Add(t);
  for (const XtTableBlob& b : blobs) {
    h.Add(b.name);
    h.Add(&b.valid_hooks, sizeof b.valid_hooks);
    h.Add(b.hook_entry, sizeof b.hook_entry);
    h.Add(b.underflow, sizeof b.underflow);
    h.Add(&b.num_entries, sizeof b.num_entries);
    // Entry by entry, skipping each one's counters.
    constexpr size_t kCounters = offsetof(ipt_entry, counters);
    size_t off = 0;
    while (off + sizeof(ipt_entry) <= b.entries.size()) {
      ipt_entry e{};
      std::memcpy(&e, b.entries.data() + off, sizeof e);
      const size_t next = e.next_offset;
      if (next < sizeof(ipt_entry) || off + next > b.entries.size()) break;
      h.Add(b.entries.data() + off, kCounters);
      h.Add(b.entries.data() + off + kCounters + sizeof(xt_counters),
            next - kCounters - sizeof(xt_counters));
      off += next;
    }
    h.Add(b.entries.data() + off, b.entries.size() - off);  // what did not parse, as is
  }
  return h.value();
}

Status LiveLegacyRuleset::Begin() {
  tables_.clear();
  NetlinkStatus st = XtLoadedIp6Tables(paths_, &ip6_tables_);
  if (!st.ok()) return Status::Error("ip6tables-legacy tables: " + st.message);
  std::vector<std::string> names;
  st = XtLoadedTables(paths_, &names);
  if (!st.ok()) return Status::Error("iptables-legacy tables: " + st.message);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::vector<XtTableBlob> blobs(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    st = XtReadTable(name, deadline, &blobs[i]);
    if (!st.ok()) return Status::Error("iptables-legacy table " + name + ": " + st.message);
    XtLegacyTable table;
    const Status dst = DecodeXtLegacyTable(blobs[i], &table);
    if (!dst.ok()) return Status::Error("iptables-legacy table " + name + ": " + dst.message());
    tables_.push_back(std::move(table));
  }
  fingerprint_ = XtTablesFingerprint(blobs, ip6_tables_);
  return Status::Ok();
}

}  // namespace portmap::pathtrace
