#include "tests/e2e/exporter_process.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <thread>

extern char** environ;

namespace portmap::testing {

namespace {

using Clock = std::chrono::steady_clock;

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of("\r\n \t") + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * n;
}

// Reads what is available from fd into *out, waiting at most `wait`.
void ReadAvailable(int fd, std::string* out, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return;
    out->append(buf, static_cast<size_t>(n));
  }
}

pid_t Spawn(const std::string& binary, const std::vector<std::string>& args, int out_fd,
            int err_fd) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Waits for pid, bounded; returns the exit code, 128+signal, or -1.
int WaitBounded(pid_t pid, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace

std::string Series(const std::string& body, const std::string& name_and_labels) {
  std::regex re(
      "(^|\n)" +
      std::regex_replace(name_and_labels, std::regex(R"([{}.\[\]()*+?^$|\\])"), R"(\$&)") +
      " (\\S+)");
  std::smatch m;
  return std::regex_search(body, m, re) ? m[2].str() : "";
}

HttpResult Http(const std::string& url, const HttpCall& call) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  for (const auto& h : call.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, call.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  if (call.decode_gzip) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  if (call.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (call.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  const auto start = Clock::now();
  CURLcode rc = curl_easy_perform(curl);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

RunResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                    std::chrono::milliseconds limit) {
  RunResult result;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return result;
  pid_t pid = Spawn(binary, args, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (pid > 0) {
    const auto until = Clock::now() + limit;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    int code = -1;
    while (Clock::now() < until && code < 0) {
      ReadAvailable(out[0], &result.out, std::chrono::milliseconds(10));
      ReadAvailable(err[0], &result.err, std::chrono::milliseconds(10));
      code = WaitBounded(pid, std::chrono::milliseconds(1));
    }
    if (code < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    ReadAvailable(out[0], &result.out, std::chrono::milliseconds(10));
    ReadAvailable(err[0], &result.err, std::chrono::milliseconds(10));
    result.exit_code = code;
  }
  close(out[0]);
  close(err[0]);
  return result;
}

ExporterProcess::ExporterProcess(const std::string& binary, std::vector<std::string> args) {
  bool has_address = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a.rfind("--web.listen-address", 0) == 0;
  });
  if (!has_address) args.push_back("--web.listen-address=127.0.0.1:0");
  int err[2];
  if (pipe2(err, O_CLOEXEC) != 0) return;
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_ = Spawn(binary, args, devnull, err[1]);
  close(devnull);
  close(err[1]);
  err_fd_ = err[0];
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  if (pid_ <= 0) return;

  // Wait for every "Listening on" line: one per address asked for.
  size_t want = std::max<size_t>(1, std::count_if(args.begin(), args.end(), [](const auto& a) {
                                   return a.rfind("--web.listen-address", 0) == 0;
                                 }));
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until && addresses_.size() < want) {
    Drain(std::chrono::milliseconds(50));
    ParseAddresses();
    if (WaitBounded(pid_, std::chrono::milliseconds(0)) >= 0) {
      pid_ = -1;  // exited during start-up
      break;
    }
  }
}

void ExporterProcess::ParseAddresses() {
  // logfmt or json, whichever --log.format the test chose.
  static const std::regex kListening(
      R"re((?:msg="Listening on" address=|"msg":"Listening on","address":")([^"\s]+))re");
  addresses_.clear();
  for (std::sregex_iterator it(log_.begin(), log_.end(), kListening), end; it != end; ++it) {
    std::string address = (*it)[1];
    // Wildcards are reached through the loopback address of their family.
    if (address.rfind("0.0.0.0:", 0) == 0) address = "127.0.0.1:" + address.substr(8);
    if (address.rfind("[::]:", 0) == 0) address = "[::1]:" + address.substr(5);
    addresses_.push_back(address);
  }
}

size_t ExporterProcess::WaitForAddresses(size_t n, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (addresses_.size() < n && Clock::now() < until) {
    Drain(std::chrono::milliseconds(50));
    ParseAddresses();
  }
  return addresses_.size();
}

void ExporterProcess::Drain(std::chrono::milliseconds wait) { ReadAvailable(err_fd_, &log_, wait); }

std::string ExporterProcess::Log() {
  Drain(std::chrono::milliseconds(20));
  return log_;
}

int ExporterProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int code = WaitBounded(pid_, std::chrono::seconds(5));
  if (code < 0) {
    kill(pid_, SIGKILL);
    code = WaitBounded(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
  Drain(std::chrono::milliseconds(20));
  return code;
}

ExporterProcess::~ExporterProcess() {
  Stop();
  if (err_fd_ >= 0) close(err_fd_);
}

}  // namespace portmap::testing
