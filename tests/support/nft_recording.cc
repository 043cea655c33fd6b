#include "tests/support/nft_recording.h"

#include <linux/netfilter.h>

#include <map>
#include <sstream>
#include <tuple>
#include <utility>

#include "collectors/netfilter/nf_docker.h"
#include "netlink/nftables.h"

namespace portmap::testing {

std::vector<NfChain> ChainsFromNftRecording(const std::string& text, std::string* error) {
  NftMessages m;
  std::istringstream lines(text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      bytes.push_back(static_cast<uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    if (NetlinkStatus st = DecodeNftBuffer(bytes.data(), bytes.size(), &m); !st.ok()) {
      if (error->empty()) *error = "line " + std::to_string(n) + ": " + st.message;
      break;
    }
  }
  // What NftablesReader::Read builds: each relevant chain once, its rules in
  // the order they were dumped.
  std::vector<NfChain> out;
  std::map<std::tuple<uint8_t, std::string, std::string>, bool> seen;
  for (const NftChainInfo& c : m.chains) {
    if (!IsDockerRelevantChain(c.name, c.hook.has_value())) continue;
    if (seen[{c.family, c.table, c.name}]) continue;
    seen[{c.family, c.table, c.name}] = true;
    NfChain chain{NftFamilyName(c.family), c.table, c.name, c.hook.has_value(), std::nullopt, {}};
    if (c.policy.has_value()) chain.policy_accept = *c.policy == NF_ACCEPT;
    for (const NftRuleInfo& r : m.rules) {
      if (r.family == c.family && r.table == c.table && r.chain == c.name) {
        chain.rules.push_back(r.rule);
      }
    }
    out.push_back(std::move(chain));
  }
  return out;
}

namespace {

class RecordedSource : public NetfilterSource {
 public:
  explicit RecordedSource(std::vector<NfChain> chains) : chains_(std::move(chains)) {}

  NetlinkStatus ReadNftables(std::chrono::steady_clock::time_point,
                             std::vector<NfChain>* chains) override {
    *chains = chains_;
    return NetlinkStatus::Ok();
  }
  NetlinkStatus ReadLegacy(std::chrono::steady_clock::time_point, std::vector<NfChain>* chains,
                           bool* loaded) override {
    chains->clear();
    *loaded = false;
    return NetlinkStatus::Ok();
  }

 private:
  const std::vector<NfChain> chains_;
};

}  // namespace

std::unique_ptr<NetfilterSource> NewRecordedNetfilterSource(std::vector<NfChain> chains) {
  return std::make_unique<RecordedSource>(std::move(chains));
}

}  // namespace portmap::testing
