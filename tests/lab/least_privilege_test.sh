#!/usr/bin/env bash
# lab.least_privilege: the exporter as `nobody` inside the lab's
# dockerhost, started by setpriv with ambient capabilities, as the systemd
# unit (deploy/portmap_exporter.service) starts it.  Every default collector
# is on; firewalld's bus is a private dbus-daemon with no firewalld on it
# (firewalld absent: up 0, success 1); a stand-in dockerd (a copy of sleep)
# has its pid file in a private --path.rootfs.
#
#   caps            CAP_NET_ADMIN + CAP_NET_RAW + CAP_SYS_ADMIN every collector success 1,
#                   (the verdict's setns), group root         start-up: nothing missing
#   unit caps       CAP_NET_ADMIN + CAP_NET_RAW, group root   every collector success 1; the
#                   (deploy/portmap_exporter.service)         verdict warns it cannot see a
#                                                             container's own listener
#   caps, no root group   (only when ip_tables is loaded)     netfilter and verdict 0:
#                                                             ip_tables_names
#   no caps                                                   netfilter and verdict 0 naming
#                                                             CAP_NET_ADMIN, the others 1,
#                                                             /metrics 200
#   a real firewalld (no polkit on the lab's bus), caps       firewalld 0 naming its refusal
#                                                             and the polkit rule; others 1
#   + legacy rules: caps                                      both backends read, success 1
#   + legacy rules: CAP_NET_ADMIN only                        netfilter 0 naming CAP_NET_RAW,
#                                                             nftables still exported
#
# Group root: the kernel makes <proc>/net/ip_tables_names (which legacy tables
# exist) 0440 root:root, so with x_tables loaded a non-root reader needs the
# group — no capability short of CAP_DAC_READ_SEARCH lets it read the file.
#
# Usage: least_privilege_test.sh PATH/TO/portmap_exporter
set -euo pipefail

# shellcheck source=firewalld.sh
source "$(dirname "${BASH_SOURCE[0]}")/firewalld.sh"
lab_exporter_test_start "${1:-}" # sets $exporter
lab_require_tools setpriv dbus-daemon dbus-send iptables-legacy

lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up

work=$(mktemp -d /tmp/portmap-lab-privilege.XXXXXX)
lab_defer rm -rf "$work"
rootfs=$work/rootfs
mkdir -p "$rootfs/etc/sysctl.d" "$rootfs/var/run" "$work/bin"
cp "$(command -v sleep)" "$work/bin/dockerd"
lab_spawn dockerd "$NS_HOST" "$work/bin/dockerd" infinity
cat "$LAB_STATE/dockerd.pid" >"$rootfs/var/run/docker.pid"
chmod -R a+rX "$work" # nobody reads the pid file and sysctl.d
lab_fw_bus            # a system bus without firewalld on it

export LAB_METRICS=$work/metrics
collectors=(docker firewalld forwarding netfilter probe verdict)
nobody=(setpriv --reuid=nobody --regid=nogroup)
# shellcheck disable=SC2054 # setpriv's capability lists are comma-separated
all_caps=(--inh-caps=-all,+net_admin,+net_raw,+sys_admin
  --ambient-caps=-all,+net_admin,+net_raw,+sys_admin --bounding-set=-all,+net_admin,+net_raw,+sys_admin)
unit_caps=(--inh-caps=-all,+net_admin,+net_raw --ambient-caps=-all,+net_admin,+net_raw
  --bounding-set=-all,+net_admin,+net_raw)
no_caps=(--inh-caps=-all --ambient-caps=-all --bounding-set=-all)
legacy_list=/proc/self/net/ip_tables_names

# run NAME SETPRIV_ARGS...: the exporter as nobody with those groups and
# capabilities; scrapes it twice (netfilter says a denial once) into $LAB_METRICS.
run() {
  local name=$1
  shift
  lab_start_exporter "$name" "$work" "$exporter" \
    env DBUS_SYSTEM_BUS_ADDRESS="$(lab_fw_bus_address)" "${nobody[@]}" "$@" -- \
    --path.rootfs="$rootfs"
  local port_var=${name}_port i
  for i in 1 2; do
    if ! lab_fetch "$NS_HOST" "http://127.0.0.1:${!port_var}/metrics" "$LAB_METRICS" 8; then
      lab_not_ok "$name: /metrics failed (scrape $i)"
      return 0
    fi
  done
  lab_ok "$name: /metrics answered 200 twice (the second in ${fetch_ms} ms)"
}

