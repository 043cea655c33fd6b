// ParseConfigBounded: ParseConfig (config.h) that cannot hang or eat the
// host's memory.
//
// libyaml-cpp 0.7 (Debian bookworm's) loops forever, allocating without
// bound, on some malformed input — a ',' where a block node starts, e.g.
// ", a" or "- a\n, b" (found by tests/fuzz/config_fuzz: 24 GiB in three
// minutes before the OOM killer).  A typo in --config.file, picked up by a
// SIGHUP, must not take the exporter or the host down, so the file is first
// parsed in a forked child under a time limit; only a file the child parsed
// to completion is parsed again in the exporter (the parse is deterministic,
// so it terminates there too).  The child's data segment is capped at
// 256 MiB (RLIMIT_DATA), so the loop ends in std::bad_alloc rather than in
// the host's memory.
//
// Thread safety: may be called from any thread; the child only parses
// (glibc keeps malloc usable after fork) and leaves with _exit.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "collectors/probe/config.h"
#include "collectors/status.h"

namespace portmap {

inline constexpr std::chrono::milliseconds kConfigParseLimit{2000};

Status ParseConfigBounded(std::string_view yaml, const std::string& file,
                          std::chrono::milliseconds limit, ProbeConfig* out);

// The same guard for any other yaml-cpp parser (--web.config.file): `parse`
// runs first in the forked child, its result discarded, and then, only if it
// finished there, here; returns what it returned here.  Errors from the
// guard itself name `file`.
Status RunParserBounded(const std::string& file, std::chrono::milliseconds limit,
                        const std::function<Status()>& parse);

}  // namespace portmap
