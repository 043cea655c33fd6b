// UnixHttpGet's framing against a fake daemon (fake_unix_server.h): status
// lines, headers, Content-Length, chunked and read-to-EOF bodies, the caps,
// the deadline, and the errors for each.  The server is named as
// DockerApiGet names it, so the messages are the ones its callers see;
// docker_api_test.cc has the Docker-specific answers.
#include "collectors/unix_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/unit/collectors/fake_unix_server.h"

namespace portmap {
namespace {

using ::testing::HasSubstr;

constexpr UnixHttpServer kDocker{
    .name = "docker API", .host = "docker", .accept = "application/json"};

Status Get(const std::string& socket_path, const std::string& path, Clock::time_point deadline,
           std::string* body) {
  return UnixHttpGet(socket_path, path, kDocker, deadline, body);
}

TEST(UnixHttpGetTest, TheRequestAndErrorsCarryTheServersNames) {
  const UnixHttpServer names{.name = "test daemon", .host = "example", .accept = "text/plain"};
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Write(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
  });
  std::string body;
  Status s = UnixHttpGet(server.path(), "/x?y=1", names, In(kGenerous), &body);
  EXPECT_EQ(s.message(), "test daemon answered 404 Not Found: nope");
  EXPECT_EQ(server.request(),
            "GET /x?y=1 HTTP/1.1\r\nHost: example\r\nUser-Agent: portmap_exporter\r\n"
            "Accept: text/plain\r\nConnection: close\r\n\r\n");
}

TEST(UnixHttpGetTest, ChunkedDribbledWithExtensionsAndTrailers) {
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Dribble(fd,
                            "HTTP/1.1 200 OK\r\ntransfer-ENCODING: Chunked\r\n\r\n"
                            "4\r\n[{\"I\r\n"
                            "9;name=value\r\nd\":\"x\"}]\n\r\n"
                            "0\r\nX-Trailer: 1\r\n\r\n");
  });
  std::string body;
  Status s = Get(server.path(), "/containers/json", In(kGenerous), &body);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(body, "[{\"Id\":\"x\"}]\n");
}

TEST(UnixHttpGetTest, LargeChunkedBodyInOddSizedWrites) {
  // 3 MiB in 1000-byte chunks, sent 777 bytes at a time: lines and chunks
  // straddle reads, and the reader compacts its buffer on the way.
  std::string want;
  std::string reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; want.size() < (3u << 20); ++i) {
    std::string part(1000, static_cast<char>('a' + i % 26));
    want += part;
    reply += "3e8\r\n" + part + "\r\n";
  }
  reply += "0\r\n\r\n";
  FakeUnixServer server([&reply](int fd) {
    for (size_t i = 0; i < reply.size(); i += 777) FakeUnixServer::Write(fd, reply.substr(i, 777));
  });
  std::string body;
  Status s = Get(server.path(), "/containers/json", In(kGenerous), &body);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(body == want);  // not EXPECT_EQ: a 3 MiB diff helps nobody
}

TEST(UnixHttpGetTest, BodyUntilEofAndInterimAnswers) {
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Write(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n[1,");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    FakeUnixServer::Write(fd, "2]");
  });
  std::string body;
  Status s = Get(server.path(), "/containers/json", In(kGenerous), &body);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(body, "[1,2]");
}

TEST(UnixHttpGetTest, NotFoundQuotesTheBody) {
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Write(fd,
                          "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                          "Content-Length: 29\r\n\r\n{\"message\":\"page not found\"}\n");
  });
  std::string body = "stale";
  Status s = Get(server.path(), "/v9.99/containers/json", In(kGenerous), &body);
  EXPECT_EQ(s.message(), "docker API answered 404 Not Found: {\"message\":\"page not found\"}");
  EXPECT_TRUE(body.empty());
}

