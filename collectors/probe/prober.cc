#include "collectors/probe/prober.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "config/probe_target.h"

namespace portmap {

namespace {

std::string Milliseconds(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration<double, std::milli>(d).count()) + "ms";
}

}  // namespace

std::vector<ProbeRecord> RunProbes(const std::vector<ProbeJob>& jobs, const ProbeConfig& config,
                                   Clock::time_point deadline, std::stop_token stop,
                                   std::vector<std::string>* log) {
  auto note = [log](std::string line) {
    if (log != nullptr) log->push_back(std::move(line));
  };
  std::vector<ProbeRecord> records(jobs.size());
  std::vector<TcpConnectRequest> requests;
  std::vector<size_t> request_job;  // requests[i] probes jobs[request_job[i]]
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const ProbeJob& job = jobs[i];
    records[i].target = job.target;
    records[i].extra = job.extra;
    auto fail = [&](std::string why) {
      note("target=" + job.target + " error: " + why);
      records[i].result.outcome = ProbeOutcome::kError;
      records[i].result.detail = std::move(why);
    };
    auto module = config.modules.find(job.module);
    if (module == config.modules.end()) {
      fail("unknown module \"" + job.module + "\"");
      continue;
    }
    records[i].histogram = module->second.histogram;
    ProbeTarget target;
    if (Status st = ParseProbeTarget(job.target, &target); !st.ok()) {
      fail(st.message());
      continue;
    }
    const Clock::time_point job_deadline = std::min(deadline, start + module->second.timeout);
    ResolvedTarget resolved;
    if (job.resolved) {
      resolved = *job.resolved;
    } else {
      note("target=" + job.target + " module=" + job.module + " resolving " + target.host);
      if (Status st = ResolveProbeTarget(target, module->second, job_deadline, &resolved);
          !st.ok()) {
        fail(st.message());
        continue;
      }
    }
    note("target=" + job.target + " connecting to " + FormatAddressPort(resolved.address));
    TcpConnectRequest request;
    request.address = resolved.address;
    request.address_len = resolved.address_len;
    request.source = resolved.source;
    request.source_len = resolved.source_len;
    request.deadline = job_deadline;
    requests.push_back(request);
    request_job.push_back(i);
  }
  std::vector<TcpConnectResult> results = TcpConnectAll(requests, std::move(stop));
  for (size_t r = 0; r < results.size(); ++r) {
    ProbeRecord& record = records[request_job[r]];
    record.result = std::move(results[r]);
    note("target=" + record.target +
         " outcome=" + std::string(ProbeOutcomeName(record.result.outcome)) +
         " elapsed=" + Milliseconds(record.result.elapsed) +
         (record.result.detail.empty() ? "" : " detail=\"" + record.result.detail + "\""));
  }
  return records;
}

}  // namespace portmap
