#!/usr/bin/env bash
# TCP connect probes, two ways, against N loopback listeners (one
# portmap_lab_tcp process serving every port):
#   (a) TcpConnectAll: one call per round over all N targets
#       (probe_connect_bench, linking portmap_collectors);
#   (b) Debian's prometheus-blackbox-exporter: one
#       /probe?target=127.0.0.1:PORT&module=tcp_connect request per target,
#       all N in flight at once, per round (sent by probe_connect_bench
#       --http: curl's start-up alone costs more than the probes where fork is
#       slow, and would hide what is measured);
#   (c) portmap_exporter's /probe, exactly as (b);
#   (d) portmap_exporter's /metrics with the N targets as static targets of
#       --config.file (only the probe collector on): one scrape per round,
#       timed by curl's time_total (its start-up not included).  The module
#       keeps the default (no histogram), so the scrape holds 3 probe series
#       per target (plus portmap_probe_age_seconds); the script checks that it
#       does.  --probe.interval=0s, so every scrape probes every target.
# Wall time is per round (median over the rounds); CPU is per probe: (a) the
# driver's getrusage, (b) the exporter's utime+stime from /proc/PID/stat
# (clock ticks, so many rounds are run; the client's CPU is not counted).
# No root needed; nothing outside 127.0.0.1 is touched, and the exporter runs
# as a child of this script, never as a service.
#
# Usage: bench/probe_bench.sh BUILD_DIR [SIZES...]   (default sizes: 1 50 500)
# BUILD_DIR is a build with -DPORTMAP_TESTS=ON -DPORTMAP_BENCH=ON.
# Environment: ROUNDS_A (default 200), ROUNDS_B (default 50): the fewest rounds
# (small sizes run more, for at least 20000 / 2000 probes), FIRST_PORT
# (default 41000), BB_PORT (default 19115), BLACKBOX (the exporter binary).
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR [SIZES...]}
shift
sizes=("${@:-1 50 500}")
read -r -a sizes <<<"${sizes[*]}"
ROUNDS_A_BASE=${ROUNDS_A:-200}
ROUNDS_B_BASE=${ROUNDS_B:-50}
first=${FIRST_PORT:-41000}
bb_port=${BB_PORT:-19115}
blackbox=${BLACKBOX:-/usr/bin/prometheus-blackbox-exporter}
portmap=$build/portmap_exporter
pm_port=${PM_PORT:-19806}
driver=$build/bench/probe_connect_bench
lab_tcp=$build/tests/lab/portmap_lab_tcp
for tool in "$driver" "$lab_tcp" "$blackbox" "$portmap"; do
  [[ -x $tool ]] || { echo "missing $tool (build with -DPORTMAP_BENCH=ON?)" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "missing curl" >&2; exit 1; }  # health checks

