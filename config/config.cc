#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "config/config_guard.h"
#include "config/config_yaml.h"
#include "config/interface_pattern.h"
#include "config/probe_target.h"
#include "config/verdict_config.h"
#include "util/logging.h"
#include "util/metrics.h"
#include "util/procfs.h"

namespace portmap {

namespace {

using config_yaml::YamlSource;

// A configuration is a few kilobytes; a file this large is a mistake (a log
// or a binary given as --config.file), and reading it whole would cost memory.
constexpr size_t kMaxConfigBytes = 4 << 20;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// modules.NAME.tcp
Status ParseTcp(const YamlSource& src, const YAML::Node& node, const std::string& where,
                ProbeModule* module) {
  return src.ForEachEntry(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (key == "preferred_ip_protocol") {
          // blackbox_exporter documents ip4 | ip6 (and quietly treats anything
          // else as ip4), so "ipv6" is rejected rather than misread.
          std::string text;
          if (Status status = src.GetString(key_node, value, key, &text); !status.ok()) {
            return status;
          }
          if (text == "ip4") {
            module->preferred_ip_protocol = IpProtocol::kIp4;
          } else if (text == "ip6") {
            module->preferred_ip_protocol = IpProtocol::kIp6;
          } else {
            return src.Error(value, "preferred_ip_protocol must be ip4 or ip6, not " + Quote(text));
          }
          return Status::Ok();
        }
        if (key == "ip_protocol_fallback") {
          return src.GetBool(key_node, value, key, &module->ip_protocol_fallback);
        }
        if (key == "source_ip_address") {
          std::string text;
          if (Status status = src.GetString(key_node, value, key, &text); !status.ok()) {
            return status;
          }
          if (!text.empty() && !config_yaml::IsLiteralIp(text)) {
            return src.Error(value, "source_ip_address " + Quote(text) +
                                        " is not a literal IPv4 or IPv6 address");
          }
          module->source_ip_address = std::move(text);
          return Status::Ok();
        }
        if (key == "query_response" || key == "tls" || key == "tls_config") {
          return src.Error(key_node, key + " is not supported: the tcp probe only connects");
        }
        return src.UnknownKey(key_node, key, where);
      });
}

// modules.NAME
Status ParseModule(const YamlSource& src, const YAML::Node& node, const std::string& where,
                   ProbeModule* module) {
  return src.ForEachEntry(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (key == "prober") {
          std::string prober;
          if (Status status = src.GetString(key_node, value, key, &prober); !status.ok()) {
            return status;
          }
          if (prober != "tcp") {
            return src.Error(value, "prober " + Quote(prober) +
                                        " is not supported: only the tcp prober is supported");
          }
          return Status::Ok();
        }
        if (key == "timeout") return src.GetTimeout(key_node, value, key, &module->timeout);
        if (key == "tcp") return ParseTcp(src, value, where + ".tcp", module);
        if (key == "histogram") return src.GetBool(key_node, value, key, &module->histogram);
        if (key == "http" || key == "icmp" || key == "dns" || key == "grpc") {
          return src.Error(key_node, key + " is not supported: only the tcp prober is supported");
        }
        return src.UnknownKey(key_node, key, where);
      });
}

Status ParseModules(const YamlSource& src, const YAML::Node& node, ProbeConfig* config) {
  return src.ForEachEntry(
      node, "modules",
      [&](const std::string& name, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (name.empty()) return src.Error(key_node, "a module name must not be empty");
        ProbeModule module;
        if (Status status = ParseModule(src, value, "modules." + name, &module); !status.ok()) {
          return status;
        }
        config->modules[name] = std::move(module);
        return Status::Ok();
      });
}

Status CheckModuleExists(const YamlSource& src, const YAML::Node& value, const std::string& name,
                         const ProbeConfig& config) {
  if (config.modules.count(name) == 0) {
    return src.Error(value, "module " + Quote(name) + " is not defined in modules");
  }
  return Status::Ok();
}

// targets[i].labels
Status ParseLabels(const YamlSource& src, const YAML::Node& node, const std::string& where,
                   StaticTarget* target) {
  Status result = src.ForEachEntry(
      node, where,
      [&](const std::string& name, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (!config_yaml::IsLabelName(name)) {
          return src.Error(key_node,
                           "label name " + Quote(name) +
                               " is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)");
        }
        // "__" is Prometheus' reserved prefix; the three names are the probe
        // series' own labels, which a static label would clash with.
        if (name.rfind("__", 0) == 0 || name == "vantage" || name == "target" ||
            name == "outcome") {
          return src.Error(key_node, "label name " + Quote(name) +
                                         " is reserved (vantage, target, outcome, __*)");
        }
        std::string text;
        if (Status status = src.GetString(key_node, value, "label " + name, &text); !status.ok()) {
          return status;
        }
        target->labels.emplace_back(name, std::move(text));
        return Status::Ok();
      });
  std::sort(target->labels.begin(), target->labels.end());
  return result;
}

