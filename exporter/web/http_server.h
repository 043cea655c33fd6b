// HttpServer: civetweb, used directly (prometheus-cpp's Exposer hides its
// server and ignores query strings), with exact-path routes.
//
// What it does for every route, so handlers need not:
//   - 404 for an unknown path, 405 (with Allow) for a method a route lacks;
//     HEAD is answered wherever GET is;
//   - 503 once more than `max_requests` requests of "limited" routes (the
//     scrapes) run at once, so a scrape storm cannot pile up collector threads;
//   - gzip when the handler marks the body compressible and the client sends
//     Accept-Encoding: gzip (Debian's civetweb has no compression of its own).
//   - before routing, HttpServerOptions::gate (--web.config.file's basic auth
//     and extra headers), so even a 404 needs the password;
//   - HTTPS on every port when HttpServerOptions::ssl_ctx is set.
//
// Thread safety: handlers run on civetweb's worker threads, concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

struct mg_connection;
struct mg_context;

namespace portmap {

class ListenRelay;

struct HttpRequest {
  std::string method;
  std::string path;   // decoded, without the query
  std::string query;  // raw, after '?'
  std::string remote_addr;
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header of that name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool compressible = false;  // gzip it if the client accepts gzip

  static HttpResponse Text(int status, std::string body);
};

// `s` with &, <, > and " escaped, for text inside HTML pages we build.
std::string HtmlEscape(std::string_view s);

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpRoute {
  std::string path;                  // matched exactly
  std::vector<std::string> methods;  // e.g. {"GET"}; HEAD is implied by GET
  bool limited = false;              // counts against max_requests
  HttpHandler handler;
};

// Runs before routing on every request (--web.config.file: basic auth and
// extra headers): adds headers for whatever response goes out to `*headers`,
// and returns the response to send instead of the route's (a 401), or
// nullopt to let the request through.
using HttpGate = std::function<std::optional<HttpResponse>(
    const HttpRequest&, std::vector<std::pair<std::string, std::string>>* headers)>;

struct HttpServerOptions {
  // exporter-toolkit spelling (see listen_address.h): ":9806" is every IPv4
  // and IPv6 address. Each is served through a ListenRelay (listen_relay.h),
  // which hands civetweb only clients that sent a complete request head, so
  // idle connections cannot hold its worker threads.
  std::vector<std::string> listen_addresses;
  int max_requests = 40;  // 0 = unlimited
  HttpGate gate;          // empty = everything passes
  // An OpenSSL SSL_CTX* (void*: this header needs no OpenSSL): when set,
  // civetweb's port serves HTTPS only, with it (an 's' port), and the relays
  // pass TLS through, so every address speaks HTTPS and plain HTTP fails.  The
  // caller keeps it alive until the server is destroyed.
  void* ssl_ctx = nullptr;
};

class HttpServer {
 public:
  // Binds every address and starts serving.  An address that cannot be bound
  // is an error naming it (the caller exits 1).
  static Status Start(const HttpServerOptions& options, std::vector<HttpRoute> routes,
                      std::unique_ptr<HttpServer>* out);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // stops accepting and waits for running handlers

  // The addresses actually bound ("0.0.0.0:9806", "[::]:9806"); ports chosen
  // by the kernel for ":0" are filled in.
  const std::vector<std::string>& bound_addresses() const { return bound_; }

 private:
  HttpServer(std::vector<HttpRoute> routes, int max_requests, HttpGate gate, void* ssl_ctx);
  static int ExternalSslCtx(void** ssl_ctx, void* self);
  static int Dispatch(mg_connection* conn, void* self);
  HttpResponse Handle(const HttpRequest& request, bool accepts_gzip);
  static HttpResponse Invoke(const HttpRoute& route, const HttpRequest& request);

  const std::vector<HttpRoute> routes_;
  const int max_requests_;
  const HttpGate gate_;
  void* const ssl_ctx_;
  std::atomic<int> in_flight_{0};
  mg_context* ctx_ = nullptr;
  // Destroyed before ctx_ stops; Dispatch reads it (client addresses) under
  // relays_mu_, so the destructor's clear() cannot pull it from under a handler.
  std::shared_mutex relays_mu_;
  std::vector<std::unique_ptr<ListenRelay>> relays_;
  std::vector<std::string> bound_;
};

}  // namespace portmap
