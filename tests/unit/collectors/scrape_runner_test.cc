#include "collectors/scrape_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "collectors/host_facts.h"
#include "util/metrics.h"

namespace portmap {
namespace {

using std::chrono::milliseconds;

class FakeCollector : public Collector {
 public:
  enum class Mode { kOk, kNoData, kError, kThrow, kHang };
  explicit FakeCollector(Mode mode) : mode_(mode) {}

  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) override {
    auto f = MakeFamily("fake_" + std::to_string(static_cast<int>(mode_)), "h", MetricType::Gauge);
    AddSample(&f, {}, 1);
    out->push_back(std::move(f));
    switch (mode_) {
      case Mode::kOk:
        return Status::Ok();
      case Mode::kNoData:
        return Status::NoData("nothing here");
      case Mode::kError:
        return Status::Error("broken");
      case Mode::kThrow:
        throw std::runtime_error("boom");
      case Mode::kHang: {
        // Ignores the deadline, like a stuck syscall, but does end: 1 s or stop.
        auto until = Clock::now() + std::chrono::seconds(1);
        while (Clock::now() < until && !(stop_honoured_ && ctx.stop.stop_requested())) {
          std::this_thread::sleep_for(milliseconds(5));
        }
        return Status::Ok();
      }
    }
    return Status::Ok();
  }
  bool stop_honoured_ = false;

 private:
  Mode mode_;
};

std::vector<NamedCollector> Collectors(
    std::initializer_list<std::pair<const char*, FakeCollector::Mode>> specs) {
  std::vector<NamedCollector> out;
  for (const auto& [name, mode] : specs)
    out.push_back({name, std::make_unique<FakeCollector>(mode)});
  return out;
}

// success{collector=name}, or -1 when the series is absent.
double Value(const std::vector<prometheus::MetricFamily>& fams, const std::string& family,
             const std::string& collector) {
  for (const auto& f : fams) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      if (!m.label.empty() && m.label[0].value == collector) return m.gauge.value;
    }
  }
  return -1;
}

bool HasFamily(const std::vector<prometheus::MetricFamily>& fams, const std::string& name) {
  for (const auto& f : fams) {
    if (f.name == name) return true;
  }
  return false;
}

TEST(ScrapeRunnerTest, EachCollectorReportsItsOwnOutcome) {
  using M = FakeCollector::Mode;
  ScrapeRunner runner(
      Collectors(
          {{"ok", M::kOk}, {"nodata", M::kNoData}, {"err", M::kError}, {"throws", M::kThrow}}),
      Paths{});
  auto fams = runner.Scrape(Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "ok"), 1);
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "nodata"), 0);
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "err"), 0);
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "throws"), 0);
  for (const char* c : {"ok", "nodata", "err", "throws"}) {
    EXPECT_GE(Value(fams, "portmap_scrape_collector_duration_seconds", c), 0) << c;
  }
  // What a failing collector wrote before failing is still exported.
  EXPECT_TRUE(HasFamily(fams, "fake_2"));
  for (size_t i = 1; i < fams.size(); ++i) EXPECT_LT(fams[i - 1].name, fams[i].name);
}

TEST(ScrapeRunnerTest, OverrunCostsOnlyThatCollectorAndTheDeadlineHolds) {
  using M = FakeCollector::Mode;
  ScrapeRunner runner(Collectors({{"ok", M::kOk}, {"hang", M::kHang}}), Paths{});
  auto start = Clock::now();
  auto fams = runner.Scrape(start + milliseconds(100));
  auto took = Clock::now() - start;
  EXPECT_LT(took, milliseconds(500));
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "ok"), 1);
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "hang"), 0);
  EXPECT_FALSE(HasFamily(fams, "fake_4")) << "an abandoned call's families are dropped";

  // While the stuck call runs, the next scrape does not start another one.
  fams = runner.Scrape(Clock::now() + milliseconds(50));
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "hang"), 0);
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "ok"), 1);
}

TEST(ScrapeRunnerTest, StragglerIsReapedAndCollectorRunsAgain) {
  using M = FakeCollector::Mode;
  auto collectors = Collectors({{"hang", M::kHang}});
  static_cast<FakeCollector*>(collectors[0].collector.get())->stop_honoured_ = true;
  ScrapeRunner runner(std::move(collectors), Paths{});
  auto fams = runner.Scrape(Clock::now() + milliseconds(30));
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "hang"), 0);
  // The stop request ends the call; give it a moment, then it runs again.
  std::this_thread::sleep_for(milliseconds(100));
  fams = runner.Scrape(Clock::now() + std::chrono::seconds(3));
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "hang"), 1);
}

TEST(ScrapeRunnerTest, ConcurrentScrapes) {
  using M = FakeCollector::Mode;
  ScrapeRunner runner(Collectors({{"a", M::kOk}, {"b", M::kError}}), Paths{});
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        auto fams = runner.Scrape(Clock::now() + std::chrono::seconds(5));
        if (Value(fams, "portmap_scrape_collector_success", "a") == 1 &&
            Value(fams, "portmap_scrape_collector_success", "b") == 0) {
          ++good;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 160);
}

