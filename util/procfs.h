// Typed readers for the small text files of /proc and /sys.
//
// Errors are values: a missing file is reported as such (kNotFound) so a
// collector can turn it into "no data" (node_exporter maps ENOENT the same way)
// while any other failure is an error naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/paths.h"

namespace portmap {

struct ReadResult {
  enum class Code { kOk, kNotFound, kError };
  Code code = Code::kOk;
  std::string error;  // names the file and the reason when code != kOk
  bool ok() const { return code == Code::kOk; }
};

// Reads the whole file (procfs files report size 0, so no stat-then-read).
ReadResult ReadFile(const std::string& path, std::string* contents);

// Reads a whole file of bounded size (a configuration file, a certificate),
// giving up once it holds more than max_bytes: then *too_large is true and
// *contents partial.  Returns 0, or the errno of the open or read that
// failed, for the caller's own message.  Its buffer is on the heap: callers
// run on civetweb's worker threads, whose small stacks a 64 KiB array
// overflowed under AddressSanitizer.
int ReadFileUpTo(const std::string& path, size_t max_bytes, std::string* contents, bool* too_large);

// Reads a file holding one integer, such as /proc/sys/net/ipv4/ip_forward.
ReadResult ReadInt64(const std::string& path, int64_t* value);

// Names of the entries in a directory, sorted, without "." and "..".
ReadResult ListDir(const std::string& path, std::vector<std::string>* names);

// A decimal integer with surrounding spaces and trailing newlines allowed
// (a pid file, a /proc field); false for anything else.
bool ParseTrimmedInt64(std::string_view text, int64_t* out);

// The comm (short name) of process `pid`, without the trailing newline.
ReadResult ProcessComm(const Paths& paths, int64_t pid, std::string* comm);

// Field 22 of <procfs>/PID/stat: when process `pid` started, in clock ticks
// since boot.  A pid is reused; a (pid, start ticks) pair names one process.
ReadResult ProcessStartTicks(const Paths& paths, int64_t pid, int64_t* ticks);

// The start time of process `pid` in Unix seconds, from <procfs>/PID/stat
// and the boot time in <procfs>/stat.  `ticks_per_second` is
// sysconf(_SC_CLK_TCK) outside tests.
ReadResult ProcessStartTimeSeconds(const Paths& paths, int64_t pid, int64_t ticks_per_second,
                                   double* seconds);

}  // namespace portmap
