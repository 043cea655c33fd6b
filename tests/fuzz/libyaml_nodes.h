// For the YAML fuzz targets (config_fuzz.cc, web_config_fuzz.cc): `text`
// read by libyaml (the C library, Debian's libyaml-0-2) into the yaml-cpp
// nodes our schema code walks (ParseConfigDocuments, ParseWebConfigDocuments).
//
// Why not yaml-cpp's own parser: libyaml-cpp 0.7 loops forever, allocating,
// on many inputs — ", a", "- a\n, b", a plain scalar "0[[[[!,,,", and some
// that are well-formed YAML (a continuation line starting with ',', tagged
// multi-line scalars).  The exporter bounds that with its YAML guard
// (config/config_guard.h, unit- and image-tested); a fuzzer that feeds
// yaml-cpp rediscovers the library's loops within seconds instead of
// exploring our code.  Three input filters in a row let a new one through.
// So the fuzzers parse with libyaml, a different, well-fuzzed parser, and
// hand our code the same kind of tree: maps (duplicate keys kept, as
// yaml-cpp keeps them), sequences, scalars, nulls for plain "", "~" and
// "null", explicit tags, aliases.  Nodes carry no marks, so errors say
// "FILE: ..." without a line; the error path of yaml-cpp's syntax errors is
// left to the unit tests.
#pragma once

#include <yaml-cpp/yaml.h>
#include <yaml.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace portmap {

namespace libyaml_nodes_internal {

struct Frame {
  YAML::Node node;
  bool is_map = false;
  bool have_key = false;
  YAML::Node key;
  std::string anchor;  // "" when none: aliases to an open node are refused
};

inline bool IsNullScalar(const yaml_event_t& e, std::string_view value) {
  return e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && e.data.scalar.tag == nullptr &&
         (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL");
}

}  // namespace libyaml_nodes_internal

// False when libyaml does not read `text` to its end, or the tree would
// nest deeper than yaml-cpp allows or contain itself (an alias to an
// ancestor): such inputs are skipped.
inline bool LoadAllWithLibyaml(std::string_view text, std::vector<YAML::Node>* documents) {
  using libyaml_nodes_internal::Frame;
  constexpr size_t kMaxDepth = 64;
  yaml_parser_t parser;
  if (yaml_parser_initialize(&parser) == 0) return false;
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  std::vector<Frame> stack;
  std::map<std::string, YAML::Node> anchors;
  std::set<std::string> open;
  YAML::Node root;
  bool have_root = false, ok = false, failed = false;
  // Every rebinding is reset(), never '=': yaml-cpp's Node::operator= writes
  // through to the node already referred to, which may be in the tree.
  auto add = [&](const YAML::Node& node) {
    if (stack.empty()) {
      root.reset(node);
      have_root = true;
    } else if (!stack.back().is_map) {
      stack.back().node.push_back(node);
    } else if (!stack.back().have_key) {
      stack.back().key.reset(node);
      stack.back().have_key = true;
    } else {
      stack.back().node.force_insert(stack.back().key, node);
      stack.back().have_key = false;
    }
  };
  auto anchor_of = [](const yaml_char_t* a) {
    return a == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(a));
  };
  auto set_anchor = [&](const std::string& name, const YAML::Node& node) {
    auto [it, inserted] = anchors.try_emplace(name, node);
    if (!inserted) it->second.reset(node);  // a later &name wins, as in YAML
  };
  while (!ok && !failed) {
    yaml_event_t e;
    if (yaml_parser_parse(&parser, &e) == 0) break;
    switch (e.type) {
      case YAML_STREAM_END_EVENT:
        ok = true;
        break;
      case YAML_DOCUMENT_START_EVENT:
        have_root = false;
        root.reset();
        break;
      case YAML_DOCUMENT_END_EVENT:
        documents->push_back(have_root ? root : YAML::Node(YAML::NodeType::Null));
        anchors.clear();
        break;
      case YAML_SCALAR_EVENT: {
        const std::string value(reinterpret_cast<const char*>(e.data.scalar.value),
                                e.data.scalar.length);
        YAML::Node node = libyaml_nodes_internal::IsNullScalar(e, value)
                              ? YAML::Node(YAML::NodeType::Null)
                              : YAML::Node(value);
        if (e.data.scalar.tag != nullptr) node.SetTag(anchor_of(e.data.scalar.tag));
        if (e.data.scalar.anchor != nullptr) set_anchor(anchor_of(e.data.scalar.anchor), node);
        add(node);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const bool is_map = e.type == YAML_MAPPING_START_EVENT;
        if (stack.size() >= kMaxDepth) {
          failed = true;
          break;
        }
        Frame f;
        f.node.reset(YAML::Node(is_map ? YAML::NodeType::Map : YAML::NodeType::Sequence));
        f.is_map = is_map;
        const yaml_char_t* tag = is_map ? e.data.mapping_start.tag : e.data.sequence_start.tag;
        if (tag != nullptr) f.node.SetTag(anchor_of(tag));
        f.anchor = anchor_of(is_map ? e.data.mapping_start.anchor : e.data.sequence_start.anchor);
        if (!f.anchor.empty()) {
          set_anchor(f.anchor, f.node);
          open.insert(f.anchor);
        }
        stack.push_back(std::move(f));
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame f = std::move(stack.back());
        stack.pop_back();
        if (!f.anchor.empty()) open.erase(f.anchor);
        add(f.node);
        break;
      }
      case YAML_ALIAS_EVENT: {
        const std::string name = anchor_of(e.data.alias.anchor);
        const auto it = anchors.find(name);
        if (it == anchors.end() || open.count(name) != 0) {
          failed = true;
          break;
        }
        add(it->second);
        break;
      }
      default:
        break;
    }
    yaml_event_delete(&e);
  }
  yaml_parser_delete(&parser);
  return ok && !failed;
}

}  // namespace portmap
