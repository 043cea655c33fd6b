#include "exporter/web/request_head.h"

namespace portmap {

namespace {

constexpr unsigned char kTlsHandshake = 0x16;  // TLS record type of a ClientHello
constexpr size_t kTlsRecordHeader = 5;         // type, version (2), length (2)

}  // namespace

bool IsTlsHandshake(std::string_view got) {
  return !got.empty() && static_cast<unsigned char>(got[0]) == kTlsHandshake;
}

bool RequestHeadComplete(std::string_view got, size_t max_bytes, size_t* scanned) {
  if (got.size() >= max_bytes) return true;
  if (IsTlsHandshake(got)) {
    if (got.size() < kTlsRecordHeader) return false;
    const size_t length =
        (size_t{static_cast<unsigned char>(got[3])} << 8) | static_cast<unsigned char>(got[4]);
    return got.size() >= kTlsRecordHeader + length;
  }
  const size_t from = *scanned > 2 ? *scanned - 2 : 0;
  *scanned = got.size();
  return got.find("\n\n", from) != std::string_view::npos ||
         got.find("\n\r\n", from) != std::string_view::npos;
}

}  // namespace portmap
