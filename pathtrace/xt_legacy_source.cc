// The loaded legacy tables, read with getsockopt.
#include "pathtrace/xt_legacy_source.h"

#include "netlink/xtables.h"

namespace portmap::pathtrace {

Status LiveLegacyRuleset::Begin() {
  tables_.clear();
  NetlinkStatus st = XtLoadedIp6Tables(paths_, &ip6_tables_);
  if (!st.ok()) return Status::Error("ip6tables-legacy tables: " + st.message);
  std::vector<std::string> names;
  st = XtLoadedTables(paths_, &names);
  if (!st.ok()) return Status::Error("iptables-legacy tables: " + st.message);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (const std::string& name : names) {
    XtTableBlob blob;
    st = XtReadTable(name, deadline, &blob);
    if (!st.ok()) return Status::Error("iptables-legacy table " + name + ": " + st.message);
    XtLegacyTable table;
    const Status dst = DecodeXtLegacyTable(blob, &table);
    if (!dst.ok()) return Status::Error("iptables-legacy table " + name + ": " + dst.message());
    tables_.push_back(std::move(table));
  }
  return Status::Ok();
}

}  // namespace portmap::pathtrace
