// The Docker Engine API, just enough to list published ports: GET
// /containers/json on the daemon's unix socket (opt-in discovery for the
// probe collector: read access to that socket is root-equivalent, so it is
// off unless the configuration turns it on).
//
// Unlike nat DOCKER's DNAT rules, the API still lists a container's ports
// after firewalld wiped the chains, and when the daemon runs with
// "iptables": false.
//
// Thread safety: reentrant; nothing is shared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "util/status.h"

namespace portmap {

struct DockerApiPort {
  std::string proto;    // "tcp" | "udp" | "sctp"
  std::string host_ip;  // "0.0.0.0", "::", "127.0.0.1", ...
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string container;  // the first name, without the leading '/'
};

// Parses the JSON array /containers/json returns; entries of `Ports` without
// a PublicPort (exposed, not published) are skipped.  Malformed JSON or a
// body that is not an array is an error saying where ("parse error at byte
// N", "[1].Ports[0].PublicPort: 70000 is out of range").  A missing IP is
// kept as ""; a container without Names is named by its 12-digit short Id.
// Replaces *out; empty on error.
Status ParseContainersJson(std::string_view body, std::vector<DockerApiPort>* out);

// One HTTP/1.1 GET of `path` on the daemon's unix socket `socket_path`,
// bounded by `deadline`: UnixHttpGet (unix_http.h) with Host: docker, Accept:
// application/json, and errors about the answer starting "docker API".  A
// status other than 200 is an error quoting it and the first 200 bytes of
// the body ("docker API answered 404 Not Found: {...}").  The body is capped
// at 16 MiB.  Transport errors name the socket ("connect
// /var/run/docker.sock: No such file or directory", "timed out reading the
// answer from ...").  *body is empty unless the answer was a complete 200.
Status DockerApiGet(const std::string& socket_path, const std::string& path,
                    Clock::time_point deadline, std::string* body);

// DockerApiGet("/containers/json") + ParseContainersJson (running
// containers only, Docker's default).  Replaces *out.
Status ReadDockerApiPorts(const std::string& socket_path, Clock::time_point deadline,
                          std::vector<DockerApiPort>* out);

}  // namespace portmap
