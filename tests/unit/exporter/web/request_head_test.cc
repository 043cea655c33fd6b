// RequestHeadComplete: when ListenRelay hands a client to civetweb.
#include "exporter/web/request_head.h"

#include <gtest/gtest.h>

#include <string>

namespace portmap {
namespace {

bool Complete(const std::string& got, size_t max_bytes = 16384) {
  size_t scanned = 0;
  return RequestHeadComplete(got, max_bytes, &scanned);
}

TEST(RequestHeadTest, EmptyLineEndsTheHead) {
  EXPECT_TRUE(Complete("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(Complete("GET /metrics HTTP/1.1\nHost: a\n\n"));  // bare LF: HTTP allows it
  EXPECT_TRUE(Complete("GET / HTTP/1.1\r\n\r\nbody"));
  EXPECT_FALSE(Complete("GET /metrics HTTP/1.1\r\nHost: a\r\n"));
  EXPECT_FALSE(Complete("GET /metrics HTTP/1.1\r\n\r"));
  EXPECT_FALSE(Complete(""));
}

TEST(RequestHeadTest, TrickledByteByByteIsFoundOnce) {
  const std::string head = "GET /probe?target=a:1 HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t scanned = 0;
  for (size_t n = 1; n <= head.size(); ++n) {
    const bool done = RequestHeadComplete(std::string_view(head).substr(0, n), 16384, &scanned);
    EXPECT_EQ(done, n == head.size()) << n;
    EXPECT_EQ(scanned, n) << "each call searches only what is new";
  }
}

TEST(RequestHeadTest, TlsWaitsForTheWholeFirstRecord) {
  // A record header: handshake (0x16), TLS 1.0 record version, length 0x0102.
  std::string hello = "\x16\x03\x01\x01\x02";
  EXPECT_TRUE(IsTlsHandshake(hello));
  EXPECT_FALSE(Complete(hello.substr(0, 3)));
  EXPECT_FALSE(Complete(hello));
  hello += std::string(0x0102 - 1, 'x');
  EXPECT_FALSE(Complete(hello));
  hello += "\n\n";  // bytes inside a record are not an HTTP head's end
  EXPECT_TRUE(Complete(hello)) << "one more than the record: complete";
  EXPECT_FALSE(IsTlsHandshake("GET / HTTP/1.1"));
  EXPECT_FALSE(IsTlsHandshake(""));
}

TEST(RequestHeadTest, AtTheLimitCivetwebSaysWhatIsWrong) {
  EXPECT_TRUE(Complete(std::string(100, 'a'), 100));
  EXPECT_FALSE(Complete(std::string(99, 'a'), 100));
  EXPECT_TRUE(Complete("\x16\x03\x01\xff\xff" + std::string(95, 'x'), 100));
}

}  // namespace
}  // namespace portmap
