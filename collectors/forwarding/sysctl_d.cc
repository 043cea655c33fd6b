#include "collectors/forwarding/sysctl_d.h"

#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>

#include "util/paths.h"
#include "util/procfs.h"

namespace portmap {

namespace {

// systemd's LONG_LINE_MAX: a longer line makes read_line() fail, and
// systemd-sysctl stops reading that file (keeping what it already parsed).
constexpr size_t kLongLineMax = size_t{1024} * 1024;
// How much of an offending line a problem quotes.
constexpr size_t kDetailMax = 80;
// Symlink hops followed before giving up (the kernel's own limit is 40).
constexpr int kMaxSymlinkHops = 40;

constexpr std::array<std::string_view, 5> kConfDirs = {
    "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
    "/lib/sysctl.d",  // only when it is not /usr/lib/sysctl.d; see IsSeparateLibDir
};
constexpr std::string_view kSysctlConf = "/etc/sysctl.conf";
constexpr std::string_view kDevNull = "/dev/null";

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Strip(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool IsGlob(std::string_view key) { return key.find_first_of("*?[") != std::string_view::npos; }

// Lexically resolves "." and ".." in an absolute path ("/etc/sysctl.d/../x"
// becomes "/etc/x"), so a link target is labelled the way a reader expects.
std::string CleanAbsolute(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = end + 1;
  }
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

// Follows `host_path` (a path as seen on the host) through symlinks, each
// target taken below `rootfs`.  Sets *masked when a link leads to /dev/null.
// Returns false with *missing when a link dangles (systemd ignores those).
bool FollowLinks(const std::string& rootfs, std::string host_path, std::string* resolved,
                 bool* masked, bool* missing) {
  *masked = false;
  *missing = false;
  for (int hop = 0; hop < kMaxSymlinkHops; ++hop) {
    if (host_path == kDevNull) {
      *masked = true;
      return true;
    }
    std::string real = Paths::Join(rootfs, host_path);
    struct stat st {};
    if (::lstat(real.c_str(), &st) != 0) {
      *missing = (errno == ENOENT || errno == ENOTDIR);
      *resolved = host_path;
      return *missing;  // other errors surface when the file is read
    }
    if (!S_ISLNK(st.st_mode)) {
      *resolved = host_path;
      return true;
    }
    std::array<char, 4096> target{};
    ssize_t n = ::readlink(real.c_str(), target.data(), target.size() - 1);
    if (n < 0) {
      *resolved = host_path;
      return true;
    }
    std::string_view t(target.data(), static_cast<size_t>(n));
    if (!t.empty() && t.front() == '/') {
      host_path = CleanAbsolute(t);
    } else {
      host_path = CleanAbsolute(host_path.substr(0, host_path.rfind('/') + 1) + std::string(t));
    }
  }
  *resolved = host_path;
  return true;  // a loop: reading it fails with ELOOP and is reported
}

// /lib/sysctl.d counts only where it is a separate directory: on merged-/usr
// hosts /lib is a link to usr/lib, and listing it again would only relabel
// files already seen.
bool IsSeparateLibDir(const std::string& rootfs) {
  std::string lib = Paths::Join(rootfs, "/lib");
  std::array<char, 256> target{};
  ssize_t n = ::readlink(lib.c_str(), target.data(), target.size() - 1);
  if (n > 0) {
    std::string_view t(target.data(), static_cast<size_t>(n));
    if (t == "usr/lib" || t == "/usr/lib" || t == "usr/lib/" || t == "/usr/lib/") return false;
  }
  struct stat a {};
  struct stat b {};
  if (::stat(Paths::Join(rootfs, "/lib/sysctl.d").c_str(), &a) != 0) return false;
  if (::stat(Paths::Join(rootfs, "/usr/lib/sysctl.d").c_str(), &b) != 0) return true;
  return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

void AddEntry(SysctlConfig* config, SysctlEntry entry) {
  auto& entries = config->entries;
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const SysctlEntry& e) { return e.key == entry.key; });
  if (it != entries.end()) {
    // Same value: systemd keeps the earlier entry, its place and its origin.
    if (it->has_value == entry.has_value && it->value == entry.value) return;
    entries.erase(it);
  }
  entries.push_back(std::move(entry));
}

void ReadOneFile(const std::string& rootfs, const std::string& label, const std::string& host_path,
                 SysctlConfig* config) {
  std::string contents;
  ReadResult r = ReadFile(Paths::Join(rootfs, host_path), &contents);
  if (r.code == ReadResult::Code::kNotFound) return;  // systemd: ignore_enoent
  config->files.push_back(label);
  if (!r.ok()) {
    config->problems.push_back({label, 0, SysctlProblem::Kind::kUnreadable, r.error});
    return;
  }
  ParseSysctlConf(label, contents, config);
}

}  // namespace

std::string_view SysctlProblemKindName(SysctlProblem::Kind kind) {
  switch (kind) {
    case SysctlProblem::Kind::kUnreadable:
      return "unreadable";
    case SysctlProblem::Kind::kNotAssignment:
      return "not_assignment";
    case SysctlProblem::Kind::kLineTooLong:
      return "line_too_long";
  }
  return "unknown";
}

std::string NormalizeSysctlKey(std::string_view key) {
  std::string s(key);
  size_t first = s.find_first_of("/.");
  if (first != std::string::npos && s[first] == '.') {
    for (size_t i = first; i < s.size(); ++i) {
      if (s[i] == '.') {
        s[i] = '/';
      } else if (s[i] == '/') {
        s[i] = '.';
      }
    }
  }
  // path_simplify(): drop empty and "." components; then no leading '/'.
  std::string out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find('/', pos);
    if (end == std::string::npos) end = s.size();
    std::string_view part(s.data() + pos, end - pos);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    pos = end + 1;
  }
  return out;
}

