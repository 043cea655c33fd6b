#include "exporter/config_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "exporter/config.h"

namespace portmap {

namespace {

// Writes all of `data` to `fd` (the child's report); errors are ignored: the
// parent then sees a short report and says so.
void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// The child's data segment (VmData) at the fork: the parent's heap, and every
// thread's stack, all inherited.  Read without allocating.  Unused under
// AddressSanitizer (LimitChildMemory).
[[maybe_unused]] rlim_t CurrentDataBytes() {
  char buffer[4096];
  const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  if (n <= 0) return 0;
  buffer[n] = '\0';
  const char* line = strstr(buffer, "\nVmData:");
  if (line == nullptr) return 0;
  return static_cast<rlim_t>(strtoull(line + 8, nullptr, 10)) * 1024;
}

// A file is at most 4 MiB and parses in far less than 256 MiB; the cap turns
// the loop's allocations into std::bad_alloc, which ParseConfig reports.  On
// top of what the fork inherited (the exporter's threads' stacks count).
// Not under AddressSanitizer, whose shadow memory counts against it.
void LimitChildMemory() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(PORTMAP_ASAN)
  const rlim_t bytes = CurrentDataBytes() + (rlim_t{256} << 20);
  const rlimit limit{bytes, bytes};
  (void)setrlimit(RLIMIT_DATA, &limit);
#endif
}

// Waits for the child; returns how it ended, for the error message.
std::string Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "not waited for: " + ErrnoText(errno);
  }
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

namespace {

Status CheckInChild(const std::string& file, std::chrono::milliseconds limit,
                    const std::function<Status()>& parse);

}  // namespace

Status ParseConfigBounded(std::string_view yaml, const std::string& file,
                          std::chrono::milliseconds limit, ProbeConfig* out) {
  return RunParserBounded(file, limit, [&] { return ParseConfig(yaml, file, out); });
}

Status RunParserBounded(const std::string& file, std::chrono::milliseconds limit,
                        const std::function<Status()>& parse) {
  // Forked from a thread of our own: the caller may be one of civetweb's
  // workers (POST /-/reload), and a child forked from one died with SIGSEGV
  // in the lab (lab.probe) while the same check forked from a std::thread or
  // the main thread did not.
  Status status;
  std::thread([&] { status = CheckInChild(file, limit, parse); }).join();
  return status;
}

namespace {

Status CheckInChild(const std::string& file, std::chrono::milliseconds limit,
                    const std::function<Status()>& parse) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Error("pipe: " + ErrnoText(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    return Status::Error("fork: " + ErrnoText(err));
  }
  if (pid == 0) {
    close(fds[0]);
    LimitChildMemory();
    const Status st = parse();
    WriteAll(fds[1], st.ok() ? std::string("ok") : "error " + st.message());
    _exit(0);
  }
  close(fds[1]);
  std::string report;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      timed_out = true;
      break;
    }
    char buffer[4096];
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child has written everything and exited
    report.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  constexpr const char* kWhy =
      " (libyaml-cpp 0.7 loops on some malformed input, e.g. a ',' where a value should "
      "start); check the file's syntax";
  if (timed_out) {
    kill(pid, SIGKILL);
    Reap(pid);
    return Status::Error(file + ": the YAML parser did not finish within " +
                         std::to_string(limit.count()) + " ms" + kWhy);
  }
  const std::string ended = Reap(pid);
  if (report.find("bad_alloc") != std::string::npos) {
    return Status::Error(file + ": the YAML parser ran out of its 256 MiB" + kWhy);
  }
  if (report.rfind("error ", 0) == 0) return Status::Error(report.substr(6));
  if (report != "ok")
    return Status::Error(file + ": the YAML parser's check ended abnormally (" + ended +
                         ", report \"" + report.substr(0, 80) + "\")");
  return parse();
}

}  // namespace

}  // namespace portmap
