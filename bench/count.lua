-- wrk script for bench/load.sh and bench/compare.sh: counts every status and
-- prints the figures in one parseable line:
--   RESULT requests=N seconds=S p50_ms=… p99_ms=… max_ms=… connect=… read=…
--   write=… timeout=… status_200=… status_503=…
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.2f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format(" connect=%d read=%d write=%d timeout=%d", e.connect, e.read, e.write,
    e.timeout))
  for k, v in pairs(total) do io.write(string.format(" status_%d=%d", k, v)) end
  io.write("\n")
end
