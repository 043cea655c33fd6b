// Runs a portmap_exporter binary as a child process for end-to-end tests and
// talks HTTP to it with libcurl.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace portmap::testing {

struct HttpResult {
  long status = 0;  // 0 when the request failed; see error
  std::string error;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  double seconds = 0;
};

struct HttpCall {
  std::string method = "GET";
  std::vector<std::string> headers;  // "Name: value"
  bool decode_gzip = false;          // send Accept-Encoding: gzip and inflate
  long timeout_ms = 20000;
};

HttpResult Http(const std::string& url, const HttpCall& call = {});

// The value of the sample written exactly as `name_and_labels` (e.g.
// `portmap_probe_success{vantage="local",target="127.0.0.1:80"}`) in an
// exposition `body`; "" when there is none.
std::string Series(const std::string& body, const std::string& name_and_labels);

// Result of running the binary to completion (for flag errors, --version).
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                    std::chrono::milliseconds limit = std::chrono::seconds(10));

class ExporterProcess {
 public:
  // Starts `binary` with `args` plus --web.listen-address=127.0.0.1:0 (unless
  // args name an address) and waits, bounded, for its "Listening on" lines.
  ExporterProcess(const std::string& binary, std::vector<std::string> args);
  ExporterProcess(const ExporterProcess&) = delete;
  ExporterProcess& operator=(const ExporterProcess&) = delete;
  ~ExporterProcess();  // SIGTERM, then SIGKILL after 5 s

  bool started() const { return !addresses_.empty(); }
  const std::vector<std::string>& addresses() const { return addresses_; }
  std::string Url(const std::string& path) const { return "http://" + addresses_.at(0) + path; }
  pid_t pid() const { return pid_; }
  // Waits, bounded, until at least n "Listening on" addresses were logged
  // (":PORT" logs two: IPv4 and IPv6); returns how many there are.
  size_t WaitForAddresses(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(5));
  // Everything written to stderr so far.
  std::string Log();
  // Sends SIGTERM and returns the exit code (bounded).
  int Stop();

 private:
  void Drain(std::chrono::milliseconds wait);
  void ParseAddresses();

  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string log_;
  std::vector<std::string> addresses_;
};

}  // namespace portmap::testing
