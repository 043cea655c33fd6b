#include "exporter/probe_handler.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "collectors/probe/prober.h"
#include "config/probe_target.h"
#include "exporter/metrics_handler.h"
#include "util/logging.h"

namespace portmap {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status Decode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      *out += ' ';
    } else if (in[i] != '%') {
      *out += in[i];
    } else {
      const int hi = i + 1 < in.size() ? HexDigit(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexDigit(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::Error("malformed escape \"" + std::string(in.substr(i, 3)) +
                             "\" in the query");
      }
      *out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return Status::Ok();
}

// Makes a value safe to quote in a one-line error: control bytes escaped,
// long values cut.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      (void)snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 80) out += "...";
  return out;
}

std::string DescribeModule(const std::string& name, const ProbeModule& m) {
  std::ostringstream s;
  s << name << ":\n  prober: tcp\n  timeout: " << m.timeout.count() << "ms\n"
    << "  histogram: " << (m.histogram ? "true" : "false") << "\n  tcp:\n"
    << "    preferred_ip_protocol: "
    << (m.preferred_ip_protocol == IpProtocol::kIp4 ? "ip4" : "ip6") << "\n"
    << "    ip_protocol_fallback: " << (m.ip_protocol_fallback ? "true" : "false") << "\n";
  if (!m.source_ip_address.empty()) s << "    source_ip_address: " << m.source_ip_address << "\n";
  return s.str();
}

}  // namespace

Status ParseQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>* out) {
  out->clear();
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string name, value;
    if (Status st = Decode(pair.substr(0, eq), &name); !st.ok()) return st;
    if (eq != std::string_view::npos) {
      if (Status st = Decode(pair.substr(eq + 1), &value); !st.ok()) return st;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  return Status::Ok();
}

HttpResponse ProbeHandler::operator()(const HttpRequest& request) const {
  const Clock::time_point start = Clock::now();
  std::vector<std::pair<std::string, std::string>> params;
  if (Status st = ParseQuery(request.query, &params); !st.ok()) {
    return HttpResponse::Text(400, st.message());
  }
  std::string target, module_name = kDefaultModule;
  bool have_target = false, have_module = false, debug = false;
  for (const auto& [name, value] : params) {
    if (name == "target") {
      if (have_target) return HttpResponse::Text(400, "target parameter given more than once");
      have_target = true;
      target = value;
    } else if (name == "module") {
      if (have_module) return HttpResponse::Text(400, "module parameter given more than once");
      have_module = true;
      module_name = value;
    } else if (name == "debug") {
      debug = value == "true";
    }
  }
  if (!have_target || target.empty()) {
    return HttpResponse::Text(400, "target parameter is missing (want target=HOST:PORT)");
  }
  ProbeTarget parsed;
  if (Status st = ParseProbeTarget(target, &parsed); !st.ok()) {
    return HttpResponse::Text(400, "invalid target \"" + Printable(target) + "\": " + st.message());
  }
  const std::shared_ptr<const ProbeConfig> config = config_->Get();
  auto module = config->modules.find(module_name);
  if (module == config->modules.end()) {
    return HttpResponse::Text(400, "unknown module \"" + Printable(module_name) + "\"");
  }
  std::chrono::duration<double> budget;
  std::string error;
  if (!CollectorBudget(request.Header("X-Prometheus-Scrape-Timeout-Seconds"), &budget, &error)) {
    return HttpResponse::Text(400, error);
  }
  const Clock::time_point deadline =
      start + std::min(std::chrono::duration_cast<Clock::duration>(budget),
                       std::chrono::duration_cast<Clock::duration>(module->second.timeout));

  std::vector<std::string> log;
  ProbeJob job;
  job.target = target;
  job.module = module_name;
  if (!allow_.AllowsAll() && !allow_.AllowsName(parsed.host)) {
    // The address checked is the address probed: a second lookup could
    // answer differently (DNS rebinding past the allow list).
    ResolvedTarget resolved;
    Status st = ResolveProbeTarget(parsed, module->second, deadline, &resolved);
    if (!st.ok() || !allow_.AllowsAddress(resolved.address)) {
      LogWarn("Probe target refused by --probe.allow", {{"target", target}});
      return HttpResponse::Text(403, "target \"" + target + "\" is not allowed by --probe.allow");
    }
    if (debug) log.push_back("target=" + target + " resolved and allowed by --probe.allow");
    job.resolved = resolved;
  }
  const std::vector<ProbeRecord> records =
      RunProbes({job}, *config, deadline, {}, debug ? &log : nullptr);
  std::vector<prometheus::MetricFamily> families;
  AppendProbeFamilies(vantage_, records, histograms_.get(), &families);
  auto duration =
      MakeFamily("portmap_probe_duration_seconds",
                 "How long the probe took, name resolution included.", MetricType::Gauge);
  AddSample(&duration, {{"vantage", vantage_}, {"target", target}},
            std::chrono::duration<double>(Clock::now() - start).count());
  families.push_back(std::move(duration));
  MergeAndSort(&families);
  const ProbeRecord& r = records.front();
  LogDebug("Probe finished", {{"target", target},
                              {"module", module_name},
                              {"outcome", std::string(ProbeOutcomeName(r.result.outcome))},
                              {"detail", r.result.detail}});

  std::string metrics = Exposition(families);
  if (debug) {
    std::string body = "Logs for the probe:\n";
    for (const std::string& line : log) body += line + "\n";
    body += "\n\nMetrics that would have been returned:\n" + metrics;
    body += "\n\nModule configuration:\n" + DescribeModule(module_name, module->second);
    return HttpResponse::Text(200, std::move(body));
  }
  return ExpositionResponse(std::move(metrics));
}

}  // namespace portmap
