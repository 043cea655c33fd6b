// The trace command: flags, the packet, the live kernel, the formats.
#include "exporter/trace/trace_command.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "exporter/trace/trace_format.h"
#include "pathtrace/kernel_live.h"
#include "pathtrace/nft_live.h"
#include "pathtrace/tracer.h"
#include "pathtrace/xt_legacy_source.h"

namespace portmap {

namespace {

bool SplitHostPort(const std::string& s, std::string* host, int* port) {
  std::string p;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    *host = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return false;
    *host = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *port = std::stoi(p);
  return *port >= 1 && *port <= 65535;
}

}  // namespace

bool BuildTracePacket(const TraceFlags& flags, pathtrace::KernelView* kernel,
                      pathtrace::Packet* pkt, std::string* error) {
  const auto from = pathtrace::ParseAddr(flags.from);
  if (!from.has_value()) {
    *error = "--from: '" + flags.from + "' is not an IPv4 or IPv6 address";
    return false;
  }
  std::string host;
  int port = 0;
  if (!SplitHostPort(flags.to, &host, &port)) {
    *error = "--to: '" + flags.to + "' is not ADDR:PORT (IPv6: [ADDR]:PORT, port 1-65535)";
    return false;
  }
  const auto to = pathtrace::ParseAddr(host);
  if (!to.has_value()) {
    *error = "--to: '" + host + "' is not an IPv4 or IPv6 address";
    return false;
  }
  if (to->family != from->family) {
    *error = "--from and --to must be of the same family";
    return false;
  }
  pkt->nfproto = to->family == 10 ? 10 : 2;  // AF_INET6 -> NFPROTO_IPV6
  pkt->l4proto = flags.proto == "udp" ? 17 : 6;
  pkt->saddr = *from;
  pkt->daddr = *to;
  pkt->sport = static_cast<uint16_t>(flags.sport);
  pkt->dport = static_cast<uint16_t>(port);
  if (!flags.iif.empty()) {
    if (!kernel->LinkByName(flags.iif, &pkt->iif).ok()) {
      *error = "--iif: no interface named '" + flags.iif + "'";
      return false;
    }
    return true;
  }
  // The interface the client's packets come in by: the one this host routes
  // replies to it through.
  pathtrace::RouteQuery q;
  q.dst = *from;
  pathtrace::RouteAnswer a;
  const Status st = kernel->Route(q, &a);
  if (!st.ok() || a.error != 0 || a.oif == 0) {
    *error = "no route to " + flags.from + " to pick the input interface from; give --iif";
    return false;
  }
  if (a.type == 2 /* RTN_LOCAL */) {
    *error = flags.from + " is this host's own address; trace a client on another host";
    return false;
  }
  if (!kernel->LinkByIndex(a.oif, &pkt->iif).ok()) {
    *error = "interface " + std::to_string(a.oif) + " could not be read; give --iif";
    return false;
  }
  return true;
}

int RunTrace(int argc, const char* const* argv) {
  TraceFlags flags;
  CLI::App app{
      "Follows one packet from a client through this host's netfilter ruleset, as the "
      "kernel would, and says what the client gets.",
      "portmap_exporter trace"};
  app.add_option("--from", flags.from, "The client's address")->required();
  app.add_option("--to", flags.to, "The destination ADDR:PORT (IPv6: [ADDR]:PORT)")->required();
  app.add_option("--iif", flags.iif,
                 "The interface the packet arrives on (default: the route back to --from)");
  app.add_option("--proto", flags.proto, "tcp or udp")->check(CLI::IsMember({"tcp", "udp"}));
  app.add_option("--sport", flags.sport, "The client's source port")->check(CLI::Range(1, 65535));
  app.add_option("--format", flags.format, "Output: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--path.procfs", flags.procfs, "procfs mount point (sysctls)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "portmap_exporter trace: error: " << e.what() << ", try --help\n";
    return 2;
  }
  Paths paths;
  paths.procfs = flags.procfs;
  Status st;
  auto kernel = pathtrace::LiveKernel::Open(paths, &st);
  if (kernel == nullptr) {
    std::cerr << "portmap_exporter trace: error: " << st.message() << "\n";
    return 2;
  }
  pathtrace::Packet pkt;
  std::string error;
  if (!BuildTracePacket(flags, kernel.get(), &pkt, &error)) {
    std::cerr << "portmap_exporter trace: error: " << error << "\n";
    return 2;
  }
  NetlinkStatus nst;
  pathtrace::NftLiveRuleset ruleset = pathtrace::NftLiveRuleset::Open(&nst);
  if (!nst.ok()) {
    std::cerr << "portmap_exporter trace: error: nf_tables: " << nst.message << "\n";
    return 2;
  }
  pathtrace::LiveLegacyRuleset legacy(paths);
  pathtrace::Tracer tracer(&ruleset, kernel.get(), &legacy);
  pathtrace::TraceResult result;
  st = tracer.Trace(pkt, &result);
  if (!st.ok()) {
    std::cerr << "portmap_exporter trace: error: " << st.message()
              << " (needs CAP_NET_ADMIN in this network namespace)\n";
    return 2;
  }
  std::cout << (flags.format == "json" ? FormatTraceJson(pkt, result)
                                       : FormatTraceText(pkt, result));
  return TraceExitStatus(result);
}

}  // namespace portmap
