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
//
// Thread safety: handlers run on civetweb's worker threads, concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/status.h"

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

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpRoute {
  std::string path;                  // matched exactly
  std::vector<std::string> methods;  // e.g. {"GET"}; HEAD is implied by GET
  bool limited = false;              // counts against max_requests
  HttpHandler handler;
};

struct HttpServerOptions {
  // exporter-toolkit spelling (see listen_address.h): ":9806" is every IPv4
  // and IPv6 address; IPv6 is served through a ListenRelay.
  std::vector<std::string> listen_addresses;
  int max_requests = 40;  // 0 = unlimited
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
  HttpServer(std::vector<HttpRoute> routes, int max_requests);
  static int Dispatch(mg_connection* conn, void* self);
  HttpResponse Handle(const HttpRequest& request, bool accepts_gzip);
  static HttpResponse Invoke(const HttpRoute& route, const HttpRequest& request);

  const std::vector<HttpRoute> routes_;
  const int max_requests_;
  std::atomic<int> in_flight_{0};
  mg_context* ctx_ = nullptr;
  std::vector<std::unique_ptr<ListenRelay>> relays_;  // destroyed before ctx_ stops
  std::vector<std::string> bound_;
};

}  // namespace portmap
