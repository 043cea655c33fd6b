#!/usr/bin/env bash
# portmap_exporter and Debian's node_exporter side by side, in one lab and one
# run, so every ratio compares figures taken on the same machine at the same
# time.  The lab (LAB_PREFIX=pmc, torn down at exit) holds:
#   - lab.sh's Docker host, container and outside namespaces, with 20
#     published TCP ports: lab.sh's 5000 plus 19 more written as lab.sh writes
#     its own (nat DOCKER DNAT to the container, the hairpin MASQUERADE, the
#     filter DOCKER ACCEPT), each answered in the container by portmap_lab_tcp;
#   - a real firewalld (nftables backend) on the lab's private bus
#     (tests/lab/firewalld.sh); portmap_exporter gets DBUS_SYSTEM_BUS_ADDRESS;
#   - 100k foreign kube-proxy-like iptables-nft rules (bench/lib_rules.sh
#     foreign_rules, KUBE-SERVICES jumped to first from nat PREROUTING).
# Both exporters run in the dockerhost namespace on 127.0.0.1, as do the
# clients.  Printed, as Markdown, for each exporter and the ratio portmap/node,
# each with its target and PASS/MISS:
#   1. /metrics wall time, median and p95 over SCRAPES sequential scrapes (one
#      python3 process, a new connection per GET, time.perf_counter);
#   2. CPU per scrape: utime+stime from /proc/PID/stat over those scrapes, and
#      firewalld's and the private dbus-daemon's over the same scrapes;
#   3. VmRSS idle, after SEQUENTIAL sequential scrapes, VmHWM and threads under
#      `wrk -t2 -c64 -d${DURATION}s` (every status counted), VmRSS AFTER_WAIT s
#      after it (the exporters one after the other);
#   4. portmap's series and bytes at 20 and 1,000 published ports, per added
#      port, and one scrape's wall time at 1,000.
# A target missed is a finding, not an error: the script exits 0 with MISS in
# the tables, and 1 only when a measurement could not be made.  Progress goes
# to stderr, the tables to stdout.  Needs root (the lab).
#
# Usage: bench/compare.sh BUILD_DIR   (portmap_exporter, tests/lab/portmap_lab_tcp)
# Environment: SCRAPES (default 200), SEQUENTIAL (default 1000), DURATION
# (seconds of wrk, default 30), AFTER_WAIT (default 60), FOREIGN (foreign
# rules, default 100000), NODE_EXPORTER (default Debian's), PORTMAP_ARGS (more
# portmap_exporter flags, split on blanks, e.g. --probe.interval=0s).
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR}
scrapes=${SCRAPES:-200}
sequential=${SEQUENTIAL:-1000}
duration=${DURATION:-30}
after_wait=${AFTER_WAIT:-60}
foreign=${FOREIGN:-100000}
read -r -a portmap_args <<<"${PORTMAP_ARGS:-}"
for knob in "$scrapes" "$sequential" "$duration" "$after_wait" "$foreign"; do
  [[ $knob =~ ^[0-9]+$ ]] || { echo "SCRAPES, SEQUENTIAL, DURATION, AFTER_WAIT, FOREIGN: whole numbers" >&2; exit 2; }
done
((scrapes > 0 && duration > 0)) || { echo "SCRAPES and DURATION must be > 0" >&2; exit 2; }
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the benchmark needs root (the lab's network namespaces, firewalld)"
  exit 77
fi
export LAB_PREFIX=pmc FIREWALLD_BACKEND=nftables IPTABLES=iptables-nft
export LAB_TCP=$build/tests/lab/portmap_lab_tcp
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
portmap=$build/portmap_exporter
node=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
for tool in "$portmap" "$LAB_TCP" "$node"; do
  [[ -x $tool ]] || { echo "missing $tool (scripts/install-deps.sh test; make build)" >&2; exit 1; }
done
for tool in wrk curl python3 iptables-nft-restore firewalld firewall-cmd dbus-daemon dbus-send unshare; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-deps.sh test lab)" >&2; exit 1; }
done

