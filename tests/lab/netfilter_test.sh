#!/usr/bin/env bash
# lab.netfilter / lab.netfilter.legacy: the exporter runs inside the
# lab's dockerhost namespace and its netfilter collector reports the lab's
# Docker chains as `iptables -S` counts them, the published port, the FORWARD
# policy, counters that move with traffic; then a flush of nat DOCKER that
# keeps the chain, refilled before the next scrape, reads as rule deletions
# (nftables backend); then firewalld's wipe
# (`fault.sh chain flush`) reads as chain_present 0; then both iptables
# backends holding rules at once are both reported; and an exporter without
# CAP_NET_ADMIN says why, with success 0.
#
# With NETFILTER_LAB_MODE=dockerd (lab.netfilter.dockerd*), the rules come
# from a real dockerd started in the lab (dockerd.sh) running one container
# with -p 8080:80: published ports are compared with `docker port`, chain
# counts with `iptables -S`, and the flush is checked the same way.
#
# Usage: netfilter_test.sh PATH/TO/portmap_exporter
# IPTABLES=iptables-nft (default) or iptables-legacy picks the lab's backend
# (and, in dockerd mode, the iptables first in dockerd's PATH).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_exporter_test_start "${1:-}" # sets $exporter
command -v setpriv >/dev/null || {
  echo "SKIP: setpriv (util-linux) is needed to run the exporter without privileges"
  exit 77
}

IPT=${IPTABLES:-iptables-nft}
case $IPT in
  iptables-nft) backend=nftables other=iptables-legacy other_backend=legacy ;;
  iptables-legacy) backend=legacy other=iptables-nft other_backend=nftables ;;
  *) lab_die "IPTABLES must be iptables-nft or iptables-legacy, not '$IPT'" ;;
esac
export IPTABLES=$IPT
command -v "$other" >/dev/null || lab_die "$other not found (install iptables)"

mode=${NETFILTER_LAB_MODE:-lab}
lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up
if [[ $mode == dockerd ]]; then
  lab_defer "$LAB_DIR/dockerd.sh" stop
  "$LAB_DIR/dockerd.sh" start
  docker_cli() { "$LAB_DIR/dockerd.sh" docker "$@"; }
  docker_cli run -d --name web -p 8080:80 portmap-lab-busybox /bin/busybox httpd -f -p 80 \
    >/dev/null
fi

work=$(mktemp -d /tmp/portmap-lab-netfilter.XXXXXX)
LAB_METRICS=$work/metrics
lab_defer rm -rf "$work"
chmod 755 "$work"

main_port="" unpriv_port="" # set by start_exporter
# start_exporter NAME [WRAPPER...]: an exporter with only the netfilter
# collector; sets ${NAME}_port (lab_start_exporter).
start_exporter() {
  local name=$1
  shift
  lab_start_exporter "$name" "$work" "$exporter" "$@" -- \
    --collector.disable-defaults --collector.netfilter
}

scrape() {
  ip netns exec "$NS_HOST" curl -sSf --max-time 5 "http://127.0.0.1:$1/metrics" \
    >"$work/metrics" || lab_die "scrape of 127.0.0.1:$1/metrics failed"
}

chain_labels() { echo "backend=\"$1\" family=\"ipv4\" table=\"$2\" chain=\"$3\""; }
# What `iptables -S` says: the -A lines of one chain.
ipt_count() { lab_ipt -t "$1" -S "$2" | grep -c '^-A' || true; }

docker_chains=("nat DOCKER" "filter DOCKER" "filter DOCKER-USER"
  "filter DOCKER-ISOLATION-STAGE-1" "filter DOCKER-ISOLATION-STAGE-2")
if [[ $mode == dockerd ]]; then
  lab_docker_web_published published
else
  published="proto=\"tcp\" host_ip=\"0.0.0.0\" host_port=\"$REGISTRY_PORT\""
  published+=" container_ip=\"$C1_IP\" container_port=\"$REGISTRY_PORT\""
fi

start_exporter main

