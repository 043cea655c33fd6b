#!/usr/bin/env bash
# lab.probe: probes from both vantages and the verdict, against the
# lab's kernel and a real firewalld, for each cause in turn.
#
#   exporter `host`  in dockerhost (vantage local): probes the published port
#                    5000 on 127.0.0.1 and 198.51.100.1, and judges it
#   exporter `ext`   in outside (--probe.vantage=external), asked through
#                    /probe?target=198.51.100.1:5000, blackbox-style
#
# For each state the test asserts the local outcomes, the external outcome
# (as measured in this lab, see tests/lab/README.md) and the verdict:
#   healthy                       connected / connected / reachable
#   ip_forward off                connected / timeout   / ip_forward_disabled
#   chain flush, no firewalld     connected / connected / reachable (userland proxy)
#   firewalld start (wipe)        connected / refused   / docker_chain_missing
#                                 + firewalld_port_closed
#   ... port opened in the zone   connected / connected / reachable (proxy)
#   ... port closed again         connected / refused   / both causes again
# (firewalld 1.3's zone `public`, target default, ends in REJECT with
# icmp-port-unreachable, which connect() reports as ECONNREFUSED: refused, not
# unreachable.  Only a packet no zone takes meets the final host-prohibited.)
# Then 500 listeners in the container, added by a configuration reload (POST
# /-/reload), probed in one scrape within one scrape timeout; and a bad
# configuration on SIGHUP keeps the good one.
#
# Usage: probe_test.sh PATH/TO/portmap_exporter
set -euo pipefail

# shellcheck source=firewalld.sh
source "$(dirname "${BASH_SOURCE[0]}")/firewalld.sh"
lab_exporter_test_start "${1:-}" # sets $exporter
lab_require_tools firewalld firewall-cmd dbus-daemon unshare curl

lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up

work=$(mktemp -d /tmp/portmap-lab-probe.XXXXXX)
lab_defer rm -rf "$work"
LAB_METRICS=$work/metrics

lab_fw_bus # the firewalld collector watches the private bus before firewalld runs
cat >"$work/host.yml" <<'EOF'
modules:
  tcp_connect:
    timeout: 2s
EOF
host_pid="" host_port="" ext_pid="" ext_port="" # set by lab_start_exporter
# --probe.interval=0s: the test changes the path between scrapes and wants
# each scrape to probe it.
lab_start_exporter host "$work" "$exporter" env DBUS_SYSTEM_BUS_ADDRESS="$(lab_fw_bus_address)" \
  -- --config.file="$work/host.yml" --probe.interval=0s
LAB_EXPORTER_NS=$NS_OUT lab_start_exporter ext "$work" "$exporter" \
  -- --probe.vantage=external --collector.disable-defaults --probe.interval=0s
show_logs() {
  sed 's/^/  host: /' "$work/host.stderr" >&2
  sed 's/^/  ext: /' "$work/ext.stderr" >&2
}

# scrape_host [TIMEOUT_HEADER]: /metrics of the host exporter into $LAB_METRICS,
# the elapsed milliseconds into $scrape_ms.
scrape_ms=0
scrape_host() {
  lab_fetch "$NS_HOST" "http://127.0.0.1:$host_port/metrics" "$LAB_METRICS" "${1:-3}" || {
    show_logs
    lab_die "scrape of the host exporter failed"
  }
  scrape_ms=$fetch_ms
}

# probe_external: /probe of the published port through the outside exporter,
# into $work/external; the elapsed milliseconds into $probe_ms.
probe_ms=0
probe_external() {
  lab_fetch "$NS_OUT" "http://127.0.0.1:$ext_port/probe?target=$UPLINK_HOST_IP:$REGISTRY_PORT" \
    "$work/external" 3 || {
    show_logs
    lab_die "/probe through the outside exporter failed"
  }
  probe_ms=$fetch_ms
}