size_t ThreadsOfThisProcess() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) n += e.exists();
  return n;
}

TEST(ScrapeRunnerTest, ScrapesCreateNoThreads) {
  using M = FakeCollector::Mode;
  const size_t before = ThreadsOfThisProcess();
  ScrapeRunner runner(Collectors({{"a", M::kOk}, {"b", M::kOk}, {"c", M::kError}}), Paths{});
  for (int i = 0; i < 30; ++i) runner.Scrape(Clock::now() + std::chrono::seconds(5));
  // At most one kept thread per collector; a thread a scrape started would
  // show as more once its predecessors had not exited yet.
  EXPECT_LE(ThreadsOfThisProcess(), before + 3) << "collectors run on kept threads";
}

TEST(ScrapeRunnerTest, DestructionJoinsStragglers) {
  using M = FakeCollector::Mode;
  auto runner = std::make_unique<ScrapeRunner>(Collectors({{"hang", M::kHang}}), Paths{});
  runner->Scrape(Clock::now() + milliseconds(10));
  runner.reset();  // must join the running call, not leak or detach it
  SUCCEED();
}

// Records a fact after a pause; the judge reads it.  The judge must run
// after the gatherer, never beside it.
class GatherFact : public Collector {
 public:
  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>*) override {
    std::this_thread::sleep_for(milliseconds(50));
    if (ctx.facts != nullptr) ctx.facts->SetNetfilter(NetfilterFacts{{"ipv4"}});
    return Status::Ok();
  }
};

class JudgeFact : public Collector {
 public:
  Status Collect(const ScrapeContext& ctx, std::vector<prometheus::MetricFamily>* out) override {
    auto f = MakeFamily("judged", "h", MetricType::Gauge);
    const auto facts = ctx.facts->Snapshot();
    AddSample(
        &f, {},
        facts.netfilter ? static_cast<double>(facts.netfilter->nat_docker_families.size()) : -1);
    out->push_back(std::move(f));
    return Status::Ok();
  }
};

TEST(ScrapeRunnerTest, JudgesRunAfterGatherersOnTheirFacts) {
  std::vector<NamedCollector> collectors;
  // Listed first on purpose: the phase, not the order, decides.
  collectors.push_back({"judge", std::make_unique<JudgeFact>(), CollectorPhase::kJudge});
  collectors.push_back({"gather", std::make_unique<GatherFact>(), CollectorPhase::kFacts});
  ScrapeRunner runner(std::move(collectors), Paths{});
  for (int i = 0; i < 3; ++i) {
    auto fams = runner.Scrape(Clock::now() + std::chrono::seconds(2));
    ASSERT_TRUE(HasFamily(fams, "judged"));
    for (const auto& f : fams) {
      if (f.name == "judged") {
        EXPECT_EQ(f.metric.at(0).gauge.value, 1);
      }
    }
    EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "judge"), 1);
  }
}

TEST(ScrapeRunnerTest, AJudgeStillAnswersWhenAGathererOverruns) {
  using M = FakeCollector::Mode;
  std::vector<NamedCollector> collectors;
  collectors.push_back({"hang", std::make_unique<FakeCollector>(M::kHang), CollectorPhase::kFacts});
  collectors.push_back({"judge", std::make_unique<JudgeFact>(), CollectorPhase::kJudge});
  ScrapeRunner runner(std::move(collectors), Paths{});
  auto fams = runner.Scrape(Clock::now() + milliseconds(100));
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "hang"), 0);
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "judge"), 1);
  for (const auto& f : fams) {
    if (f.name == "judged") {
      EXPECT_EQ(f.metric.at(0).gauge.value, -1) << "the fact is unknown";
    }
  }
}

// Records when it ran.
class StartTime : public Collector {
 public:
  explicit StartTime(Clock::time_point* at) : at_(at) {}
  Status Collect(const ScrapeContext&, std::vector<prometheus::MetricFamily>*) override {
    *at_ = Clock::now();
    return Status::Ok();
  }

 private:
  Clock::time_point* at_;
};

TEST(ScrapeRunnerTest, AJudgeDoesNotWaitForGatherersThatRecordNoFacts) {
  using M = FakeCollector::Mode;
  Clock::time_point judged{};
  std::vector<NamedCollector> collectors;
  collectors.push_back({"slow", std::make_unique<FakeCollector>(M::kHang)});  // 1 s
  collectors.push_back({"facts", std::make_unique<GatherFact>(), CollectorPhase::kFacts});
  collectors.push_back({"judge", std::make_unique<StartTime>(&judged), CollectorPhase::kJudge});
  ScrapeRunner runner(std::move(collectors), Paths{});
  const Clock::time_point start = Clock::now();
  auto fams = runner.Scrape(start + std::chrono::seconds(5));
  EXPECT_EQ(Value(fams, "portmap_scrape_collector_success", "slow"), 1);
  EXPECT_GE(judged - start, milliseconds(50)) << "after the facts (50 ms)";
  EXPECT_LT(judged - start, milliseconds(900)) << "not after the slow gatherer (1 s)";
}

}  // namespace
}  // namespace portmap
