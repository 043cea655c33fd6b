#!/usr/bin/env bash
# portmap_exporter under HTTP load, inside the lab's dockerhost
# network namespace so it sees Docker-like rules and never the machine's:
#   (a) wrk -t2 -c64 -d60s --latency on /metrics with the default
#       --web.max-requests (40): requests/s, p50/p99, every status counted (only
#       200 and 503 allowed, no socket errors), RSS before and after;
#   (b) 500 idle TCP connections (connected, nothing sent) held open while 20
#       sequential scrapes run: their max and median time (want < 1 s);
#   (c) RSS when idle and CPU per request (utime+stime from /proc/PID/stat over
#       wrk -t1 -c1 -d20s) for portmap /metrics, Debian's node_exporter
#       /metrics (default collectors) and Debian's blackbox_exporter
#       /probe?module=tcp_connect on the lab's published port, side by side;
#       run first, so the RSS is from before any load.
# Prints Markdown (the format of bench/README.md), with `uptime` beside each
# figure: other work on the machine skews them. Needs root (the lab).
#
# Usage: bench/load.sh BUILD_DIR   (portmap_exporter and tests/lab/portmap_lab_tcp built)
# Environment: DURATION (default 60s), CPU_DURATION (default 20s), IDLE (default
# 500), SCRAPES (default 20), LAB_PREFIX (default pmb).
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR}
duration=${DURATION:-60s}
cpu_duration=${CPU_DURATION:-20s}
idle=${IDLE:-500}
scrapes=${SCRAPES:-20}
export LAB_PREFIX=${LAB_PREFIX:-pmb}
export LAB_TCP=$build/tests/lab/portmap_lab_tcp
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
portmap=$build/portmap_exporter
node=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
blackbox=${BLACKBOX:-/usr/bin/prometheus-blackbox-exporter}
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the benchmark needs root (the lab's network namespaces)"
  exit 77
fi
for tool in "$portmap" "$LAB_TCP" "$node" "$blackbox"; do
  [[ -x $tool ]] || { echo "missing $tool (scripts/install-deps.sh test; make build)" >&2; exit 1; }
done
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-deps.sh test)" >&2; exit 1; }
done

# shellcheck source=tests/lab/lib.sh
source "$repo/tests/lab/lib.sh"
ns=$NS_HOST
pm_port=19806
node_port=19100
bb_port=19115
target=$UPLINK_HOST_IP:$REGISTRY_PORT # the lab's published port, DNATed to the container
work=$(mktemp -d /tmp/portmap-load-bench.XXXXXX)
pids=()
pm_pid='' node_pid='' bb_pid='' # set by start
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$repo/tests/lab/lab.sh" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }

"$repo/tests/lab/lab.sh" up >"$work/lab.log" 2>&1 || { cat "$work/lab.log" >&2; exit 1; }

# start NAME PORT HEALTH_PATH COMMAND...: runs COMMAND in the namespace, waits
# (10 s) for http://127.0.0.1:PORT/HEALTH_PATH, sets ${NAME}_pid.
start() {
  local name=$1 port=$2 path=$3
  shift 3
  # Not in_ns: a function sent to the background is a subshell, and $! must
  # be the exporter itself (ip netns exec execs it).
  ip netns exec "$ns" "$@" </dev/null >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  printf -v "${name}_pid" '%s' "$pid"
  for _ in $(seq 100); do
    in_ns curl -fs -o /dev/null "http://127.0.0.1:$port$path" && return 0
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  echo "$name did not answer on 127.0.0.1:$port$path" >&2
  exit 1
}

cat >"$work/blackbox.yml" <<'EOF'
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
EOF
pm_url="http://127.0.0.1:$pm_port/metrics"
node_url="http://127.0.0.1:$node_port/metrics"
bb_url="http://127.0.0.1:$bb_port/probe?module=tcp_connect&target=$target"
start pm "$pm_port" /-/healthy "$portmap" --web.listen-address="127.0.0.1:$pm_port" \
  --log.level=error
start node "$node_port" /metrics "$node" --web.listen-address="127.0.0.1:$node_port" \
  --log.level=error
start bb "$bb_port" /-/healthy "$blackbox" --config.file="$work/blackbox.yml" \
  --web.listen-address="127.0.0.1:$bb_port" --log.level=error
in_ns curl -fs "$bb_url" | grep -q '^probe_success 1' ||
  { echo "blackbox cannot reach the published port $target" >&2; exit 1; }

