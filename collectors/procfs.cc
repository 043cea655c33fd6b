#include "collectors/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "collectors/status.h"

namespace portmap {

namespace {

ReadResult FromErrno(int err, const std::string& what, const std::string& path) {
  ReadResult r;
  r.code =
      (err == ENOENT || err == ENOTDIR) ? ReadResult::Code::kNotFound : ReadResult::Code::kError;
  r.error = what + " " + path + ": " + ErrnoText(err);
  return r;
}

}  // namespace

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

}  // namespace portmap
