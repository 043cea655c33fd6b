// ParseProcNetTcp / ReadTcpListeners on bytes recorded from a little-endian
// host (tests/fixtures/proc_net/dual/net/tcp and tcp6) while a script held
// these sockets:
//   tcp:  LISTEN 192.0.2.2:18086, 0.0.0.0:18081, 127.0.0.1:18082, plus the
//         host's own 0.0.0.0:2024; an ESTABLISHED pair 127.0.0.1:18082<->36398
//   tcp6: LISTEN [::]:18083 (dual stack), [::1]:18084,
//         [::ffff:127.0.0.1]:18085, [fd00::2]:18087; an ESTABLISHED pair
//         [::1]:18084<->34968
// no_ipv6/ holds the same tcp and no tcp6 (a kernel booted ipv6.disable=1).
#include "collectors/verdict/tcp_listeners.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/procfs.h"

namespace portmap {

bool operator==(const TcpListener& a, const TcpListener& b) {
  return a.address == b.address && a.port == b.port;
}

void PrintTo(const TcpListener& l, std::ostream* os) { *os << l.address << ":" << l.port; }

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kFixtures = std::string(PORTMAP_FIXTURES) + "/proc_net";

std::string Fixture(const std::string& rel) {
  std::string text;
  ReadResult r = ReadFile(kFixtures + "/" + rel, &text);
  EXPECT_TRUE(r.ok()) << r.error;
  return text;
}

const char kTcpHeader[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n";
const char kTcp6Header[] =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const char kTail[] =
    " 00000000:00000000 00:00000000 00000000     0        0 1524 1 0 100 0 0 10 0\n";

TEST(TcpListenersTest, RecordedTcpListensOnlyAndInOrder) {
  std::vector<TcpListener> got;
  Status s = ParseProcNetTcp(Fixture("dual/net/tcp"), /*ipv6=*/false, &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_THAT(got, ElementsAre(TcpListener{"192.0.2.2", 18086}, TcpListener{"0.0.0.0", 18081},
                               TcpListener{"0.0.0.0", 2024}, TcpListener{"127.0.0.1", 18082}));
}

TEST(TcpListenersTest, RecordedTcp6) {
  std::vector<TcpListener> got;
  Status s = ParseProcNetTcp(Fixture("dual/net/tcp6"), /*ipv6=*/true, &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_THAT(got,
              ElementsAre(TcpListener{"::", 18083}, TcpListener{"::1", 18084},
                          TcpListener{"::ffff:127.0.0.1", 18085}, TcpListener{"fd00::2", 18087}));
}

TEST(TcpListenersTest, InlineRowsAndNonListenStatesIgnored) {
  // 0A LISTEN is kept; 01 ESTABLISHED, 06 TIME_WAIT and 07 CLOSE are not.
  std::string text = std::string(kTcpHeader) + "   0: 0100007F:1388 00000000:0000 0A" + kTail +
                     "   1: 0100007F:1388 0100007F:D431 01" + kTail +
                     "   2: 0200000A:0050 0300000A:C000 06" + kTail +
                     "   3: 00000000:0051 00000000:0000 07" + kTail;
  std::vector<TcpListener> got;
  ASSERT_TRUE(ParseProcNetTcp(text, false, &got).ok());
  EXPECT_THAT(got, ElementsAre(TcpListener{"127.0.0.1", 5000}));
}

TEST(TcpListenersTest, AppendsSoTcpAndTcp6ShareAVector) {
  std::vector<TcpListener> got = {{"10.0.0.1", 1}};
  std::string text = std::string(kTcp6Header) +
                     "   0: 00000000000000000000000000000000:1F90 "
                     "00000000000000000000000000000000:0000 0A" +
                     kTail;
  ASSERT_TRUE(ParseProcNetTcp(text, true, &got).ok());
  EXPECT_THAT(got, ElementsAre(TcpListener{"10.0.0.1", 1}, TcpListener{"::", 8080}));
}

TEST(TcpListenersTest, HeaderOnlyAndTrailingBlankLinesAreEmpty) {
  std::vector<TcpListener> got;
  EXPECT_TRUE(ParseProcNetTcp(kTcpHeader, false, &got).ok());
  EXPECT_TRUE(ParseProcNetTcp(std::string(kTcpHeader) + "\n\n", false, &got).ok());
  EXPECT_TRUE(got.empty());
}

TEST(TcpListenersTest, MalformedInputNamesTheLine) {
  struct Case {
    std::string text;
    bool ipv6;
    std::string want;
  };
  const std::string h4 = kTcpHeader;
  const std::string ok4 = "   0: 00000000:0016 00000000:0000 0A" + std::string(kTail);
  const Case cases[] = {
      {"", false, "empty"},
      {"garbage\n", false, "tcp line 1: not the kernel's header: \"garbage\""},
      {h4 + ok4 + "   1: 0100007F:1388\n", false, "tcp line 3: too few fields"},
      {h4 + "   0 0100007F:1388 00000000:0000 0A\n", false, "line 2: bad slot"},
      {h4 + "   x: 0100007F:1388 00000000:0000 0A\n", false, "line 2: bad slot"},
      {h4 + "   0: 0100007:1388 00000000:0000 0A\n", false, "line 2: bad local address"},
      {h4 + "   0: 0100007G:1388 00000000:0000 0A\n", false, "line 2: bad local address"},
      {h4 + "   0: 0100007F:13880 00000000:0000 0A\n", false, "line 2: bad local address"},
      {h4 + "   0: 0100007F-1388 00000000:0000 0A\n", false, "line 2: bad local address"},
      {h4 + "   0: 0100007F:1388 00000000:+000 0A\n", false, "line 2: bad remote address"},
      {h4 + "   0: 0100007F:1388 00000000:0000 A\n", false, "line 2: bad state"},
      {h4 + "   0: 0100007F:1388 00000000:0000 0Z\n", false, "line 2: bad state"},
      // A tcp row handed to the tcp6 parser: the address widths differ.
      {kTcp6Header + ok4, true, "tcp6 line 2: bad local address"},
  };
  for (const Case& c : cases) {
    std::vector<TcpListener> got;
    Status s = ParseProcNetTcp(c.text, c.ipv6, &got);
    EXPECT_FALSE(s.ok()) << c.text;
    EXPECT_THAT(s.message(), HasSubstr(c.want)) << c.text;
  }
}

TEST(TcpListenersTest, ErrorQuotesAtMostAnExcerpt) {
  std::string text = std::string(kTcpHeader) + "   0: " + std::string(10000, 'x') + "\n";
  std::vector<TcpListener> got;
  Status s = ParseProcNetTcp(text, false, &got);
  ASSERT_FALSE(s.ok());
  EXPECT_LT(s.message().size(), 300u);
}

TEST(TcpListenersReadTest, ReadsBothFiles) {
  Paths paths;
  paths.procfs = kFixtures + "/dual";
  std::vector<TcpListener> got = {{"stale", 1}};
  Status s = ReadTcpListeners(paths, &got);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got.front(), (TcpListener{"192.0.2.2", 18086}));
  EXPECT_EQ(got.back(), (TcpListener{"fd00::2", 18087}));
}

TEST(TcpListenersReadTest, MissingTcp6IsNotAnError) {
  Paths paths;
  paths.procfs = kFixtures + "/no_ipv6";
  std::vector<TcpListener> got;
  Status s = ReadTcpListeners(paths, &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(got.size(), 4u);
}

TEST(TcpListenersReadTest, MissingTcpIsAnErrorNamingTheFile) {
  Paths paths;
  paths.procfs = kFixtures + "/nonexistent";
  std::vector<TcpListener> got;
  Status s = ReadTcpListeners(paths, &got);
  EXPECT_EQ(s.code(), Status::Code::kError);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/net/tcp"));
}

TEST(TcpListenersReadTest, ReadsThisHostsProc) {
  // Whatever listens here, the live files must parse.
  std::vector<TcpListener> got;
  Status s = ReadTcpListeners(Paths(), &got);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(TcpListenersTest, BeyondLoopback) {
  std::vector<TcpListener> got;
  ASSERT_TRUE(ParseProcNetTcp(Fixture("dual/net/tcp"), false, &got).ok());
  ASSERT_TRUE(ParseProcNetTcp(Fixture("dual/net/tcp6"), true, &got).ok());
  EXPECT_TRUE(ListensBeyondLoopback(got, 18081));   // 0.0.0.0
  EXPECT_FALSE(ListensBeyondLoopback(got, 18082));  // 127.0.0.1 only
  EXPECT_TRUE(ListensBeyondLoopback(got, 18083));   // ::
  EXPECT_FALSE(ListensBeyondLoopback(got, 18084));  // ::1
  EXPECT_FALSE(ListensBeyondLoopback(got, 18085));  // ::ffff:127.0.0.1
  EXPECT_TRUE(ListensBeyondLoopback(got, 18086));   // 192.0.2.2
  EXPECT_TRUE(ListensBeyondLoopback(got, 18087));   // fd00::2
  EXPECT_FALSE(ListensBeyondLoopback(got, 9));      // nobody
  // The whole of 127.0.0.0/8 is loopback; a mapped non-loopback is not.
  EXPECT_FALSE(ListensBeyondLoopback({{"127.0.0.53", 53}}, 53));
  EXPECT_TRUE(ListensBeyondLoopback({{"::ffff:10.0.0.1", 53}}, 53));
  // One loopback and one wildcard socket on the same port (SO_REUSEPORT or
  // separate v4 and v6 sockets): reachable.
  EXPECT_TRUE(ListensBeyondLoopback({{"127.0.0.1", 80}, {"::", 80}}, 80));
}

}  // namespace
}  // namespace portmap