# wrk's Lua script (bench/count.lua): every status counted, one parseable line.
cp "$repo/bench/count.lua" "$work/count.lua"
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
kib() { awk '/^'"$2"':/ { print $2 }' "/proc/$1/status"; } # kib PID VmRSS
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
load() { uptime | sed 's/.*load average: //'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "kernel $(uname -r); $(date -u '+%Y-%m-%d %H:%M UTC'); namespace $ns (lab.sh)"
echo

# --- (c), first: idle RSS before any load -----------------------------------
echo "### (c) RSS and CPU per request, side by side (run first, so RSS is before any load)"
echo
echo "Each: one warm-up request, VmRSS, then \`wrk -t1 -c1 -d$cpu_duration URL\` (sequential" \
  "requests); CPU is the exporter's utime+stime from /proc/PID/stat at $hz Hz over them."
echo
echo "| exporter, request | response | VmRSS idle | VmRSS after | CPU/request | requests/s | load before |"
echo "|---|---:|---:|---:|---:|---:|---|"
measure() {
  local label=$1 pid=$2 url=$3 rss before out line requests after bytes ld
  bytes=$(in_ns curl -fs "$url" | wc -c)
  rss=$(kib "$pid" VmRSS)
  ld=$(load)
  before=$(ticks "$pid")
  out=$(in_ns wrk -t1 -c1 -d"$cpu_duration" --timeout 10s -s "$work/count.lua" "$url")
  after=$(ticks "$pid")
  line=$(grep '^RESULT' <<<"$out")
  requests=$(field requests "$line")
  [[ $(field status_200 "$line") == "$requests" ]] || { echo "FAIL: $label: $line" >&2; exit 1; }
  printf '| %s | %s B | %s MiB | %s MiB | %s ms | %s | %s |\n' "$label" "$bytes" "$(mib "$rss")" \
    "$(mib "$(kib "$pid" VmRSS)")" \
    "$(awk -v t=$((after - before)) -v hz="$hz" -v r="$requests" 'BEGIN { printf "%.2f", t / hz * 1000 / r }')" \
    "$(awk -v r="$requests" -v s="$(field seconds "$line")" 'BEGIN { printf "%.0f", r / s }')" "$ld"
}
measure "portmap_exporter /metrics" "$pm_pid" "$pm_url"
measure "node_exporter $("$node" --version 2>&1 | awk 'NR == 1 { print $3 }') /metrics" "$node_pid" "$node_url"
measure "blackbox_exporter $("$blackbox" --version 2>&1 | awk 'NR == 1 { print $3 }') /probe tcp_connect" \
  "$bb_pid" "$bb_url"
echo

# --- (a) -----------------------------------------------------------------------
rss0=$(kib "$pm_pid" VmRSS)
hwm0=$(kib "$pm_pid" VmHWM)
load_a=$(load)
cmd_a="wrk -t2 -c64 -d$duration --timeout 10s --latency -s count.lua $pm_url"
out=$(in_ns wrk -t2 -c64 -d"$duration" --timeout 10s --latency -s "$work/count.lua" "$pm_url")
line=$(grep '^RESULT' <<<"$out")
rss1=$(kib "$pm_pid" VmRSS)
hwm1=$(kib "$pm_pid" VmHWM)
requests=$(field requests "$line")
seconds=$(field seconds "$line")
ok=$(field status_200 "$line")
busy=$(field status_503 "$line")
others=$(grep -o 'status_[0-9]*=' <<<"$line" | grep -cv 'status_200=\|status_503=' || true)
errors=$(($(field connect "$line") + $(field read "$line") + $(field write "$line") +
  $(field timeout "$line")))
echo "### (a) /metrics under wrk, 64 connections, --web.max-requests=40 (default)"
echo
echo "\`$cmd_a\` (in the namespace; load before: $load_a)"
echo
echo "| requests/s | p50 | p99 | max | 200 | 503 | other statuses | socket errors | VmRSS before → after | VmHWM before → after |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '| %s | %s ms | %s ms | %s ms | %s | %s | %s | %s | %s → %s MiB | %s → %s MiB |\n' \
  "$(awk -v r="$requests" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }')" \
  "$(field p50_ms "$line")" "$(field p99_ms "$line")" "$(field max_ms "$line")" \
  "${ok:-0}" "${busy:-0}" "$others" "$errors" "$(mib "$rss0")" "$(mib "$rss1")" \
  "$(mib "$hwm0")" "$(mib "$hwm1")"
echo
failed=0
if ((others != 0 || errors != 0)); then
  echo "**FAIL**: statuses other than 200/503 or socket errors (wrk's timeout is 10 s): \`$line\`"
  echo
  failed=1
fi

# --- (b) -----------------------------------------------------------------------
cat >"$work/idle.py" <<'EOF'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
print("open", len(held), flush=True)
time.sleep(600)  # killed by the script
EOF
ip netns exec "$ns" python3 "$work/idle.py" "$pm_port" "$idle" >"$work/idle.out" 2>&1 &
idle_pid=$!
pids+=("$idle_pid")
for _ in $(seq 100); do
  grep -qs open "$work/idle.out" && break
  sleep 0.1
done
grep -qs open "$work/idle.out" || { cat "$work/idle.out" >&2; exit 1; }
load_b=$(load)
for _ in $(seq "$scrapes"); do
  in_ns curl -s -o /dev/null --max-time 30 -w '%{http_code} %{time_total}\n' "$pm_url"
done >"$work/idle_times"
kill "$idle_pid" 2>/dev/null || true
wait "$idle_pid" 2>/dev/null || true
codes=$(awk '$1 != 200' "$work/idle_times" | wc -l)
slow=$(awk '$2 >= 1' "$work/idle_times" | wc -l)
if ((codes != 0 || slow != 0)); then
  echo "**FAIL**: with $idle idle connections, $codes scrapes not 200 and $slow took 1 s or more"
  echo
  failed=1
fi
echo "### (b) $scrapes sequential scrapes while $idle idle connections are held open"
echo
echo "\`python3 idle.py $pm_port $idle\` (connect, send nothing, hold), then $scrapes x" \
  "\`curl -w '%{http_code} %{time_total}' $pm_url\` (load before: $load_b)"
echo
echo "| scrapes | not 200 | p50 | max |"
echo "|---:|---:|---:|---:|"
printf '| %s | %s | %s ms | %s ms |\n' "$scrapes" "$codes" \
  "$(awk '{ print $2 }' "$work/idle_times" | median | awk '{ printf "%.1f", $1 * 1000 }')" \
  "$(awk '{ print $2 }' "$work/idle_times" | sort -n | tail -1 | awk '{ printf "%.1f", $1 * 1000 }')"
echo

echo "URLs: $pm_url, $node_url, $bb_url"
exit "$failed"
