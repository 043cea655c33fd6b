// diagnose_paths: a blocked path (PathReport) in the host's own names — where
// it stopped, and the commands that show, remove or get around the rule
// that stopped it — for the causes' explanations (diagnose_causes.cc).
//
// Commands follow the tool that owns the table: iptables for its own tables
// (filter, nat, mangle, raw, security of family ip/ip6, iptables-nft's),
// iptables-legacy for x_tables, nft for any other nf_tables table; nft
// handles are nf_tables' (`nft -a`), positions x_tables' (--line-numbers).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "exporter/diagnose/diagnose.h"

namespace portmap {

std::string Join(const std::vector<std::string>& items, const std::string& sep);
void AddOnce(std::vector<std::string>* items, const std::string& item);

// Same family, interface, client and address: one traced path.
bool SamePath(const PathReport& a, const PathReport& b);

// Where `p` stopped in the verdict's words (collectors/verdict/causes.h
// RulePlace) without what a DNAT cause adds in front; a kernel decision's
// place as it is.
std::string RulePlaceOf(const PathReport& p);
// Each distinct RulePlaceOf, joined with "; ".
std::string Places(const std::vector<const PathReport*>& paths);
// The first path of each distinct rule or policy.
std::vector<const PathReport*> DistinctRules(const std::vector<const PathReport*>& paths);

// "iptables", "iptables-legacy -t raw", "ip6tables", ...: the command for
// `p`'s table.
std::string Iptables(const PathReport& p);
// Whether iptables' commands fit `p`'s table best (see above).
bool ByIptables(const PathReport& p);
// Shows the chain with its handles or positions.
std::string ListCommand(const PathReport& p);
// Deletes the rule that stopped `p`, or sets its chain's policy to accept.
std::string RemoveCommand(const PathReport& p);
// Lets the port's connections through `p`'s chain, first in it: every DNATed
// connection when `dnat` (the status is the connection's: replies match
// too), else the port itself.
std::string AcceptCommand(const PathReport& p, const PortReport& port, bool dnat);

// The port's Docker mapping with a container address (a DNAT rule), or null.
const PublishedMapping* Container(const Report& r, const PortReport& port);
// Whether the connection on `p` was DNATed to a container: no DNAT cause on
// the path, and the port is Docker's (a DNAT rule, or nothing says
// otherwise: a port only the Engine API lists is served by the host).
bool Dnated(const Report& r, const PortReport& port, const PathReport& p);

}  // namespace portmap
