#!/usr/bin/env bash
# The packet tracer (`portmap_exporter trace`) beside 0, 10k and 100k foreign
# (kube-proxy-like) rules, side by side with what a person would run instead,
# `nft -j list ruleset` and `iptables-save`, on the same ruleset, all in a
# network namespace of its own (never the machine's).  Needs root.
#
# The namespace: interfaces eth0 (198.51.100.1/24) and docker0
# (203.0.113.1/24), each a veth with its peer in the namespace, ip_forward=1, Docker's rules written with iptables-nft
# (lib_rules.sh: 94 published ports, the forward path that lets them through)
# and N foreign rules in nat: KUBE-SERVICES, jumped to from PREROUTING (the
# traced packet walks its N/100 rules), and KUBE-SVC-* chains it never enters.
# The traced packet: --from 198.51.100.2 --iif eth0 --to 198.51.100.1:20000
# (DNAT to 203.0.113.2:80, forwarded to docker0); every trace must say
# "connected" or the script fails.
#
# Cold: a trace with everything opened afresh (what one `trace` command does,
# less its process start); warm: a trace through one reused ruleset reader
# whose cache the unchanged generation keeps (trace_bench.cc).  The peers are
# timed inside the namespace (without `ip netns exec`), the median of 3 runs,
# or 1 run when the first takes over 2 s.  After the table, per size: where a
# cold and a warm trace spend their time, call by call, and the same
# nf_tables dumps straight from the kernel (trace_bench.cc says how).
#
# Usage: bench/trace.sh PATH/TO/trace_bench [SIZES...]   (default 0 10000 100000)
# Environment: COLD (default 50) and WARM (default 1000): traces per size.
# Prints one Markdown table row per size (the format of bench/README.md), then
# where a cold and a warm trace spend their time, per size.
set -euo pipefail

# shellcheck source=lib_rules.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_rules.sh"

bench=${1:?usage: $0 PATH/TO/trace_bench [SIZES...]}
shift
sizes=("${@:-0 10000 100000}")
read -r -a sizes <<<"${sizes[*]}"
cold=${COLD:-50}
warm=${WARM:-1000}
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the benchmark needs root (a network namespace and its rules)"
  exit 77
fi
bench=$(realpath "$bench")
ns=pmtrbench$$
work=$(mktemp -d /tmp/portmap-trace-bench.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }

# Seconds (3 decimals) that "$@" takes inside the namespace: the median of 3
# runs, or the first alone when it takes over 2 s.
peer_seconds() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  in_ns bash -c '
    runs=()
    for i in 1 2 3; do
      s=${EPOCHREALTIME/,/.}
      "$@" >/dev/null
      e=${EPOCHREALTIME/,/.}
      runs+=("$(awk -v s="$s" -v e="$e" "BEGIN { printf \"%.3f\", e - s }")")
      awk -v t="${runs[-1]}" "BEGIN { exit !(t > 2) }" && break
    done
    printf "%s\n" "${runs[@]}" | sort -n | awk "{ v[NR] = \$1 } END { print v[int((NR + 1) / 2)] }"
  ' _ "$@"
}

setup_namespace() {
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  in_ns ip link set lo up
  # veth pairs with both ends here stand in for dummy interfaces (this
  # kernel may lack the dummy driver); the peers stay unaddressed.
  local dev
  for dev in eth0 docker0; do
    in_ns ip link add "$dev" type veth peer name "$dev-peer"
    in_ns ip link set "$dev-peer" up
    in_ns ip link set "$dev" up
  done
  in_ns ip addr add 198.51.100.1/24 dev eth0
  in_ns ip addr add 203.0.113.1/24 dev docker0
  in_ns sysctl -qw net.ipv4.ip_forward=1
}

echo "| foreign rules | cold trace median (p95) | warm trace median (p95) | nft -j list ruleset | iptables-save | cold/nft ratio | nf_tables read by a cold trace: chains / rules, messages | by a warm trace |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  setup_namespace
  { docker_rules; docker_forward_rules; } >"$work/docker.rules"
  foreign_rules "$n" walked >"$work/foreign.rules"
  in_ns iptables-nft-restore --noflush <"$work/docker.rules"
  [[ ! -s $work/foreign.rules ]] || in_ns iptables-nft-restore --noflush <"$work/foreign.rules"
  if ! in_ns "$bench" "$cold" "$warm" 198.51.100.2 eth0 198.51.100.1:20000 >"$work/out.$n"; then
    echo "trace_bench failed with $n foreign rules" >&2
    exit 1
  fi
  read -r cmed cp95 wmed wp95 outcome chains rules msgs kib wmsgs _ <"$work/out.$n"
  [[ $outcome == connected ]] || { echo "outcome $outcome, not connected" >&2; exit 1; }
  nftj=$(peer_seconds nft -j list ruleset)
  save=$(peer_seconds iptables-nft-save)
  awk -v n="$n" -v cm="$cmed" -v cp="$cp95" -v wm="$wmed" -v wp="$wp95" -v nft="$nftj" \
    -v save="$save" -v ch="$chains" -v ru="$rules" -v msgs="$msgs" -v kib="$kib" \
    -v wmsgs="$wmsgs" 'BEGIN {
      ratio = cm / 1e6 / nft
      printf "| %d | %.3f ms (%.3f) | %.0f µs (%.0f) | %.3f s | %.3f s | %.4f (1/%.0f) | %d / %d, %d messages (%.0f KiB) | %d messages |\n",
        n, cm / 1000, cp / 1000, wm, wp, nft, save, ratio, 1 / ratio, ch, ru, msgs, kib, wmsgs }'
done
for n in "${sizes[@]}"; do
  echo
  echo "$n foreign rules:"
  grep '^#' "$work/out.$n"
done
