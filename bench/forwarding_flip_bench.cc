// Flip-to-visible delay: from the write of net.ipv4.ip_forward to the first
// forwarding-collector scrape whose portmap_ip_forward_changes_total shows it.
// That is the time rtnetlink takes to deliver RTM_NEWNETCONF to the watcher
// thread, plus the scrape's own cost (Collect reads /proc and the sysctl.d
// files under --path.rootfs "/" each time, as in production).
//
// Runs in a network namespace of its own (unshare(CLONE_NEWNET)); needs root.
//   build/bench/forwarding_flip_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "collectors/forwarding/forwarding.h"
#include "util/metrics.h"
#include "util/status.h"

namespace portmap {
namespace {

using SteadyClock = std::chrono::steady_clock;

Paths g_paths;
std::unique_ptr<Collector> g_collector;
int g_forward = 1;  // the value last written in the namespace

ino_t NetnsInode() {
  struct stat st {};
  return ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

bool WriteForward(int value) {
  std::ofstream out("/proc/sys/net/ipv4/ip_forward");
  out << value;
  out.flush();
  return out.good();
}

// changes_total{family="ipv4"} from one scrape; -1 when absent.
double ScrapeChanges() {
  std::vector<prometheus::MetricFamily> out;
  ScrapeContext ctx{g_paths, Clock::now() + std::chrono::seconds(5), {}};
  (void)g_collector->Collect(ctx, &out);
  for (const auto& f : out) {
    if (f.name != "portmap_ip_forward_changes_total") continue;
    for (const auto& m : f.metric) {
      if (m.label.size() == 1 && m.label[0].value == "ipv4") return m.counter.value;
    }
  }
  return -1;
}

void BM_FlipToVisibleInScrape(benchmark::State& state) {
  std::vector<double> samples;  // seconds, one per flip: for the tail
  for (auto _ : state) {        // NOLINT(clang-analyzer-deadcode.DeadStores): the idiom
    const double before = ScrapeChanges();
    g_forward = 1 - g_forward;  // the library calls this function several times
    const auto t0 = SteadyClock::now();
    if (!WriteForward(g_forward)) {
      state.SkipWithError("write ip_forward failed");
      break;
    }
    bool seen = false;
    const auto give_up = t0 + std::chrono::seconds(1);
    while (SteadyClock::now() < give_up) {
      if (ScrapeChanges() > before) {
        seen = true;
        break;
      }
    }
    const auto elapsed = SteadyClock::now() - t0;
    if (!seen) {
      state.SkipWithError("flip not visible within 1 s");
      break;
    }
    samples.push_back(std::chrono::duration<double>(elapsed).count());
    state.SetIterationTime(samples.back());
  }
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[static_cast<size_t>(q * (samples.size() - 1))] * 1e6; };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = samples.back() * 1e6;
}
BENCHMARK(BM_FlipToVisibleInScrape)->UseManualTime()->Unit(benchmark::kMicrosecond);

// The cost of one scrape alone, to separate it from delivery.
void BM_ScrapeOnly(benchmark::State& state) {
  for (auto _ : state)  // NOLINT(clang-analyzer-deadcode.DeadStores)
    benchmark::DoNotOptimize(ScrapeChanges());
}
BENCHMARK(BM_ScrapeOnly)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace portmap

int main(int argc, char** argv) {
  using namespace portmap;  // NOLINT: a main function
  if (::geteuid() != 0) {
    (void)std::fprintf(stderr,
                       "forwarding_flip_bench: needs root (unshares a network namespace)\n");
    return 77;
  }
  const ino_t host = NetnsInode();
  if (::unshare(CLONE_NEWNET) != 0 || NetnsInode() == host || host == 0) {
    (void)std::fprintf(stderr, "forwarding_flip_bench: unshare(CLONE_NEWNET) failed: %s\n",
                       ErrnoText(errno).c_str());
    return 77;
  }
  if (!WriteForward(1)) return 1;
  CollectorOptions options;
  g_paths = options.paths;
  g_collector = NewForwardingCollector(options);
  const auto until = SteadyClock::now() + std::chrono::seconds(5);
  while (ScrapeChanges() < 0 && SteadyClock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (ScrapeChanges() < 0) {
    (void)std::fprintf(stderr, "forwarding_flip_bench: the netconf watcher did not start\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_collector.reset();
  return 0;
}
