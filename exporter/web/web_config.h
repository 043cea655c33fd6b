// --web.config.file: Prometheus exporter-toolkit's web configuration
// (docs/web-configuration.md there), parsed with yaml-cpp as strictly as
// --config.file (config/config_yaml.h): an unknown or duplicated key, a bad value or
// a combination the toolkit rejects is an error "FILE:LINE:COL: ...".
//
//   tls_server_config:
//     cert_file: server.crt          # or cert: <PEM>; relative to this file
//     key_file: server.key           # or key: <PEM>
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt         # or client_ca: <PEM>
//     client_allowed_sans: [scraper.example.com]
//     min_version: TLS12             # TLS10..TLS13; default TLS12
//     max_version: TLS13             # default TLS13
//     cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]   # IANA (Go) names
//     curve_preferences: [X25519, CurveP256]                  # Go names
//     prefer_server_cipher_suites: true
//   http_server_config:
//     http2: true                    # accepted; civetweb serves HTTP/1.1 only
//     headers: {X-Frame-Options: deny}   # the toolkit's five, its values
//   basic_auth_users:
//     alice: $2y$10$...              # bcrypt
//
// Differences from the toolkit, each an error rather than a silent change:
// `rate_limit` is not supported; TLS options without a certificate (the
// toolkit then serves plain HTTP and ignores them); both `cert` and
// `cert_file` (likewise key, client CA); a client_auth_type that verifies
// without a client CA (Go would fall back to the system roots).
//
// Thread safety: every function is pure (LoadWebConfigFile reads the file).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_guard.h"
#include "util/status.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace portmap {

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,           // asked for, not verified, optional
  kRequireAnyClientCert,        // required, not verified
  kVerifyClientCertIfGiven,     // optional, verified when given
  kRequireAndVerifyClientCert,  // required and verified: the one that authenticates
};

// TLS protocol versions as on the wire (OpenSSL's TLS1_x_VERSION).
inline constexpr uint16_t kTls10 = 0x0301;
inline constexpr uint16_t kTls11 = 0x0302;
inline constexpr uint16_t kTls12 = 0x0303;
inline constexpr uint16_t kTls13 = 0x0304;

struct TlsServerConfig {
  // The toolkit's TLSConfig.IsEnabled: a certificate, key, client CA or
  // client_auth_type is set.  Then cert and key are both present.
  bool enabled = false;
  // Files are absolute after parsing (relative ones are joined to the web
  // config file's directory); the inline PEM forms are the alternative.
  std::string cert_file, cert;
  std::string key_file, key;
  std::string client_ca_file, client_ca;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::vector<std::string> client_allowed_sans;
  uint16_t min_version = kTls12;
  uint16_t max_version = kTls13;
  // OpenSSL's names for the configured IANA names, split by protocol: TLS
  // 1.3 suites go to SSL_set_ciphersuites, the rest to SSL_set_cipher_list.
  std::vector<std::string> cipher_suites_tls12;
  std::vector<std::string> cipher_suites_tls13;
  std::vector<std::string> groups;  // OpenSSL group names: P-256, X25519, ...
  bool prefer_server_cipher_suites = true;

  // The files the TLS material is read from, for change detection.
  std::vector<std::string> Files() const;
};

struct HttpServerConfig {
  bool http2 = true;
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
};

struct WebConfig {
  TlsServerConfig tls;
  HttpServerConfig http;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

// Parses `yaml`; `file` prefixes errors and its directory anchors relative
// paths.  `*out` is written only on success.
Status ParseWebConfig(std::string_view yaml, const std::string& file, WebConfig* out);

// ParseWebConfig after yaml-cpp's LoadAll (for the fuzzers, as
// ParseConfigDocuments in config/config.h).
Status ParseWebConfigDocuments(const std::vector<YAML::Node>& documents, const std::string& file,
                               WebConfig* out);

// The YAML guard's parser for --web.config.file: "web-config".
extern const YamlCheckParser kWebConfigYamlCheck;

// Reads `path` (at most 4 MiB) and parses it under the YAML guard
// (config/config_guard.h), so a libyaml-cpp loop ends as an error in time.
Status LoadWebConfigFile(const std::string& path, WebConfig* out);

// Whether `hash` is a bcrypt hash crypt(3) verifies: $2a$, $2b$ or $2y$, a
// two-digit cost 04..31, 53 characters of bcrypt's base64.
bool IsBcryptHash(std::string_view hash);

}  // namespace portmap