causes=(ip_forward_disabled rp_filter no_route raw_drop firewalld_port_closed docker_user_drop
  docker_rule_drop forward_policy_drop foreign_rule_drop docker_chain_missing dnat_rule_missing
  no_listener)
outcomes=(connected refused unreachable timeout error)

# expect_outcome VANTAGE TARGET WANT DESCRIPTION: the outcome WANT at 1 and no
# series for the other outcomes (the exporter exports only the one that holds).
expect_outcome() {
  local vantage=$1 target=$2 want=$3 o v
  for o in "${outcomes[@]}"; do
    v=missing
    [[ $o == "$want" ]] && v=1
    expect portmap_probe_outcome "vantage=\"$vantage\" target=\"$target\" outcome=\"$o\"" "$v" "$4"
  done
}

# check_state NAME LOCAL EXTERNAL REACHABLE [CAUSE...]: the outcomes from
# both vantages, the prediction, and exactly those causes at 1 (no series for
# the others: the verdict exports only the causes that hold).
check_state() {
  local name=$1 local_want=$2 ext_want=$3 reachable=$4 cause want target
  shift 4
  echo "# $name"
  scrape_host
  for target in "127.0.0.1:$REGISTRY_PORT" "$UPLINK_HOST_IP:$REGISTRY_PORT"; do
    expect_outcome local "$target" "$local_want" "$name: local"
  done
  expect portmap_published_port_reachable_predicted \
    "proto=\"tcp\" host_port=\"$REGISTRY_PORT\"" "$reachable" "$name: verdict"
  for cause in "${causes[@]}"; do
    want=missing
    [[ " $* " == *" $cause "* ]] && want=1
    expect portmap_published_port_blocked \
      "proto=\"tcp\" host_port=\"$REGISTRY_PORT\" cause=\"$cause\"" "$want" "$name: cause"
  done
  probe_external
  LAB_METRICS=$work/external expect_outcome external "$UPLINK_HOST_IP:$REGISTRY_PORT" "$ext_want" \
    "$name: external (${probe_ms} ms)"
  # A timeout must still answer within the scrape timeout (3 s header).
  if ((probe_ms < 3000)); then
    lab_ok "$name: /probe answered in ${probe_ms} ms < 3000"
  else
    lab_not_ok "$name: /probe took ${probe_ms} ms, over the 3 s scrape timeout"
  fi
}

check_state "healthy" connected connected 1
expect portmap_scrape_collector_success 'collector="verdict"' 1 "verdict collector"
expect portmap_scrape_collector_success 'collector="probe"' 1 "probe collector"
# docker0's address is Docker's own: not probed by default.
expect portmap_probe_success "target=\"$BRIDGE_IP:$REGISTRY_PORT\"" missing "bridge address"
# 3 series per target by default (success, connect_seconds, the outcome that
# holds); the connect-time histogram is a module's opt-in.
for target in "127.0.0.1:$REGISTRY_PORT" "$UPLINK_HOST_IP:$REGISTRY_PORT"; do
  n=$(grep '^portmap_probe_' "$LAB_METRICS" | grep -cF "target=\"$target\"" || true)
  if [[ $n == 3 ]]; then lab_ok "$target: 3 probe series"; else
    lab_not_ok "$target: $n probe series, want 3"
  fi
done
if grep -q '^portmap_probe_connect_duration_seconds' "$LAB_METRICS"; then
  lab_not_ok "the connect-time histogram is exported without a module asking for it"
else
  lab_ok "no connect-time histogram by default"
fi

"$LAB_DIR/fault.sh" ip_forward off
check_state "ip_forward off" connected timeout 0 ip_forward_disabled
"$LAB_DIR/fault.sh" ip_forward on

"$LAB_DIR/fault.sh" chain flush
check_state "chains wiped, no firewalld (userland proxy serves)" connected connected 1
expect portmap_netfilter_chain_present \
  'backend="nftables" family="ipv4" table="nat" chain="DOCKER"' 0 "the wipe is seen"