echo "# $mode's rules, written with $IPT"
# Traffic first, so the nat DOCKER counter has something to count.
if [[ $mode == dockerd ]]; then
  code=$(ip netns exec "$NS_OUT" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    "http://$UPLINK_HOST_IP:8080/" || true)
  if [[ $code =~ ^[1-5][0-9][0-9]$ ]]; then
    lab_ok "outside reaches the container's published port (HTTP $code)"
  else
    lab_not_ok "outside to $UPLINK_HOST_IP:8080: no HTTP answer ($code)"
  fi
else
  expect_probe "connected:portmap-lab" "outside reaches the published port" \
    "$NS_OUT" "$UPLINK_HOST_IP" "$REGISTRY_PORT"
fi
scrape "$main_port"
expect portmap_scrape_collector_success 'collector="netfilter"' 1 "netfilter collector"
for tc in "${docker_chains[@]}"; do
  read -r table chain <<<"$tc"
  labels=$(chain_labels "$backend" "$table" "$chain")
  expect portmap_netfilter_chain_present "$labels" 1 "$table $chain"
  expect portmap_netfilter_chain_rules "$labels" "$(ipt_count "$table" "$chain")" \
    "$table $chain as $IPT -S counts"
done
expect portmap_published_port_info "$published backend=\"$backend\"" 1 "published port"
if [[ $mode == dockerd ]]; then
  want_policy=$([[ $(lab_ipt -S FORWARD | head -n1) == "-P FORWARD ACCEPT" ]] && echo 1 || echo 0)
else
  want_policy=0
fi
expect portmap_netfilter_chain_policy_accept "$(chain_labels "$backend" filter FORWARD)" \
  "$want_policy" "FORWARD policy as $IPT -S shows it"
pkts=$(value portmap_netfilter_chain_packets_total "$(chain_labels "$backend" nat DOCKER)")
if [[ $pkts =~ ^[0-9.e+]+$ ]] && awk -v p="$pkts" 'BEGIN { exit !(p >= 1) }'; then
  lab_ok "nat DOCKER counted the outside connection (packets_total = $pkts)"
else
  lab_not_ok "nat DOCKER packets_total = $pkts, want >= 1"
fi
if [[ $(value portmap_netfilter_chain_present "backend=\"$other_backend\"") != missing ]]; then
  lab_not_ok "no $other_backend series expected before $other writes rules"
else
  lab_ok "no $other_backend series while $other holds no Docker rules"
fi

echo "# nat DOCKER flushed and refilled between two scrapes (the chain stays)"
docker_labels=$(chain_labels "$backend" nat DOCKER)
rule_deletions_before=$(value portmap_netfilter_rule_deletions_total \
  'family="ipv4" table="nat" chain="DOCKER"')