max=0
for n in "${sizes[@]}"; do ((n > max)) && max=$n; done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
work=$(mktemp -d /tmp/portmap-probe-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# wait_healthy PORT LOG: until 127.0.0.1:PORT/-/healthy answers (5 s), else
# show LOG and fail.
wait_healthy() {
  for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$1/-/healthy" >/dev/null && return 0
    sleep 0.1
  done
  cat "$2" >&2
  exit 1
}

# The listeners.
"$lab_tcp" listen --bind 127.0.0.1 $(seq "$first" $((first + max - 1))) 2>"$work/lab.log" &
pids+=($!)
for _ in $(seq 50); do
  grep -qs listening "$work/lab.log" && break
  sleep 0.1
done
grep -q listening "$work/lab.log" || { cat "$work/lab.log" >&2; exit 1; }

# The exporter, with the usual tcp_connect module.
cat >"$work/blackbox.yml" <<'EOF'
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
EOF
"$blackbox" --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$bb_port" \
  --log.level=warn >"$work/blackbox.log" 2>&1 &
bb_pid=$!
pids+=("$bb_pid")
wait_healthy "$bb_port" "$work/blackbox.log"

# portmap_exporter, probe collector only; targets come with each size's reload.
printf 'modules: {tcp_connect: {timeout: 5s}}\n' >"$work/portmap.yml"
"$portmap" --collector.disable-defaults --collector.probe --config.file="$work/portmap.yml" \
  --probe.interval=0s --web.listen-address="127.0.0.1:$pm_port" --log.level=warn >"$work/portmap.log" 2>&1 &
pm_pid=$!
pids+=("$pm_pid")
wait_healthy "$pm_port" "$work/portmap.log"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# cpu_per_probe PID BEFORE_TICKS PROBES: µs of the process' CPU per probe.
cpu_per_probe() {
  awk -v t=$(($(ticks "$1") - $2)) -v hz="$hz" -v p="$3" 'BEGIN { printf "%.1f", t / hz * 1e6 / p }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '| targets | TcpConnectAll wall/round | TcpConnectAll CPU/probe '
printf '| blackbox /probe wall/round | blackbox CPU/probe '
printf '| portmap /probe wall/round | portmap /probe CPU/probe '
printf '| portmap /metrics scrape | portmap /metrics CPU/probe | rounds (a / b,c / d) |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
# At least this many probes per size, so small sizes are not lost in the
# clock-tick resolution of /proc/PID/stat.
min_probes_a=20000
min_probes_b=2000
for n in "${sizes[@]}"; do
  rounds_a=$((ROUNDS_A_BASE > min_probes_a / n ? ROUNDS_A_BASE : min_probes_a / n))
  rounds_b=$((ROUNDS_B_BASE > min_probes_b / n ? ROUNDS_B_BASE : min_probes_b / n))
  line=$("$driver" --rounds "$rounds_a" 127.0.0.1 "$first" "$n") ||
    { echo "TcpConnectAll: not every probe connected: $line" >&2; exit 1; }
  a_wall=$(sed -n 's/.*wall_ms_median=\([^ ]*\).*/\1/p' <<<"$line")
  a_cpu=$(sed -n 's/.*cpu_us_per_probe=\([^ ]*\).*/\1/p' <<<"$line")

  # (b) and (c): the driver's warm-up round is one more round of probes.
  before=$(ticks "$bb_pid")
  line=$("$driver" --rounds "$rounds_b" --http "127.0.0.1:$bb_port" 127.0.0.1 "$first" "$n") ||
    { echo "blackbox: not every probe succeeded: $line" >&2; exit 1; }
  b_cpu=$(cpu_per_probe "$bb_pid" "$before" $(((rounds_b + 1) * n)))
  b_wall=$(sed -n 's/.*wall_ms_median=\([^ ]*\).*/\1/p' <<<"$line")
  before=$(ticks "$pm_pid")
  line=$("$driver" --rounds "$rounds_b" --http "127.0.0.1:$pm_port" 127.0.0.1 "$first" "$n") ||
    { echo "portmap /probe: not every probe succeeded: $line" >&2; exit 1; }
  c_cpu=$(cpu_per_probe "$pm_pid" "$before" $(((rounds_b + 1) * n)))
  c_wall=$(sed -n 's/.*wall_ms_median=\([^ ]*\).*/\1/p' <<<"$line")

  # (d): N static targets, reloaded in; one warm-up scrape, then timed ones.
  {
    printf 'modules: {tcp_connect: {timeout: 5s}}\ntargets:\n'
    for p in $(seq "$first" $((first + n - 1))); do printf "  - target: '127.0.0.1:%d'\n" "$p"; done
  } >"$work/portmap.yml"
  curl -fs -X POST "http://127.0.0.1:$pm_port/-/reload" >/dev/null ||
    { echo "portmap: reload failed" >&2; exit 1; }
  rounds_d=$rounds_b
  curl -fs "http://127.0.0.1:$pm_port/metrics" -o "$work/scrape" ||
    { echo "portmap: scrape failed" >&2; exit 1; }
  ok=$(grep -c '^portmap_probe_success{.*} 1$' "$work/scrape" || true)
  ((ok == n)) || { echo "portmap /metrics: $ok of $n targets connected" >&2; exit 1; }
  series=$(grep -v '^portmap_probe_age_seconds ' "$work/scrape" | grep -c '^portmap_probe_' || true)
  ((series == 3 * n)) ||
    { echo "portmap /metrics: $series probe series for $n targets, want $((3 * n))" >&2; exit 1; }
  before=$(ticks "$pm_pid")
  for _ in $(seq "$rounds_d"); do
    curl -fs -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$pm_port/metrics"
  done >"$work/times"
  d_cpu=$(cpu_per_probe "$pm_pid" "$before" $((rounds_d * n)))
  d_wall=$(median <"$work/times" | awk '{ printf "%.2f", $1 * 1000 }')

  printf '| %d | %.2f ms | %.1f µs | %.2f ms | %s µs | %.2f ms | %s µs | %s ms | %s µs | %d / %d / %d |\n' \
    "$n" "$a_wall" "$a_cpu" "$b_wall" "$b_cpu" "$c_wall" "$c_cpu" "$d_wall" "$d_cpu" \
    "$rounds_a" "$rounds_b" "$rounds_d"
done
echo
echo "Each measurement follows a warm-up round; (b) and (c) send all"
echo "requests of a round at once (HTTP/1.1, Connection: close); exporters' CPU is counted"
echo "from /proc/PID/stat at ${hz} Hz (the /metrics CPU includes the scrape's own work);"
echo "$(nproc) CPUs, kernel $(uname -r)."
