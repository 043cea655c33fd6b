// Typed readers for the small text files of /proc and /sys.
//
// Errors are values: a missing file is reported as such (kNotFound) so a
// collector can turn it into "no data" (node_exporter maps ENOENT the same way)
// while any other failure is an error naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace portmap {

struct ReadResult {
  enum class Code { kOk, kNotFound, kError };
  Code code = Code::kOk;
  std::string error;  // names the file and the reason when code != kOk
  bool ok() const { return code == Code::kOk; }
};

// Reads the whole file (procfs files report size 0, so no stat-then-read).
ReadResult ReadFile(const std::string& path, std::string* contents);

// Reads a file holding one integer, such as /proc/sys/net/ipv4/ip_forward.
ReadResult ReadInt64(const std::string& path, int64_t* value);

// Names of the entries in a directory, sorted, without "." and "..".
ReadResult ListDir(const std::string& path, std::vector<std::string>* names);

}  // namespace portmap
