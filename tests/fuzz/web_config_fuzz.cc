// libFuzzer target: --web.config.file's YAML (exporter/web/web_config.h) over any
// bytes.  Invariants: no crash, no exception escaping ParseWebConfigDocuments, no
// sanitizer report; an accepted configuration holds what the toolkit's
// validation promises: TLS on means a certificate and a key, a verifying
// client_auth_type has a client CA, min_version <= max_version, files are
// absolute (the file is named by an absolute path), every user's hash is a
// bcrypt hash, and no header value breaks a line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporter/web/web_config.h"
#include "tests/fuzz/libyaml_nodes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Read by libyaml, not yaml-cpp's looping parser: see libyaml_nodes.h.
  std::vector<YAML::Node> documents;
  if (!portmap::LoadAllWithLibyaml(text, &documents)) return 0;
  portmap::WebConfig config;
  if (!portmap::ParseWebConfigDocuments(documents, "/fuzz/web.yml", &config).ok()) return 0;
  const portmap::TlsServerConfig& tls = config.tls;
  if (tls.enabled) {
    if (tls.cert_file.empty() == tls.cert.empty()) std::abort();
    if (tls.key_file.empty() == tls.key.empty()) std::abort();
    const bool verifies = tls.client_auth == portmap::ClientAuth::kVerifyClientCertIfGiven ||
                          tls.client_auth == portmap::ClientAuth::kRequireAndVerifyClientCert;
    if (verifies && tls.client_ca_file.empty() && tls.client_ca.empty()) std::abort();
    if (tls.min_version > tls.max_version) std::abort();
    for (const std::string& f : tls.Files()) {
      if (f.empty() || f[0] != '/') std::abort();
    }
  }
  for (const auto& [user, hash] : config.basic_auth_users) {
    if (!portmap::IsBcryptHash(hash) || user.find(':') != std::string::npos) std::abort();
  }
  for (const auto& [name, value] : config.http.headers) {
    if (value.find_first_of("\r\n") != std::string::npos) std::abort();
  }
  return 0;
}