# shellcheck source=tests/lab/firewalld.sh
source "$repo/tests/lab/firewalld.sh" # lib.sh and the lab_fw_* functions
# shellcheck source=bench/lib_rules.sh
source "$repo/bench/lib_rules.sh"
require_root # SKIP (77) where no network namespace can be made

ns=$NS_HOST
pm_port=19806
node_port=19100
pm_url="http://127.0.0.1:$pm_port/metrics"
declare -A url=([pm]=$pm_url [node]="http://127.0.0.1:$node_port/metrics") pid=()
bus=$(lab_fw_bus_address)
first_extra=20001 # extra published ports: 20001, 20002, ... (container port = host port)
small=20
large=1000
hz=$(getconf CLK_TCK)
began=$SECONDS

say() { echo "compare: $*" >&2; }
in_ns() { ip netns exec "$ns" "$@"; }

lab_cleanup_trap # runs the lab_defer steps in reverse order on any exit
work=$(mktemp -d /tmp/portmap-compare.XXXXXX)
lab_defer rm -rf "$work"
lab_defer "$repo/tests/lab/lab.sh" down

# The exact commands, in the order run, printed with the figures.
commands=()
cmd() { commands+=("$*"); }

# --- small helpers over /proc ---------------------------------------------------
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; } # kib PID VmRSS
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# ticks PID [children]: utime+stime (fields 14, 15), with children also 16, 17
# (a helper firewalld waits for counts there); comm may hold spaces.
ticks() {
  local stat f
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }
  read -r -a f <<<"$stat"
  if [[ ${2:-} == children ]]; then
    echo $((f[11] + f[12] + f[13] + f[14]))
  else
    echo $((f[11] + f[12]))
  fi
}
# ms_per TICKS COUNT: milliseconds of CPU per item.
ms_per() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz * 1000 / n }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# stats FILE: "median p95" of the numbers in FILE (nearest rank), in ms (given s).
stats() {
  sort -g "$1" | awk '{ v[NR] = $1 } END {
    p = int(NR * 0.95); if (p < NR * 0.95) p++
    printf "%.2f %.2f\n", v[int((NR + 1) / 2)] * 1000, v[p] * 1000 }'
}
# ratio A B: A/B with two decimals, or "—" when B is 0 or not a number.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "—"; else printf "%.2f×", a / b }'
}
# mark CONDITION_AWK A B: PASS or MISS, e.g. mark 'a <= 0.5 * b' 1 3; each one is
# also a line of $work/marks (it runs in a command substitution).
mark() {
  local verdict=MISS
  if awk -v a="$2" -v b="${3:-0}" "BEGIN { exit !($1) }"; then verdict=PASS; fi
  echo "$verdict" | tee -a "$work/marks"
}

# --- the lab ----------------------------------------------------------------------
# port_rules FROM TO: what dockerd writes for `-p P:P` to the lab's container, for
# every P in FROM..TO, as lab.sh writes it for 5000 (iptables-nft-restore --noflush
# input; no chain is declared, since a declared user chain would be flushed).
port_rules() {
  local p
  echo "*nat"
  for ((p = $1; p <= $2; p++)); do
    echo "-A POSTROUTING -s $C1_IP/32 -d $C1_IP/32 -p tcp -m tcp --dport $p -j MASQUERADE"
    echo "-A DOCKER ! -i $BRIDGE -p tcp -m tcp --dport $p -j DNAT --to-destination $C1_IP:$p"
  done
  echo "COMMIT"
  echo "*filter"
  for ((p = $1; p <= $2; p++)); do
    echo "-A DOCKER -d $C1_IP/32 ! -i $BRIDGE -o $BRIDGE -p tcp -m tcp --dport $p -j ACCEPT"
  done
  echo "COMMIT"
}
# publish NAME FROM TO: the rules for FROM..TO and one listener in the container
# serving them all; waits (10 s) until the last one listens.
publish() {
  local name=$1 from=$2 to=$3
  port_rules "$from" "$to" >"$work/$name.rules"
  cmd "ip netns exec $ns iptables-nft-restore --noflush < $name.rules   # port_rules $from $to"
  in_ns timeout 120 iptables-nft-restore --noflush <"$work/$name.rules"
  cmd "ip netns exec $NS_C1 $LAB_TCP listen $from ... $to   # the container's listener"
  local -a ports
  mapfile -t ports < <(seq "$from" "$to")
  lab_spawn "$name" "$NS_C1" "$LAB_TCP" listen "${ports[@]}"
  wait_for_listen "$NS_C1" "$to" 10 || lab_die "listener $name: $(cat "$LAB_STATE/$name.log")"
}
# published_tcp FILE: portmap_published_port_info series with proto="tcp" in FILE.
published_tcp() { grep -c '^portmap_published_port_info{.*proto="tcp"' "$1" || true; }
series() { grep -cv '^#' "$1" || true; }
# by_name FILE: "NAME SERIES" for each metric name in FILE (histograms by their
# _bucket, _sum and _count names).
by_name() { awk '!/^#/ { sub(/[{ ].*/, ""); n[$0]++ } END { for (k in n) print k, n[k] }' "$1"; }

