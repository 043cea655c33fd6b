#include "collectors/forwarding/forwarding.h"

#include <charconv>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/forwarding/sysctl_d.h"
#include "collectors/host_facts.h"
#include "util/metrics.h"
#include "util/procfs.h"

namespace portmap {

namespace {

struct Family {
  const char* label;        // the `family` label value
  const char* global_path;  // the global switch, below procfs
  const char* conf_dir;     // per-interface directory, below procfs
  IpFamily id;
  // Every sysctl key that writes the global switch: for IPv4 the kernel backs
  // ip_forward and conf.all.forwarding with one value.
  std::span<const std::string_view> boot_keys;
};

constexpr std::string_view kIpv4Keys[] = {"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"};
constexpr std::string_view kIpv6Keys[] = {"net.ipv6.conf.all.forwarding"};

constexpr Family kFamilies[] = {
    {"ipv4", "sys/net/ipv4/ip_forward", "sys/net/ipv4/conf", IpFamily::kIpv4, kIpv4Keys},
    {"ipv6", "sys/net/ipv6/conf/all/forwarding", "sys/net/ipv6/conf", IpFamily::kIpv6, kIpv6Keys},
};

// The kernel parses the value as an integer: any non-zero one enables
// forwarding, and a value it rejects (not a number) enables nothing.
bool IsEnabledValue(const std::string& value) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  return ec == std::errc() && ptr == value.data() + value.size() && v != 0;
}

// "all" and "default" are not interfaces: "all" is the global switch (read
// above) and "default" only seeds interfaces created later.
bool IsPseudoInterface(const std::string& name) { return name == "all" || name == "default"; }

class ForwardingCollector : public Collector {
 public:
  ForwardingCollector(const CollectorOptions& options, std::unique_ptr<ForwardingEvents> events)
      : paths_(options.paths), events_(std::move(events)) {}

  Status Collect(const ScrapeContext& /*ctx*/,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto global = MakeFamily(kMetricIpForwardEnabled,
                             "Whether the kernel forwards packets of this IP family (the runtime "
                             "value of net.ipv4.ip_forward / net.ipv6.conf.all.forwarding).",
                             MetricType::Gauge);
    auto per_if = MakeFamily("portmap_interface_forwarding_enabled",
                             "Whether forwarding is enabled on this interface "
                             "(net.ipv{4,6}.conf.<interface>.forwarding).",
                             MetricType::Gauge);
    std::string errors;
    int families_seen = 0;
    for (const Family& fam : kFamilies) {
      int64_t value = 0;
      ReadResult r = ReadInt64(paths_.Proc(fam.global_path), &value);
      if (r.code == ReadResult::Code::kNotFound) continue;  // family disabled
      ++families_seen;
      if (!r.ok()) {
        AppendError(&errors, r.error);
      } else {
        AddSample(&global, {{"family", fam.label}}, value != 0 ? 1 : 0);
      }
      CollectInterfaces(fam, &per_if, &errors);
    }
    out->push_back(std::move(global));
    out->push_back(std::move(per_if));
    CollectPersisted(out);
    CollectEvents(out, &errors);
    if (!errors.empty()) return Status::Error(errors);
    if (families_seen == 0) {
      return Status::NoData("no forwarding sysctls under " + paths_.Proc("sys/net"));
    }
    return Status::Ok();
  }

 private:
  void CollectInterfaces(const Family& fam, prometheus::MetricFamily* per_if,
                         std::string* errors) const {
    std::vector<std::string> names;
    ReadResult r = ListDir(paths_.Proc(fam.conf_dir), &names);
    if (!r.ok()) {
      AppendError(errors, r.error);
      return;
    }
    for (const std::string& name : names) {
      if (IsPseudoInterface(name)) continue;
      int64_t value = 0;
      ReadResult rr =
          ReadInt64(paths_.Proc(std::string(fam.conf_dir) + "/" + name + "/forwarding"), &value);
      // An interface can vanish between the listing and the read (a container
      // stopping): that is not an error.
      if (rr.code == ReadResult::Code::kNotFound) continue;
      if (!rr.ok()) {
        AppendError(errors, rr.error);
        continue;
      }
      AddSample(per_if, {{"family", fam.label}, {"interface", name}}, value != 0 ? 1 : 0);
    }
  }

