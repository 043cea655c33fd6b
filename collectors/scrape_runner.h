// ScrapeRunner runs every enabled collector for one scrape, concurrently, each
// under the scrape's deadline, and always reports per collector
//   portmap_scrape_collector_success{collector}           1 ok, 0 failed/no data/overran
//   portmap_scrape_collector_duration_seconds{collector}
//
// A collector that returns an error, throws, or overruns the deadline costs
// only its own metrics: the scrape answers on time with everything else.
// Collectors run on a WorkerPool (util/worker_pool.h): its threads are kept
// between scrapes, so a scrape creates none.  An overrunning call cannot be
// killed, so it is left to finish on its thread (its stop_token is
// requested); until it has finished, later scrapes report that collector as
// failed instead of piling up more stuck threads behind it.
//
// Collectors of CollectorPhase::kJudge start once every kFacts collector has
// finished (or the deadline has passed), on the facts those recorded, sealed
// (host_facts.h); the other gatherers run on beside them.
//
// Thread safety: Scrape() may be called concurrently (several scrapers); the
// collectors themselves must tolerate concurrent Collect() calls.
#pragma once

#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/registry.h"
#include "util/worker_pool.h"

namespace portmap {

struct NamedCollector {
  std::string name;
  std::unique_ptr<Collector> collector;
  CollectorPhase phase = CollectorPhase::kGather;
};

class ScrapeRunner {
 public:
  ScrapeRunner(std::vector<NamedCollector> collectors, Paths paths);
  ScrapeRunner(const ScrapeRunner&) = delete;
  ScrapeRunner& operator=(const ScrapeRunner&) = delete;
  // Requests every straggler to stop and joins it.
  ~ScrapeRunner();

  // Runs all collectors and returns their families plus the per-collector
  // success and duration families, merged and sorted by name.  When
  // `statuses` is given it receives each collector's Status, in Names()
  // order, so a caller (diagnose) can show the reason, not just success 0.
  std::vector<prometheus::MetricFamily> Scrape(Clock::time_point deadline,
                                               std::vector<Status>* statuses = nullptr);

  // Names of the collectors, in the order given.
  std::vector<std::string> Names() const;

 private:
  struct Call;  // one Collect() invocation, run by pool_

  std::shared_ptr<Call> Launch(size_t index, Clock::time_point deadline,
                               const std::shared_ptr<HostFacts>& facts);
  // Waits for `call` (null: still straggling) and adds its families to *out.
  Status Await(const std::shared_ptr<Call>& call, Clock::time_point start,
               Clock::time_point deadline, std::vector<prometheus::MetricFamily>* out,
               double* seconds);
  void ReapFinishedStragglers();
  bool HasStraggler(size_t index);

  const std::vector<NamedCollector> collectors_;
  const Paths paths_;

  std::mutex mu_;
  std::vector<std::shared_ptr<Call>> stragglers_;  // GUARDED_BY(mu_)
  WorkerPool pool_;                                // last: its destructor waits for the calls above
};

}  // namespace portmap
