#include "collectors/published_ports.h"

#include <gtest/gtest.h>

#include "collectors/netfilter/netfilter.h"

namespace portmap {
namespace {

NfChain NatDocker(const std::vector<std::pair<std::string, uint16_t>>& ports) {
  NfChain chain;
  chain.family = "ipv4";
  chain.table = "nat";
  chain.name = "DOCKER";
  chain.rules.push_back({});  // -i docker0 -j RETURN: not a port
  for (const auto& [proto, port] : ports) {
    NfRule rule;
    rule.dnat = NfPortMapping{proto, "0.0.0.0", port, "203.0.113.2", port};
    chain.rules.push_back(rule);
  }
  return chain;
}

// Returns whatever the test put in `nft` and `legacy` at the time of the read.
class FakeSource : public NetfilterSource {
 public:
  std::vector<NfChain> nft;
  std::vector<NfChain> legacy;
  NetlinkStatus nft_status;

  NetlinkStatus ReadNftables(Clock::time_point, std::vector<NfChain>* chains) override {
    *chains = nft;
    return nft_status;
  }
  NetlinkStatus ReadLegacy(Clock::time_point, std::vector<NfChain>* chains, bool* loaded) override {
    *chains = legacy;
    *loaded = !legacy.empty();
    return {};
  }
};

const auto kSoon = [] { return Clock::now() + std::chrono::seconds(1); };

TEST(PublishedPortsTest, OnlyNatDockerDnatRulesArePorts) {
  NfChain filter = NatDocker({{"tcp", 9999}});
  filter.table = "filter";
  NfChain nameless = NatDocker({});
  nameless.rules.push_back({});
  nameless.rules.back().dnat = NfPortMapping{"", "0.0.0.0", 7, "203.0.113.2", 7};
  PublishedPorts book(std::make_unique<FakeSource>());
  book.RememberMappings(
      PublishedMappingsOf({NatDocker({{"tcp", 5000}, {"udp", 53}}), filter, nameless}));
  auto ports = book.Remembered();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0], (PublishedPortRef{"tcp", 5000}));
  EXPECT_EQ(ports[1], (PublishedPortRef{"udp", 53}));
}

TEST(PublishedPortsTest, RemembersPortsAfterTheRulesAreWiped) {
  auto source = std::make_unique<FakeSource>();
  FakeSource* fake = source.get();
  fake->nft = {NatDocker({{"tcp", 5000}})};
  PublishedPorts ports(std::move(source));
  EXPECT_EQ(ports.Read(kSoon()), (std::vector<PublishedPortRef>{{"tcp", 5000}}));

  fake->nft.clear();  // firewalld started: the DNAT rule is gone
  EXPECT_EQ(ports.Read(kSoon()), (std::vector<PublishedPortRef>{{"tcp", 5000}}));
}

TEST(PublishedPortsTest, BothBackendsAndRememberMerge) {
  auto source = std::make_unique<FakeSource>();
  source->nft = {NatDocker({{"tcp", 5000}})};
  source->legacy = {NatDocker({{"tcp", 8080}, {"tcp", 5000}})};
  PublishedPorts ports(std::move(source));
  ports.Remember({{"sctp", 9}});
  EXPECT_EQ(ports.Read(kSoon()),
            (std::vector<PublishedPortRef>{{"sctp", 9}, {"tcp", 5000}, {"tcp", 8080}}));
}

TEST(PublishedPortsTest, AFailedReadStillReturnsWhatIsRemembered) {
  auto source = std::make_unique<FakeSource>();
  source->nft_status = NetlinkStatus::Errno(EPERM, "no CAP_NET_ADMIN");
  source->nft = {NatDocker({{"tcp", 1}})};  // must be ignored: the read failed
  PublishedPorts ports(std::move(source));
  ports.Remember({{"tcp", 5000}});
  EXPECT_EQ(ports.Read(kSoon()), (std::vector<PublishedPortRef>{{"tcp", 5000}}));
}

}  // namespace
}  // namespace portmap
