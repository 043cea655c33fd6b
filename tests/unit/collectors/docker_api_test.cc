// ParseContainersJson on recorded bodies, and DockerApiGet and
// ReadDockerApiPorts against a fake daemon (fake_unix_server.h) answering
// with recorded bytes.  The HTTP framing is unix_http_test.cc's.
//
// tests/fixtures/docker_api/:
//   containers.json                 hand-written in 20.10's format: "web"
//                                   publishes 80 as 8080 on 0.0.0.0 and ::,
//                                   "cache" only exposes 6379
//   *_dockerd_20.10.http            whole answers of docker.io 20.10.24 (API
//                                   1.41, tests/lab/dockerd.sh) to this code's
//                                   request for /containers/json (chunked),
//                                   /v9.99/containers/json (400), /nonexistent
//                                   (404); containers: web (-p 8080:80),
//                                   cache (--expose 6379), db (-p
//                                   127.0.0.1:15432:5432/tcp -p 5353:53/udp)
//   containers_dockerd_20.10.json   the first one's body, de-chunked by hand
//                                   (DockerApiGet must return exactly this)
#include "collectors/docker_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/unit/collectors/fake_unix_server.h"
#include "util/procfs.h"

namespace portmap {

bool operator==(const DockerApiPort& a, const DockerApiPort& b) {
  return a.proto == b.proto && a.host_ip == b.host_ip && a.host_port == b.host_port &&
         a.container_port == b.container_port && a.container == b.container;
}

void PrintTo(const DockerApiPort& p, std::ostream* os) {
  *os << p.proto << " " << p.host_ip << ":" << p.host_port << "->" << p.container_port << " "
      << p.container;
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kFixtures = std::string(PORTMAP_FIXTURES) + "/docker_api";

std::string Fixture(const std::string& name) {
  std::string text;
  ReadResult r = ReadFile(kFixtures + "/" + name, &text);
  EXPECT_TRUE(r.ok()) << r.error;
  return text;
}

// ---- ParseContainersJson ----

TEST(DockerApiJsonTest, RecordedBodySkipsExposedOnlyPorts) {
  std::vector<DockerApiPort> got;
  Status s = ParseContainersJson(Fixture("containers.json"), &got);
  ASSERT_TRUE(s.ok()) << s.message();
  // "cache" only exposes 6379: no PublicPort, so nothing on the host.
  EXPECT_THAT(got, ElementsAre(DockerApiPort{"tcp", "0.0.0.0", 8080, 80, "web"},
                               DockerApiPort{"tcp", "::", 8080, 80, "web"}));
}

const std::vector<DockerApiPort> kRecordedPorts = {{"udp", "0.0.0.0", 5353, 53, "db"},
                                                   {"udp", "::", 5353, 53, "db"},
                                                   {"tcp", "127.0.0.1", 15432, 5432, "db"},
                                                   {"tcp", "0.0.0.0", 8080, 80, "web"},
                                                   {"tcp", "::", 8080, 80, "web"}};

TEST(DockerApiJsonTest, RecordedDockerd2010Body) {
  std::vector<DockerApiPort> got;
  Status s = ParseContainersJson(Fixture("containers_dockerd_20.10.json"), &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(got, kRecordedPorts);
}

TEST(DockerApiJsonTest, EmptyListAndToleratedOmissions) {
  std::vector<DockerApiPort> got = {{"tcp", "stale", 1, 1, "x"}};
  ASSERT_TRUE(ParseContainersJson("[]\n", &got).ok());
  EXPECT_TRUE(got.empty());
  // No IP (older daemons), null Ports, no Names (falls back to the short Id),
  // PublicPort 0 (omitempty's zero), udp and sctp.
  const char* body = R"([
    {"Id":"0123456789abcdef0123","Ports":[{"PrivatePort":53,"PublicPort":5353,"Type":"udp"}]},
    {"Id":"ffff","Names":["/n"],"Ports":null},
    {"Id":"eeee","Names":["/db","/web/db"],"Ports":[
      {"IP":"127.0.0.1","PrivatePort":5432,"PublicPort":15432,"Type":"tcp"},
      {"PrivatePort":9,"PublicPort":0,"Type":"tcp"},
      {"IP":"::1","PrivatePort":36412,"PublicPort":36412,"Type":"sctp"}]}])";
  Status s = ParseContainersJson(body, &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_THAT(got, ElementsAre(DockerApiPort{"udp", "", 5353, 53, "0123456789ab"},
                               DockerApiPort{"tcp", "127.0.0.1", 15432, 5432, "db"},
                               DockerApiPort{"sctp", "::1", 36412, 36412, "db"}));
}

TEST(DockerApiJsonTest, MalformedJsonSaysWhere) {
  std::vector<DockerApiPort> got;
  Status s = ParseContainersJson(R"([{"Id":"a",}])", &got);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), StartsWith("containers JSON: parse error at byte 12: "));
  s = ParseContainersJson("", &got);
  EXPECT_THAT(s.message(), HasSubstr("parse error at byte 1"));
  // Cut short, as a truncated body would be.
  std::string body = Fixture("containers.json");
  s = ParseContainersJson(std::string_view(body).substr(0, 100), &got);
  EXPECT_THAT(s.message(), HasSubstr("parse error at byte 101"));
  EXPECT_TRUE(got.empty());
}