say "lab up ($LAB_PREFIX)"
cmd "LAB_PREFIX=$LAB_PREFIX LAB_TCP=$LAB_TCP IPTABLES=iptables-nft tests/lab/lab.sh up"
"$repo/tests/lab/lab.sh" up >"$work/lab.log" 2>&1 || { cat "$work/lab.log" >&2; exit 1; }

# firewalld first: its start flushes iptables' nat and filter tables even on the
# nftables backend (the direct interface's iptables-restore, which is
# iptables-nft here), so Docker's rules are written after it, as dockerd
# rebuilds them once firewalld is up.
say "firewalld (nftables backend) on the private bus"
cmd "LAB_PREFIX=$LAB_PREFIX FIREWALLD_BACKEND=nftables tests/lab/firewalld.sh start   # bus $bus"
"$repo/tests/lab/firewalld.sh" start >"$work/firewalld-start.log" 2>&1 ||
  { cat "$work/firewalld-start.log" >&2; exit 1; }
fw_pid=$(lab_fw_firewalld_pid) || lab_die "no firewalld pid"
dbus_pid=$(lab_fw_dbus_pid) || lab_die "no dbus-daemon pid"
# What dockerd (20.10+) sets up on a firewalld host, so the published ports
# are reachable as on a healthy one: zone `docker` (target ACCEPT) holding
# docker0 and policy `docker-forwarding` (ANY -> docker, ACCEPT).  The lab's
# firewalld keeps its permanent configuration on a tmpfs of its own.
fw_docker=(
  "--permanent --new-zone=docker"
  "--permanent --zone=docker --set-target=ACCEPT"
  "--permanent --zone=docker --add-interface=docker0"
  "--permanent --new-policy=docker-forwarding"
  "--permanent --policy=docker-forwarding --add-ingress-zone=ANY"
  "--permanent --policy=docker-forwarding --add-egress-zone=docker"
  "--permanent --policy=docker-forwarding --set-target=ACCEPT"
  "--reload"
)
for args in "${fw_docker[@]}"; do
  cmd "LAB_PREFIX=$LAB_PREFIX tests/lab/firewalld.sh cmd $args"
  # shellcheck disable=SC2086 # each entry is several firewall-cmd words
  lab_fw_in_host firewall-cmd $args >/dev/null || lab_die "firewall-cmd $args failed"
done
cmd "LAB_PREFIX=$LAB_PREFIX tests/lab/fault.sh rules restore   # lab.sh's rules again, after firewalld's flush"
"$repo/tests/lab/fault.sh" rules restore
say "publishing $((small - 1)) more ports"
publish ports$small "$first_extra" $((first_extra + small - 2))

say "$foreign foreign rules"
foreign_rules "$foreign" walked >"$work/foreign.rules"
cmd "ip netns exec $ns iptables-nft-restore --noflush < foreign.rules   # bench/lib_rules.sh: foreign_rules $foreign walked"
t0=$(lab_now_us)
in_ns timeout 300 iptables-nft-restore --noflush <"$work/foreign.rules"
foreign_s=$(awk -v us=$(($(lab_now_us) - t0)) 'BEGIN { printf "%.1f", us / 1e6 }')
kube=$(in_ns nft list chain ip nat KUBE-SERVICES 2>/dev/null | grep -c 'jump KUBE-SVC-' || true)
((kube == foreign / 100)) || lab_die "nat KUBE-SERVICES holds $kube jumps, not $((foreign / 100))"

