// portmap_exporter with the kernel's netfilter rules replaced by a recording
// (tests/fixtures/nftables/dockerd_20.10_ipt189.hex: the rules Debian's
// dockerd 20.10 writes for `docker run -p 8080:80`) and no event watchers,
// whose counters would depend on the machine.  Everything else is the real
// program, reading the fixture trees the golden test names with --path.*.
// Not installed; production binaries never contain the recording.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/registry.h"
#include "exporter/exporter.h"
#include "tests/support/nft_recording.h"

int main(int argc, char** argv) {
  std::ifstream in(PORTMAP_GOLDEN_NFTABLES);
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  std::vector<portmap::NfChain> chains =
      portmap::testing::ChainsFromNftRecording(text.str(), &error);
  if (!in || !error.empty() || chains.empty()) {
    std::cerr << "portmap_golden_exporter: " << PORTMAP_GOLDEN_NFTABLES << ": "
              << (error.empty() ? "no chains" : error) << "\n";
    return 2;
  }
  portmap::ExporterSeams seams;
  seams.watch_events = false;
  seams.netfilter_source = [chains](const portmap::Paths&) {
    return portmap::testing::NewRecordedNetfilterSource(chains);
  };
  return portmap::RunExporter(argc, argv, portmap::BuiltinCollectors(), seams);
}
