// xt_legacy_source: where the tracer reads legacy iptables (ip_tables)
// tables from — a narrow seam like ruleset.h's.  LiveLegacyRuleset reads the
// loaded tables with getsockopt (netlink/xtables.h) once per trace; tests
// pass decoded blobs.
//
// x_tables has no generation number: a table replaced during the read is
// retried by XtReadTable (EAGAIN); a trace reads each table once, so it sees
// one version of each.
//
// IPv4 (ip_tables) only: ip6tables-legacy tables are listed, not read.
//
// Never loads a table: only those listed in ip_tables_names are read (asking
// for "nat" would create it, the very state the exporter reports on).
//
// Thread safety: used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "netlink/xtables.h"
#include "pathtrace/xt_legacy.h"
#include "util/paths.h"
#include "util/status.h"

namespace portmap::pathtrace {

class LegacyRuleset {
 public:
  virtual ~LegacyRuleset() = default;
  // Reads the loaded IPv4 tables afresh (called at the start of each trace).
  virtual Status Begin() = 0;
  // The tables Begin read; valid until the next Begin.
  virtual const std::vector<XtLegacyTable>& Tables() const = 0;
  // The ip6tables-legacy tables that exist.  Their rules are not evaluated,
  // so an IPv6 trace meeting one of their hooks cannot be answered.
  virtual const std::vector<std::string>& Ip6Tables() const = 0;
  // A hash of what Begin read, rule counters left out: equal fingerprints
  // mean the same rules (x_tables has no generation number to ask for).
  virtual uint64_t Fingerprint() const { return 0; }
};

// The fingerprint of tables as read: names, hooks and entries, each entry's
// counters (which change with traffic) left out.
uint64_t XtTablesFingerprint(const std::vector<XtTableBlob>& blobs,
                             const std::vector<std::string>& ip6_tables);

class LiveLegacyRuleset : public LegacyRuleset {
 public:
  explicit LiveLegacyRuleset(Paths paths,
                             std::chrono::milliseconds timeout = std::chrono::seconds(2))
      : paths_(std::move(paths)), timeout_(timeout) {}
  Status Begin() override;
  const std::vector<XtLegacyTable>& Tables() const override { return tables_; }
  const std::vector<std::string>& Ip6Tables() const override { return ip6_tables_; }
  uint64_t Fingerprint() const override { return fingerprint_; }

 private:
  Paths paths_;
  std::chrono::milliseconds timeout_;
  std::vector<XtLegacyTable> tables_;
  std::vector<std::string> ip6_tables_;
  uint64_t fingerprint_ = 0;
};

}  // namespace portmap::pathtrace
