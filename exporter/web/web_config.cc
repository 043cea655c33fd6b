#include "exporter/web/web_config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

#include "config/config_guard.h"
#include "config/config_yaml.h"
#include "exporter/web/web_tls.h"
#include "util/procfs.h"

namespace portmap {

namespace {

using config_yaml::YamlSource;

constexpr size_t kMaxFileBytes = 4 << 20;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// The toolkit's config_util.JoinDir: relative paths hang off the file's
// directory, so the file means the same whatever the working directory.
std::string JoinDir(const std::string& file, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  const size_t slash = file.rfind('/');
  if (slash == std::string::npos) return path;
  return file.substr(0, slash + 1) + path;
}

Status GetStringList(const YamlSource& src, const YAML::Node& key_node, const YAML::Node& value,
                     const std::string& key, std::vector<std::pair<std::string, YAML::Mark>>* out) {
  if (value.IsNull()) return Status::Ok();
  if (!value.IsSequence()) {
    return src.Error(
        value, key + " must be a list of strings, not " + config_yaml::DescribeNodeType(value));
  }
  for (const YAML::Node& item : value) {
    std::string text;
    if (Status st = src.GetString(key_node, item, key + " entries", &text); !st.ok()) return st;
    out->emplace_back(std::move(text), item.Mark());
  }
  return Status::Ok();
}

Status ParseClientAuth(const YamlSource& src, const YAML::Node& value, const std::string& text,
                       ClientAuth* out) {
  static const std::pair<const char*, ClientAuth> kNames[] = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // the toolkit's old name
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, auth] : kNames) {
    if (text == name) {
      *out = auth;
      return Status::Ok();
    }
  }
  return src.Error(value, "invalid client_auth_type " + Quote(text) +
                              ": want NoClientCert, RequestClientCert, RequireAnyClientCert, "
                              "VerifyClientCertIfGiven or RequireAndVerifyClientCert");
}

Status ParseVersion(const YamlSource& src, const YAML::Node& value, const std::string& key,
                    const std::string& text, uint16_t* out) {
  static const std::pair<const char*, uint16_t> kNames[] = {
      {"TLS10", kTls10}, {"TLS11", kTls11}, {"TLS12", kTls12}, {"TLS13", kTls13}};
  for (const auto& [name, version] : kNames) {
    if (text == name) {
      *out = version;
      return Status::Ok();
    }
  }
  return src.Error(value, "unknown TLS version " + Quote(text) + " in " + key +
                              ": want TLS10, TLS11, TLS12 or TLS13");
}

// Go's tls.CurveID names, as exporter-toolkit spells them.
bool GroupName(std::string_view go_name, std::string* out) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};
  for (const auto& [go, openssl] : kNames) {
    if (go_name == go) {
      *out = openssl;
      return true;
    }
  }
  return false;
}