Status ParseTargets(const YamlSource& src, const YAML::Node& node, ProbeConfig* config) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsSequence()) {
    return src.Error(
        node, std::string("targets must be a list, not ") + config_yaml::DescribeNodeType(node));
  }
  std::map<std::pair<std::string, std::string>, int> first_line;  // for duplicates
  size_t index = 0;
  for (const YAML::Node& item : node) {
    const std::string where = "targets[" + std::to_string(index++) + "]";
    StaticTarget target;
    std::optional<YAML::Mark> target_mark;
    Status status = src.ForEachEntry(
        item, where,
        [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
          if (key == "target") {
            target_mark = value.Mark();
            Status result = src.GetString(key_node, value, key, &target.target);
            if (!result.ok()) return src.Error(value, result.message());
            // The parser /probe uses: a target that loads is one that probes.
            ProbeTarget parsed;
            result = ParseProbeTarget(target.target, &parsed);
            if (!result.ok()) {
              return src.Error(value, "target " + Quote(target.target) + ": " + result.message());
            }
            return result;
          }
          if (key == "module") {
            Status result = src.GetString(key_node, value, key, &target.module);
            return result.ok() ? CheckModuleExists(src, value, target.module, *config) : result;
          }
          if (key == "labels") return ParseLabels(src, value, where + ".labels", &target);
          return src.UnknownKey(key_node, key, where);
        });
    if (!status.ok()) return status;
    if (!item.IsMap()) return src.Error(item, where + " must be a mapping with a target");
    if (!target_mark) return src.Error(item, where + ": target is required");
    auto [it, inserted] =
        first_line.emplace(std::make_pair(target.target, target.module), target_mark->line + 1);
    if (!inserted) {
      return src.Error(*target_mark, "duplicate target " + Quote(target.target) + " with module " +
                                         Quote(target.module) + " (first on line " +
                                         std::to_string(it->second) + ")");
    }
    config->targets.push_back(std::move(target));
  }
  return Status::Ok();
}

Status ParseNetfilter(const YamlSource& src, const YAML::Node& node, ProbeConfig* config) {
  NetfilterDiscovery* netfilter = &config->netfilter;
  const std::string where = "discovery.netfilter";
  return src.ForEachEntry(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (key == "enabled") return src.GetBool(key_node, value, key, &netfilter->enabled);
        if (key == "module") {
          if (Status status = src.GetString(key_node, value, key, &netfilter->module);
              !status.ok()) {
            return status;
          }
          return CheckModuleExists(src, value, netfilter->module, *config);
        }
        if (key == "exclude_interfaces") {
          std::string pattern;
          if (Status status = src.GetString(key_node, value, key, &pattern); !status.ok()) {
            return status;
          }
          // Compiled here, once per load: a typo fails the load, and a
          // scrape only matches against the compiled pattern.
          if (Status status = InterfacePattern::Compile(pattern, &netfilter->exclude_interfaces);
              !status.ok()) {
            return src.Error(value, "exclude_interfaces " + Quote(pattern) +
                                        " is not a valid regular expression: " + status.message());
          }
          return Status::Ok();
        }
        return src.UnknownKey(key_node, key, where);
      });
}

Status ParseDocker(const YamlSource& src, const YAML::Node& node, const ProbeConfig& config,
                   DockerApiDiscovery* docker) {
  const std::string where = "discovery.docker";
  return src.ForEachEntry(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (key == "enabled") return src.GetBool(key_node, value, key, &docker->enabled);
        if (key == "module") {
          if (Status status = src.GetString(key_node, value, key, &docker->module); !status.ok()) {
            return status;
          }
          return CheckModuleExists(src, value, docker->module, config);
        }
        if (key == "socket") {
          std::string path;
          if (Status status = src.GetString(key_node, value, key, &path); !status.ok()) {
            return status;
          }
          // Relative paths would depend on the exporter's working directory.
          if (path.empty() || path[0] != '/') {
            return src.Error(value, "socket " + Quote(path) + " must be an absolute path");
          }
          docker->socket = std::move(path);
          return Status::Ok();
        }
        return src.UnknownKey(key_node, key, where);
      });
}

Status ParseDiscovery(const YamlSource& src, const YAML::Node& node, ProbeConfig* config) {
  return src.ForEachEntry(
      node, "discovery",
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (key == "netfilter") return ParseNetfilter(src, value, config);
        if (key == "docker") return ParseDocker(src, value, *config, &config->docker);
        return src.UnknownKey(key_node, key, "discovery");
      });
}

