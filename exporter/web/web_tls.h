// TLS for the HTTP server: OpenSSL contexts built from tls_server_config
// (web_config.h) and applied per handshake, so a reload (a rotated
// certificate or key, a new client CA, other versions or ciphers) takes
// effect at the next connection without restarting civetweb.
//
// civetweb (Debian's 1.15, which dlopen()s libssl.so) serves every HTTPS port
// with the one SSL_CTX TlsServerContext::ssl_ctx() returns.  That context
// holds no certificate: its ClientHello callback asks for the current
// TlsMaterial, moves the connection onto the material's context
// (SSL_set_SSL_CTX: certificate, key, client CA store) and applies the
// material's versions, ciphers, groups and client-certificate policy to the
// connection.  Sessions are never resumed (no tickets, no cache): a resumed
// session would skip a client-certificate check the configuration in force
// now requires, and Prometheus' scrapes connect afresh anyway.
//
// Client certificates follow Go's tls.ClientAuthType: Request and
// RequireAny ask for one without verifying it; VerifyIfGiven and
// RequireAndVerify verify it against the client CA; client_allowed_sans is
// then matched exactly against the certificate's DNS, e-mail, IP and URI
// SANs, as exporter-toolkit does.
//
// Thread safety: TlsMaterial is immutable; the callbacks run on civetweb's
// workers, concurrently, and only read.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/web/web_config.h"
#include "util/status.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace portmap {

// OpenSSL's name for the IANA cipher suite `iana` (what Go and the toolkit
// call it, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 is
// ECDHE-RSA-AES128-GCM-SHA256), and whether it is a TLS 1.3 suite; false
// when this OpenSSL has no such suite.
bool OpenSslCipherName(std::string_view iana, std::string* openssl, bool* tls13);

// The certificate, key, client CA and policy of one tls_server_config, read
// and checked (the key matches the certificate, every cipher and group is
// known).  Errors name the file or the option.
class TlsMaterial;
using TlsMaterialPtr = std::shared_ptr<const TlsMaterial>;
Status BuildTlsMaterial(const TlsServerConfig& config, TlsMaterialPtr* out);

class TlsServerContext {
 public:
  // `current` returns the material for each new connection (never null
  // once TLS is on; a null one fails that handshake).
  using CurrentFn = std::function<TlsMaterialPtr()>;
  static Status Create(CurrentFn current, std::unique_ptr<TlsServerContext>* out);

  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  ~TlsServerContext();  // after the HTTP server has stopped

  // The SSL_CTX* for civetweb's external_ssl_ctx callback; owned here.
  void* ssl_ctx() const { return ctx_; }

 private:
  explicit TlsServerContext(CurrentFn current) : current_(std::move(current)) {}
  static int OnClientHello(::ssl_st* ssl, int* alert, void* self);

  const CurrentFn current_;
  ::ssl_ctx_st* ctx_ = nullptr;
};

}  // namespace portmap
