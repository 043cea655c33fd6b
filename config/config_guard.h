// A YAML parse that cannot hang or eat the host's memory: the guard of
// --config.file (config.h) and --web.config.file (exporter/web/web_config.h).
//
// Debian bookworm's libyaml-cpp 0.7 loops forever, allocating without bound,
// on some malformed input (", a").  So a file is first parsed by a check
// process under a time limit and a 256 MiB data cap (RLIMIT_DATA, so the loop
// ends in std::bad_alloc); only a file the check parsed to completion is
// parsed again here (the parse is deterministic, so it ends here too).  The
// check process is this executable started anew (posix_spawn of
// /proc/self/exe), never a fork of the multithreaded exporter.
// docs/yaml_guard.md tells why each of these choices.
//
// Every executable that loads YAML through this guard calls
// RunYamlCheckIfAsked first thing in main() (the exporter in RunExporter, the
// unit tests in their main).
//
// Thread safety: may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "util/status.h"

namespace portmap {

inline constexpr std::chrono::milliseconds kConfigParseLimit{2000};

// The check process's own start (exec, dynamic linking, reading the file
// from its stdin) is not the parser's time: it gets this much, apart.
inline constexpr std::chrono::milliseconds kCheckStartLimit{10000};

// A parser the check process can run, chosen by its owner (config.h,
// exporter/web/web_config.h): its name on the check's command line, and the parse, whose
// result is discarded.
struct YamlCheckParser {
  std::string_view name;
  Status (*check)(std::string_view yaml, const std::string& file);
};

// `parser` parses `yaml` in the check process, and then, only if it finished
// there, `parse` runs here; returns what `parse` returned.  Errors from the
// guard itself name `file`.
Status RunParserBounded(const YamlCheckParser& parser, std::string_view yaml,
                        const std::string& file, std::chrono::milliseconds limit,
                        const std::function<Status()>& parse);

// The check process's side.  When argv is a check's command line, runs the
// parser of `parsers` it names (stdin: the file, stdout: the report), sets
// *exit_code and returns true; otherwise returns false and touches nothing.
bool RunYamlCheckIfAsked(int argc, const char* const* argv,
                         std::span<const YamlCheckParser> parsers, int* exit_code);

}  // namespace portmap