# --- the exporters ------------------------------------------------------------------
# start NAME PORT HEALTH_PATH COMMAND...: COMMAND in the namespace (ip netns exec
# and env exec, so $! is the exporter), waits (10 s) for HEALTH_PATH, sets
# pid[NAME].
start() {
  local name=$1 port=$2 path=$3
  shift 3
  cmd "ip netns exec $ns $*"
  ip netns exec "$ns" "$@" </dev/null >"$work/$name.log" 2>&1 &
  pid[$name]=$!
  lab_defer lab_stop_pid "${pid[$name]}"
  for _ in $(seq 100); do
    in_ns curl -fs -o /dev/null "http://127.0.0.1:$port$path" && return 0
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  lab_die "$name did not answer on 127.0.0.1:$port$path"
}
say "starting the exporters"
start pm "$pm_port" /-/healthy env DBUS_SYSTEM_BUS_ADDRESS="$bus" "$portmap" \
  --web.listen-address="127.0.0.1:$pm_port" --log.level=error "${portmap_args[@]}"
start node "$node_port" /metrics "$node" --web.listen-address="127.0.0.1:$node_port" \
  --log.level=error

# The client: N sequential GETs from one process, a new connection each (as a
# scraper that does not keep connections alive), no Accept-Encoding (identity,
# for both); prints each one's seconds.  Any status but 200 fails it.
cat >"$work/client.py" <<'EOF'
import http.client, sys, time, urllib.parse
url, n = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
save = sys.argv[3] if len(sys.argv) > 3 else None
for _ in range(n):
    start = time.perf_counter()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", url.path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    elapsed = time.perf_counter() - start
    if resp.status != 200:
        sys.exit(f"{sys.argv[1]}: status {resp.status}")
    print(f"{elapsed:.6f}")
if save:
    with open(save, "wb") as f:
        f.write(body)
EOF
py=$(python3 -c 'import sys; print(sys.executable)') # not a shim: one exec per run
# client URL N OUT [SAVE]: the samples into OUT (bounded: 60 s per scrape at most).
# In the background, waited for: a TERM then reaches the cleanup at once (the
# client runs in the lab's namespace, so lab.sh down ends it).
client() {
  ip netns exec "$ns" timeout $((60 * $2 + 30)) "$py" "$work/client.py" "$1" "$2" ${4:+"$4"} \
    >"$3" &
  wait "$!"
}

# wrk's Lua script (bench/count.lua): every status counted, one parseable line.
cp "$repo/bench/count.lua" "$work/count.lua"
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# --- warm-up, idle figures ------------------------------------------------------------
say "warm-up scrapes"
declare -A idle_rss idle_threads
for x in pm node; do
  cmd "ip netns exec $ns curl -s ${url[$x]}   # warm-up"
  in_ns curl -fsS --max-time 30 -o "$work/$x.warm" "${url[$x]}"
  idle_rss[$x]=$(kib "${pid[$x]}" VmRSS)
  idle_threads[$x]=$(kib "${pid[$x]}" Threads)
done
[[ $(LAB_METRICS=$work/pm.warm value portmap_firewalld_up "") == 1 ]] ||
  lab_die "portmap_exporter does not see firewalld on $bus: $(grep firewalld "$work/pm.warm" | head -5)"
[[ $(published_tcp "$work/pm.warm") == "$small" ]] ||
  lab_die "portmap_exporter reports $(published_tcp "$work/pm.warm") published TCP ports, not $small"
collectors=$(sed -n 's/^portmap_scrape_collector_success{collector="\([a-z]*\)"} \(.*\)/\1=\2/p' \
  "$work/pm.warm" | tr '\n' ' ')
fw_info=$(grep '^portmap_firewalld_info{' "$work/pm.warm" | head -1)

