// trace_format: a trace as text (each hook, chain and rule, like
// `nft monitor trace` or packet-tracer's phases) and as JSON (docs/trace.md,
// schema_version 1).
//
// Thread safety: stateless functions.
#pragma once

#include <string>

#include "pathtrace/packet.h"
#include "pathtrace/trace_result.h"

namespace portmap {

inline constexpr int kTraceSchemaVersion = 1;

std::string FormatTraceText(const pathtrace::Packet& pkt, const pathtrace::TraceResult& result);
std::string FormatTraceJson(const pathtrace::Packet& pkt, const pathtrace::TraceResult& result);

// 0 connected or delivered, 1 another outcome, 2 unknown.
int TraceExitStatus(const pathtrace::TraceResult& result);

}  // namespace portmap
