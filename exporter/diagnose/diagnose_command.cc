// `portmap_exporter diagnose`: the same flags and collectors as the exporter,
// one scrape, a report (diagnose.h) instead of a server; then each blocked
// path traced by the live packet tracer, as `portmap_exporter trace` does.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "collectors/published_ports.h"
#include "collectors/scrape_runner.h"
#include "config/config.h"
#include "config/probe_config.h"
#include "exporter/diagnose/diagnose.h"
#include "exporter/diagnose/diagnose_format.h"
#include "exporter/exporter.h"
#include "exporter/flags.h"
#include "exporter/wiring.h"
#include "pathtrace/kernel_live.h"
#include "pathtrace/nft_live.h"
#include "pathtrace/tracer.h"
#include "pathtrace/xt_legacy_source.h"
#include "util/logging.h"

namespace portmap {

namespace {

// Long enough for a probe's 5 s module timeout to be cut short only by the
// deadline, short enough for a person waiting at a terminal.
constexpr auto kDiagnoseDeadline = std::chrono::seconds(5);

// The client's source port, as `trace` and the verdict trace it.
constexpr uint16_t kClientPort = 40000;
// NFPROTO_IPV4 / NFPROTO_IPV6 (linux/netfilter.h clashes with netinet/in.h).
constexpr char kNeedsCap[] = " (needs CAP_NET_ADMIN in this network namespace)";

// The sources RunTrace (trace_command.cc) traces with: the live kernel, the
// live nf_tables ruleset and the iptables-legacy tables, opened at the
// first blocked path.
class LivePathTracer {
 public:
  explicit LivePathTracer(const Paths& paths) : paths_(paths), legacy_(paths) {}

  Status Trace(const TraceRequest& q, pathtrace::Packet* pkt, pathtrace::TraceResult* result,
               std::string* error) {
    if (tracer_ == nullptr) {
      Status st;
      kernel_ = pathtrace::LiveKernel::Open(paths_, &st);
      if (kernel_ == nullptr)
        return Status::Error("the kernel could not be asked: " + st.message());
      NetlinkStatus nst;
      ruleset_ = pathtrace::NftLiveRuleset::Open(&nst);
      if (!nst.ok()) return Status::Error("nf_tables: " + nst.message + kNeedsCap);
      tracer_ = std::make_unique<pathtrace::Tracer>(&ruleset_, kernel_.get(), &legacy_);
    }
    const auto from = pathtrace::ParseAddr(q.client);
    const auto to = pathtrace::ParseAddr(q.address);
    if (!from || !to || from->family != to->family) {
      *error = "no packet from " + q.client + " to " + q.address;
      return Status::Ok();
    }
    pkt->nfproto = pathtrace::NfprotoOf(to->family);
    pkt->l4proto = q.proto == "udp" ? IPPROTO_UDP : IPPROTO_TCP;
    pkt->saddr = *from;
    pkt->daddr = *to;
    pkt->sport = kClientPort;
    pkt->dport = static_cast<uint16_t>(q.port);
    if (!kernel_->LinkByName(q.interface, &pkt->iif).ok()) {
      *error = "no interface named " + q.interface + " now";
      return Status::Ok();
    }
    const Status st = tracer_->Trace(*pkt, result);
    if (!st.ok()) return Status::Error(st.message() + kNeedsCap);
    return Status::Ok();
  }

 private:
  Paths paths_;
  std::unique_ptr<pathtrace::LiveKernel> kernel_;
  pathtrace::NftLiveRuleset ruleset_;
  pathtrace::LiveLegacyRuleset legacy_;
  std::unique_ptr<pathtrace::Tracer> tracer_;
};

}  // namespace

int RunDiagnose(int argc, const char* const* argv, std::span<const CollectorSpec> collectors) {
  Flags flags;
  DiagnoseFlags diagnose;
  std::string error;
  switch (ParseFlags(argc, argv, collectors, &flags, &error, std::cout, &diagnose)) {
    case FlagsOutcome::kExitOk:
      return 0;
    case FlagsOutcome::kUsageError:
      std::cerr << "portmap_exporter diagnose: error: " << error << ", try --help\n";
      return 2;
    case FlagsOutcome::kRun:
      break;
  }
  // The report states every failure itself; the log (stderr) only adds
  // warnings and errors unless --log.level asks for more.
  InitLogging(std::max(flags.log_level, LogLevel::kWarn), flags.log_format);

  auto config = std::make_shared<ConfigStore>();
  ConfigReloader reloader(flags.config_file, config);
  if (Status st = reloader.Load(); !st.ok()) {
    std::cerr << "portmap_exporter diagnose: error: " << st.message() << "\n";
    return 2;
  }
  ExporterSeams seams;
  seams.watch_events = false;
  BuiltCollectors built = BuildCollectors(flags, config, collectors, seams, /*log_enabled=*/false);
  // A port named with --port is judged even when no DNAT rule shows it: after
  // a firewalld wipe the rules are exactly what is missing.
  std::vector<PublishedPortRef> named;
  for (int port : diagnose.ports) named.push_back({"tcp", static_cast<uint16_t>(port)});
  built.options.published_ports->Remember(named);

  ScrapeRunner runner(std::move(built.enabled), flags.paths);
  std::vector<Status> statuses;
  const auto families = runner.Scrape(Clock::now() + kDiagnoseDeadline, &statuses);
  std::vector<CollectorOutcome> outcomes;
  const std::vector<std::string> names = runner.Names();
  for (size_t i = 0; i < names.size() && i < statuses.size(); ++i) {
    outcomes.push_back({names[i], statuses[i].ok(), statuses[i].code() == Status::Code::kNoData,
                        statuses[i].message()});
  }
  Report report = BuildReport(families, outcomes, diagnose.ports);
  LivePathTracer tracer(flags.paths);
  AttachTraces([&](const TraceRequest& q, pathtrace::Packet* pkt, pathtrace::TraceResult* result,
                   std::string* error) { return tracer.Trace(q, pkt, result, error); },
               &report);
  if (diagnose.format == "json") {
    std::cout << FormatReportJson(report);
  } else {
    const bool color = !diagnose.no_color && isatty(STDOUT_FILENO) == 1;
    std::cout << FormatReportText(report, color);
  }
  std::cout.flush();
  return DiagnoseExitStatus(report);
}

}  // namespace portmap
