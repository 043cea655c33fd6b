// Building blocks of config/config.cc: the value syntaxes the configuration
// uses (Prometheus durations, label names, HOST:PORT) and a strict walk over
// yaml-cpp nodes whose every error names FILE:LINE:COL.
//
// yaml-cpp is lenient where Go's yaml.v3 with KnownFields (blackbox_exporter)
// is strict: it keeps duplicate keys, and node["missing"] silently yields an
// empty node.  So mappings are only ever read through ForEachEntry, which
// rejects both, and a handler rejects each key it does not know.
//
// Thread safety: every function is pure; a YamlSource is immutable.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace portmap {
namespace config_yaml {

// A module's timeout is a connect's: more than an hour is surely a typo, and
// Prometheus' scrape timeout caps it far lower anyway.
inline constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(1);

// Longest static target (ParseProbeTarget's kMaxTargetLength).
inline constexpr size_t kMaxTargetLength = 512;

// Parses a Prometheus duration (model.ParseDuration): "0", or NUMBER UNIT
// pairs, units y w d h m s ms, largest first, each at most once: "500ms",
// "5s", "1m30s".  The error says what is wrong, without a location.
Status ParseDuration(std::string_view text, std::chrono::milliseconds* out);

// [a-zA-Z_][a-zA-Z0-9_]*
bool IsLabelName(std::string_view name);

// Whether `text` is a literal IPv4 or IPv6 address.
bool IsLiteralIp(const std::string& text);

// One configuration file's text, for errors that point into it.
class YamlSource {
 public:
  explicit YamlSource(std::string file) : file_(std::move(file)) {}

  // "FILE:LINE:COL: what".  yaml-cpp's marks count from 0 and editors from
  // 1; a null mark (some yaml-cpp errors have none) gives "FILE: what".
  Status Error(const YAML::Mark& mark, std::string_view what) const;
  Status Error(const YAML::Node& node, std::string_view what) const {
    return Error(node.Mark(), what);
  }

  // yaml-cpp's LoadAll of this file's text; a syntax error (or a too-deep
  // nesting), which yaml-cpp throws, is returned as one.
  Status LoadAll(std::string_view yaml, std::vector<YAML::Node>* documents) const;

  // Called for each entry of a mapping, in file order.
  using EntryFn = std::function<Status(const std::string& key, const YAML::Node& key_node,
                                       const YAML::Node& value)>;

  // Walks mapping `node`, named `where` in errors ("modules.tcp_connect"); a
  // null node (a key with no value) is an empty mapping.  Errors: not a
  // mapping, a key that is not a plain string, a key given twice, and the
  // first error `fn` returns.
  Status ForEachEntry(const YAML::Node& node, std::string_view where, const EntryFn& fn) const;

  // The error for a key the schema does not have.
  Status UnknownKey(const YAML::Node& key_node, const std::string& key,
                    std::string_view where) const;

  // Scalar values of `key`; anything else (a mapping, a list, nothing) is an
  // error naming the key.  `key_node` locates the error when the value is
  // missing: yaml-cpp marks a null value where the next token starts.
  Status GetString(const YAML::Node& key_node, const YAML::Node& value, std::string_view key,
                   std::string* out) const;
  Status GetBool(const YAML::Node& key_node, const YAML::Node& value, std::string_view key,
                 bool* out) const;
  // A Prometheus duration, > 0 and <= kMaxTimeout.
  Status GetTimeout(const YAML::Node& key_node, const YAML::Node& value, std::string_view key,
                    std::chrono::milliseconds* out) const;

 private:
  // `value`'s text; the error says it should be `want` ("a string").
  Status GetScalar(const YAML::Node& key_node, const YAML::Node& value, std::string_view key,
                   std::string_view want, std::string* out) const;

  const std::string file_;
};

// "a mapping", "a list", ... for "must be a mapping, not a list".
const char* DescribeNodeType(const YAML::Node& node);

}  // namespace config_yaml
}  // namespace portmap
