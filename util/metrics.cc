#include "util/metrics.h"

#include <algorithm>
#include <map>

namespace portmap {

prometheus::MetricFamily MakeFamily(std::string name, std::string help, MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(prometheus::MetricFamily* family, Labels labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  switch (family->type) {
    case MetricType::Counter:
      metric.counter.value = value;
      break;
    case MetricType::Gauge:
      metric.gauge.value = value;
      break;
    default:
      metric.untyped.value = value;
      break;
  }
  family->metric.push_back(std::move(metric));
}

void MergeAndSort(std::vector<prometheus::MetricFamily>* families) {
  std::map<std::string, prometheus::MetricFamily> by_name;
  for (auto& family : *families) {
    auto [it, inserted] = by_name.try_emplace(family.name, std::move(family));
    if (!inserted) {
      auto& into = it->second.metric;
      into.insert(into.end(), std::make_move_iterator(family.metric.begin()),
                  std::make_move_iterator(family.metric.end()));
    }
  }
  families->clear();
  for (auto& [name, family] : by_name) families->push_back(std::move(family));
}

}  // namespace portmap