# expect_log NAME REGEX DESCRIPTION / expect_no_log NAME REGEX DESCRIPTION
expect_log() {
  if grep -Eq "$2" "$work/$1.stderr"; then
    lab_ok "$1: $3: $(grep -Em1 "$2" "$work/$1.stderr" | cut -c1-400)"
  else
    lab_not_ok "$1: $3: no log line matches /$2/"
    sed 's/^/  exporter: /' "$work/$1.stderr" >&2
  fi
}
expect_no_log() {
  if grep -Eq "$2" "$work/$1.stderr"; then
    lab_not_ok "$1: $3: $(grep -Em1 "$2" "$work/$1.stderr")"
  else
    lab_ok "$1: $3"
  fi
}
expect_success() {
  local c
  for c in "$@"; do
    expect portmap_scrape_collector_success "collector=\"$c\"" "${want_success:-1}" "$run_name"
  done
}
chain() { echo "backend=\"$1\" family=\"ipv4\" table=\"$2\" chain=\"$3\""; }
published="proto=\"tcp\" host_ip=\"0.0.0.0\" host_port=\"$REGISTRY_PORT\""
published+=" container_ip=\"$C1_IP\" container_port=\"$REGISTRY_PORT\""

echo "# nobody with CAP_NET_ADMIN and CAP_NET_RAW (and group root)"
run_name=caps
run caps "${all_caps[@]}" --groups=root
expect_success "${collectors[@]}"
expect_log caps 'msg="Every enabled collector has what it needs".*uid=65534.*capabilities=cap_net_admin,cap_net_raw,cap_sys_admin' \
  "start-up: nothing missing"
expect_no_log caps 'level=(warn|error)' "no warning or error logged"
expect portmap_netfilter_chain_present "$(chain nftables nat DOCKER)" 1 caps
expect portmap_netfilter_chain_rules "$(chain nftables nat DOCKER)" 2 caps
expect portmap_netfilter_chain_present "$(chain nftables filter DOCKER-USER)" 1 caps
expect portmap_published_port_info "$published backend=\"nftables\"" 1 caps
expect portmap_netfilter_ruleset_changes_total "" 0 "caps (the nf_tables watcher listens)"
expect portmap_dockerd_up "" 1 caps
expect portmap_firewalld_up "" 0 "caps (no firewalld on the bus)"
expect portmap_ip_forward_enabled 'family="ipv4"' 1 caps
expect portmap_ip_forward_changes_total 'family="ipv4"' 0 "caps (the netconf watcher listens)"
expect portmap_probe_success "target=\"127.0.0.1:$REGISTRY_PORT\"" 1 caps
expect portmap_published_port_reachable_predicted "proto=\"tcp\" host_port=\"$REGISTRY_PORT\"" 1 caps

echo "# nobody with the systemd unit's capabilities (no CAP_SYS_ADMIN)"
run_name=unit_caps
run unit_caps "${unit_caps[@]}" --groups=root
expect_success "${collectors[@]}"
expect_log unit_caps 'level=warn msg="Collector lacks what it needs" collector=verdict missing="no CAP_SYS_ADMIN".*container port is assumed to answer' \
  "start-up: the verdict cannot look into containers"
expect portmap_published_port_reachable_predicted "proto=\"tcp\" host_port=\"$REGISTRY_PORT\"" 1 unit_caps

echo "# nobody with both capabilities but without group root"
if ip netns exec "$NS_HOST" test -e "$legacy_list"; then
  run_name=caps_nogroup
  run caps_nogroup "${all_caps[@]}" --clear-groups
  want_success=0 expect_success netfilter verdict
  expect_success docker firewalld forwarding probe
  expect_log caps_nogroup 'level=warn msg="Collector lacks what it needs" collector=netfilter missing="cannot read /proc/self/net/ip_tables_names \(Permission denied\)".*will be 0' \
    "start-up names the table list"
  expect_log caps_nogroup 'level=error msg="collector failed" collector=netfilter.*ip_tables_names.*group root' \
    "the scrape names the table list and group root"
  expect portmap_netfilter_chain_present "$(chain nftables nat DOCKER)" 1 \
    "caps_nogroup (nf_tables still read)"
