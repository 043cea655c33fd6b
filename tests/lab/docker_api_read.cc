// portmap_docker_api_read: what ReadDockerApiPorts makes of a real dockerd's
// /containers/json, one published port per line:
//
//   tcp 0.0.0.0:8080->80 web
//   tcp [::]:8080->80 web
//
// Usage: portmap_docker_api_read SOCKET [--body FILE] [--timeout-ms N]
//   --body FILE     also writes the raw body DockerApiGet returned to FILE
//                   (how tests/fixtures/docker_api/ is recorded)
//   --timeout-ms N  the deadline for the whole exchange (default 5000)
//
// Exits 0 when the daemon answered and the body parsed, 1 otherwise (the
// error on stderr), 2 on a usage error.  The lab tests run it inside the
// dockerhost namespace against tests/lab/dockerd.sh's socket.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "collectors/docker_api.h"

namespace {

int Usage() {
  std::cerr << "usage: portmap_docker_api_read SOCKET [--body FILE] [--timeout-ms N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string socket_path = argv[1];
  std::string body_file;
  long timeout_ms = 5000;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--body" && i + 1 < argc) {
      body_file = argv[++i];
    } else if (arg == "--timeout-ms" && i + 1 < argc) {
      char* end = nullptr;
      timeout_ms = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || timeout_ms <= 0) return Usage();
    } else {
      return Usage();
    }
  }
  const auto deadline = portmap::Clock::now() + std::chrono::milliseconds(timeout_ms);

  if (!body_file.empty()) {
    // A second request, so the ports below come from ReadDockerApiPorts
    // itself, exactly as the exporter calls it.
    std::string body;
    portmap::Status s = portmap::DockerApiGet(socket_path, "/containers/json", deadline, &body);
    if (!s.ok()) {
      std::cerr << "portmap_docker_api_read: " << s.message() << "\n";
      return 1;
    }
    std::ofstream out(body_file, std::ios::binary);
    out << body;
    if (!out.flush()) {
      std::cerr << "portmap_docker_api_read: cannot write " << body_file << "\n";
      return 1;
    }
  }

  std::vector<portmap::DockerApiPort> ports;
  portmap::Status s = portmap::ReadDockerApiPorts(socket_path, deadline, &ports);
  if (!s.ok()) {
    std::cerr << "portmap_docker_api_read: " << s.message() << "\n";
    return 1;
  }
  for (const portmap::DockerApiPort& p : ports) {
    const bool v6 = p.host_ip.find(':') != std::string::npos;
    std::printf("%s %s%s%s:%u->%u %s\n", p.proto.c_str(), v6 ? "[" : "", p.host_ip.c_str(),
                v6 ? "]" : "", p.host_port, p.container_port, p.container.c_str());
  }
  return 0;
}
