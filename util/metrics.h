// Small builders for prometheus-cpp MetricFamily values, so a collector reads
// as a list of families and samples rather than struct plumbing.
//
//   auto enabled = MakeFamily("portmap_ip_forward_enabled", "...", MetricType::Gauge);
//   AddSample(&enabled, {{"family", "ipv4"}}, 1);
//   out->push_back(std::move(enabled));
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace portmap {

using Label = prometheus::ClientMetric::Label;
using Labels = std::vector<Label>;
using MetricType = prometheus::MetricType;

// An empty family.  Returned by value: collectors fill several families at
// once, and references into a growing vector would dangle.
prometheus::MetricFamily MakeFamily(std::string name, std::string help, MetricType type);

// Adds one sample to a Gauge, Counter or Untyped family.
void AddSample(prometheus::MetricFamily* family, Labels labels, double value);

// Merges families of the same name and sorts them by name (stable output for
// golden files; a duplicated name would otherwise be invalid exposition).
void MergeAndSort(std::vector<prometheus::MetricFamily>* families);

}  // namespace portmap