Status ParseTls(const YamlSource& src, const std::string& file, const YAML::Node& node,
                TlsServerConfig* tls, YAML::Mark* mark) {
  const std::string where = "tls_server_config";
  *mark = node.Mark();
  bool allowed_sans_set = false;
  bool tuned = false;  // an option that only means something with TLS on
  std::optional<YAML::Mark> client_auth_mark;
  Status st = src.ForEachEntry(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        std::string text;
        std::vector<std::pair<std::string, YAML::Mark>> list;
        auto get_string = [&](std::string* out) {
          return src.GetString(key_node, value, key, out);
        };
        if (key == "cert_file" || key == "key_file" || key == "client_ca_file") {
          if (Status s = get_string(&text); !s.ok()) return s;
          std::string* field = key == "cert_file"  ? &tls->cert_file
                               : key == "key_file" ? &tls->key_file
                                                   : &tls->client_ca_file;
          *field = JoinDir(file, text);
          return Status::Ok();
        }
        if (key == "cert") return get_string(&tls->cert);
        if (key == "key") return get_string(&tls->key);
        if (key == "client_ca") return get_string(&tls->client_ca);
        if (key == "client_auth_type") {
          if (Status s = get_string(&text); !s.ok()) return s;
          if (text.empty()) return Status::Ok();  // the toolkit's NoClientCert, not "set"
          client_auth_mark = value.Mark();
          return ParseClientAuth(src, value, text, &tls->client_auth);
        }
        tuned = true;  // every key below only tunes TLS
        if (key == "min_version" || key == "max_version") {
          if (Status s = get_string(&text); !s.ok()) return s;
          return ParseVersion(src, value, key, text,
                              key == "min_version" ? &tls->min_version : &tls->max_version);
        }
        if (key == "prefer_server_cipher_suites") {
          return src.GetBool(key_node, value, key, &tls->prefer_server_cipher_suites);
        }
        if (key == "client_allowed_sans") {
          allowed_sans_set = true;
          if (Status s = GetStringList(src, key_node, value, key, &list); !s.ok()) return s;
          for (auto& [san, m] : list) tls->client_allowed_sans.push_back(std::move(san));
          return Status::Ok();
        }
        if (key == "cipher_suites") {
          if (Status s = GetStringList(src, key_node, value, key, &list); !s.ok()) return s;
          for (const auto& [name, m] : list) {
            std::string openssl;
            bool tls13 = false;
            if (!OpenSslCipherName(name, &openssl, &tls13)) {
              return src.Error(m, "unknown cipher " + Quote(name) +
                                      ": want an IANA name OpenSSL supports, e.g. "
                                      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
            }
            (tls13 ? tls->cipher_suites_tls13 : tls->cipher_suites_tls12).push_back(openssl);
          }
          return Status::Ok();
        }
        if (key == "curve_preferences") {
          if (Status s = GetStringList(src, key_node, value, key, &list); !s.ok()) return s;
          for (const auto& [name, m] : list) {
            std::string group;
            if (!GroupName(name, &group)) {
              return src.Error(m, "unknown curve " + Quote(name) +
                                      ": want CurveP256, CurveP384, CurveP521 or X25519");
            }
            tls->groups.push_back(group);
          }
          return Status::Ok();
        }
        return src.UnknownKey(key_node, key, where);
      });
  if (!st.ok()) return st;
  tls->enabled = !tls->cert_file.empty() || !tls->cert.empty() || !tls->key_file.empty() ||
                 !tls->key.empty() || !tls->client_ca_file.empty() || !tls->client_ca.empty() ||
                 client_auth_mark.has_value();
  if (!tls->enabled) {
    if (tuned) {
      return src.Error(*mark, where +
                                  " sets TLS options but no cert_file and key_file: TLS "
                                  "would be off");
    }
    return Status::Ok();
  }
  auto both = [&](const std::string& a, const std::string& b, const char* what) {
    return !a.empty() && !b.empty() ? src.Error(*mark, where + ": both " + what + " and " + what +
                                                           "_file are set; give one")
                                    : Status::Ok();
  };
  if (Status s = both(tls->cert, tls->cert_file, "cert"); !s.ok()) return s;
  if (Status s = both(tls->key, tls->key_file, "key"); !s.ok()) return s;
  if (Status s = both(tls->client_ca, tls->client_ca_file, "client_ca"); !s.ok()) return s;
  if (tls->cert_file.empty() && tls->cert.empty()) {
    return src.Error(*mark, where + ": missing one of cert or cert_file");
  }
  if (tls->key_file.empty() && tls->key.empty()) {
    return src.Error(*mark, where + ": missing one of key or key_file");
  }
  const bool has_ca = !tls->client_ca_file.empty() || !tls->client_ca.empty();
  const ClientAuth auth = tls->client_auth;
  const YAML::Mark auth_mark = client_auth_mark.value_or(*mark);
  if (has_ca && auth == ClientAuth::kNoClientCert) {
    return src.Error(auth_mark, where +
                                    ": client_ca_file is set without a client_auth_type "
                                    "(e.g. RequireAndVerifyClientCert)");
  }
  if (!has_ca && (auth == ClientAuth::kVerifyClientCertIfGiven ||
                  auth == ClientAuth::kRequireAndVerifyClientCert)) {
    return src.Error(auth_mark, where +
                                    ": client_auth_type verifies client certificates but "
                                    "no client_ca_file says which CA signs them");
  }
  if (allowed_sans_set && auth != ClientAuth::kRequireAnyClientCert &&
      auth != ClientAuth::kRequireAndVerifyClientCert) {
    return src.Error(auth_mark, where +
                                    ": client_allowed_sans requires client_auth_type "
                                    "RequireAnyClientCert or RequireAndVerifyClientCert");
  }
  if (tls->min_version > tls->max_version) {
    return src.Error(*mark, where + ": min_version is above max_version");
  }
  return Status::Ok();
}

Status ParseHttp(const YamlSource& src, const YAML::Node& node, HttpServerConfig* http) {
  const std::string where = "http_server_config";
  return src.ForEachEntry(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (key == "http2") return src.GetBool(key_node, value, key, &http->http2);
        if (key != "headers") return src.UnknownKey(key_node, key, where);
        // exporter-toolkit's extraHTTPHeaders: these five only, and where
        // the values are an enumeration, one of them.
        return src.ForEachEntry(
            value, where + ".headers",
            [&](const std::string& name, const YAML::Node& name_node,
                const YAML::Node& v) -> Status {
              static const std::pair<const char*, std::vector<std::string>> kAllowed[] = {
                  {"Strict-Transport-Security", {}},
                  {"X-Content-Type-Options", {"nosniff"}},
                  {"X-Frame-Options", {"deny", "sameorigin"}},
                  {"X-XSS-Protection", {}},
                  {"Content-Security-Policy", {}},
              };
              const std::vector<std::string>* values = nullptr;
              for (const auto& [allowed, vs] : kAllowed) {
                if (name == allowed) values = &vs;
              }
              if (values == nullptr) {
                return src.Error(name_node, "HTTP header " + Quote(name) +
                                                " can not be configured: want one of "
                                                "Strict-Transport-Security, "
                                                "X-Content-Type-Options, X-Frame-Options, "
                                                "X-XSS-Protection, Content-Security-Policy");
              }
              std::string text;
              if (Status s = src.GetString(name_node, v, name, &text); !s.ok()) return s;
              if (text.find_first_of("\r\n") != std::string::npos) {
                return src.Error(v, "header " + name + " must be one line");
              }
              if (!values->empty() &&
                  std::find(values->begin(), values->end(), text) == values->end()) {
                std::string want;
                for (const auto& w : *values) want += (want.empty() ? "" : " or ") + Quote(w);
                return src.Error(
                    v, "invalid value " + Quote(text) + " for " + name + ": want " + want);
              }
              if (!text.empty()) http->headers.emplace_back(name, text);  // "" = unset
              return Status::Ok();
            });
      });
}