Status ParseDocument(const YamlSource& src, const YAML::Node& root, ProbeConfig* config) {
  if (!root.IsNull() && !root.IsMap()) {
    return src.Error(root, std::string("the top level must be a mapping, not ") +
                               config_yaml::DescribeNodeType(root));
  }
  // Modules first, whatever the order in the file: targets and discovery
  // name them.
  std::optional<YAML::Node> modules, targets, discovery, verdict;
  Status status = src.ForEachEntry(
      root, "the top level",
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) -> Status {
        if (key == "modules") {
          modules.emplace(value);
        } else if (key == "targets") {
          targets.emplace(value);
        } else if (key == "discovery") {
          discovery.emplace(value);
        } else if (key == "verdict") {
          verdict.emplace(value);
        } else {
          return src.UnknownKey(key_node, key, "the top level");
        }
        return Status::Ok();
      });
  if (!status.ok()) return status;
  if (modules && !(status = ParseModules(src, *modules, config)).ok()) return status;
  // Added after the file's modules, so a file may redefine it.
  config->modules.try_emplace(kDefaultModule);
  if (targets && !(status = ParseTargets(src, *targets, config)).ok()) return status;
  if (discovery && !(status = ParseDiscovery(src, *discovery, config)).ok()) return status;
  if (verdict) return ParseVerdictConfig(src, *verdict, &config->verdict);
  return Status::Ok();
}

}  // namespace

Status ParseConfig(std::string_view yaml, const std::string& file, ProbeConfig* out) {
  std::vector<YAML::Node> documents;
  if (Status st = YamlSource(file).LoadAll(yaml, &documents); !st.ok()) return st;
  return ParseConfigDocuments(documents, file, out);
}

Status ParseConfigDocuments(const std::vector<YAML::Node>& documents, const std::string& file,
                            ProbeConfig* out) {
  const YamlSource src(file);
  try {
    if (documents.size() > 1) {
      return src.Error(documents[1], "only one YAML document is allowed (a second '---')");
    }
    ProbeConfig config;
    if (!documents.empty()) {
      if (Status status = ParseDocument(src, documents[0], &config); !status.ok()) return status;
    }
    config.modules.try_emplace(kDefaultModule);
    *out = std::move(config);
    return Status::Ok();
  } catch (const YAML::Exception& e) {
    return src.Error(e.mark, e.msg);
  } catch (const std::exception& e) {
    return Status::Error(file + ": " + e.what());
  }
}

Status LoadConfigFile(const std::string& path, ProbeConfig* out) {
  std::string text;
  bool too_large = false;
  if (const int err = ReadFileUpTo(path, kMaxConfigBytes, &text, &too_large); err != 0) {
    return Status::Error("cannot read " + path + ": " + ErrnoText(err));
  }
  if (too_large) {
    return Status::Error("cannot read " + path + ": larger than " +
                         std::to_string(kMaxConfigBytes >> 20) + " MiB");
  }
  return ParseConfigBounded(text, path, kConfigParseLimit, out);
}

const YamlCheckParser kConfigYamlCheck = {"config",
                                          [](std::string_view yaml, const std::string& file) {
                                            ProbeConfig config;
                                            return ParseConfig(yaml, file, &config);
                                          }};

Status ParseConfigBounded(std::string_view yaml, const std::string& file,
                          std::chrono::milliseconds limit, ProbeConfig* out) {
  return RunParserBounded(kConfigYamlCheck, yaml, file, limit,
                          [&] { return ParseConfig(yaml, file, out); });
}

ConfigReloader::ConfigReloader(std::string path, std::shared_ptr<ConfigStore> store)
    : path_(std::move(path)),
      store_(std::move(store)),
      gauges_("portmap_config", "Portmap exporter config loaded successfully.",
              "Timestamp of the last successful configuration reload.") {}

Status ConfigReloader::Load() { return LoadInto(); }

Status ConfigReloader::Reload() {
  Status status = LoadInto();
  if (status.ok()) {
    LogInfo("Reloaded configuration", {{"file", path_}});
  } else {
    LogError("Error reloading configuration", {{"file", path_}, {"err", status.message()}});
  }
  return status;
}

Status ConfigReloader::LoadInto() {
  std::lock_guard<std::mutex> load_lock(mu_);
  Status status;
  if (!path_.empty()) {
    ProbeConfig config;
    status = LoadConfigFile(path_, &config);
    if (status.ok()) store_->Set(std::move(config));
  }
  gauges_.Record(status.ok());
  return status;
}

std::vector<prometheus::MetricFamily> ConfigReloader::Families() const {
  return gauges_.Families();
}

}  // namespace portmap
