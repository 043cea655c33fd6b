// The trace's two formats.
#include "exporter/trace/trace_format.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace portmap {

namespace {

using pathtrace::Outcome;
using pathtrace::RuleRef;

std::string Where(const RuleRef& r) {
  std::string s = r.family + " " + r.table + " " + r.chain;
  s += r.policy ? " policy"
                : (r.backend == "x_tables" ? " rule #" : " handle ") + std::to_string(r.handle);
  if (r.backend == "x_tables") s = "iptables-legacy " + s;
  return s;
}

nlohmann::json RuleJson(const RuleRef& r) {
  return {{"backend", r.backend}, {"family", r.family}, {"table", r.table}, {"chain", r.chain},
          {"handle", r.handle},   {"policy", r.policy}, {"text", r.text},   {"comment", r.comment}};
}

nlohmann::json PacketJson(const pathtrace::Packet& p) {
  return {{"family", p.ipv6() ? "ip6" : "ip"},
          {"proto", p.l4proto == 6 ? "tcp" : "udp"},
          {"saddr", pathtrace::AddrString(p.saddr)},
          {"sport", p.sport},
          {"daddr", pathtrace::AddrString(p.daddr)},
          {"dport", p.dport},
          {"iif", p.iif.name}};
}

}  // namespace

std::string FormatTraceText(const pathtrace::Packet& pkt, const pathtrace::TraceResult& result) {
  std::ostringstream out;
  out << "trace: " << pathtrace::DescribePacket(pkt) << " (nf_tables generation "
      << result.generation << ")\n";
  std::string phase;
  for (const auto& s : result.steps) {
    if (s.phase != phase) {
      phase = s.phase;
      out << "\n" << phase << ":\n";
    }
    out << std::string(2 + 2 * static_cast<size_t>(s.depth), ' ');
    if (s.rule.has_value() && s.text == "rule matched") {
      out << Where(*s.rule) << ": " << s.rule->text;
      if (!s.rule->comment.empty()) out << " comment \"" << s.rule->comment << "\"";
    } else {
      out << s.text;
      if (s.rule.has_value() && s.rule->policy) out << " (" << s.rule->text << ")";
    }
    if (!s.verdict.empty()) out << " => " << s.verdict;
    out << "\n";
  }
  out << "\noutcome: " << pathtrace::OutcomeName(result.outcome);
  if (result.approximate) out << " (approximate: a rate limit or quota was passed)";
  if (!result.client_errno.empty()) out << " (" << result.client_errno << ")";
  out << "\n  " << result.reason << "\n";
  if (result.stopped_at.has_value()) {
    out << "  stopped at: " << Where(*result.stopped_at) << ": " << result.stopped_at->text;
    if (!result.stopped_at->comment.empty())
      out << " comment \"" << result.stopped_at->comment << "\"";
    out << "\n";
  }
  for (const auto& n : result.notes) out << "  note: " << n << "\n";
  return out.str();
}

std::string FormatTraceJson(const pathtrace::Packet& pkt, const pathtrace::TraceResult& result) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : result.steps) {
    nlohmann::json j = {
        {"phase", s.phase}, {"depth", s.depth}, {"text", s.text}, {"verdict", s.verdict}};
    j["rule"] = s.rule.has_value() ? RuleJson(*s.rule) : nlohmann::json(nullptr);
    steps.push_back(std::move(j));
  }
  nlohmann::json j = {
      {"schema_version", kTraceSchemaVersion},
      {"packet", PacketJson(pkt)},
      {"outcome", pathtrace::OutcomeName(result.outcome)},
      {"reason", result.reason},
      {"errno", result.client_errno},
      {"stopped_at",
       result.stopped_at.has_value() ? RuleJson(*result.stopped_at) : nlohmann::json(nullptr)},
      {"approximate", result.approximate},
      {"generation", result.generation},
      {"notes", result.notes},
      {"steps", std::move(steps)},
  };
  return j.dump(2) + "\n";
}

int TraceExitStatus(const pathtrace::TraceResult& result) {
  switch (result.outcome) {
    case Outcome::kConnected:
    case Outcome::kDelivered:
      return 0;
    case Outcome::kUnknown:
      return 2;
    default:
      return 1;
  }
}

}  // namespace portmap
