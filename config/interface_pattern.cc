#include "config/interface_pattern.h"

#include <utility>

namespace portmap {

namespace {

// Every configuration starts from the default (DefaultProbeConfig, each
// parse): compiled once, shared by all.
std::shared_ptr<const std::regex> DefaultRegex() {
  static const std::shared_ptr<const std::regex> kRegex =
      std::make_shared<const std::regex>(kDefaultExcludeInterfaces, std::regex::ECMAScript);
  return kRegex;
}

}  // namespace

InterfacePattern::InterfacePattern() : text_(kDefaultExcludeInterfaces), regex_(DefaultRegex()) {}

Status InterfacePattern::Compile(std::string pattern, InterfacePattern* out) {
  std::shared_ptr<const std::regex> regex;
  try {
    regex = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Status::Error(e.what());
  }
  *out = InterfacePattern(std::move(pattern), std::move(regex));
  return Status::Ok();
}

}  // namespace portmap
