// --web.config.file end to end: the real binary serving TLS (certificates
// made by the openssl CLI at test time), basic auth, mutual TLS, reloads on
// change and on SIGHUP, and the errors at start and later.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/exporter_process.h"

namespace portmap::testing {
namespace {

const std::string kExporter = PORTMAP_TEST_EXPORTER;
// bcrypt at cost 4 (fast) of "secret" and "other".
const std::string kSecret = "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW";
const std::string kOther = "$2y$04$abcdefghijklmnopqrstuu0HtfOlPbTiymk5tcV.3TsFPDd3SYZqu";

// A temporary directory with a CA, a server certificate for 127.0.0.1 and
// ::1, and client certificates, made with the openssl CLI.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/portmap_web_e2e.XXXXXX";
    dir_ = mkdtemp(tmpl);
    ok_ = Run("openssl version") && MakeCa("ca") && MakeCa("ca2") &&
          MakeCert("server", "ca", "IP:127.0.0.1,IP:::1,DNS:localhost") &&
          MakeCert("server2", "ca2", "IP:127.0.0.1,IP:::1") &&
          MakeCert("client", "ca", "DNS:scraper.example.com") &&
          MakeCert("intruder", "ca", "DNS:intruder.example.com");
  }
  ~Pki() { std::filesystem::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes `text` to `name` atomically (rename), as config management does.
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name + ".tmp")) << text;
    std::filesystem::rename(Path(name + ".tmp"), Path(name));
  }

 private:
  bool Run(const std::string& command) const {
    // Fixture set-up (openssl), from the test's one thread.
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    return std::system(("cd " + dir_ + " && " + command + " >/dev/null 2>&1").c_str()) == 0;
  }
  bool MakeCa(const std::string& name) const {
    return Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
               name + ".key -out " + name + ".crt -subj /CN=" + name + " -days 2");
  }
  bool MakeCert(const std::string& name, const std::string& ca, const std::string& san) const {
    {
      std::ofstream ext(Path(name + ".ext"));
      ext << "subjectAltName=" << san << "\n";
    }  // closed before openssl reads it
    return Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
               ".key -out " + name + ".csr -subj /CN=" + name) &&
           Run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
               ".key -CAcreateserial -days 2 -out " + name + ".crt -extfile " + name + ".ext");
  }

  std::string dir_;
  bool ok_ = false;
};

struct Tls {
  std::string ca, cert, key, userpwd;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

HttpResult Https(const std::string& url, const Tls& tls, const std::string& method = "GET") {
  HttpResult result;
  CURL* curl = curl_easy_init();
  std::string headers;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
  if (!tls.ca.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca.c_str());
  if (!tls.cert.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.cert.c_str());
  if (!tls.key.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.key.c_str());
  if (!tls.userpwd.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, tls.userpwd.c_str());
  if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.error = curl_easy_strerror(rc);
  }
  curl_easy_cleanup(curl);
  // Lower-case names, as Http() gives them.
  size_t start = 0;
  while (start < headers.size()) {
    size_t end = headers.find('\n', start);
    if (end == std::string::npos) end = headers.size();
    const std::string line = headers.substr(start, end - start);
    start = end + 1;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r ") + 1);
    result.headers[name] = value;
  }
  return result;
}

// Polls until `ok` holds for a fresh request, at most 5 s (the change check
// runs at most once a second).
template <typename Fn>
bool Eventually(Fn ok) {
  for (int i = 0; i < 50; ++i) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string TlsConfig(const std::string& extra = "") {
  return "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + extra;
}

class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pki_.ok()) GTEST_SKIP() << "the openssl CLI could not make certificates";
  }
  std::string Url(const ExporterProcess& e, const std::string& path, size_t i = 0) {
    return "https://" + e.addresses().at(i) + path;
  }
  Pki pki_;
};

