#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "exporter/gzip.h"
#include "exporter/listen_address.h"
#include "exporter/listen_relay.h"
#include "exporter/logging.h"

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

// Binding failed somewhere; find which address, to name it in the error.
std::string FirstUnbindable(const std::vector<std::string>& civet_ports) {
  for (const std::string& p : civet_ports) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::string host = "0.0.0.0";
    std::string port = p;
    if (size_t colon = p.rfind(':'); colon != std::string::npos) {
      host = p.substr(0, colon);
      port = p.substr(colon + 1);
    }
    inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
    sa.sin_port = htons(static_cast<uint16_t>(std::atoi(port.c_str())));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    int err = errno;
    ::close(fd);
    if (rc != 0) return host.append(":").append(port).append(": bind: ").append(ErrnoText(err));
  }
  return "";
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

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body += '\n';
  return r;
}

HttpServer::HttpServer(std::vector<HttpRoute> routes, int max_requests)
    : routes_(std::move(routes)), max_requests_(max_requests) {}

HttpServer::~HttpServer() {
  relays_.clear();  // stop feeding civetweb first
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

  // civetweb serves the IPv4 side of each address.  Debian's civetweb has no
  // IPv6, so every IPv6 side goes through a ListenRelay to an internal
  // loopback listener; ":PORT" on a kernel without IPv6 degrades to IPv4
  // only, as Go's net.Listen does.
  const bool ipv6 = Ipv6Available();
  std::vector<std::string> civet_ports;
  std::vector<size_t> civet_owner;  // index into addresses
  bool need_relay = false;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const ListenAddress& a = addresses[i];
    if (a.ServesIpv4()) {
      civet_ports.push_back(a.CivetwebPort());
      civet_owner.push_back(i);
    }
    if (a.family == ListenAddress::Family::kAny && !ipv6) {
      LogWarn("IPv6 is not available; listening on IPv4 only", {{"address", a.ToString()}});
    } else if (a.ServesIpv6()) {
      need_relay = true;
    }
  }
  if (need_relay) civet_ports.push_back("127.0.0.1:0");  // the relays' target, last

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
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(routes), options.max_requests));
  mg_callbacks callbacks{};
  callbacks.log_message = &LogCivetweb;
  mg_init_data init{&callbacks, server.get(), civet_options};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof error_text};
  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    std::string which = FirstUnbindable(civet_ports);
    if (!which.empty()) return Status::Error("listen tcp " + which);
    return Status::Error("cannot listen on " + ports_option + ": " + error_text);
  }
  mg_set_request_handler(server->ctx_, "/", &HttpServer::Dispatch, server.get());

  mg_server_port ports[32];
  const int n = mg_get_server_ports(server->ctx_, 32, ports);
  if (n != static_cast<int>(civet_ports.size())) {
    return Status::Error("civetweb reports " + std::to_string(n) + " listening ports, want " +
                         std::to_string(civet_ports.size()));
  }
  std::vector<uint16_t> ipv4_port(addresses.size(), 0);
  for (size_t k = 0; k < civet_owner.size(); ++k) {
    const ListenAddress& a = addresses[civet_owner[k]];
    const auto port = static_cast<uint16_t>(ports[k].port);
    ipv4_port[civet_owner[k]] = port;
    server->bound_.push_back((a.host.empty() ? std::string("0.0.0.0") : a.host) + ":" +
                             std::to_string(port));
  }
  if (need_relay) {
    const auto internal = static_cast<uint16_t>(ports[n - 1].port);
    for (size_t i = 0; i < addresses.size(); ++i) {
      const ListenAddress& a = addresses[i];
      if (!a.ServesIpv6() || (a.family == ListenAddress::Family::kAny && !ipv6)) continue;
      SocketAddress sa = a.Ipv6Address();
      // ":0" asks for one port on both families: reuse the one IPv4 got.
      if (a.family == ListenAddress::Family::kAny && a.port == 0) sa.set_port(ipv4_port[i]);
      std::unique_ptr<ListenRelay> relay;
      Status st = ListenRelay::Create({sa}, internal, &relay);
      if (!st.ok()) return st;
      relay->Start();
      for (const SocketAddress& bound : relay->BoundAddresses()) {
        server->bound_.push_back(bound.ToString());
      }
      server->relays_.push_back(std::move(relay));
    }
  }
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
  HttpResponse response = static_cast<HttpServer*>(self)->Handle(request, accepts_gzip);

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
