#include "collectors/forwarding.h"

#include <string>
#include <vector>

#include "collectors/metrics.h"
#include "collectors/procfs.h"

namespace portmap {

namespace {

struct Family {
  const char* label;        // the `family` label value
  const char* global_path;  // the global switch, below procfs
  const char* conf_dir;     // per-interface directory, below procfs
};

constexpr Family kFamilies[] = {
    {"ipv4", "sys/net/ipv4/ip_forward", "sys/net/ipv4/conf"},
    {"ipv6", "sys/net/ipv6/conf/all/forwarding", "sys/net/ipv6/conf"},
};

// "all" and "default" are not interfaces: "all" is the global switch (read
// above) and "default" only seeds interfaces created later.
bool IsPseudoInterface(const std::string& name) { return name == "all" || name == "default"; }

class ForwardingCollector : public Collector {
 public:
  explicit ForwardingCollector(const CollectorOptions& options) : paths_(options.paths) {}

  Status Collect(const ScrapeContext& /*ctx*/,
                 std::vector<prometheus::MetricFamily>* out) override {
    auto global = MakeFamily("portmap_ip_forward_enabled",
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

  static void AppendError(std::string* errors, const std::string& error) {
    if (!errors->empty()) *errors += "; ";
    *errors += error;
  }

  const Paths paths_;
};

}  // namespace

std::unique_ptr<Collector> NewForwardingCollector(const CollectorOptions& options) {
  return std::make_unique<ForwardingCollector>(options);
}

}  // namespace portmap