TEST_F(WebConfigTest, TlsAndBasicAuth) {
  pki_.Write("web.yml", TlsConfig() +
                            "http_server_config:\n  headers: {X-Frame-Options: deny}\n"
                            "basic_auth_users:\n  alice: '" +
                            kSecret + "'\n");
  ExporterProcess exporter(
      kExporter, {"--web.config.file=" + pki_.Path("web.yml"), "--web.listen-address=:0"});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string ca = pki_.Path("ca.crt");

  HttpResult r = Https(Url(exporter, "/metrics"), {.ca = ca});
  EXPECT_EQ(r.status, 401) << r.error;
  EXPECT_EQ(r.headers["www-authenticate"], "Basic");
  EXPECT_EQ(r.headers["x-frame-options"], "deny") << "on every response";
  r = Https(Url(exporter, "/metrics"), {.ca = ca, .userpwd = "alice:wrong"});
  EXPECT_EQ(r.status, 401);
  r = Https(Url(exporter, "/metrics"), {.ca = ca, .userpwd = "mallory:secret"});
  EXPECT_EQ(r.status, 401);
  r = Https(Url(exporter, "/nope"), {.ca = ca});
  EXPECT_EQ(r.status, 401) << "every path, as exporter-toolkit";
  r = Https(Url(exporter, "/metrics"), {.ca = ca, .userpwd = "alice:secret"});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(Series(r.body, "portmap_web_config_last_reload_successful"), "1");
  EXPECT_NE(Series(r.body, "portmap_web_config_last_reload_success_timestamp_seconds"), "0");
  r = Https(Url(exporter, "/nope"), {.ca = ca, .userpwd = "alice:secret"});
  EXPECT_EQ(r.status, 404);

  // Plain HTTP to the TLS port gets no HTTP answer.
  r = Http("http://" + exporter.addresses().at(0) + "/-/healthy", {.timeout_ms = 3000});
  EXPECT_EQ(r.status, 0) << r.body;
  // A client that does not trust the CA refuses the server.
  r = Https(Url(exporter, "/-/healthy"), {.ca = pki_.Path("ca2.crt")});
  EXPECT_EQ(r.status, 0);

  // IPv6 goes through the relay; TLS still ends in civetweb.
  if (exporter.WaitForAddresses(2) == 2) {
    r = Https(Url(exporter, "/-/healthy", 1), {.ca = ca, .userpwd = "alice:secret"});
    EXPECT_EQ(r.status, 200) << exporter.addresses().at(1) << ": " << r.error;
  }
  EXPECT_NE(exporter.Log().find("msg=\"TLS is enabled\""), std::string::npos);
}

TEST_F(WebConfigTest, MutualTls) {
  pki_.Write("web.yml", TlsConfig("  client_auth_type: RequireAndVerifyClientCert\n"
                                  "  client_ca_file: ca.crt\n"
                                  "  client_allowed_sans: [scraper.example.com]\n"));
  ExporterProcess exporter(kExporter, {"--web.config.file=" + pki_.Path("web.yml")});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string ca = pki_.Path("ca.crt");
  HttpResult r = Https(Url(exporter, "/-/healthy"), {.ca = ca});
  EXPECT_EQ(r.status, 0) << "no client certificate: refused";
  r = Https(Url(exporter, "/-/healthy"),
            {.ca = ca, .cert = pki_.Path("client.crt"), .key = pki_.Path("client.key")});
  EXPECT_EQ(r.status, 200) << r.error;
  r = Https(Url(exporter, "/-/healthy"),
            {.ca = ca, .cert = pki_.Path("intruder.crt"), .key = pki_.Path("intruder.key")});
  EXPECT_EQ(r.status, 0) << "signed by the CA, but no allowed SAN";
  r = Https(Url(exporter, "/-/healthy"),
            {.ca = ca, .cert = pki_.Path("server2.crt"), .key = pki_.Path("server2.key")});
  EXPECT_EQ(r.status, 0) << "signed by another CA";
}

