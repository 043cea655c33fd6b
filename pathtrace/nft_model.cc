#include "pathtrace/nft_model.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

namespace portmap::pathtrace {

std::string NftVerdictString(const NftVerdict& v) {
  switch (v.code) {
    case NF_DROP:
      return "drop";
    case NF_ACCEPT:
      return "accept";
    case NF_STOLEN:
      return "stolen";
    case NFT_CONTINUE:
      return "continue";
    case NFT_BREAK:
      return "break";
    case NFT_RETURN:
      return "return";
    case NFT_JUMP:
      return "jump " + v.chain;
    case NFT_GOTO:
      return "goto " + v.chain;
    default:
      break;
  }
  // NF_QUEUE carries the queue number in its upper 16 bits.
  if (v.code >= 0 && (static_cast<uint32_t>(v.code) & NF_VERDICT_MASK) == NF_QUEUE) {
    return "queue";
  }
  return "verdict " + std::to_string(v.code);
}

}  // namespace portmap::pathtrace
