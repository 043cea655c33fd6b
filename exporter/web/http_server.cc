#include "exporter/web/http_server.h"

#include <civetweb.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "exporter/web/gzip.h"
#include "exporter/web/listen_address.h"
#include "exporter/web/listen_relay.h"
#include "util/logging.h"

// Debian's civetweb 1.15 was built for OpenSSL 1.1 and looks up, by dlsym()
// in what dlopen("libssl.so") returns, 58 functions OpenSSL 3 still exports
// and one it does not: SSL_get_peer_certificate, now a macro for
// SSL_get1_peer_certificate (same reference counting).  Without it civetweb
// refuses TLS altogether.  So the executable carries the SONAME "libssl.so"
// (exporter/CMakeLists.txt): glibc's dlopen() returns an already loaded
// object whose SONAME matches, dlsym() on it searches the executable and then
// its libraries (the real libssl.so.3), and this definition fills the gap.
#undef SSL_get_peer_certificate
extern "C" __attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

namespace portmap {

namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether this kernel can make IPv6 sockets at all (ipv6.disable=1 cannot).
bool Ipv6Available() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// civetweb loads OpenSSL itself (dlopen of libssl.so, which is this
// executable, see above, and libcrypto.so, libssl-dev's link to the
// libcrypto.so.3 we link), but only when the library is initialised with TLS:
// with an external SSL_CTX nothing else loads it and its function table stays
// null.  Once per process, never undone.
Status InitCivetwebTls() {
  static const unsigned features = mg_init_library(MG_FEATURES_SSL);
  if ((features & MG_FEATURES_SSL) == 0) {
    return Status::Error(
        "civetweb could not load OpenSSL (it opens libssl.so and libcrypto.so: install "
        "libssl-dev)");
  }
  return Status::Ok();
}

int LogCivetweb(const mg_connection* /*conn*/, const char* message) {
  LogDebug("civetweb", {{"detail", message}});
  return 1;  // handled: keep civetweb from printing to stderr itself
}

}  // namespace

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body += '\n';
  return r;
}

HttpServer::HttpServer(std::vector<HttpRoute> routes, int max_requests, HttpGate gate,
                       void* ssl_ctx)
    : routes_(std::move(routes)),
      max_requests_(max_requests),
      gate_(std::move(gate)),
      ssl_ctx_(ssl_ctx) {}

// civetweb asks once at start (*ssl_ctx null: hand ours over, 1 = use it and
// build none) and once at stop (1 = not yours to free).
int HttpServer::ExternalSslCtx(void** ssl_ctx, void* self) {
  if (*ssl_ctx == nullptr) *ssl_ctx = static_cast<HttpServer*>(self)->ssl_ctx_;
  return 1;
}

HttpServer::~HttpServer() {
  {
    std::unique_lock lock(relays_mu_);
    relays_.clear();  // stop feeding civetweb first
  }
  if (ctx_ != nullptr) mg_stop(ctx_);
}