TEST_F(WebConfigTest, ChangesTakeEffectWithoutRestart) {
  const std::string users = "basic_auth_users:\n  alice: '";
  pki_.Write("web.yml", TlsConfig() + users + kSecret + "'\n");
  ExporterProcess exporter(kExporter, {"--web.config.file=" + pki_.Path("web.yml")});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  const std::string ca = pki_.Path("ca.crt");
  auto status = [&](const std::string& userpwd, const std::string& path = "/-/healthy") {
    return Https(Url(exporter, path), {.ca = ca, .userpwd = userpwd}).status;
  };
  ASSERT_EQ(status("alice:secret"), 200);

  // A new password, picked up from the file's change alone.
  pki_.Write("web.yml", TlsConfig() + users + kOther + "'\n");
  EXPECT_TRUE(Eventually([&] { return status("alice:other") == 200; })) << exporter.Log();
  EXPECT_EQ(status("alice:secret"), 401);

  // A bad file: logged, and the last good configuration stays.
  pki_.Write("web.yml", TlsConfig() + users + "plaintext'\n");
  // Checked on demand: the requests polling here are what notice the change.
  EXPECT_TRUE(Eventually([&] {
    status("alice:other");
    return exporter.Log().find("Error reloading changed web configuration") != std::string::npos;
  })) << exporter.Log();
  EXPECT_EQ(status("alice:other"), 200);
  HttpResult r = Https(Url(exporter, "/metrics"), {.ca = ca, .userpwd = "alice:other"});
  EXPECT_EQ(Series(r.body, "portmap_web_config_last_reload_successful"), "0");
  EXPECT_NE(exporter.Log().find("is not a bcrypt hash"), std::string::npos);
  r = Https(Url(exporter, "/-/reload"), {.ca = ca, .userpwd = "alice:other"}, "POST");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("failed to reload web config: " + pki_.Path("web.yml") + ":5:10:"),
            std::string::npos)
      << r.body;

  // Turning TLS off cannot change the sockets: refused, TLS stays.
  pki_.Write("web.yml", users + kOther + "'\n");
  EXPECT_TRUE(Eventually([&] {
    status("alice:other");
    return exporter.Log().find("restart portmap_exporter to serve plain HTTP") != std::string::npos;
  })) << exporter.Log();
  EXPECT_EQ(status("alice:other"), 200);

  // A rotated certificate (another CA, even) serves the next handshake.
  pki_.Write("web.yml", "tls_server_config: {cert_file: server2.crt, key_file: server2.key}\n" +
                            users + kSecret + "'\n");
  EXPECT_TRUE(Eventually([&] {
    return Https(Url(exporter, "/-/healthy"),
                 {.ca = pki_.Path("ca2.crt"), .userpwd = "alice:secret"})
               .status == 200;
  })) << exporter.Log();
  EXPECT_EQ(status("alice:secret"), 0) << "the old CA no longer verifies the server";
}

TEST_F(WebConfigTest, SighupReloads) {
  pki_.Write("web.yml", "basic_auth_users:\n  alice: '" + kSecret + "'\n");
  ExporterProcess exporter(kExporter, {"--web.config.file=" + pki_.Path("web.yml")});
  ASSERT_TRUE(exporter.started()) << exporter.Log();
  auto status = [&](const std::string& userpwd) {
    return Https(exporter.Url("/-/healthy"), {.userpwd = userpwd}).status;  // plain HTTP
  };
  EXPECT_EQ(status(""), 401) << "basic auth without TLS";
  EXPECT_EQ(status("alice:secret"), 200);
  pki_.Write("web.yml", "basic_auth_users:\n  bob: '" + kOther + "'\n");
  kill(exporter.pid(), SIGHUP);
  EXPECT_TRUE(Eventually([&] { return status("bob:other") == 200; })) << exporter.Log();
  EXPECT_EQ(status("alice:secret"), 401);
  EXPECT_NE(exporter.Log().find("Reloaded web configuration"), std::string::npos);
}

TEST_F(WebConfigTest, BadFileAtStartExits2) {
  pki_.Write("web.yml", "tls_server_config:\n  cert_file: server.crt\n  keyfile: server.key\n");
  RunResult r = RunToExit(
      kExporter, {"--web.config.file=" + pki_.Path("web.yml"), "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("portmap_exporter: error: --web.config.file: " + pki_.Path("web.yml") +
                       ":3:3: unknown key \"keyfile\" in tls_server_config"),
            std::string::npos)
      << r.err;

  pki_.Write("web.yml", TlsConfig().replace(TlsConfig().find("server.key"), 10, "nokey.pem"));
  r = RunToExit(kExporter,
                {"--web.config.file=" + pki_.Path("web.yml"), "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("key_file " + pki_.Path("nokey.pem") + ": No such file or directory"),
            std::string::npos)
      << r.err;

  r = RunToExit(kExporter, {"--web.config.file=" + pki_.Path("missing.yml"),
                            "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read " + pki_.Path("missing.yml")), std::string::npos) << r.err;
}

}  // namespace
}  // namespace portmap::testing
