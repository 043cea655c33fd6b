// nft_rule: decodes one NFT_MSG_NEWRULE / DELRULE message (see nftables.h
// for which expressions are understood and why).  Internal to the nf_tables
// reader; split out because the expression interpreter is most of the code.
#pragma once

#include <linux/netlink.h>

#include "netlink/nftables.h"

namespace portmap {

// Returns MNL_CB_OK with *rule filled, or MNL_CB_ERROR with errno = EINVAL
// for a malformed message (a known attribute of the wrong size or shape).
int DecodeNftRuleMessage(const nlmsghdr* nlh, NftRuleInfo* rule);

}  // namespace portmap