TEST(DockerApiJsonTest, NumberOutOfRangeIsAnErrorNotACrash) {
  // nlohmann's parse throws out_of_range, not parse_error, for this
  // (readers_fuzz, CI); it escaped and aborted the fuzzer.
  std::vector<DockerApiPort> got;
  const Status s = ParseContainersJson(R"([{"Id":"a","Created":17953e010430}])", &got);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "containers JSON: number overflow parsing '17953e010430'");
  EXPECT_TRUE(got.empty());
}

TEST(DockerApiJsonTest, WrongTypesAreErrorsWithAPath) {
  struct Case {
    const char* body;
    const char* want;
  };
  const Case cases[] = {
      {R"({"message":"page not found"})", "top level is object, not an array"},
      {"null", "top level is null"},
      {R"([1])", "[0] is number, not an object"},
      {R"([{"Names":"/web"}])", "[0].Names is not an array"},
      {R"([{"Names":[7]}])", "[0].Names[0] is not a string"},
      {R"([{"Ports":{}}])", "[0].Ports is not an array"},
      {R"([{},{"Ports":["80/tcp"]}])", "[1].Ports[0] is not an object"},
      {R"([{"Ports":[{"PrivatePort":80,"PublicPort":70000,"Type":"tcp"}]}])",
       "[0].Ports[0].PublicPort: 70000 is out of range"},
      {R"([{"Ports":[{"PrivatePort":80,"PublicPort":-1,"Type":"tcp"}]}])",
       "[0].Ports[0].PublicPort: -1 is not a port number"},
      {R"([{"Ports":[{"PrivatePort":80,"PublicPort":"8080","Type":"tcp"}]}])",
       "PublicPort: \"8080\" is not a port number"},
      {R"([{"Ports":[{"PrivatePort":80.5,"PublicPort":8080,"Type":"tcp"}]}])",
       "[0].Ports[0].PrivatePort: 80.5 is not a port number"},
      {R"([{"Ports":[{"PrivatePort":65536,"PublicPort":8080,"Type":"tcp"}]}])",
       "PrivatePort: 65536 is out of range"},
      {R"([{"Ports":[{"PublicPort":8080,"Type":"tcp"}]}])", "[0].Ports[0].PrivatePort is missing"},
      {R"([{"Ports":[{"PrivatePort":80,"PublicPort":8080}]}])",
       "[0].Ports[0].Type is not a protocol name"},
      {R"([{"Ports":[{"IP":4,"PrivatePort":80,"PublicPort":8080,"Type":"tcp"}]}])",
       "[0].Ports[0].IP is not a string"},
  };
  for (const Case& c : cases) {
    std::vector<DockerApiPort> got;
    Status s = ParseContainersJson(c.body, &got);
    EXPECT_EQ(s.code(), Status::Code::kError) << c.body;
    EXPECT_THAT(s.message(), HasSubstr(c.want)) << c.body;
    EXPECT_TRUE(got.empty()) << c.body;
  }
}

TEST(DockerApiJsonTest, DeepNestingIsAnErrorNotACrash) {
  const size_t depth = 100000;
  std::vector<DockerApiPort> got;
  std::string body = std::string(depth, '[') + std::string(depth, ']');
  EXPECT_THAT(ParseContainersJson(body, &got).message(), HasSubstr("[0] is array"));
  body = R"([{"Ports":[{"PrivatePort":80,"PublicPort":)" + std::string(depth, '[') +
         std::string(depth, ']') + "}]}]";
  EXPECT_THAT(ParseContainersJson(body, &got).message(),
              HasSubstr("PublicPort: array is not a port number"));
}

