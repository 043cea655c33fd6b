// What the message and expression decoders of nft_model_decode.h share:
// attribute readers for registers and nft_data.  Not part of the interface.
#pragma once

#include <arpa/inet.h>
#include <libmnl/libmnl.h>

#include <cstdint>

#include "pathtrace/nft_model.h"

namespace portmap::pathtrace::nft_internal_decode {

inline uint32_t U32(const nlattr* a) { return ntohl(mnl_attr_get_u32(a)); }

// A register attribute (NFTA_*_SREG/DREG): present and at most NFT_REG32_15,
// as the kernel's nft_parse_register accepts.
bool Reg(const nlattr* a, uint32_t* out);

// NFTA_*_DATA (nested nft_data_attributes): a value of at most
// NFT_DATA_VALUE_MAXLEN bytes, or a verdict.  False when absent or malformed.
bool DecodeData(const nlattr* nest, NftData* out);

// The same where only a value may appear (cmp, bitwise, range, set keys).
bool DecodeValue(const nlattr* nest, Bytes* out);

}  // namespace portmap::pathtrace::nft_internal_decode
