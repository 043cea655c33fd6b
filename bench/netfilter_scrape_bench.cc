// netfilter_scrape_bench: how long the netfilter collector's kernel read
// takes (both backends, as a scrape does it after a commit: a fresh source
// each time, so its generation cache never answers), in the caller's network
// namespace.  Prints "median_ms min_ms max_ms chains rules" for N reads.
// Driven by bench/netfilter_scrape.sh, which builds the rulesets.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "collectors/netfilter/netfilter.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20;
  portmap::Paths paths;
  std::vector<double> ms;
  size_t chains = 0;
  size_t rules = 0;
  for (int i = 0; i < n; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(10);
    auto source = portmap::NewKernelNetfilterSource(paths);
    std::vector<portmap::NfChain> nft;
    std::vector<portmap::NfChain> legacy;
    bool loaded = false;
    portmap::NetlinkStatus st = source->ReadNftables(deadline, &nft);
    if (!st.ok()) {
      (void)std::fprintf(stderr, "nftables: %s\n", st.message.c_str());
      return 1;
    }
    st = source->ReadLegacy(deadline, &legacy, &loaded);
    if (!st.ok()) {
      (void)std::fprintf(stderr, "legacy: %s\n", st.message.c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    chains = nft.size() + legacy.size();
    rules = 0;
    for (const auto& c : nft) rules += c.rules.size();
    for (const auto& c : legacy) rules += c.rules.size();
  }
  std::sort(ms.begin(), ms.end());
  (void)std::printf("%.3f %.3f %.3f %zu %zu\n", ms[ms.size() / 2], ms.front(), ms.back(), chains,
                    rules);
  return 0;
}