// ---- DockerApiGet against a fake daemon ----
// (the HTTP framing is unix_http_test.cc's)

TEST(DockerApiGetTest, ContentLengthAndTheExactRequest) {
  FakeUnixServer server([](int fd) {
    FakeUnixServer::Write(
        fd,
        "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
        "Content-Length: 3\r\n\r\n[]\n");
  });
  std::string body;
  Status s = DockerApiGet(server.path(), "/containers/json", In(kGenerous), &body);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(body, "[]\n");
  EXPECT_EQ(server.request(),
            "GET /containers/json HTTP/1.1\r\nHost: docker\r\nUser-Agent: portmap_exporter\r\n"
            "Accept: application/json\r\nConnection: close\r\n\r\n");
}

TEST(DockerApiGetTest, ChunkedRecordedBodyEndToEnd) {
  const std::string json = Fixture("containers.json");
  FakeUnixServer server([&json](int fd) {
    std::string reply =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    for (size_t i = 0; i < json.size(); i += 1000) {
      std::string part = json.substr(i, 1000);
      char size[16];
      (void)std::snprintf(size, sizeof size, "%zx\r\n", part.size());
      reply += size + part + "\r\n";
    }
    FakeUnixServer::Write(fd, reply + "0\r\n\r\n");
  });
  std::vector<DockerApiPort> got;
  Status s = ReadDockerApiPorts(server.path(), In(kGenerous), &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(got.size(), 2u);
}

TEST(DockerApiGetTest, RecordedDockerd2010Answers) {
  const std::string json = Fixture("containers_dockerd_20.10.json");
  struct Case {
    const char* fixture;
    std::string want;  // empty: success with `json` as the body
  };
  const Case cases[] = {
      {"containers_dockerd_20.10.http", ""},
      {"not_found_dockerd_20.10.http",
       "docker API answered 404 Not Found: {\"message\":\"page not found\"}"},
      {"version_too_new_dockerd_20.10.http",
       "docker API answered 400 Bad Request: {\"message\":\"client version 9.99 is too new. "
       "Maximum supported API version is 1.41\"}"},
  };
  for (const Case& c : cases) {
    const std::string answer = Fixture(c.fixture);
    FakeUnixServer server([&answer](int fd) { FakeUnixServer::Write(fd, answer); });
    std::string body;
    Status s = DockerApiGet(server.path(), "/containers/json", In(kGenerous), &body);
    if (c.want.empty()) {
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_EQ(body, json);
    } else {
      EXPECT_EQ(s.message(), c.want);
    }
  }
  FakeUnixServer server(
      [](int fd) { FakeUnixServer::Write(fd, Fixture("containers_dockerd_20.10.http")); });
  std::vector<DockerApiPort> got;
  Status s = ReadDockerApiPorts(server.path(), In(kGenerous), &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(got, kRecordedPorts);
}

TEST(DockerApiGetTest, NoDaemonNamesTheSocket) {
  std::string body;
  Status s = DockerApiGet("/nonexistent/docker.sock", "/containers/json", In(kGenerous), &body);
  EXPECT_EQ(s.message(), "connect /nonexistent/docker.sock: No such file or directory");
  std::vector<DockerApiPort> ports;
  s = ReadDockerApiPorts("/nonexistent/docker.sock", In(kGenerous), &ports);
  EXPECT_EQ(s.message(), "connect /nonexistent/docker.sock: No such file or directory");
  s = DockerApiGet(std::string(200, 'x'), "/containers/json", In(kGenerous), &body);
  EXPECT_THAT(s.message(), HasSubstr("not a usable unix socket path"));
}

TEST(DockerApiGetTest, ReadDockerApiPortsNamesTheRequestOnBadJson) {
  FakeUnixServer server(
      [](int fd) { FakeUnixServer::Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"); });
  std::vector<DockerApiPort> got;
  Status s = ReadDockerApiPorts(server.path(), In(kGenerous), &got);
  EXPECT_THAT(s.message(), StartsWith("GET /containers/json on " + server.path() +
                                      ": containers JSON: top level is object"));
}

}  // namespace
}  // namespace portmap