"$LAB_DIR/fault.sh" rules restore

lab_fw_start # iptables backend: its start flushes Docker's chains
check_state "firewalld started after Docker (wipe, 5000/tcp not in zone public)" \
  connected refused 0 docker_chain_missing firewalld_port_closed
"$LAB_DIR/fault.sh" port open
check_state "5000/tcp opened in zone public (userland proxy serves)" connected connected 1
"$LAB_DIR/fault.sh" port closed
check_state "5000/tcp closed again" connected refused 0 \
  docker_chain_missing firewalld_port_closed
lab_fw_stop
"$LAB_DIR/fault.sh" rules restore
check_state "firewalld stopped, rules restored" connected connected 1

echo "# 500 listeners, added by a reload, probed in one scrape"
ports=$(seq 6000 6499)
# shellcheck disable=SC2086 # one argument per port
lab_spawn many "$NS_C1" "$LAB_TCP" listen $ports
wait_for_listen "$NS_C1" 6499 5 || lab_die "500 listeners did not start"
{
  cat "$work/host.yml"
  echo "targets:"
  for p in $ports; do echo "  - {target: '$C1_IP:$p', labels: {group: many}}"; done
} >"$work/host.yml.new"
mv "$work/host.yml.new" "$work/host.yml"
reload_code=$(ip netns exec "$NS_HOST" curl -s -o "$work/reload" -w '%{http_code}' -X POST \
  "http://127.0.0.1:$host_port/-/reload")
if [[ $reload_code == 200 ]]; then lab_ok "POST /-/reload: 200"; else
  lab_not_ok "POST /-/reload: $reload_code $(cat "$work/reload")"
fi
scrape_host 5
connected=$(grep -c '^portmap_probe_success{.*group="many".*} 1$' "$LAB_METRICS" || true)
if [[ $connected == 500 ]]; then lab_ok "500 of 500 targets connected in one scrape"; else
  lab_not_ok "$connected of 500 targets connected"
fi
series=$(grep -c '^portmap_probe_.*group="many"' "$LAB_METRICS" || true)
if [[ $series == 1500 ]]; then lab_ok "1500 probe series for the 500 targets"; else
  lab_not_ok "$series probe series for the 500 targets, want 1500"
fi
if ((scrape_ms < 5000)); then lab_ok "the scrape took ${scrape_ms} ms < the 5 s timeout"; else
  lab_not_ok "the scrape took ${scrape_ms} ms, over the 5 s timeout"
fi
expect portmap_config_last_reload_successful "" 1 "reload"

echo "# a bad configuration on SIGHUP keeps the good one"
echo "modules: {tcp_connect: {timeout: soon}}" >"$work/host.yml"
kill -HUP "$host_pid"
# shellcheck disable=SC2317 # called through wait_for
reload_failed() {
  scrape_host
  [[ $(value portmap_config_last_reload_successful "") == 0 ]]
}
wait_for 5 "the reload to fail" reload_failed || lab_not_ok "reload did not report failure"
expect portmap_config_last_reload_successful "" 0 "bad file on SIGHUP"
connected=$(grep -c '^portmap_probe_success{.*group="many".*} 1$' "$LAB_METRICS" || true)
if [[ $connected == 500 ]]; then lab_ok "the 500 targets are still probed"; else
  lab_not_ok "$connected of 500 targets probed after the failed reload"
fi
if grep -q 'msg="Error reloading configuration"' "$work/host.stderr"; then
  lab_ok "the failed reload is logged: $(grep -m1 'Error reloading' "$work/host.stderr")"
else
  lab_not_ok "no error logged for the failed reload"
fi
if lab_pid_gone "$host_pid"; then lab_not_ok "the exporter died"; else
  lab_ok "the exporter is still up"
fi

lab_finish