# --- header ------------------------------------------------------------------------------
pm_version=$("$portmap" --version 2>&1 | head -1)
node_version=$("$node" --version 2>&1 | awk 'NR == 1 { print $3 }')
echo "## Side by side with node_exporter (bench/compare.sh)"
echo
echo "Machine: $(nproc) CPUs (nproc), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(load) (before the scrapes)"
echo
echo "- portmap_exporter: \`$portmap\` ($pm_version)"
echo "- node_exporter $node_version: \`$node\` (default collectors)"
echo "- firewalld $(dpkg-query -W -f='${Version}' firewalld 2>/dev/null || echo '?'), nftables backend," \
  "pid $fw_pid; private dbus-daemon pid $dbus_pid; \`$fw_info\`"
echo "- $(iptables-nft --version), $(nft --version), wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')," \
  "$("$py" --version 2>&1)"
echo "- lab $LAB_PREFIX: namespace $ns, $small published TCP ports (5000 by lab.sh;" \
  "$first_extra-$((first_extra + small - 2)) added), $foreign foreign rules loaded in ${foreign_s} s" \
  "(nat KUBE-SERVICES: $kube jumps, walked first from PREROUTING);" \
  "collectors after the warm-up: $collectors"
echo "- every exporter and client runs in $ns on 127.0.0.1; CPU from /proc/PID/stat at $hz Hz" \
  "(one tick = $(awk -v hz="$hz" 'BEGIN { print 1000 / hz }') ms)"
echo
echo "Setup, in order:"
echo
for c in "${commands[@]}"; do echo "    $c"; done
commands=()
echo

# --- 1 and 2: wall and CPU over SCRAPES sequential scrapes ----------------------------------
declare -A med p95 cpu fw_cpu dbus_cpu bytes nseries
load12=$(load)
for x in pm node; do
  say "$scrapes sequential scrapes of $x"
  cmd "ip netns exec $ns $py client.py ${url[$x]} $scrapes"
  e0=$(ticks "${pid[$x]}") f0=$(ticks "$fw_pid" children) d0=$(ticks "$dbus_pid" children)
  client "${url[$x]}" "$scrapes" "$work/$x.times" "$work/$x.body"
  e1=$(ticks "${pid[$x]}") f1=$(ticks "$fw_pid" children) d1=$(ticks "$dbus_pid" children)
  read -r med[$x] p95[$x] < <(stats "$work/$x.times")
  cpu[$x]=$(ms_per $((e1 - e0)) "$scrapes")
  fw_cpu[$x]=$(ms_per $((f1 - f0)) "$scrapes")
  dbus_cpu[$x]=$(ms_per $((d1 - d0)) "$scrapes")
  bytes[$x]=$(wc -c <"$work/$x.body")
  nseries[$x]=$(series "$work/$x.body")
done
echo "### 1-2. /metrics: wall time and CPU per scrape, $scrapes sequential scrapes each"
echo
echo "One python3 process (http.client, a new connection per GET, time.perf_counter" \
  "around each; its start-up is not in any sample), portmap first, then node" \
  "(load average before: $load12). CPU: utime+stime delta over the $scrapes scrapes ÷ $scrapes;" \
  "firewalld's and dbus-daemon's include their waited-for children."
echo
for c in "${commands[@]}"; do echo "    $c"; done
commands=()
echo
echo "| per scrape | portmap_exporter | node_exporter | portmap/node | target | |"
echo "|---|---:|---:|---:|---|---|"
printf '| wall, median | %s ms | %s ms | %s | ≤ 0.5× | %s |\n' "${med[pm]}" "${med[node]}" \
  "$(ratio "${med[pm]}" "${med[node]}")" "$(mark 'a <= 0.5 * b' "${med[pm]}" "${med[node]}")"
printf '| wall, p95 | %s ms | %s ms | %s | ≤ 0.5× | %s |\n' "${p95[pm]}" "${p95[node]}" \
  "$(ratio "${p95[pm]}" "${p95[node]}")" "$(mark 'a <= 0.5 * b' "${p95[pm]}" "${p95[node]}")"
printf '| exporter CPU (utime+stime) | %s ms | %s ms | %s | ≤ 0.5× | %s |\n' "${cpu[pm]}" \
  "${cpu[node]}" "$(ratio "${cpu[pm]}" "${cpu[node]}")" \
  "$(mark 'a <= 0.5 * b' "${cpu[pm]}" "${cpu[node]}")"
