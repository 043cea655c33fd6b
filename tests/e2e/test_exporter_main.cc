// portmap_exporter plus three deliberately broken collectors, all off by
// default, so the end-to-end test can check that a collector that fails,
// throws or hangs costs only its own series while /metrics still answers 200.
// Not installed; production binaries never contain these.
#include <thread>
#include <vector>

#include "collectors/registry.h"
#include "exporter/exporter.h"
#include "util/metrics.h"

namespace portmap {
namespace {

class BrokenCollector : public Collector {
 public:
  enum class Mode { kFail, kThrow, kHang };
  explicit BrokenCollector(Mode mode) : mode_(mode) {}

  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>*) override {
    switch (mode_) {
      case Mode::kFail:
        return Status::Error("deliberate failure");
      case Mode::kThrow:
        throw std::runtime_error("deliberate exception");
      case Mode::kHang: {
        // A collector stuck in a call that ignores the deadline, like a hung
        // D-Bus peer; bounded so the process can always exit.
        const auto until = Clock::now() + std::chrono::seconds(30);
        while (Clock::now() < until && !ctx.stop.stop_requested()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        // Keep hanging past the stop request for a while: the scrape must not
        // wait for it either way.
        std::this_thread::sleep_for(std::chrono::seconds(2));
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

 private:
  Mode mode_;
};

template <BrokenCollector::Mode M>
std::unique_ptr<Collector> NewBroken(const CollectorOptions&) {
  return std::make_unique<BrokenCollector>(M);
}

}  // namespace
}  // namespace portmap

int main(int argc, char** argv) {
  using portmap::BrokenCollector;
  std::vector<portmap::CollectorSpec> table(portmap::BuiltinCollectors().begin(),
                                            portmap::BuiltinCollectors().end());
  table.push_back({"test_fail", portmap::kDefaultOff, "test: always fails",
                   &portmap::NewBroken<BrokenCollector::Mode::kFail>});
  table.push_back({"test_hang", portmap::kDefaultOff, "test: hangs past the deadline",
                   &portmap::NewBroken<BrokenCollector::Mode::kHang>});
  table.push_back({"test_throw", portmap::kDefaultOff, "test: throws",
                   &portmap::NewBroken<BrokenCollector::Mode::kThrow>});
  return portmap::RunExporter(argc, argv, table);
}
