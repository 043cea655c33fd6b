#include "config/config_yaml.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <set>

namespace portmap {
namespace config_yaml {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

Status ParseDuration(std::string_view text, std::chrono::milliseconds* out) {
  if (text.empty()) return Status::Error("empty duration");
  if (text == "0") {
    *out = std::chrono::milliseconds(0);
    return Status::Ok();
  }
  // Largest first, as Prometheus' regular expression orders them.
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {
      {"y", 365LL * 24 * 3600 * 1000},
      {"w", 7LL * 24 * 3600 * 1000},
      {"d", 24LL * 3600 * 1000},
      {"h", 3600LL * 1000},
      {"m", 60LL * 1000},
      {"s", 1000},
      {"ms", 1},
  };
  const std::string bad = "invalid duration " + Quote(text) + ": ";
  int64_t total = 0;
  size_t next_unit = 0;  // units before this index were used or are out of order
  size_t i = 0;
  while (i < text.size()) {
    const size_t digits = i;
    int64_t number = 0;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      if (__builtin_mul_overflow(number, 10, &number) ||
          __builtin_add_overflow(number, text[i] - '0', &number)) {
        return Status::Error(bad + "too large");
      }
    }
    if (i == digits) return Status::Error(bad + "want NUMBER UNIT, e.g. 500ms, 5s, 1m30s");
    const size_t letters = i;
    while (i < text.size() && IsAlpha(text[i])) ++i;
    const std::string_view name = text.substr(letters, i - letters);
    if (name.empty()) return Status::Error(bad + "a number without a unit (ms, s, m, h)");
    size_t unit = 0;
    while (unit < std::size(kUnits) && kUnits[unit].name != name) ++unit;
    if (unit == std::size(kUnits)) {
      return Status::Error(bad + "unknown unit " + Quote(name) + " (ms, s, m, h, d, w, y)");
    }
    if (unit < next_unit) {
      return Status::Error(bad + "units must be largest first, each at most once (1m30s)");
    }
    next_unit = unit + 1;
    int64_t ms = 0;
    if (__builtin_mul_overflow(number, kUnits[unit].ms, &ms) ||
        __builtin_add_overflow(total, ms, &total)) {
      return Status::Error(bad + "too large");
    }
  }
  *out = std::chrono::milliseconds(total);
  return Status::Ok();
}

bool IsLabelName(std::string_view name) {
  if (name.empty() || IsDigit(name[0])) return false;
  for (char c : name) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

bool IsLiteralIp(const std::string& text) {
  in6_addr address;
  return inet_pton(AF_INET, text.c_str(), &address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

const char* DescribeNodeType(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Undefined:
      break;
  }
  return "undefined";
}

Status YamlSource::Error(const YAML::Mark& mark, std::string_view what) const {
  if (mark.is_null()) return Status::Error(file_ + ": " + std::string(what));
  return Status::Error(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                       std::to_string(mark.column + 1) + ": " + std::string(what));
}

Status YamlSource::LoadAll(std::string_view yaml, std::vector<YAML::Node>* documents) const {
  try {
    *documents = YAML::LoadAll(std::string(yaml));
    return Status::Ok();
  } catch (const YAML::Exception& e) {
    return Error(e.mark, e.msg);
  } catch (const std::exception& e) {
    return Status::Error(file_ + ": " + e.what());
  }
}

Status YamlSource::ForEachEntry(const YAML::Node& node, std::string_view where,
                                const EntryFn& fn) const {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) {
    return Error(node, std::string(where) + " must be a mapping, not " + DescribeNodeType(node));
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    const YAML::Node& key_node = entry.first;
    if (!key_node.IsScalar()) {
      return Error(key_node, "a key in " + std::string(where) + " must be a string, not " +
                                 DescribeNodeType(key_node));
    }
    const std::string& key = key_node.Scalar();
    if (!seen.insert(key).second) {
      return Error(key_node, "duplicate key " + Quote(key) + " in " + std::string(where));
    }
    if (Status status = fn(key, key_node, entry.second); !status.ok()) return status;
  }
  return Status::Ok();
}

Status YamlSource::UnknownKey(const YAML::Node& key_node, const std::string& key,
                              std::string_view where) const {
  return Error(key_node, "unknown key " + Quote(key) + " in " + std::string(where));
}

Status YamlSource::GetScalar(const YAML::Node& key_node, const YAML::Node& value,
                             std::string_view key, std::string_view want, std::string* out) const {
  if (!value.IsScalar()) {
    return Error(
        value.IsNull() ? key_node : value,
        std::string(key) + " must be " + std::string(want) + ", not " + DescribeNodeType(value));
  }
  *out = value.Scalar();
  return Status::Ok();
}

Status YamlSource::GetString(const YAML::Node& key_node, const YAML::Node& value,
                             std::string_view key, std::string* out) const {
  return GetScalar(key_node, value, key, "a string", out);
}

Status YamlSource::GetBool(const YAML::Node& key_node, const YAML::Node& value,
                           std::string_view key, bool* out) const {
  std::string text;
  if (Status status = GetScalar(key_node, value, key, "true or false", &text); !status.ok()) {
    return status;
  }
  // YAML 1.2's core schema, as Go's yaml.v3 reads a bool: not yes/no/on/off,
  // which yaml-cpp's as<bool>() would take.
  if (text == "true" || text == "True" || text == "TRUE") {
    *out = true;
  } else if (text == "false" || text == "False" || text == "FALSE") {
    *out = false;
  } else {
    return Error(value, std::string(key) + " must be true or false, not " + Quote(text));
  }
  return Status::Ok();
}

Status YamlSource::GetTimeout(const YAML::Node& key_node, const YAML::Node& value,
                              std::string_view key, std::chrono::milliseconds* out) const {
  std::string text;
  if (Status status = GetScalar(key_node, value, key, "a duration (5s)", &text); !status.ok()) {
    return status;
  }
  std::chrono::milliseconds duration;
  if (Status status = ParseDuration(text, &duration); !status.ok()) {
    return Error(value, std::string(key) + ": " + status.message());
  }
  if (duration <= std::chrono::milliseconds(0) || duration > kMaxTimeout) {
    return Error(value, std::string(key) + " " + Quote(text) + " must be > 0 and at most 1h");
  }
  *out = duration;
  return Status::Ok();
}

}  // namespace config_yaml
}  // namespace portmap