printf '| firewalld CPU during these scrapes | %s ms | %s ms | | ≤ 0.1 ms (portmap) | %s |\n' \
  "${fw_cpu[pm]}" "${fw_cpu[node]}" "$(mark 'a <= 0.1' "${fw_cpu[pm]}")"
printf '| dbus-daemon CPU during these scrapes | %s ms | %s ms | | | |\n' "${dbus_cpu[pm]}" \
  "${dbus_cpu[node]}"
printf '| response | %s B, %s series | %s B, %s series | %s | | |\n' "${bytes[pm]}" \
  "${nseries[pm]}" "${bytes[node]}" "${nseries[node]}" "$(ratio "${bytes[pm]}" "${bytes[node]}")"
echo

# --- 3. memory and threads --------------------------------------------------------------------
declare -A seq_rss hwm rss_max thr_max ok other errs rps p50 p99 after_rss
more=$((sequential > scrapes ? sequential - scrapes : 0))
for x in pm node; do
  say "$more more sequential scrapes of $x"
  ((more == 0)) || client "${url[$x]}" "$more" "$work/$x.more"
  seq_rss[$x]=$(kib "${pid[$x]}" VmRSS)
done
cmd "ip netns exec $ns $py client.py URL $more   # after the $scrapes above: $((scrapes + more)) sequential scrapes"
# under_load X: wrk on X's /metrics with VmHWM reset first (clear_refs 5), Threads and
# VmRSS sampled every 0.2 s meanwhile; then VmRSS AFTER_WAIT s after, in the
# background (into $work/X.after), so the next exporter's load can start at once.
under_load() {
  local x=$1 wrk_pid line n t r deadline
  say "wrk -t2 -c64 -d${duration}s on $x"
  cmd "echo 5 > /proc/PID/clear_refs   # $x: VmHWM := VmRSS"
  cmd "ip netns exec $ns wrk -t2 -c64 -d${duration}s --timeout 10s -s count.lua ${url[$x]}"
  echo 5 >"/proc/${pid[$x]}/clear_refs"
  thr_max[$x]=0 rss_max[$x]=0
  ip netns exec "$ns" wrk -t2 -c64 -d"${duration}s" --timeout 10s -s "$work/count.lua" \
    "${url[$x]}" >"$work/$x.wrk" 2>&1 &
  wrk_pid=$!
  lab_defer lab_stop_pid "$wrk_pid"
  deadline=$((SECONDS + duration + 30))
  while lab_pid_is_alive "$wrk_pid" && ((SECONDS < deadline)); do
    t=$(kib "${pid[$x]}" Threads) r=$(kib "${pid[$x]}" VmRSS)
    ((t > thr_max[$x])) && thr_max[$x]=$t
    ((r > rss_max[$x])) && rss_max[$x]=$r
    sleep 0.2
  done
  wait "$wrk_pid" || { cat "$work/$x.wrk" >&2; lab_die "wrk on $x failed"; }
  lab_pid_is_alive "${pid[$x]}" || lab_die "$x exited under wrk: $(tail -5 "$work/$x.log")"
  hwm[$x]=$(kib "${pid[$x]}" VmHWM)
  (
    trap 'kill "$sleeper" 2>/dev/null; exit 143' TERM # a TERM from cleanup ends the sleep too
    sleep "$after_wait" &
    sleeper=$!
    wait "$sleeper" && kib "${pid[$x]}" VmRSS >"$work/$x.after"
  ) &
  lab_defer lab_stop_pid "$!"
  printf -v "after_pid_$x" '%s' "$!"
  line=$(grep '^RESULT' "$work/$x.wrk") || { cat "$work/$x.wrk" >&2; lab_die "no wrk result"; }
  ok[$x]=$(field status_200 "$line")
  ok[$x]=${ok[$x]:-0}
  n=$(field requests "$line")
  other[$x]=$(grep -o 'status_[0-9]*=[0-9]*' <<<"$line" | grep -v '^status_200=' | sort |
    sed 's/^status_//' | paste -sd ' ')
  other[$x]=${other[$x]:-none}
  errs[$x]=$(($(field connect "$line") + $(field read "$line") + $(field write "$line") +
    $(field timeout "$line")))
  rps[$x]=$(awk -v r="$n" -v s="$(field seconds "$line")" 'BEGIN { printf "%.0f", r / s }')
  p50[$x]=$(field p50_ms "$line") p99[$x]=$(field p99_ms "$line")
}
lab_pid_is_alive() { ! lab_pid_gone "$1"; }
after_pid_pm='' after_pid_node='' # set by under_load
load3=$(load)
under_load pm
under_load node
say "waiting ${after_wait} s after each load"
cmd "sleep $after_wait; grep VmRSS /proc/PID/status   # each exporter, from the end of its wrk"
wait "$after_pid_pm" "$after_pid_node" || lab_die "the after-load reading failed"
after_rss[pm]=$(<"$work/pm.after") after_rss[node]=$(<"$work/node.after")
echo "### 3. Memory and threads"
echo
echo "VmRSS idle: after one warm-up scrape, before any other. Then $((scrapes + more))" \
  "sequential scrapes (1-2's and $more more). Then, one exporter after the other," \
  "VmHWM reset (\`echo 5 > /proc/PID/clear_refs\`), \`wrk -t2 -c64 -d${duration}s\` with" \
  "Threads and VmRSS sampled every 0.2 s, VmHWM read at its end, VmRSS ${after_wait} s after" \
  "it ends (node's load runs during portmap's wait). Load average before: $load3."
