// sysctl_d: what systemd-sysctl would write to a sysctl at boot.
//
// A value set with `sysctl -w` (dockerd does this for net.ipv4.ip_forward) is
// lost at the next reboot, or the next `sysctl --system` after something else
// turned it off, unless a boot-time file sets it.  This module answers "which
// file, which line, which value" the way systemd-sysctl (v252, Debian
// bookworm) computes it, reading everything below a root prefix
// (--path.rootfs) so tests use fixture trees and a container can read the
// host's root mounted elsewhere.
//
// The rules, from systemd's src/sysctl/sysctl.c and src/basic/conf-files.c:
//  - Files are the `*.conf` entries (not starting with '.') of, in order of
//    precedence, /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d,
//    /usr/lib/sysctl.d and /lib/sysctl.d (the last only where it is a separate
//    directory: Debian 252 is built split-usr, but on a merged-/usr host /lib
//    is /usr/lib and adds nothing).  A file name in an earlier directory masks
//    the same name in every later one; a symlink to /dev/null is such a mask
//    and contributes nothing itself.  Missing directories are skipped.
//  - The surviving files are read in the order of their base names
//    (strcmp), whatever directory they are in.
//  - Lines end at "\n", "\r\n", "\r" or NUL; each is stripped of blanks;
//    empty lines and lines starting with '#' or ';' are comments.
//    `[-]key = value`: a leading '-' only means "ignore write failures".
//    `-key` without '=' is a negative match: it excludes that key from globs.
//    Any other line without '=' is malformed (reported, then skipped).
//  - Keys use '.' or '/' (the first separator decides: with '.', dots and
//    slashes swap, so net.ipv4.conf.eth0/1.forwarding names interface eth0.1).
//  - Per key the last assignment wins; re-assigning the same value keeps the
//    earlier one's place (and so its file and line).  Keys with '*', '?' or
//    '[' are globs (fnmatch, '*' does not cross '/'); a glob does not touch a
//    key that has its own explicit (or negative) entry.  Writes happen in
//    entry order, so the last entry that writes a key wins.
//  - /etc/sysctl.conf: systemd >= 207 does not read it itself; distributions
//    link /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf (on Debian bookworm
//    the systemd package ships that link), so it is read in that place and a
//    later name such as 99-zzz.conf still overrides it.  When no listed file
//    leads to it, it is read last, as procps' `sysctl --system` and the
//    RHEL/CentOS 7 issue text describe.
//  - Masks: systemd-sysctl lists files without the /dev/null check
//    (conf_files_list flags 0), so a /dev/null link masks by shadowing the name
//    and by being empty; the effect is the same as a mask.
//  - Not visible from here: the `sysctl.extra` credential (systemd >= 252)
//    and files passed on the command line.
//
// Aliases: several keys can be one kernel switch (net.ipv4.ip_forward and
// net.ipv4.conf.all.forwarding); Resolve() takes all of them and reports the
// last write to any.
//
// Thread safety: everything here is a pure function of its arguments and the
// files it reads; no shared state.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portmap {

// A file or line that systemd-sysctl would complain about.
struct SysctlProblem {
  enum class Kind { kUnreadable, kNotAssignment, kLineTooLong };
  std::string file;   // path as on the host, e.g. "/etc/sysctl.d/10-x.conf"
  unsigned line = 0;  // 1-based; 0 when the whole file is concerned
  Kind kind = Kind::kUnreadable;
  std::string detail;  // the reason or the offending text (truncated)
};

std::string_view SysctlProblemKindName(SysctlProblem::Kind kind);

// One entry of the ordered option table systemd-sysctl builds.
struct SysctlEntry {
  std::string key;         // normalized: "net/ipv4/ip_forward"
  bool has_value = false;  // false for a negative match ("-key")
  std::string value;
  std::string file;
  unsigned line = 0;
};

// The merged configuration: entries in the order systemd-sysctl applies them.
struct SysctlConfig {
  std::vector<SysctlEntry> entries;
  std::vector<SysctlProblem> problems;
  std::vector<std::string> files;  // files read, in order (for debugging)
};

// The winning assignment for a switch.  `set` is false when nothing writes it.
struct SysctlResolution {
  bool set = false;
  std::string file;
  unsigned line = 0;
  std::string value;
};

// Normalizes a key the way systemd's sysctl_normalize() does: the result uses
// '/' separators, no leading '/', no empty or "." components.
std::string NormalizeSysctlKey(std::string_view key);

// Parses one file's contents into *config (pure; the fuzz target's entry).
// `file` only labels entries and problems.
void ParseSysctlConf(std::string_view file, std::string_view contents, SysctlConfig* config);

// Lists and parses every boot-time file below `rootfs` ("/" on the host).
// Never fails: unreadable files and directories become problems.
SysctlConfig LoadSysctlConfig(const std::string& rootfs);

// The last write to any of `keys` (normalized or not) when `config` is applied.
SysctlResolution ResolveSysctl(const SysctlConfig& config, std::span<const std::string_view> keys);

}  // namespace portmap
