#include "config/config_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX, not in a header

namespace portmap {

namespace {

constexpr std::string_view kCheckFlag = "--internal.yaml-check=";
// In the check's environment: a check started from an executable whose
// main() does not call RunYamlCheckIfAsked runs that main() instead, and must
// not start checks of its own from there.
constexpr const char* kCheckEnvName = "PORTMAP_YAML_CHECK";
// What the check reads from its stdin; callers bound files to 4 MiB.
constexpr size_t kMaxCheckInput = size_t{8} << 20;
// An error message; more of a report is the check gone wrong.
constexpr size_t kMaxReport = size_t{64} << 10;

// Writes all of `data` to `fd`; errors are ignored: the parent then sees a
// short report and says so.
void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// The data segment (VmData) so far: the binary's own and its libraries'
// allocations at start.  Read without allocating.  Unused under
// AddressSanitizer (LimitCheckMemory).
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
// the loop's allocations into std::bad_alloc, which the parsers report.  Not
// under AddressSanitizer, whose shadow memory counts against it.
void LimitCheckMemory() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(PORTMAP_ASAN)
  const rlim_t bytes = CurrentDataBytes() + (rlim_t{256} << 20);
  const rlimit limit{bytes, bytes};
  (void)setrlimit(RLIMIT_DATA, &limit);
#endif
}

Status RunParser(std::span<const YamlCheckParser> parsers, std::string_view which,
                 std::string_view yaml, const std::string& file) {
  for (const YamlCheckParser& parser : parsers) {
    if (parser.name == which) return parser.check(yaml, file);
  }
  return Status::Error("unknown parser \"" + std::string(which) + "\"");
}

// Waits for the check; returns how it ended, for the error message.
std::string Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "not waited for: " + ErrnoText(errno);
  }
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

// Starts this executable as a check of `which` on `file`, its stdin and
// stdout one end of a socket pair (send with MSG_NOSIGNAL: a check that dies
// before reading everything must not SIGPIPE the exporter).  Returns 0 or an
// errno; `*fd` is our end, nonblocking.
int SpawnCheck(std::string_view which, const std::string& file, pid_t* pid, int* fd) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return errno;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, sv[1], STDOUT_FILENO);
  // Descriptors another thread opened without O_CLOEXEC (civetweb's accepted
  // connections) are not the check's business.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The exporter blocks SIGTERM/SIGINT/SIGHUP in every thread for its
  // signal thread; the check starts with nothing blocked or handled.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  const std::string flag = std::string(kCheckFlag) + std::string(which);
  const char* argv[] = {"portmap_exporter-yaml-check", flag.c_str(), file.c_str(), nullptr};
  std::vector<const char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  const std::string mark = std::string(kCheckEnvName) + "=1";
  envp.push_back(mark.c_str());
  envp.push_back(nullptr);
  // posix_spawn's argv/envp are char* const[] for C's sake; nothing writes them.
  const int err = posix_spawn(
      pid, "/proc/self/exe", &actions, &attr,
      const_cast<char* const*>(argv),          // NOLINT(cppcoreguidelines-pro-type-const-cast)
      const_cast<char* const*>(envp.data()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(sv[1]);
  if (err != 0) {
    close(sv[0]);
    return err;
  }
  (void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
  *fd = sv[0];
  return 0;
}

// How a check ended, as the parent saw it.
struct CheckRun {
  bool started = false;  // the check read its input and began to parse
  bool timed_out = false;
  std::string report;  // without the start mark
  std::string ended;   // Reap's words
};

// Feeds `yaml` to the check and collects its report: "." once it has read
// everything (the parse clock starts there), then "ok" or "error MESSAGE".
CheckRun Converse(pid_t pid, int fd, std::string_view yaml, std::chrono::milliseconds limit) {
  CheckRun run;
  bool eof = false;
  bool writing = true;
  if (yaml.empty()) {
    shutdown(fd, SHUT_WR);
    writing = false;
  }
  auto deadline = std::chrono::steady_clock::now() + kCheckStartLimit;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      run.timed_out = true;
      break;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      run.timed_out = true;
      break;
    }
    if (r < 0) break;
    if (writing && (p.revents & POLLOUT) != 0) {
      const ssize_t n = send(fd, yaml.data(), yaml.size(), MSG_NOSIGNAL);
      if (n > 0) yaml.remove_prefix(static_cast<size_t>(n));
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || yaml.empty()) {
        shutdown(fd, SHUT_WR);
        writing = false;
      }
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n == 0) {  // the check has reported and exited (or died)
      eof = true;
      break;
    }
    if (n < 0) break;
    size_t from = 0;
    if (!run.started && buffer[0] == '.') {
      run.started = true;
      deadline = std::chrono::steady_clock::now() + limit;
      from = 1;
    }
    if (run.report.size() < kMaxReport)
      run.report.append(buffer + from, static_cast<size_t>(n) - from);
  }
  close(fd);
  // Anything but the check's own end (a timeout, a poll or read error) may
  // leave it looping: Reap must not wait for that.
  if (!eof) kill(pid, SIGKILL);
  run.ended = Reap(pid);
  return run;
}

