// nf_tables messages recorded as hex, one netlink message a line ('#' lines
// are comments; tests/fixtures/nftables/README.md says how they were made),
// turned into what the kernel source gives the netfilter collector: the
// chains IsDockerRelevantChain() selects, with their rules.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "collectors/netfilter/netfilter.h"
#include "netlink/nf_ruleset.h"

namespace portmap::testing {

// The chains of a recording; *error names the first line that does not
// decode (the chains of the lines before it are still returned).
std::vector<NfChain> ChainsFromNftRecording(const std::string& text, std::string* error);

// A NetfilterSource that answers every read with `chains` (nf_tables) and
// no legacy table loaded.
std::unique_ptr<NetfilterSource> NewRecordedNetfilterSource(std::vector<NfChain> chains);

}  // namespace portmap::testing