mapfile -t docker_rules < <(lab_ipt -t nat -S DOCKER | grep '^-A' || true)
((${#docker_rules[@]} >= 1)) || lab_die "nat DOCKER holds no rule to flush"
lab_ipt -t nat -F DOCKER
for line in "${docker_rules[@]}"; do
  read -ra args <<<"$line" # Docker's rules carry no quoted words
  lab_ipt -t nat "${args[@]}"
done
scrape "$main_port"
expect portmap_netfilter_chain_present "$docker_labels" 1 "after refill: nat DOCKER"
expect portmap_netfilter_chain_rules "$docker_labels" "${#docker_rules[@]}" \
  "after refill: nat DOCKER looks unchanged"
expect portmap_published_port_info "$published backend=\"$backend\"" 1 "after refill: port"
if [[ $backend == nftables ]]; then
  # Seen by the event watcher, between the two scrapes: one DELRULE per rule.
  if [[ $rule_deletions_before =~ ^[0-9]+$ ]]; then
    expect portmap_netfilter_rule_deletions_total 'family="ipv4" table="nat" chain="DOCKER"' \
      "$((rule_deletions_before + ${#docker_rules[@]}))" "after refill: flushed rules counted"
  else
    lab_not_ok "rule_deletions_total{nat DOCKER} before the flush = '$rule_deletions_before'"
  fi
  expect portmap_netfilter_chain_deletions_total 'family="ipv4" table="nat" chain="DOCKER"' 0 \
    "after refill: no chain deletion"
fi

echo "# fault.sh chain flush (firewalld's wipe)"
"$LAB_DIR/fault.sh" chain flush
scrape "$main_port"
for tc in "${docker_chains[@]}"; do
  read -r table chain <<<"$tc"
  expect portmap_netfilter_chain_present "$(chain_labels "$backend" "$table" "$chain")" 0 \
    "after flush: $table $chain"
done
expect portmap_published_port_info "$published backend=\"$backend\"" missing \
  "after flush: no published port"
if [[ $backend == nftables ]]; then
  # Seen by the event watcher, between the two scrapes.
  for tc in "${docker_chains[@]}"; do
    read -r table chain <<<"$tc"
    expect portmap_netfilter_chain_deletions_total \
      "family=\"ipv4\" table=\"$table\" chain=\"$chain\"" 1 "after flush: deletion counted"
  done
  expect portmap_netfilter_last_change_info 'process="iptables-nft"' 1 "last committer"
  changes=$(awk '$1 == "portmap_netfilter_ruleset_changes_total" { print $2 }' "$work/metrics")
  if [[ $changes =~ ^[0-9]+$ ]] && ((changes >= 1)); then
    lab_ok "ruleset changes counted ($changes)"
  else
    lab_not_ok "portmap_netfilter_ruleset_changes_total = $changes, want >= 1"
  fi
  resyncs=$(awk '$1 == "portmap_netfilter_resyncs_total" { print $2 }' "$work/metrics")
  if [[ $resyncs == 0 ]]; then
    lab_ok "no events lost (portmap_netfilter_resyncs_total = 0)"
  else
    lab_not_ok "portmap_netfilter_resyncs_total = '$resyncs', want 0"
  fi
fi

if [[ $mode == dockerd ]]; then
  if lab_pid_gone "$(cat "$work/main.pid")"; then lab_not_ok "the exporter died during the test"; fi
  lab_finish
  exit $?
fi

echo "# rules restored, and $other writes Docker's rules too"
"$LAB_DIR/fault.sh" rules restore
IPTABLES=$other lab_rules_apply
scrape "$main_port"
for b in "$backend" "$other_backend"; do
  for tc in "nat DOCKER" "filter DOCKER-USER"; do
    read -r table chain <<<"$tc"
    expect portmap_netfilter_chain_present "$(chain_labels "$b" "$table" "$chain")" 1 \
      "both backends: $b $table $chain"
  done
  expect portmap_netfilter_chain_rules "$(chain_labels "$b" nat DOCKER)" 2 \
    "both backends: $b nat DOCKER rules"
  expect portmap_published_port_info "$published backend=\"$b\"" 1 "both backends: $b port"
done
IPTABLES=$other lab_rules_flush

echo "# without CAP_NET_ADMIN"
start_exporter unpriv setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
  --bounding-set=-all
for _ in 1 2; do scrape "$unpriv_port"; done
expect portmap_scrape_collector_success 'collector="netfilter"' 0 "unprivileged"
# The collector's failure, once over two scrapes (the start-up privilege check
# names CAP_NET_ADMIN too, on its own line: not counted here).
n=$(grep 'collector failed' "$work/unpriv.stderr" | grep -c 'CAP_NET_ADMIN' || true)
if [[ $n == 1 ]]; then
  lab_ok "the reason is logged once: $(grep 'collector failed' "$work/unpriv.stderr" | grep -m1 -o 'err="[^"]*"' || true)"
else
  lab_not_ok "want one 'collector failed' line naming CAP_NET_ADMIN after two scrapes, got $n"
  sed 's/^/  exporter: /' "$work/unpriv.stderr" >&2
fi

if lab_pid_gone "$(cat "$work/main.pid")"; then
  lab_not_ok "the exporter died during the test"
else
  lab_ok "the exporter is still running"
fi
lab_finish
