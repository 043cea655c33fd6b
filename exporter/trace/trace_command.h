// `portmap_exporter trace`: follows one packet from a client through this
// host's live netfilter ruleset, as the kernel would, and says what the
// client's connect() gets (pathtrace/tracer.h does the work).
//
//   portmap_exporter trace --from ADDR --to ADDR:PORT [--iif NAME]
//                          [--proto tcp|udp] [--sport N] [--format text|json]
//
// --iif defaults to the interface the kernel routes --from through.  Needs
// CAP_NET_ADMIN (nf_tables is read over netlink).  Exit status: 0 connected
// or delivered, 1 any other outcome, 2 unknown or a usage error.
#pragma once

#include <ostream>
#include <string>

#include "pathtrace/kernel.h"
#include "pathtrace/packet.h"

namespace portmap {

struct TraceFlags {
  std::string from;
  std::string to;  // ADDR:PORT, [V6ADDR]:PORT
  std::string iif;
  std::string proto = "tcp";
  int sport = 40000;
  std::string format = "text";
  std::string procfs = "/proc";
};

// Builds the packet the flags describe; the kernel picks --iif when it is
// not given.  False with *error naming the problem.
bool BuildTracePacket(const TraceFlags& flags, pathtrace::KernelView* kernel,
                      pathtrace::Packet* pkt, std::string* error);

int RunTrace(int argc, const char* const* argv);

}  // namespace portmap