TEST(UnixHttpGetTest, ErrorQuotesAtMost200BytesEvenIfCutShort) {
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Write(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 9999\r\n\r\n" +
                                  std::string(300, 'e'));
  });
  std::string body;
  Status s = Get(server.path(), "/containers/json", In(kGenerous), &body);
  EXPECT_EQ(s.message(), "docker API answered 500 Internal Server Error: " + std::string(200, 'e'));
}

TEST(UnixHttpGetTest, NeverAnsweringHitsTheDeadline) {
  FakeUnixServer server([](int fd) { FakeUnixServer::AwaitClientClose(fd); });
  std::string body;
  auto start = Clock::now();
  Status s = Get(server.path(), "/containers/json", In(std::chrono::milliseconds(200)), &body);
  auto took = Clock::now() - start;
  EXPECT_THAT(s.message(), HasSubstr("timed out reading the answer"));
  EXPECT_GE(took, std::chrono::milliseconds(195));
  EXPECT_LT(took, std::chrono::milliseconds(1500));
}

TEST(UnixHttpGetTest, StallingMidBodyHitsTheDeadline) {
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[1,");
    FakeUnixServer::AwaitClientClose(fd);
  });
  std::string body;
  Status s = Get(server.path(), "/containers/json", In(std::chrono::milliseconds(150)), &body);
  EXPECT_THAT(s.message(), HasSubstr("timed out reading the answer"));
  EXPECT_TRUE(body.empty());
}

TEST(UnixHttpGetTest, ServerClosingEarly) {
  struct Case {
    std::string reply;
    std::string want;
  };
  const Case cases[] = {
      {"", "closed the connection in the status line"},
      {"HTTP/1.1 200 OK\r\nContent-Le", "closed the connection in the answer's headers"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"Id\"",
       "closed the connection in the body"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n[]",
       "closed the connection in a chunked body"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n",
       "closed the connection in a chunked body"},
  };
  for (const Case& c : cases) {
    FakeUnixServer server([&c](int fd) { FakeUnixServer::Write(fd, c.reply); });
    std::string body;
    Status s = Get(server.path(), "/containers/json", In(kGenerous), &body);
    EXPECT_THAT(s.message(), HasSubstr(c.want)) << c.reply;
  }
}

TEST(UnixHttpGetTest, MalformedAndOversizedAnswers) {
  struct Case {
    std::string reply;
    std::string want;
  };
  const Case cases[] = {
      {"SSH-2.0-OpenSSH_9.2\r\n", "malformed status line: \"SSH-2.0-OpenSSH_9.2\""},
      {"HTTP/1.1 2OO OK\r\n\r\n", "malformed status line"},
      {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header: \"no colon here\""},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length: \"-1\""},
      {"HTTP/1.1 200 OK\r\nContent-Length: 16777217\r\n\r\n", "over the 16 MiB cap"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000001\r\n", "over the 16 MiB cap"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size: \"zz\""},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n[]\r\n0\r\n\r\n",
       "chunk is longer than its size"},
      {"HTTP/1.1 200 OK\r\n" + std::string(9000, 'h'), "line over 8 KiB"},
  };
  for (const Case& c : cases) {
    FakeUnixServer server([&c](int fd) { FakeUnixServer::Write(fd, c.reply); });
    std::string body;
    Status s = Get(server.path(), "/containers/json", In(kGenerous), &body);
    EXPECT_THAT(s.message(), HasSubstr(c.want)) << c.reply.substr(0, 80);
  }
}

TEST(UnixHttpGetTest, BodyUntilEofIsCapped) {
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Write(fd, "HTTP/1.1 200 OK\r\n\r\n");
    const std::string mib(1 << 20, ' ');
    for (int i = 0; i < 17; ++i) FakeUnixServer::Write(fd, mib);
  });
  std::string body;
  Status s = Get(server.path(), "/containers/json", In(kGenerous), &body);
  EXPECT_THAT(s.message(), HasSubstr("over the 16 MiB cap"));
  EXPECT_TRUE(body.empty());
}

}  // namespace
}  // namespace portmap
