#include "exporter/scrape_runner.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <thread>

#include "collectors/metrics.h"
#include "exporter/logging.h"

namespace portmap {

struct ScrapeRunner::Call {
  size_t index = 0;
  std::stop_source stop;
  std::thread thread;

  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;                               // GUARDED_BY(mu)
  Status status;                                   // GUARDED_BY(mu)
  double seconds = 0;                              // GUARDED_BY(mu)
  std::vector<prometheus::MetricFamily> families;  // GUARDED_BY(mu)
};

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

ScrapeRunner::ScrapeRunner(std::vector<NamedCollector> collectors, Paths paths)
    : collectors_(std::move(collectors)), paths_(std::move(paths)) {}

ScrapeRunner::~ScrapeRunner() {
  std::vector<std::shared_ptr<Call>> stragglers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stragglers.swap(stragglers_);
  }
  for (auto& call : stragglers) {
    call->stop.request_stop();
    if (call->thread.joinable()) call->thread.join();
  }
}

std::vector<std::string> ScrapeRunner::Names() const {
  std::vector<std::string> names;
  for (const auto& c : collectors_) names.push_back(c.name);
  return names;
}

void ScrapeRunner::ReapFinishedStragglers() {
  std::vector<std::shared_ptr<Call>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::partition(stragglers_.begin(), stragglers_.end(), [](const auto& call) {
      std::lock_guard<std::mutex> call_lock(call->mu);
      return !call->done;
    });
    finished.assign(std::make_move_iterator(it), std::make_move_iterator(stragglers_.end()));
    stragglers_.erase(it, stragglers_.end());
  }
  for (auto& call : finished) call->thread.join();  // done: returns at once
}

bool ScrapeRunner::HasStraggler(size_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::any_of(stragglers_.begin(), stragglers_.end(),
                     [index](const auto& call) { return call->index == index; });
}

std::vector<prometheus::MetricFamily> ScrapeRunner::Scrape(Clock::time_point deadline) {
  ReapFinishedStragglers();
  const Clock::time_point start = Clock::now();

  std::vector<std::shared_ptr<Call>> calls(collectors_.size());
  for (size_t i = 0; i < collectors_.size(); ++i) {
    if (HasStraggler(i)) continue;  // reported below; don't stack another stuck thread
    auto call = std::make_shared<Call>();
    call->index = i;
    Collector* collector = collectors_[i].collector.get();
    const Paths* paths = &paths_;
    // The thread holds its own reference: an abandoned call keeps its state.
    call->thread = std::thread([call, collector, paths, deadline] {
      const Clock::time_point begin = Clock::now();
      ScrapeContext ctx{*paths, deadline, call->stop.get_token()};
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
      call->done = true;
      call->done_cv.notify_all();
    });
    calls[i] = std::move(call);
  }

  std::vector<prometheus::MetricFamily> out;
  auto success =
      MakeFamily("portmap_scrape_collector_success",
                 "Whether a collector succeeded in this scrape (1) or not (0).", MetricType::Gauge);
  auto duration = MakeFamily("portmap_scrape_collector_duration_seconds",
                             "How long a collector took in this scrape.", MetricType::Gauge);

  for (size_t i = 0; i < collectors_.size(); ++i) {
    const std::string& name = collectors_[i].name;
    Status status;
    double seconds = 0;
    auto& call = calls[i];
    if (!call) {
      status = Status::Error("previous collection is still running past its deadline");
    } else {
      std::unique_lock<std::mutex> lock(call->mu);
      if (call->done_cv.wait_until(lock, deadline, [&] { return call->done; })) {
        status = call->status;
        seconds = call->seconds;
        for (auto& f : call->families) out.push_back(std::move(f));
        lock.unlock();
        call->thread.join();
      } else {
        lock.unlock();
        call->stop.request_stop();
        status = Status::Error("deadline exceeded");
        seconds = Seconds(Clock::now() - start);
        std::lock_guard<std::mutex> guard(mu_);
        stragglers_.push_back(call);
      }
    }
    AddSample(&success, {{"collector", name}}, status.ok() ? 1 : 0);
    AddSample(&duration, {{"collector", name}}, seconds);
    if (status.code() == Status::Code::kError) {
      LogError("collector failed", {{"collector", name},
                                    {"duration_seconds", std::to_string(seconds)},
                                    {"err", status.message()}});
    } else if (status.code() == Status::Code::kNoData) {
      LogDebug("collector returned no data", {{"collector", name}, {"reason", status.message()}});
    }
  }
  out.push_back(std::move(success));
  out.push_back(std::move(duration));
  MergeAndSort(&out);
  return out;
}

}  // namespace portmap