Status HttpServer::Start(const HttpServerOptions& options, std::vector<HttpRoute> routes,
                         std::unique_ptr<HttpServer>* out) {
  std::vector<ListenAddress> addresses;
  for (const std::string& text : options.listen_addresses) {
    ListenAddress address;
    Status st = ParseListenAddress(text, &address);
    if (!st.ok()) return st;
    addresses.push_back(address);
  }

  // Every address goes through a ListenRelay (listen_relay.h), which hands a
  // client to civetweb only once its request head is complete: civetweb ties
  // a worker thread to each connection, so idle connections would otherwise
  // starve the scrapes. The relay also serves IPv6, which Debian's civetweb
  // lacks. civetweb itself listens on one internal loopback port.
  std::vector<std::string> civet_ports = {"127.0.0.1:0"};
  // TLS: the relays pass bytes through, so civetweb terminates it.
  if (options.ssl_ctx != nullptr) {
    if (Status st = InitCivetwebTls(); !st.ok()) return st;
    for (std::string& p : civet_ports) p += 's';
  }

  std::string ports_option;
  for (const auto& p : civet_ports) {
    if (!ports_option.empty()) ports_option += ',';
    ports_option += p;
  }
  // Worker threads beyond max_requests, so requests over the limit are still
  // accepted and answered 503 instead of waiting unanswered in the queue.
  const int threads = std::max(16, options.max_requests + 8);
  const std::string threads_option = std::to_string(threads);
  const char* civet_options[] = {
      "listening_ports",
      ports_option.c_str(),
      "num_threads",
      threads_option.c_str(),
      // Prometheus scrapes every 15 s or so, longer than any sensible
      // keep-alive; idle kept-alive connections would only hold workers.
      "enable_keep_alive",
      "no",
      "request_timeout_ms",
      "60000",
      // civetweb's defaults (a backlog of 200, 20 accepted connections
      // queued for a worker) drop SYNs when Prometheus fires hundreds of
      // /probe requests at once, and each dropped SYN costs the client a
      // 1 s retransmit: measured 1.2 s per round of 500 (bench/README.md).
      "listen_backlog",
      "4096",
      "connection_queue",
      "1024",
      nullptr,
  };
  std::unique_ptr<HttpServer> server(
      new HttpServer(std::move(routes), options.max_requests, options.gate, options.ssl_ctx));
  mg_callbacks callbacks{};
  callbacks.log_message = &LogCivetweb;
  if (options.ssl_ctx != nullptr) callbacks.external_ssl_ctx = &HttpServer::ExternalSslCtx;
  mg_init_data init{&callbacks, server.get(), civet_options};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof error_text};
  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    return Status::Error("cannot listen on " + ports_option + ": " + error_text);
  }

  mg_server_port ports[32];
  const int n = mg_get_server_ports(server->ctx_, 32, ports);
  if (n != static_cast<int>(civet_ports.size())) {
    return Status::Error("civetweb reports " + std::to_string(n) + " listening ports, want " +
                         std::to_string(civet_ports.size()));
  }
  const auto internal = static_cast<uint16_t>(ports[n - 1].port);
  auto add_relay = [&](const std::vector<SocketAddress>& listen) {
    std::unique_ptr<ListenRelay> relay;
    Status st = ListenRelay::Create(listen, internal, &relay);
    if (!st.ok()) return st;
    relay->Start();
    for (const SocketAddress& bound : relay->BoundAddresses()) {
      server->bound_.push_back(bound.ToString());
    }
    server->relays_.push_back(std::move(relay));
    return Status::Ok();
  };
  const bool ipv6 = Ipv6Available();
  for (const ListenAddress& a : addresses) {
    std::vector<SocketAddress> listen;
    if (a.ServesIpv4()) listen.push_back(a.Ipv4Address());
    // ":PORT" on a kernel without IPv6 degrades to IPv4 only, as Go's
    // net.Listen does.
    if (a.family == ListenAddress::Family::kAny && !ipv6) {
      LogWarn("IPv6 is not available; listening on IPv4 only", {{"address", a.ToString()}});
    } else if (a.ServesIpv6()) {
      listen.push_back(a.Ipv6Address());
    }
    if (listen.size() == 2 && a.port == 0) {
      // ":0" asks for one port on both families: IPv6 takes the one IPv4 got.
      if (Status st = add_relay({listen[0]}); !st.ok()) return st;
      listen[1].set_port(server->relays_.back()->BoundPorts().at(0));
      listen.erase(listen.begin());
    }
    if (Status st = add_relay(listen); !st.ok()) return st;
  }
  // Only now: Dispatch reads relays_, which is fixed from here on.
  mg_set_request_handler(server->ctx_, "/", &HttpServer::Dispatch, server.get());
  *out = std::move(server);
  return Status::Ok();
}

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  request.path = info->local_uri ? info->local_uri : "";
  request.query = info->query_string ? info->query_string : "";
  request.remote_addr = info->remote_addr;
  for (int i = 0; i < info->num_headers; ++i) {
    request.headers.emplace_back(info->http_headers[i].name, info->http_headers[i].value);
  }
  const bool accepts_gzip = AcceptsGzip(request.Header("Accept-Encoding"));
  auto* server = static_cast<HttpServer*>(self);
  // civetweb sees the relay's loopback connection; the relay knows the client.
  {
    std::shared_lock lock(server->relays_mu_);
    for (const auto& relay : server->relays_) {
      auto client = relay->ClientAddress(static_cast<uint16_t>(info->remote_port));
      if (client) {
        request.remote_addr = std::move(*client);
        break;
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::optional<HttpResponse> denied;
  if (server->gate_) denied = server->gate_(request, &extra_headers);
  HttpResponse response = denied ? std::move(*denied) : server->Handle(request, accepts_gzip);
  for (auto& header : extra_headers) response.headers.push_back(std::move(header));

  bool gzipped = false;
  if (response.compressible && accepts_gzip) {
    std::string compressed;
    if (GzipCompress(response.body, &compressed)) {
      response.body = std::move(compressed);
      gzipped = true;
    }
  }
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     ReasonPhrase(response.status) + "\r\nContent-Type: " + response.content_type +
                     "\r\nContent-Length: " + std::to_string(response.body.size()) +
                     "\r\nConnection: close\r\n";
  if (gzipped) head += "Content-Encoding: gzip\r\n";
  if (response.compressible) head += "Vary: Accept-Encoding\r\n";
  for (const auto& [name, value] : response.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "\r\n";
  mg_write(conn, head.data(), head.size());
  if (request.method != "HEAD") mg_write(conn, response.body.data(), response.body.size());
  return static_cast<int>(response.status);
}

HttpResponse HttpServer::Handle(const HttpRequest& request, bool /*accepts_gzip*/) {
  auto route = std::find_if(routes_.begin(), routes_.end(),
                            [&](const HttpRoute& r) { return r.path == request.path; });
  if (route == routes_.end()) return HttpResponse::Text(404, "404 page not found");

  const std::string& m = request.method;
  auto allows = [&](const std::string& method) {
    return std::find(route->methods.begin(), route->methods.end(), method) != route->methods.end();
  };
  if (!allows(m) && !(m == "HEAD" && allows("GET"))) {
    std::string allow;
    for (const auto& method : route->methods) {
      if (!allow.empty()) allow += ", ";
      allow += method;
    }
    if (allows("GET")) allow += ", HEAD";
    HttpResponse r = HttpResponse::Text(405, "method " + m + " not allowed on " + request.path);
    r.headers.emplace_back("Allow", allow);
    return r;
  }

  if (route->limited && max_requests_ > 0) {
    // Count first, then check: concurrent requests see each other's counts.
    int now = in_flight_.fetch_add(1) + 1;
    struct Release {
      std::atomic<int>* n;
      ~Release() { n->fetch_sub(1); }
    } release{&in_flight_};
    if (now > max_requests_) {
      LogWarn("too many concurrent requests",
              {{"path", request.path}, {"limit", std::to_string(max_requests_)}});
      return HttpResponse::Text(
          503, "too many concurrent requests, limit is " + std::to_string(max_requests_));
    }
    return Invoke(*route, request);
  }
  return Invoke(*route, request);
}

HttpResponse HttpServer::Invoke(const HttpRoute& route, const HttpRequest& request) {
  // A handler bug must cost one 500, not a civetweb worker thread.
  try {
    return route.handler(request);
  } catch (const std::exception& e) {
    LogError("handler failed", {{"path", request.path}, {"err", e.what()}});
  } catch (...) {
    LogError("handler failed", {{"path", request.path}, {"err", "non-standard exception"}});
  }
  return HttpResponse::Text(500, "internal error; see the exporter's log");
}

}  // namespace portmap
