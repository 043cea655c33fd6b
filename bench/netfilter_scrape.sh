#!/usr/bin/env bash
# The netfilter collector's scrape-time read with 100 Docker rules beside 0,
# 10k and 100k foreign (kube-proxy-like) rules, side by side with
# `iptables-save -c` and `nft -j list ruleset` on the same ruleset, all in a
# network namespace of its own (never the machine's).  Needs root.
#
# Usage: bench/netfilter_scrape.sh PATH/TO/netfilter_scrape_bench [SIZES...]
# Prints one Markdown table row per size (the format of bench/README.md).
set -euo pipefail

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

# 100 Docker rules: the lab's chains, with 94 published ports in nat DOCKER.
docker_rules() {
  echo "*nat"
  echo ":DOCKER - [0:0]"
  echo "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER"
  echo "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER"
  echo "-A DOCKER -i docker0 -j RETURN"
  local i
  for ((i = 0; i < 94; i++)); do
    echo "-A DOCKER ! -i docker0 -p tcp -m tcp --dport $((20000 + i)) -j DNAT --to-destination 203.0.113.$((2 + i % 200)):80"
  done
  echo "COMMIT"
  echo "*filter"
  echo ":DOCKER - [0:0]"
  echo ":DOCKER-USER - [0:0]"
  echo ":DOCKER-ISOLATION-STAGE-1 - [0:0]"
  echo ":DOCKER-ISOLATION-STAGE-2 - [0:0]"
  echo "-A FORWARD -j DOCKER-USER"
  echo "-A FORWARD -j DOCKER-ISOLATION-STAGE-1"
  echo "-A DOCKER-USER -j RETURN"
  echo "COMMIT"
}

# N foreign rules, kube-proxy-like: 100 rules per KUBE-SVC-* chain in nat.
foreign_rules() {
  local n=$1 c r per=100
  ((n > 0)) || return 0
  echo "*nat"
  echo ":KUBE-SERVICES - [0:0]"
  for ((c = 0; c < n / per; c++)); do echo ":KUBE-SVC-$c - [0:0]"; done
  for ((c = 0; c < n / per; c++)); do
    echo "-A KUBE-SERVICES -d 10.96.$((c / 250)).$((c % 250)) -p tcp -m tcp --dport 80 -j KUBE-SVC-$c"
    for ((r = 1; r < per; r++)); do
      echo "-A KUBE-SVC-$c -s 10.$((r % 250)).$((c % 250)).0/24 -p tcp -m tcp --dport $((1000 + r)) -j ACCEPT"
    done
  done
  echo "COMMIT"
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
