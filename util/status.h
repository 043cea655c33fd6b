// Status: the outcome of an operation, as a value (LevelDB's model); no
// exceptions cross a collector boundary.
#pragma once

#include <string.h>

#include <string>
#include <string_view>
#include <utility>

namespace portmap {

class Status {
 public:
  enum class Code { kOk, kNoData, kError };

  Status() = default;
  static Status Ok() { return Status(); }
  // Nothing to read, and that is a state of the host, not a fault: exported
  // as success 0 and logged at debug level (node_exporter's ErrNoData).
  static Status NoData(std::string why) { return Status(Code::kNoData, std::move(why)); }
  // Something that should have worked did not: success 0, logged as an error.
  static Status Error(std::string why) { return Status(Code::kError, std::move(why)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Joins one more error to a "; "-separated list, so a collector can report
// every part that failed in one Status rather than just the first.
inline void AppendError(std::string* errors, std::string_view error) {
  if (!errors->empty()) *errors += "; ";
  *errors += error;
}

// strerror(3) text for an errno value, safe from any thread (strerror is not:
// collectors run concurrently).
inline std::string ErrnoText(int err) {
  const char* text = strerrordesc_np(err);
  return text != nullptr ? text : "errno " + std::to_string(err);
}

}  // namespace portmap