void ParseSysctlConf(std::string_view file, std::string_view contents, SysctlConfig* config) {
  unsigned line_no = 0;
  size_t pos = 0;
  while (pos < contents.size()) {
    size_t end = pos;
    while (end < contents.size() && contents[end] != '\n' && contents[end] != '\r' &&
           contents[end] != '\0') {
      ++end;
    }
    std::string_view raw = contents.substr(pos, end - pos);
    size_t next = end + 1;
    if (end + 1 < contents.size() && contents[end] == '\r' && contents[end + 1] == '\n') ++next;
    pos = next;
    ++line_no;
    if (raw.size() > kLongLineMax) {
      config->problems.push_back({std::string(file), line_no, SysctlProblem::Kind::kLineTooLong,
                                  "line longer than 1 MiB; rest of file ignored"});
      return;
    }

    std::string_view p = Strip(raw);
    if (p.empty() || p.front() == '#' || p.front() == ';') continue;

    SysctlEntry entry;
    entry.file = std::string(file);
    entry.line = line_no;
    size_t eq = p.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = p.substr(0, eq);
      if (!key.empty() && key.front() == '-') key.remove_prefix(1);  // ignore failures only
      entry.key = NormalizeSysctlKey(Strip(key));
      entry.has_value = true;
      entry.value = std::string(Strip(p.substr(eq + 1)));
    } else if (p.front() == '-') {
      entry.key = NormalizeSysctlKey(Strip(p.substr(1)));  // negative match
    } else {
      config->problems.push_back({std::string(file), line_no, SysctlProblem::Kind::kNotAssignment,
                                  std::string(p.substr(0, kDetailMax))});
      continue;
    }
    AddEntry(config, std::move(entry));
  }
}

SysctlConfig LoadSysctlConfig(const std::string& rootfs) {
  SysctlConfig config;
  std::map<std::string, std::string> by_name;  // base name -> host path; sorted
  for (std::string_view dir : kConfDirs) {
    if (dir == "/lib/sysctl.d" && !IsSeparateLibDir(rootfs)) continue;
    std::vector<std::string> names;
    ReadResult r = ListDir(Paths::Join(rootfs, dir), &names);
    if (r.code == ReadResult::Code::kNotFound) continue;
    if (!r.ok()) {
      config.problems.push_back({std::string(dir), 0, SysctlProblem::Kind::kUnreadable, r.error});
      continue;
    }
    for (const std::string& name : names) {
      if (name.front() == '.' || name.size() <= 5 ||
          name.compare(name.size() - 5, 5, ".conf") != 0) {
        continue;
      }
      // The first directory to hold a name wins, masks included.
      by_name.try_emplace(name, std::string(dir) + "/" + name);
    }
  }

  bool read_sysctl_conf = false;
  for (const auto& [name, listed] : by_name) {
    std::string resolved;
    bool masked = false;
    bool missing = false;
    FollowLinks(rootfs, listed, &resolved, &masked, &missing);
    if (masked || missing) continue;
    if (resolved == kSysctlConf) read_sysctl_conf = true;
    ReadOneFile(rootfs, listed, resolved, &config);
  }
  if (!read_sysctl_conf) {
    ReadOneFile(rootfs, std::string(kSysctlConf), std::string(kSysctlConf), &config);
  }
  return config;
}

SysctlResolution ResolveSysctl(const SysctlConfig& config, std::span<const std::string_view> keys) {
  std::vector<std::string> wanted;
  wanted.reserve(keys.size());
  for (std::string_view k : keys) wanted.push_back(NormalizeSysctlKey(k));
  auto has_explicit = [&](const std::string& key) {
    return std::any_of(config.entries.begin(), config.entries.end(),
                       [&](const SysctlEntry& e) { return e.key == key; });
  };

  const SysctlEntry* winner = nullptr;
  for (const SysctlEntry& e : config.entries) {
    if (!e.has_value) continue;  // negative matches never write
    if (IsGlob(e.key)) {
      for (const std::string& key : wanted) {
        if (!has_explicit(key) &&
            ::fnmatch(e.key.c_str(), key.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) {
          winner = &e;
        }
      }
    } else if (std::find(wanted.begin(), wanted.end(), e.key) != wanted.end()) {
      winner = &e;
    }
  }
  SysctlResolution out;
  if (winner != nullptr) {
    out.set = true;
    out.file = winner->file;
    out.line = winner->line;
    out.value = winner->value;
  }
  return out;
}

}  // namespace portmap