Status CheckInNewProcess(std::string_view which, std::string_view yaml, const std::string& file,
                         std::chrono::milliseconds limit) {
  // The exporter never sets its environment after start.
  if (getenv(kCheckEnvName) != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    return Status::Error(file +
                         ": not checked: this is a YAML check process whose executable "
                         "does not call RunYamlCheckIfAsked");
  }
  pid_t pid = 0;
  int fd = -1;
  if (const int err = SpawnCheck(which, file, &pid, &fd); err != 0) {
    return Status::Error(file +
                         ": cannot start the YAML check (/proc/self/exe): " + ErrnoText(err));
  }
  const CheckRun run = Converse(pid, fd, yaml, limit);
  constexpr const char* kWhy =
      " (libyaml-cpp 0.7 loops on some malformed input, e.g. a ',' where a value should "
      "start); check the file's syntax";
  if (run.timed_out && run.started) {
    return Status::Error(file + ": the YAML parser did not finish within " +
                         std::to_string(limit.count()) + " ms" + kWhy);
  }
  if (run.timed_out) {
    return Status::Error(file + ": the YAML check process did not start within " +
                         std::to_string(kCheckStartLimit.count()) + " ms");
  }
  if (run.report.find("bad_alloc") != std::string::npos) {
    return Status::Error(file + ": the YAML parser ran out of its 256 MiB" + kWhy);
  }
  if (run.report.rfind("error ", 0) == 0) return Status::Error(run.report.substr(6));
  if (run.report != "ok") {
    return Status::Error(file + ": the YAML parser's check ended abnormally (" + run.ended +
                         ", report \"" + run.report.substr(0, 80) + "\")");
  }
  return Status::Ok();
}

}  // namespace

Status RunParserBounded(const YamlCheckParser& parser, std::string_view yaml,
                        const std::string& file, std::chrono::milliseconds limit,
                        const std::function<Status()>& parse) {
  if (Status checked = CheckInNewProcess(parser.name, yaml, file, limit); !checked.ok()) {
    return checked;
  }
  return parse();
}

bool RunYamlCheckIfAsked(int argc, const char* const* argv,
                         std::span<const YamlCheckParser> parsers, int* exit_code) {
  if (argc != 3 || std::string_view(argv[1]).rfind(kCheckFlag, 0) != 0) return false;
  const std::string_view which = std::string_view(argv[1]).substr(kCheckFlag.size());
  std::string yaml;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(STDIN_FILENO, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || yaml.size() + static_cast<size_t>(n) > kMaxCheckInput) break;
    yaml.append(buffer, static_cast<size_t>(n));
  }
  WriteAll(STDOUT_FILENO, ".");
  LimitCheckMemory();
  *exit_code = 0;
  try {
    const Status st = RunParser(parsers, which, yaml, argv[2]);
    WriteAll(STDOUT_FILENO, st.ok() ? std::string("ok") : "error " + st.message());
  } catch (const std::bad_alloc&) {
    // Out of the cap while building the message itself: no allocation here.
    WriteAll(STDOUT_FILENO, "error std::bad_alloc");
  }
  return true;
}

}  // namespace portmap
