// gzip for response bodies.  Debian's civetweb is built without compression,
// so /metrics is compressed here when the scraper sends Accept-Encoding: gzip
// (Prometheus always does; a large ruleset's metrics shrink ~10x).
#pragma once

#include <string>
#include <string_view>

namespace portmap {

// Whether an Accept-Encoding header value admits gzip (q=0 refuses it).
bool AcceptsGzip(std::string_view accept_encoding);

// Compresses `in` into a gzip member.  Returns false only if zlib fails.
bool GzipCompress(std::string_view in, std::string* out);

}  // namespace portmap