echo
for c in "${commands[@]}"; do echo "    $c"; done
commands=()
echo
echo "| | portmap_exporter | node_exporter | portmap/node | target | |"
echo "|---|---:|---:|---:|---|---|"
printf '| VmRSS idle | %s MiB | %s MiB | %s | | |\n' "$(mib "${idle_rss[pm]}")" \
  "$(mib "${idle_rss[node]}")" "$(ratio "${idle_rss[pm]}" "${idle_rss[node]}")"
printf '| VmRSS after %s sequential scrapes | %s MiB | %s MiB | %s | | |\n' \
  "$((scrapes + more))" "$(mib "${seq_rss[pm]}")" "$(mib "${seq_rss[node]}")" \
  "$(ratio "${seq_rss[pm]}" "${seq_rss[node]}")"
printf '| VmHWM under wrk -c64 | %s MiB | %s MiB | %s | ≤ 64 MiB | %s |\n' "$(mib "${hwm[pm]}")" \
  "$(mib "${hwm[node]}")" "$(ratio "${hwm[pm]}" "${hwm[node]}")" \
  "$(mark 'a <= 64 * 1024' "${hwm[pm]}")"
printf '| VmRSS under wrk, max sampled | %s MiB | %s MiB | %s | | |\n' "$(mib "${rss_max[pm]}")" \
  "$(mib "${rss_max[node]}")" "$(ratio "${rss_max[pm]}" "${rss_max[node]}")"
printf '| VmRSS %s s after the load | %s MiB | %s MiB | %s | ≤ 24 MiB | %s |\n' "$after_wait" \
  "$(mib "${after_rss[pm]}")" "$(mib "${after_rss[node]}")" \
  "$(ratio "${after_rss[pm]}" "${after_rss[node]}")" "$(mark 'a <= 24 * 1024' "${after_rss[pm]}")"
printf '| threads idle | %s | %s | | | |\n' "${idle_threads[pm]}" "${idle_threads[node]}"
printf '| threads under wrk, max sampled | %s | %s | | | |\n' "${thr_max[pm]}" "${thr_max[node]}"
printf '| 200 answers under wrk | %s | %s | %s | ≥ node | %s |\n' "${ok[pm]}" "${ok[node]}" \
  "$(ratio "${ok[pm]}" "${ok[node]}")" "$(mark 'a >= b' "${ok[pm]}" "${ok[node]}")"
printf '| other statuses under wrk (status=count) | %s | %s | | | |\n' "${other[pm]}" "${other[node]}"
printf '| socket errors (connect+read+write+timeout) | %s | %s | | | |\n' "${errs[pm]}" \
  "${errs[node]}"
