#include "util/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "util/paths.h"
#include "util/status.h"

namespace portmap {

namespace {

ReadResult FromErrno(int err, const std::string& what, const std::string& path) {
  ReadResult r;
  r.code =
      (err == ENOENT || err == ENOTDIR) ? ReadResult::Code::kNotFound : ReadResult::Code::kError;
  r.error = what + " " + path + ": " + ErrnoText(err);
  return r;
}

ReadResult Malformed(const std::string& path, const std::string& why) {
  ReadResult r;
  r.code = ReadResult::Code::kError;
  r.error = "parse " + path + ": " + why;
  return r;
}

// btime from <procfs>/stat: the boot time, Unix seconds.
ReadResult BootTime(const Paths& paths, int64_t* btime) {
  const std::string path = paths.Proc("stat");
  std::string text;
  ReadResult r = ReadFile(path, &text);
  if (!r.ok()) return r;
  const size_t at = text.find("\nbtime ");
  if (at == std::string::npos) return Malformed(path, "no btime line");
  const size_t begin = at + 7;
  const size_t end = text.find('\n', begin);
  if (!ParseTrimmedInt64(std::string_view(text).substr(begin, end - begin), btime)) {
    return Malformed(path, "bad btime");
  }
  return {};
}

}  // namespace

bool ParseTrimmedInt64(std::string_view s, int64_t* out) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

ReadResult ReadFile(const std::string& path, std::string* contents) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "open", path);
  contents->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return FromErrno(err, "read", path);
    }
    contents->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return {};
}

int ReadFileUpTo(const std::string& path, size_t max_bytes, std::string* contents,
                 bool* too_large) {
  *too_large = false;
  contents->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  std::vector<char> buffer(size_t{64} * 1024);
  int err = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    contents->append(buffer.data(), static_cast<size_t>(n));
    if (contents->size() > max_bytes) {
      *too_large = true;
      break;
    }
  }
  ::close(fd);
  return err;
}

ReadResult ReadInt64(const std::string& path, int64_t* value) {
  std::string text;
  ReadResult r = ReadFile(path, &text);
  if (!r.ok()) return r;
  const char* begin = text.data();
  const char* end = begin + text.size();
  while (begin < end && (*begin == ' ' || *begin == '\t')) ++begin;
  while (end > begin && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) --end;
  auto [ptr, ec] = std::from_chars(begin, end, *value);
  if (ec != std::errc() || ptr != end || begin == end) {
    r.code = ReadResult::Code::kError;
    r.error = "parse " + path + ": not an integer: \"" + std::string(begin, end) + "\"";
  }
  return r;
}

ReadResult ListDir(const std::string& path, std::vector<std::string>* names) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return FromErrno(errno, "opendir", path);
  names->clear();
  // readdir is safe here: the DIR stream is this call's own.
  while (const dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names->emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names->begin(), names->end());
  return {};
}

ReadResult ProcessComm(const Paths& paths, int64_t pid, std::string* comm) {
  ReadResult r = ReadFile(paths.Proc(std::to_string(pid) + "/comm"), comm);
  if (r.ok() && !comm->empty() && comm->back() == '\n') comm->pop_back();
  return r;
}

ReadResult ProcessStartTicks(const Paths& paths, int64_t pid, int64_t* ticks) {
  const std::string path = paths.Proc(std::to_string(pid) + "/stat");
  std::string text;
  ReadResult r = ReadFile(path, &text);
  if (!r.ok()) return r;
  // comm (field 2) may hold spaces and parentheses: fields resume after the
  // last ')'.  starttime is field 22, the 20th after it.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return Malformed(path, "no ')' after comm");
  std::string_view rest = std::string_view(text).substr(close + 1);
  std::string_view field;
  for (int i = 0; i < 20; ++i) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t end = rest.find(' ');
    field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  if (!ParseTrimmedInt64(field, ticks)) return Malformed(path, "bad starttime");
  return {};
}

ReadResult ProcessStartTimeSeconds(const Paths& paths, int64_t pid, int64_t ticks_per_second,
                                   double* seconds) {
  int64_t ticks = 0;
  ReadResult r = ProcessStartTicks(paths, pid, &ticks);
  if (!r.ok()) return r;
  if (ticks_per_second <= 0) {
    return Malformed(paths.Proc(std::to_string(pid) + "/stat"), "bad starttime");
  }
  int64_t btime = 0;
  r = BootTime(paths, &btime);
  if (!r.ok()) return r;
  *seconds = static_cast<double>(btime) +
             static_cast<double>(ticks) / static_cast<double>(ticks_per_second);
  return {};
}

}  // namespace portmap
