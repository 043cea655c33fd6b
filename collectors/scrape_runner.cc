#include "collectors/scrape_runner.h"

#include <algorithm>
#include <condition_variable>
#include <exception>

#include "collectors/host_facts.h"
#include "util/logging.h"
#include "util/metrics.h"

namespace portmap {

struct ScrapeRunner::Call {
  size_t index = 0;
  std::stop_source stop;

  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;                               // GUARDED_BY(mu)
  Status status;                                   // GUARDED_BY(mu)
  double seconds = 0;                              // GUARDED_BY(mu)
  std::vector<prometheus::MetricFamily> families;  // GUARDED_BY(mu)
};

namespace {

constexpr auto kJudgeGrace = std::chrono::milliseconds(100);

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

ScrapeRunner::ScrapeRunner(std::vector<NamedCollector> collectors, Paths paths)
    : collectors_(std::move(collectors)),
      paths_(std::move(paths)),
      // One scrape at a time (metrics_handler.h shares a collection among
      // concurrent scrapes) needs a thread per collector; keep those.
      pool_(collectors_.size()) {}

ScrapeRunner::~ScrapeRunner() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& call : stragglers_) call->stop.request_stop();
  // pool_'s destructor, after this, waits for them to return.
}

std::vector<std::string> ScrapeRunner::Names() const {
  std::vector<std::string> names;
  for (const auto& c : collectors_) names.push_back(c.name);
  return names;
}

void ScrapeRunner::ReapFinishedStragglers() {
  std::lock_guard<std::mutex> lock(mu_);
  // A done call's task has returned: nothing is left to wait for.
  std::erase_if(stragglers_, [](const auto& call) {
    std::lock_guard<std::mutex> call_lock(call->mu);
    return call->done;
  });
}

bool ScrapeRunner::HasStraggler(size_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::any_of(stragglers_.begin(), stragglers_.end(),
                     [index](const auto& call) { return call->index == index; });
}

std::shared_ptr<ScrapeRunner::Call> ScrapeRunner::Launch(size_t index, Clock::time_point deadline,
                                                         const std::shared_ptr<HostFacts>& facts) {
  if (HasStraggler(index)) return nullptr;  // reported by Await; don't stack another stuck thread
  auto call = std::make_shared<Call>();
  call->index = index;
  Collector* collector = collectors_[index].collector.get();
  const Paths* paths = &paths_;
  // The task holds its own reference: an abandoned call keeps its state.
  auto work = [call, collector, paths, deadline, facts] {
    const Clock::time_point begin = Clock::now();
    ScrapeContext ctx{*paths, deadline, call->stop.get_token(), facts.get()};
    std::vector<prometheus::MetricFamily> families;
    Status status;
    try {
      status = collector->Collect(ctx, &families);
    } catch (const std::exception& e) {
      status = Status::Error(std::string("collector threw: ") + e.what());
    } catch (...) {
      status = Status::Error("collector threw a non-standard exception");
    }
    const double seconds = Seconds(Clock::now() - begin);
    std::lock_guard<std::mutex> lock(call->mu);
    call->seconds = seconds;
    call->status = std::move(status);
    call->families = std::move(families);
  };
  // Done once the pool counts the thread idle again, so the next scrape
  // reuses it rather than starting another.
  auto done = [call] {
    std::lock_guard<std::mutex> lock(call->mu);
    call->done = true;
    call->done_cv.notify_all();
  };
  pool_.Run(std::move(work), std::move(done));
  return call;
}

Status ScrapeRunner::Await(const std::shared_ptr<Call>& call, Clock::time_point start,
                           Clock::time_point deadline, std::vector<prometheus::MetricFamily>* out,
                           double* seconds) {
  *seconds = 0;
  if (!call) return Status::Error("previous collection is still running past its deadline");
  std::unique_lock<std::mutex> lock(call->mu);
  if (call->done_cv.wait_until(lock, deadline, [&] { return call->done; })) {
    Status status = call->status;
    *seconds = call->seconds;
    for (auto& f : call->families) out->push_back(std::move(f));
    return status;
  }
  lock.unlock();
  call->stop.request_stop();
  *seconds = Seconds(Clock::now() - start);
  std::lock_guard<std::mutex> guard(mu_);
  stragglers_.push_back(call);
  return Status::Error("deadline exceeded");
}

std::vector<prometheus::MetricFamily> ScrapeRunner::Scrape(Clock::time_point deadline,
                                                           std::vector<Status>* statuses_out) {
  ReapFinishedStragglers();
  const Clock::time_point start = Clock::now();
  // Shared with the calls (each thread holds a reference): a straggler may
  // still record into it after this scrape has returned, and is ignored.
  auto facts = std::make_shared<HostFacts>();

  std::vector<prometheus::MetricFamily> out;
  std::vector<Status> statuses(collectors_.size());
  std::vector<double> seconds(collectors_.size());
  std::vector<std::shared_ptr<Call>> calls(collectors_.size());
  auto launch = [&](auto wanted) {
    for (size_t i = 0; i < collectors_.size(); ++i) {
      if (wanted(collectors_[i].phase)) calls[i] = Launch(i, deadline, facts);
    }
  };
  auto await = [&](CollectorPhase phase) {
    for (size_t i = 0; i < collectors_.size(); ++i) {
      if (collectors_[i].phase != phase) continue;
      // Judges are quick reads of what is already gathered; when a gatherer
      // used the whole budget they still get a moment to answer.
      const Clock::time_point until =
          phase == CollectorPhase::kJudge ? deadline + kJudgeGrace : deadline;
      statuses[i] = Await(calls[i], start, until, &out, &seconds[i]);
    }
  };
  launch([](CollectorPhase p) { return p != CollectorPhase::kJudge; });
  await(CollectorPhase::kFacts);
  facts->Seal();
  launch([](CollectorPhase p) { return p == CollectorPhase::kJudge; });
  await(CollectorPhase::kGather);
  await(CollectorPhase::kJudge);

  auto success =
      MakeFamily("portmap_scrape_collector_success",
                 "Whether a collector succeeded in this scrape (1) or not (0).", MetricType::Gauge);
  auto duration = MakeFamily("portmap_scrape_collector_duration_seconds",
                             "How long a collector took in this scrape.", MetricType::Gauge);
  for (size_t i = 0; i < collectors_.size(); ++i) {
    const std::string& name = collectors_[i].name;
    const Status& status = statuses[i];
    AddSample(&success, {{"collector", name}}, status.ok() ? 1 : 0);
    AddSample(&duration, {{"collector", name}}, seconds[i]);
    if (status.code() == Status::Code::kError) {
      LogError("collector failed", {{"collector", name},
                                    {"duration_seconds", std::to_string(seconds[i])},
                                    {"err", status.message()}});
    } else if (status.code() == Status::Code::kNoData) {
      LogDebug("collector returned no data", {{"collector", name}, {"reason", status.message()}});
    }
  }
  out.push_back(std::move(success));
  out.push_back(std::move(duration));
  MergeAndSort(&out);
  if (statuses_out != nullptr) *statuses_out = std::move(statuses);
  return out;
}

}  // namespace portmap