printf '| requests/s (all statuses), latency p50 / p99 under wrk | %s, %s / %s ms | %s, %s / %s ms | | | |\n' \
  "${rps[pm]}" "${p50[pm]}" "${p99[pm]}" "${rps[node]}" "${p50[node]}" "${p99[node]}"
echo

# --- 4. series and bytes per published port ----------------------------------------------------
say "$large published ports"
load4=$(load)
s_small=${nseries[pm]} b_small=${bytes[pm]}
publish ports$large $((first_extra + small - 1)) $((first_extra + large - 2))
cmd "ip netns exec $ns curl -s -w '%{time_total}' $pm_url   # until $large tcp portmap_published_port_info"
first_ms=''
# shellcheck disable=SC2317 # called through wait_for
reports_large() {
  local t
  t=$(in_ns curl -fsS --max-time 30 -o "$work/pm.large" -w '%{time_total}' "$pm_url") || return 1
  [[ $(published_tcp "$work/pm.large") == "$large" ]] || return 1
  first_ms=$(awk -v t="$t" 'BEGIN { printf "%.2f", t * 1000 }')
}
wait_for 120 "portmap_exporter to report $large published ports" reports_large ||
  lab_die "portmap_exporter reports $(published_tcp "$work/pm.large") published TCP ports, not $large"
cmd "ip netns exec $ns $py client.py $pm_url 5"
f0=$(ticks "$fw_pid" children)
client "$pm_url" 5 "$work/pm.large.times" "$work/pm.large"
f1=$(ticks "$fw_pid" children)
read -r med_large _ < <(stats "$work/pm.large.times")
s_large=$(series "$work/pm.large") b_large=$(wc -c <"$work/pm.large")
per_s=$(awk -v a="$s_small" -v b="$s_large" -v n=$((large - small)) 'BEGIN { printf "%.2f", (b - a) / n }')
per_b=$(awk -v a="$b_small" -v b="$b_large" -v n=$((large - small)) 'BEGIN { printf "%.0f", (b - a) / n }')
echo "### 4. portmap_exporter's /metrics per published port"
echo
echo "At $small ports: the last of 1-2's scrapes. Then $((large - small)) more ports" \
  "($((first_extra + small - 1))-$((first_extra + large - 2)), rules and listener as above)," \
  "polled until $large tcp \`portmap_published_port_info\` series, then 5 scrapes" \
  "(load average before: $load4). node_exporter's answer for scale: ${nseries[node]} series," \
  "${bytes[node]} B."
echo
for c in "${commands[@]}"; do echo "    $c"; done
commands=()
echo
echo "| published ports | series | bytes | wall of one scrape | target | |"
echo "|---:|---:|---:|---:|---|---|"
printf '| %s | %s | %s | %s ms (median of %s) | | |\n' "$small" "$s_small" "$b_small" "${med[pm]}" \
  "$scrapes"
printf '| %s | %s | %s | %s ms (median of 5) | < 1 s | %s |\n' "$large" "$s_large" "$b_large" \
  "$med_large" "$(mark 'a < 1000' "$med_large")"
printf '| per added port | %s | %s | | ≤ 10 series | %s |\n' "$per_s" "$per_b" \
  "$(mark 'a <= 10' "$per_s")"
echo
echo "Where the series per added port come from (metric names whose series grew):"
echo
echo "| metric | series at $small ports | at $large | per added port |"
echo "|---|---:|---:|---:|"
by_name "$work/pm.body" >"$work/names.small"
by_name "$work/pm.large" >"$work/names.large"
awk -v n=$((large - small)) 'NR == FNR { a[$1] = $2; next }
  $2 > a[$1] { printf "| `%s` | %d | %d | %.2f |\n", $1, a[$1], $2, ($2 - a[$1]) / n }' \
  "$work/names.small" "$work/names.large" | sort -t'|' -k5 -g -r
echo
echo "First scrape that reported all $large ports: $first_ms ms (curl time_total)." \
  "firewalld CPU over the 5 scrapes at $large ports: $(ms_per $((f1 - f0)) 5) ms per scrape."
echo
echo "Targets: $(grep -c PASS "$work/marks" || true) PASS, $(grep -c MISS "$work/marks" || true) MISS." \
  "Whole run until here: $((SECONDS - began)) s."