  void CollectPersisted(std::vector<prometheus::MetricFamily>* out) const {
    auto persisted = MakeFamily(kMetricIpForwardPersisted,
                                "Whether the boot-time sysctl configuration (systemd-sysctl "
                                "precedence) enables forwarding for this IP family; 0 when unset.",
                                MetricType::Gauge);
    auto info = MakeFamily(kMetricIpForwardPersistedInfo,
                           "The boot-time assignment that wins for this family's forwarding "
                           "switch; file=\"\" and value=\"\" when no file sets it.",
                           MetricType::Gauge);
    auto problems = MakeFamily("portmap_sysctl_config_error_info",
                               "A sysctl.d file or line systemd-sysctl would reject or skip "
                               "(line=\"\" for a whole file).",
                               MetricType::Gauge);
    const SysctlConfig config = LoadSysctlConfig(paths_.rootfs);
    for (const Family& fam : kFamilies) {
      const SysctlResolution r = ResolveSysctl(config, fam.boot_keys);
      const bool on = r.set && IsEnabledValue(r.value);
      AddSample(&persisted, {{"family", fam.label}}, on ? 1 : 0);
      AddSample(&info, {{"family", fam.label}, {"file", r.file}, {"value", r.value}}, 1);
    }
    size_t shown = 0;
    for (const SysctlProblem& p : config.problems) {
      if (shown == kMaxConfigErrorSeries) {
        AddSample(&problems, {{"file", ""}, {"line", ""}, {"kind", "truncated"}},
                  static_cast<double>(config.problems.size() - shown));
        break;
      }
      ++shown;
      AddSample(&problems,
                {{"file", p.file},
                 {"line", p.line == 0 ? std::string() : std::to_string(p.line)},
                 {"kind", std::string(SysctlProblemKindName(p.kind))}},
                1);
    }
    out->push_back(std::move(persisted));
    out->push_back(std::move(info));
    out->push_back(std::move(problems));
  }

  void CollectEvents(std::vector<prometheus::MetricFamily>* out, std::string* errors) const {
    if (events_ == nullptr) return;
    const ForwardingSnapshot snap = events_->Snapshot();
    if (!snap.listening) {
      AppendError(errors, "netconf watcher not listening: " + snap.error);
      return;
    }
    auto changes = MakeFamily("portmap_ip_forward_changes_total",
                              "Transitions (0->1 or 1->0) of this family's global forwarding "
                              "switch seen on rtnetlink since the exporter started.",
                              MetricType::Counter);
    auto last = MakeFamily("portmap_ip_forward_last_change_timestamp_seconds",
                           "Unix time of the last transition of the global forwarding switch; "
                           "0 when none was seen since the exporter started.",
                           MetricType::Gauge);
    auto resyncs = MakeFamily("portmap_netlink_resyncs_total",
                              "Full re-reads after the kernel dropped netlink events (ENOBUFS).",
                              MetricType::Counter);
    for (const Family& fam : kFamilies) {
      const auto& f = snap.families[static_cast<size_t>(fam.id)];
      AddSample(&changes, {{"family", fam.label}}, static_cast<double>(f.changes));
      AddSample(&last, {{"family", fam.label}}, f.last_change_seconds);
    }
    AddSample(&resyncs, {{"source", "netconf"}}, static_cast<double>(snap.resyncs));
    out->push_back(std::move(changes));
    out->push_back(std::move(last));
    out->push_back(std::move(resyncs));
  }

  const Paths paths_;
  const std::unique_ptr<ForwardingEvents> events_;
};

}  // namespace

std::unique_ptr<Collector> NewForwardingCollector(const CollectorOptions& options) {
  return std::make_unique<ForwardingCollector>(
      options, options.watch_events ? std::make_unique<ForwardingWatcher>(options.paths.procfs)
                                    : std::unique_ptr<ForwardingWatcher>());
}

std::unique_ptr<Collector> NewForwardingCollectorWithEvents(
    const CollectorOptions& options, std::unique_ptr<ForwardingEvents> events) {
  return std::make_unique<ForwardingCollector>(options, std::move(events));
}

}  // namespace portmap
