#include "exporter/web/web_tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "util/procfs.h"

namespace portmap {

namespace {

// What a handshake needs beyond the context's certificate and CA store;
// owned by the SSL_CTX (ex_data), so it lives exactly as long as a
// connection may still use that context after a reload replaced it.
struct Policy {
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::vector<std::string> allowed_sans;
  uint16_t min_version = kTls12;
  uint16_t max_version = kTls13;
  std::string ciphers_tls12, ciphers_tls13, groups;  // "" = OpenSSL's default
  bool prefer_server = true;
};

void FreePolicy(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Policy*>(ptr);
}

int PolicyIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreePolicy);
  return index;
}

const Policy* GetPolicy(const SSL_CTX* ctx) {
  return static_cast<const Policy*>(SSL_CTX_get_ex_data(ctx, PolicyIndex()));
}

std::string OpenSslError() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

std::string Join(const std::vector<std::string>& items, char sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(1, sep)) + item;
  return out;
}

Status ReadFile(const std::string& what, const std::string& path, std::string* out) {
  const std::string where = what + " " + path + ": ";
  bool too_large = false;
  const int err = ReadFileUpTo(path, size_t{1} << 20, out, &too_large);
  if (err != 0) return Status::Error(where + ErrnoText(err));
  if (too_large) return Status::Error(where + "larger than 1 MiB");
  return Status::Ok();
}

// The PEM of `file` or, when it is "", the inline `pem`; `name` is the
// option ("cert") for errors.
Status ReadPem(const std::string& name, const std::string& file, const std::string& pem,
               std::string* text, std::string* where) {
  if (file.empty()) {
    *text = pem;
    *where = name;
    return Status::Ok();
  }
  *where = name + "_file " + file;
  return ReadFile(name + "_file", file, text);
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate in `pem`, in order.
std::vector<X509*> ReadCertificates(const std::string& pem) {
  std::vector<X509*> certs;
  BioPtr bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.push_back(cert);
  }
  ERR_clear_error();  // the read that ended the loop
  return certs;
}

Status LoadCertificateAndKey(SSL_CTX* ctx, const TlsServerConfig& config) {
  std::string text, where;
  if (Status st = ReadPem("cert", config.cert_file, config.cert, &text, &where); !st.ok()) {
    return st;
  }
  std::vector<X509*> chain = ReadCertificates(text);
  if (chain.empty()) return Status::Error(where + ": no PEM certificate in it");
  bool ok = SSL_CTX_use_certificate(ctx, chain[0]) == 1;
  for (size_t i = 1; i < chain.size() && ok; ++i) ok = SSL_CTX_add1_chain_cert(ctx, chain[i]) == 1;
  for (X509* cert : chain) X509_free(cert);
  if (!ok) return Status::Error(where + ": " + OpenSslError());

  text.clear();
  if (Status st = ReadPem("key", config.key_file, config.key, &text, &where); !st.ok()) return st;
  BioPtr bio = MemoryBio(text);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    ERR_clear_error();
    return Status::Error(where + ": no PEM private key in it (or it is encrypted)");
  }
  ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) {
    return Status::Error("the key does not match the certificate (" + where +
                         "): " + OpenSslError());
  }
  return Status::Ok();
}

Status LoadClientCa(SSL_CTX* ctx, const TlsServerConfig& config) {
  if (config.client_ca_file.empty() && config.client_ca.empty()) return Status::Ok();
  std::string text, where;
  if (Status st = ReadPem("client_ca", config.client_ca_file, config.client_ca, &text, &where);
      !st.ok()) {
    return st;
  }
  std::vector<X509*> cas = ReadCertificates(text);
  if (cas.empty()) return Status::Error(where + ": no PEM certificate in it");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  bool ok = names != nullptr;
  for (X509* ca : cas) {
    ok = ok && X509_STORE_add_cert(store, ca) == 1;
    // The CertificateRequest names them, as Go's ClientCAs does.
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca));
    if (ok && name != nullptr && sk_X509_NAME_push(names, name) > 0) continue;
    X509_NAME_free(name);
    ok = false;
  }
  for (X509* ca : cas) X509_free(ca);
  if (!ok) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    return Status::Error(where + ": " + OpenSslError());
  }
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  return Status::Ok();
}

// Whether the certificate has one of `allowed` among its DNS, e-mail, IP and
// URI SANs, compared exactly (IPs in their usual text form).
bool HasAllowedSan(X509* cert, const std::vector<std::string>& allowed) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* s = name->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = "";
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (ASN1_STRING_length(ip) == 4 || ASN1_STRING_length(ip) == 16) {
        inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text);
      }
      value = text;
    }
    found = !value.empty() && std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  return found;
}

int VerifyPeer(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const Policy* policy = ssl == nullptr ? nullptr : GetPolicy(SSL_get_SSL_CTX(ssl));
  if (policy == nullptr) return 0;
  const bool verify = policy->client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                      policy->client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verify && preverify_ok != 1) return 0;
  if (X509_STORE_CTX_get_error_depth(store) == 0 && !policy->allowed_sans.empty() &&
      !HasAllowedSan(X509_STORE_CTX_get_current_cert(store), policy->allowed_sans)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;  // Request / RequireAny: any certificate will do, as in Go
}

int VerifyMode(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNoClientCert:
      return SSL_VERIFY_NONE;
    case ClientAuth::kRequestClientCert:
    case ClientAuth::kVerifyClientCertIfGiven:
      return SSL_VERIFY_PEER;
    case ClientAuth::kRequireAnyClientCert:
    case ClientAuth::kRequireAndVerifyClientCert:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  return SSL_VERIFY_NONE;
}

