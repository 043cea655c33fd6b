// A minimal HTTP/1.1 client for daemons that serve their API on a unix
// socket (the Docker Engine API, docker_api.h): one GET per connection,
// bounded by a deadline.
//
// Thread safety: reentrant; nothing is shared.
#pragma once

#include <string>
#include <string_view>

#include "collectors/collector.h"
#include "util/status.h"

namespace portmap {

// Who is asked: names in the request and in errors about the answer.
struct UnixHttpServer {
  std::string_view name;    // starts errors about the answer: "docker API"
  std::string_view host;    // the Host header: "docker"
  std::string_view accept;  // the Accept header: "application/json"
};

// One HTTP/1.1 GET of `path` on the unix socket `socket_path`, bounded by
// `deadline` (connect, write and every read).  Handles Content-Length and
// chunked bodies, or reads to EOF (the request says Connection: close), and
// skips 1xx interim answers.  A status other than 200 is an error quoting it
// and the first 200 bytes of the body ("docker API answered 404 Not Found:
// {...}", server.name first).  The body is capped at 16 MiB, a line at 8
// KiB, the headers (and trailers) at 64 KiB; a malformed or oversized answer
// is an error starting with server.name ("docker API sent a malformed status
// line: ...").  Transport errors name the socket ("connect
// /var/run/docker.sock: No such file or directory", "timed out reading the
// answer from ...").  *body is empty unless the answer was a complete 200.
Status UnixHttpGet(const std::string& socket_path, const std::string& path,
                   const UnixHttpServer& server, Clock::time_point deadline, std::string* body);

}  // namespace portmap
