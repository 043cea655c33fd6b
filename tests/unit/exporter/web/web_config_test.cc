// --web.config.file: the parser's answers and errors (FILE:LINE:COL), the
// toolkit's validation rules, and the bcrypt check with its cache.
#include "exporter/web/web_config.h"

#include <gtest/gtest.h>

#include <chrono>

#include "exporter/web/web_auth.h"
#include "exporter/web/web_tls.h"

namespace portmap {
namespace {

// crypt("secret") and crypt("other") at cost 4 (fast), salt
// "abcdefghijklmnopqrstuu"; made with Python's crypt module.
constexpr const char* kSecret2b = "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW";
constexpr const char* kSecret2y = "$2y$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW";
constexpr const char* kOther2a = "$2a$04$abcdefghijklmnopqrstuu0HtfOlPbTiymk5tcV.3TsFPDd3SYZqu";

Status Parse(const std::string& yaml, WebConfig* config) {
  return ParseWebConfig(yaml, "/etc/portmap/web.yml", config);
}

std::string ErrorOf(const std::string& yaml) {
  WebConfig config;
  Status st = Parse(yaml, &config);
  return st.ok() ? "OK" : st.message();
}

TEST(WebConfigTest, EmptyFileIsPlainHttpWithoutAuth) {
  WebConfig config;
  ASSERT_TRUE(Parse("", &config).ok());
  EXPECT_FALSE(config.tls.enabled);
  EXPECT_TRUE(config.basic_auth_users.empty());
  EXPECT_TRUE(config.http.http2);
  ASSERT_TRUE(Parse("tls_server_config:\nbasic_auth_users:\n", &config).ok());
  EXPECT_FALSE(config.tls.enabled);
}

TEST(WebConfigTest, EveryKey) {
  WebConfig config;
  const std::string yaml = std::string(R"(
tls_server_config:
  cert_file: tls/server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [scraper.example.com, 192.0.2.1]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  alice: ')") + kSecret2y + "'\n";
  ASSERT_TRUE(Parse(yaml, &config).ok()) << ErrorOf(yaml);
  const TlsServerConfig& tls = config.tls;
  EXPECT_TRUE(tls.enabled);
  EXPECT_EQ(tls.cert_file, "/etc/portmap/tls/server.crt") << "relative to the file";
  EXPECT_EQ(tls.key_file, "/abs/server.key");
  EXPECT_EQ(tls.client_ca_file, "/etc/portmap/ca.crt");
  EXPECT_EQ(tls.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(tls.client_allowed_sans,
            (std::vector<std::string>{"scraper.example.com", "192.0.2.1"}));
  EXPECT_EQ(tls.min_version, kTls13);
  EXPECT_EQ(tls.max_version, kTls13);
  EXPECT_EQ(tls.cipher_suites_tls12, (std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"}));
  EXPECT_EQ(tls.cipher_suites_tls13, (std::vector<std::string>{"TLS_AES_256_GCM_SHA384"}));
  EXPECT_EQ(tls.groups, (std::vector<std::string>{"X25519", "P-256"}));
  EXPECT_FALSE(tls.prefer_server_cipher_suites);
  EXPECT_EQ(tls.Files(), (std::vector<std::string>{"/etc/portmap/tls/server.crt", "/abs/server.key",
                                                   "/etc/portmap/ca.crt"}));
  EXPECT_FALSE(config.http.http2);
  ASSERT_EQ(config.http.headers.size(), 2u) << "an empty value leaves the header unset";
  EXPECT_EQ(config.http.headers[0],
            (std::pair<std::string, std::string>{"X-Frame-Options", "deny"}));
  EXPECT_EQ(config.basic_auth_users.at("alice"), kSecret2y);
}

TEST(WebConfigTest, DefaultsOfATlsConfig) {
  WebConfig config;
  ASSERT_TRUE(Parse("tls_server_config: {cert_file: a.crt, key_file: a.key}", &config).ok());
  EXPECT_TRUE(config.tls.enabled);
  EXPECT_EQ(config.tls.min_version, kTls12) << "exporter-toolkit's default";
  EXPECT_EQ(config.tls.max_version, kTls13);
  EXPECT_EQ(config.tls.client_auth, ClientAuth::kNoClientCert);
  EXPECT_TRUE(config.tls.prefer_server_cipher_suites);
  // A file named without a directory stays as it is.
  ASSERT_TRUE(
      ParseWebConfig("tls_server_config: {cert_file: a.crt, key_file: a.key}", "web.yml", &config)
          .ok());
  EXPECT_EQ(config.tls.cert_file, "a.crt");
}

TEST(WebConfigTest, ErrorsNameFileLineColumn) {
  const std::string tls = "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n";
  const std::pair<std::string, std::string> cases[] = {
      {"nope: 1", "/etc/portmap/web.yml:1:1: unknown key \"nope\" in the top level"},
      {"tls_server_config:\n  cert_file: a\n  cert_file: b\n",
       "/etc/portmap/web.yml:3:3: duplicate key \"cert_file\" in tls_server_config"},
      {tls + "  client_auth_type: Sometimes\n",
       "/etc/portmap/web.yml:4:21: invalid client_auth_type \"Sometimes\""},
      {"tls_server_config:\n  cert_file: a.crt\n",
       "/etc/portmap/web.yml:2:3: tls_server_config: missing one of key or key_file"},
      {"tls_server_config:\n  key_file: a.key\n",
       "/etc/portmap/web.yml:2:3: tls_server_config: missing one of cert or cert_file"},
      {tls + "  client_ca_file: ca.crt\n",
       "/etc/portmap/web.yml:2:3: tls_server_config: client_ca_file is set without a "
       "client_auth_type"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "/etc/portmap/web.yml:4:21: tls_server_config: client_auth_type verifies client "
       "certificates but no client_ca_file"},
      {tls + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: c\n"
             "  client_allowed_sans: [x]\n",
       "/etc/portmap/web.yml:4:21: tls_server_config: client_allowed_sans requires"},
      {tls + "  cipher_suites: [TLS_RSA_WITH_RC4_128_MD5x]\n",
       "/etc/portmap/web.yml:4:19: unknown cipher \"TLS_RSA_WITH_RC4_128_MD5x\""},
      {tls + "  curve_preferences: [CurveP224]\n",
       "/etc/portmap/web.yml:4:23: unknown curve \"CurveP224\""},
      {tls + "  min_version: TLS14\n",
       "/etc/portmap/web.yml:4:16: unknown TLS version \"TLS14\" in min_version"},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n",
       "/etc/portmap/web.yml:2:3: tls_server_config: min_version is above max_version"},
      {tls + "  cert: PEM\n", "tls_server_config: both cert and cert_file are set"},
      {"tls_server_config:\n  min_version: TLS13\n",
       "/etc/portmap/web.yml:2:3: tls_server_config sets TLS options but no cert_file"},
      {tls + "  prefer_server_cipher_suites: yes\n",
       "/etc/portmap/web.yml:4:32: prefer_server_cipher_suites must be true or false"},
      {"http_server_config:\n  headers:\n    Server: me\n",
       "/etc/portmap/web.yml:3:5: HTTP header \"Server\" can not be configured"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "/etc/portmap/web.yml:3:22: invalid value \"allow\" for X-Frame-Options: want \"deny\" or "
       "\"sameorigin\""},
      {"http_server_config: {http3: true}",
       "/etc/portmap/web.yml:1:22: unknown key \"http3\" in http_server_config"},
      {"basic_auth_users:\n  bob: plaintext\n",
       "/etc/portmap/web.yml:2:8: the password of \"bob\" is not a bcrypt hash"},
      {"basic_auth_users:\n  bob:\n", "/etc/portmap/web.yml:2:3: the password of \"bob\" must be"},
      {"rate_limit: {burst: 1}", "/etc/portmap/web.yml:1:1: rate_limit is not supported"},
      {"- a", "/etc/portmap/web.yml:1:1: the top level must be a mapping, not a list"},
      {"a: 1\n---\nb: 2\n", "only one YAML document is allowed"},
      {"a: [", "/etc/portmap/web.yml:1:"},
  };
  for (const auto& [yaml, want] : cases) {
    const std::string got = ErrorOf(yaml);
    EXPECT_NE(got.find(want), std::string::npos) << yaml << "\n got: " << got;
  }
}

TEST(WebConfigTest, ClientAuthTypes) {
  const std::string base =
      "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n"
      "  client_auth_type: ";
  const std::pair<const char*, ClientAuth> cases[] = {
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, auth] : cases) {
    WebConfig config;
    ASSERT_TRUE(Parse(base + name + "\n", &config).ok()) << ErrorOf(base + name);
    EXPECT_EQ(config.tls.client_auth, auth) << name;
  }
}

TEST(WebConfigTest, BcryptHashShape) {
  EXPECT_TRUE(IsBcryptHash(kSecret2b));
  EXPECT_TRUE(IsBcryptHash(kSecret2y));
  EXPECT_TRUE(IsBcryptHash(kOther2a));
  EXPECT_FALSE(IsBcryptHash("$2x$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"));
  EXPECT_FALSE(IsBcryptHash("$2b$03$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"));
  EXPECT_FALSE(IsBcryptHash("$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIr"));
  EXPECT_FALSE(IsBcryptHash("$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIr!"));
  EXPECT_FALSE(IsBcryptHash("$6$salt$hash"));
}

TEST(WebAuthTest, ParsesBasicAuthorization) {
  std::string user, password;
  ASSERT_TRUE(ParseBasicAuthorization("Basic YWxpY2U6czNjcjN0OmFuZDpjb2xvbnM=", &user, &password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "s3cr3t:and:colons");
  ASSERT_TRUE(ParseBasicAuthorization("basic Ym9iOg==", &user, &password));  // "bob:"
  EXPECT_EQ(user, "bob");
  EXPECT_EQ(password, "");
  EXPECT_FALSE(ParseBasicAuthorization("Bearer YWxpY2U6eA==", &user, &password));
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U", &user, &password)) << "no padding";
  EXPECT_FALSE(ParseBasicAuthorization("Basic Ym9i", &user, &password)) << "no colon";
  EXPECT_FALSE(ParseBasicAuthorization("Basic Y=Fs", &user, &password));
  EXPECT_FALSE(ParseBasicAuthorization("", &user, &password));
}

TEST(WebAuthTest, BcryptMatches) {
  EXPECT_TRUE(BcryptMatches("secret", kSecret2b));
  EXPECT_TRUE(BcryptMatches("secret", kSecret2y)) << "htpasswd's $2y$";
  EXPECT_TRUE(BcryptMatches("other", kOther2a));
  EXPECT_FALSE(BcryptMatches("Secret", kSecret2b));
  EXPECT_FALSE(BcryptMatches("", kSecret2b));
  EXPECT_FALSE(BcryptMatches("secret", "not a hash"));
  // An independent vector (OpenBSD's / John the Ripper's bcrypt tests).
  EXPECT_TRUE(BcryptMatches("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

std::string Basic(const std::string& user_colon_password) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  const std::string& in = user_colon_password;
  for (size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return "Basic " + out;
}

TEST(WebAuthTest, AuthenticatorCachesSuccessesOnly) {
  BasicAuthenticator auth;
  const std::map<std::string, std::string> users = {{"alice", kSecret2b}, {"bob", kOther2a}};
  EXPECT_TRUE(auth.Check(users, Basic("alice:secret")));
  EXPECT_EQ(auth.cached(), 1u);
  EXPECT_TRUE(auth.Check(users, Basic("alice:secret")));
  EXPECT_EQ(auth.cached(), 1u) << "the second check was the cached one";
  EXPECT_TRUE(auth.Check(users, Basic("bob:other")));
  EXPECT_FALSE(auth.Check(users, Basic("alice:other")));
  EXPECT_FALSE(auth.Check(users, Basic("bob:secret")));
  EXPECT_FALSE(auth.Check(users, Basic("carol:secret"))) << "unknown, though the password "
                                                            "matches alice's hash";
  EXPECT_FALSE(auth.Check(users, ""));
  EXPECT_FALSE(auth.Check(users, Basic(std::string("alice:secret\0x", 14))));
  EXPECT_EQ(auth.cached(), 2u);
  // A new hash for alice (a reload) misses the cache: the old password fails.
  const std::map<std::string, std::string> changed = {{"alice", kOther2a}};
  EXPECT_FALSE(auth.Check(changed, Basic("alice:secret")));
  EXPECT_TRUE(auth.Check(changed, Basic("alice:other")));
  EXPECT_FALSE(auth.Check({}, Basic("alice:secret"))) << "no users: nobody is checked";
}

TEST(WebConfigTest, LoadErrorsNameTheFile) {
  WebConfig config;
  Status st = LoadWebConfigFile("/nonexistent/web.yml", &config);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "cannot read /nonexistent/web.yml: No such file or directory");

  TlsServerConfig tls;
  tls.enabled = true;
  tls.cert_file = "/nonexistent/server.crt";
  tls.key_file = "/nonexistent/server.key";
  TlsMaterialPtr material;
  st = BuildTlsMaterial(tls, &material);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "cert_file /nonexistent/server.crt: No such file or directory");
  tls.cert_file.clear();
  tls.cert = "not PEM";
  st = BuildTlsMaterial(tls, &material);
  EXPECT_EQ(st.message(), "cert: no PEM certificate in it");
}

TEST(WebConfigTest, CipherNamesAreOpenSsls) {
  std::string name;
  bool tls13 = true;
  ASSERT_TRUE(OpenSslCipherName("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", &name, &tls13));
  EXPECT_EQ(name, "ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_FALSE(tls13);
  ASSERT_TRUE(OpenSslCipherName("TLS_CHACHA20_POLY1305_SHA256", &name, &tls13));
  EXPECT_TRUE(tls13);
  EXPECT_FALSE(OpenSslCipherName("ECDHE-RSA-AES128-GCM-SHA256", &name, &tls13))
      << "OpenSSL's own names are not the toolkit's";
}

}  // namespace
}  // namespace portmap