// No resumption, no renegotiation: every connection is checked afresh
// against the configuration in force.
void NoSessions(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

}  // namespace

class TlsMaterial {
 public:
  explicit TlsMaterial(SSL_CTX* ctx) : ctx_(ctx) {}
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;
  ~TlsMaterial() { SSL_CTX_free(ctx_); }  // connections still on it hold their own reference
  SSL_CTX* ctx() const { return ctx_; }

 private:
  SSL_CTX* const ctx_;
};

bool OpenSslCipherName(std::string_view iana, std::string* openssl, bool* tls13) {
  // Every suite this OpenSSL knows, with its IANA ("standard") name.
  static const std::vector<std::pair<std::string, std::pair<std::string, bool>>> kSuites = [] {
    std::vector<std::pair<std::string, std::pair<std::string, bool>>> suites;
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return suites;
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL") == 1) {
      STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx);
      for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
        const char* standard = SSL_CIPHER_standard_name(c);
        if (standard == nullptr) continue;
        const bool tls13 = std::strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0;
        suites.push_back({standard, {SSL_CIPHER_get_name(c), tls13}});
      }
    }
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return suites;
  }();
  for (const auto& [name, info] : kSuites) {
    if (name == iana) {
      *openssl = info.first;
      *tls13 = info.second;
      return true;
    }
  }
  return false;
}

Status BuildTlsMaterial(const TlsServerConfig& config, TlsMaterialPtr* out) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::Error("SSL_CTX_new: " + OpenSslError());
  auto material = std::make_shared<TlsMaterial>(ctx);  // frees ctx on every return
  auto* policy = new Policy;
  if (SSL_CTX_set_ex_data(ctx, PolicyIndex(), policy) != 1) {
    delete policy;
    return Status::Error("SSL_CTX_set_ex_data: " + OpenSslError());
  }
  policy->client_auth = config.client_auth;
  policy->allowed_sans = config.client_allowed_sans;
  policy->min_version = config.min_version;
  policy->max_version = config.max_version;
  policy->ciphers_tls12 = Join(config.cipher_suites_tls12, ':');
  policy->ciphers_tls13 = Join(config.cipher_suites_tls13, ':');
  policy->groups = Join(config.groups, ':');
  policy->prefer_server = config.prefer_server_cipher_suites;
  NoSessions(ctx);

  if (Status st = LoadCertificateAndKey(ctx, config); !st.ok()) return st;
  if (Status st = LoadClientCa(ctx, config); !st.ok()) return st;
  // Applied here too, so a value OpenSSL refuses fails the load, not every
  // handshake.
  if (!policy->ciphers_tls12.empty() &&
      SSL_CTX_set_cipher_list(ctx, policy->ciphers_tls12.c_str()) != 1) {
    return Status::Error("cipher_suites: " + OpenSslError());
  }
  if (!policy->ciphers_tls13.empty() &&
      SSL_CTX_set_ciphersuites(ctx, policy->ciphers_tls13.c_str()) != 1) {
    return Status::Error("cipher_suites: " + OpenSslError());
  }
  if (!policy->groups.empty() && SSL_CTX_set1_groups_list(ctx, policy->groups.c_str()) != 1) {
    return Status::Error("curve_preferences: " + OpenSslError());
  }
  *out = std::move(material);
  return Status::Ok();
}

Status TlsServerContext::Create(CurrentFn current, std::unique_ptr<TlsServerContext>* out) {
  ERR_clear_error();
  std::unique_ptr<TlsServerContext> self(new TlsServerContext(std::move(current)));
  self->ctx_ = SSL_CTX_new(TLS_server_method());
  if (self->ctx_ == nullptr) return Status::Error("SSL_CTX_new: " + OpenSslError());
  NoSessions(self->ctx_);
  static const unsigned char kSessionContext[] = "portmap_exporter";
  SSL_CTX_set_session_id_context(self->ctx_, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_client_hello_cb(self->ctx_, &TlsServerContext::OnClientHello, self.get());
  *out = std::move(self);
  return Status::Ok();
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

int TlsServerContext::OnClientHello(SSL* ssl, int* alert, void* arg) {
  *alert = SSL_AD_INTERNAL_ERROR;
  const TlsMaterialPtr material = static_cast<TlsServerContext*>(arg)->current_();
  if (material == nullptr) return SSL_CLIENT_HELLO_ERROR;
  SSL_CTX* ctx = material->ctx();
  const Policy* p = GetPolicy(ctx);
  if (p == nullptr || SSL_set_SSL_CTX(ssl, ctx) == nullptr) return SSL_CLIENT_HELLO_ERROR;
  // SSL_set_SSL_CTX moves the certificate, key and CA store; what SSL_new
  // copied from the first context is set here.
  bool ok = SSL_set_min_proto_version(ssl, p->min_version) == 1 &&
            SSL_set_max_proto_version(ssl, p->max_version) == 1;
  ok = ok && (p->ciphers_tls12.empty() || SSL_set_cipher_list(ssl, p->ciphers_tls12.c_str()) == 1);
  ok = ok && (p->ciphers_tls13.empty() || SSL_set_ciphersuites(ssl, p->ciphers_tls13.c_str()) == 1);
  ok = ok && (p->groups.empty() || SSL_set1_groups_list(ssl, p->groups.c_str()) == 1);
  if (!ok) return SSL_CLIENT_HELLO_ERROR;
  if (p->prefer_server) {
    SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_clear_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  SSL_set_verify(ssl, VerifyMode(p->client_auth), &VerifyPeer);
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace portmap