else
  lab_ok "skipped: x_tables is not loaded here, so $legacy_list does not exist"
fi

echo "# nobody without capabilities"
run_name=nocaps
run nocaps "${no_caps[@]}" --clear-groups
want_success=0 expect_success netfilter verdict
expect_success docker firewalld forwarding probe
expect_log nocaps 'level=warn msg="Collector lacks what it needs" collector=netfilter missing="no CAP_NET_ADMIN[";].*will be 0' \
  "start-up: netfilter lacks CAP_NET_ADMIN"
expect_log nocaps 'level=warn msg="Collector lacks what it needs" collector=probe missing="no CAP_NET_ADMIN".*still succeeds' \
  "start-up: probe discovers nothing"
expect_log nocaps 'level=warn msg="Collector lacks what it needs" collector=verdict missing="no CAP_NET_ADMIN[";].*will be 0' \
  "start-up: verdict judges nothing"
expect_no_log nocaps 'msg="Collector lacks what it needs" collector=(docker|firewalld|forwarding)' \
  "start-up: docker, firewalld and forwarding lack nothing"
expect_log nocaps 'level=error msg="collector failed" collector=netfilter.*CAP_NET_ADMIN' \
  "the scrape names CAP_NET_ADMIN"
n=$(grep -c 'msg="collector failed" collector=netfilter' "$work/nocaps.stderr" || true)
if [[ $n == 1 ]]; then lab_ok "nocaps: the denial is logged once in two scrapes"; else
  lab_not_ok "nocaps: the denial is logged $n times in two scrapes, want 1"
fi
expect portmap_dockerd_up "" 1 nocaps
expect portmap_ip_forward_enabled 'family="ipv4"' 1 nocaps
expect portmap_ip_forward_changes_total 'family="ipv4"' 0 "nocaps (the netconf watcher needs nothing)"

echo "# a real firewalld, nobody with both capabilities (the lab's bus has no polkit)"
lab_fw_start
run_name=firewalld
run firewalld "${all_caps[@]}" --groups=root
want_success=0 expect_success firewalld
expect_success docker forwarding netfilter probe verdict
expect_log firewalld 'msg="Every enabled collector has what it needs"' \
  "start-up: nothing missing (polkit is firewalld's per-call decision)"
expect_log firewalld 'level=error msg="collector failed" collector=firewalld.*NotAuthorizedException.*polkit rule in docs/firewalld.md' \
  "the scrape names firewalld's refusal and the polkit rule"
lab_fw_stop
"$LAB_DIR/fault.sh" rules restore

echo "# legacy iptables holds Docker's rules too"
IPTABLES=iptables-legacy lab_rules_apply

run_name=legacy_caps
run legacy_caps "${all_caps[@]}" --groups=root
expect_success "${collectors[@]}"
expect_log legacy_caps 'msg="Every enabled collector has what it needs"' "start-up: nothing missing"
for b in nftables legacy; do
  expect portmap_netfilter_chain_present "$(chain "$b" nat DOCKER)" 1 legacy_caps
  expect portmap_published_port_info "$published backend=\"$b\"" 1 legacy_caps
done

echo "# legacy rules, CAP_NET_ADMIN without CAP_NET_RAW"
run_name=legacy_noraw
run legacy_noraw --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
  --bounding-set=-all,+net_admin --groups=root
want_success=0 expect_success netfilter verdict
expect_success docker firewalld forwarding probe
expect_log legacy_noraw 'level=warn msg="Collector lacks what it needs" collector=netfilter missing="no CAP_NET_RAW"' \
  "start-up: netfilter lacks CAP_NET_RAW"
expect_log legacy_noraw 'level=error msg="collector failed" collector=netfilter.*legacy iptables.*CAP_NET_RAW' \
  "the scrape names CAP_NET_RAW"
expect portmap_netfilter_chain_present "$(chain nftables nat DOCKER)" 1 \
  "legacy_noraw (only the legacy part fails)"
expect portmap_published_port_info "$published backend=\"nftables\"" 1 legacy_noraw
expect portmap_netfilter_chain_present "$(chain legacy nat DOCKER)" missing legacy_noraw

for name in caps unit_caps nocaps legacy_caps legacy_noraw; do
  pid_var=${name}_pid
  if lab_pid_gone "${!pid_var}"; then lab_not_ok "exporter $name died"; fi
done
lab_finish
