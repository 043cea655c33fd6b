#!/usr/bin/env bash
# The netfilter collector's scrape-time read with 100 Docker rules beside 0,
# 10k and 100k foreign (kube-proxy-like) rules, side by side with
# `iptables-save -c` and `nft -j list ruleset` on the same ruleset, all in a
# network namespace of its own (never the machine's).  Needs root.
#
# Usage: bench/netfilter_scrape.sh PATH/TO/netfilter_scrape_bench [SIZES...]
# Prints one Markdown table row per size (the format of bench/README.md).
set -euo pipefail

# shellcheck source=lib_rules.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_rules.sh"

bench=${1:?usage: $0 PATH/TO/netfilter_scrape_bench [SIZES...]}
shift
sizes=("${@:-0 10000 100000}")
read -r -a sizes <<<"${sizes[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the benchmark needs root (a network namespace and its rules)"
  exit 77
fi
ns=pmbench$$
work=$(mktemp -d /tmp/portmap-bench.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }

# Seconds (3 decimals) that "$@" takes, run once.
timed() {
  local start end
  start=${EPOCHREALTIME/,/.}
  "$@" >/dev/null
  end=${EPOCHREALTIME/,/.}
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}

echo "| foreign rules | collector read (median, min-max) | iptables-save -c | nft -j list ruleset | Docker chains / rules read |"
echo "|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  docker_rules >"$work/docker.rules"
  foreign_rules "$n" >"$work/foreign.rules"
  in_ns iptables-nft-restore --noflush <"$work/docker.rules"
  [[ ! -s $work/foreign.rules ]] || in_ns iptables-nft-restore --noflush <"$work/foreign.rules"
  read -r median min max chains rules < <(in_ns "$bench" 20)
  save=$(timed in_ns iptables-nft-save -c)
  nftj=$(timed in_ns nft -j list ruleset)
  printf '| %s | %s ms (%s-%s) | %s s | %s s | %s / %s |\n' "$n" "$median" "$min" "$max" \
    "$save" "$nftj" "$chains" "$rules"
done
