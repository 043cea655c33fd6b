// An interface-name pattern (discovery.netfilter.exclude_interfaces): a
// full-match ECMAScript regular expression, compiled when the configuration
// is loaded.  A scrape only matches names against it: compiling a std::regex
// costs far more than matching one, and a pattern that does not compile
// fails the load instead of every scrape.  A reload builds a new
// configuration, so the pattern and its compiled form are swapped together.
//
// Thread safety: immutable once built; copies share the compiled regex, and
// FullMatch may be called concurrently.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <utility>

#include "util/status.h"

namespace portmap {

// Docker's bridges (docker0, br-<network id>), whose addresses only the host
// itself uses.
inline constexpr char kDefaultExcludeInterfaces[] = "docker[0-9]+|br-[0-9a-f]{12}";

class InterfacePattern {
 public:
  // kDefaultExcludeInterfaces, compiled once per process.
  InterfacePattern();

  // Compiles `pattern` into *out.  On error *out is left as it was and the
  // message is std::regex_error's, for the caller to put in context.
  static Status Compile(std::string pattern, InterfacePattern* out);

  const std::string& text() const { return text_; }
  // Whether the pattern matches all of `name`.
  bool FullMatch(const std::string& name) const { return std::regex_match(name, *regex_); }

 private:
  InterfacePattern(std::string text, std::shared_ptr<const std::regex> regex)
      : text_(std::move(text)), regex_(std::move(regex)) {}

  std::string text_;
  std::shared_ptr<const std::regex> regex_;  // never null
};

}  // namespace portmap