Status ParseUsers(const YamlSource& src, const YAML::Node& node,
                  std::map<std::string, std::string>* users) {
  return src.ForEachEntry(
      node, "basic_auth_users",
      [&](const std::string& user, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        std::string hash;
        if (Status s = src.GetString(key_node, value, "the password of " + Quote(user), &hash);
            !s.ok()) {
          return s;
        }
        if (user.find(':') != std::string::npos) {
          return src.Error(
              key_node, "user name " + Quote(user) + " contains ':', which basic auth cannot send");
        }
        if (!IsBcryptHash(hash)) {
          // The hash is a secret of sorts: say what is wrong, not what it is.
          return src.Error(value, "the password of " + Quote(user) +
                                      " is not a bcrypt hash ($2y$10$ and 53 characters; "
                                      "htpasswd -nBC 10 \"\" | tr -d ':\\n' makes one)");
        }
        (*users)[user] = hash;
        return Status::Ok();
      });
}

Status ParseDocument(const YamlSource& src, const std::string& file, const YAML::Node& root,
                     WebConfig* config) {
  if (!root.IsNull() && !root.IsMap()) {
    return src.Error(root, std::string("the top level must be a mapping, not ") +
                               config_yaml::DescribeNodeType(root));
  }
  return src.ForEachEntry(
      root, "the top level",
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        YAML::Mark mark;
        if (key == "tls_server_config") return ParseTls(src, file, value, &config->tls, &mark);
        if (key == "http_server_config") return ParseHttp(src, value, &config->http);
        if (key == "basic_auth_users") return ParseUsers(src, value, &config->basic_auth_users);
        if (key == "rate_limit") {
          return src.Error(key_node, "rate_limit is not supported (use --web.max-requests)");
        }
        return src.UnknownKey(key_node, key, "the top level");
      });
}

}  // namespace

std::vector<std::string> TlsServerConfig::Files() const {
  std::vector<std::string> files;
  for (const std::string* f : {&cert_file, &key_file, &client_ca_file}) {
    if (!f->empty()) files.push_back(*f);
  }
  return files;
}

bool IsBcryptHash(std::string_view hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : hash.substr(7)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

Status ParseWebConfig(std::string_view yaml, const std::string& file, WebConfig* out) {
  std::vector<YAML::Node> documents;
  if (Status st = YamlSource(file).LoadAll(yaml, &documents); !st.ok()) return st;
  return ParseWebConfigDocuments(documents, file, out);
}

Status ParseWebConfigDocuments(const std::vector<YAML::Node>& documents, const std::string& file,
                               WebConfig* out) {
  const YamlSource src(file);
  try {
    if (documents.size() > 1) {
      return src.Error(documents[1], "only one YAML document is allowed (a second '---')");
    }
    WebConfig config;
    if (!documents.empty()) {
      if (Status st = ParseDocument(src, file, documents[0], &config); !st.ok()) return st;
    }
    *out = std::move(config);
    return Status::Ok();
  } catch (const YAML::Exception& e) {
    return src.Error(e.mark, e.msg);
  } catch (const std::exception& e) {
    return Status::Error(file + ": " + e.what());
  }
}

const YamlCheckParser kWebConfigYamlCheck = {"web-config",
                                             [](std::string_view yaml, const std::string& file) {
                                               WebConfig config;
                                               return ParseWebConfig(yaml, file, &config);
                                             }};

Status LoadWebConfigFile(const std::string& path, WebConfig* out) {
  std::string text;
  bool too_large = false;
  if (const int err = ReadFileUpTo(path, kMaxFileBytes, &text, &too_large); err != 0) {
    return Status::Error("cannot read " + path + ": " + ErrnoText(err));
  }
  if (too_large) return Status::Error("cannot read " + path + ": larger than 4 MiB");
  return RunParserBounded(kWebConfigYamlCheck, text, path, kConfigParseLimit,
                          [&] { return ParseWebConfig(text, path, out); });
}

}  // namespace portmap
