#!/usr/bin/env bash
# lab.firewalld: a real firewalld (Debian 1.3) on a private system
# bus inside the lab's dockerhost namespace (firewalld.sh), watched by the
# exporter over D-Bus: up, info, start time against dockerd's, the zone of the
# uplink, the published port 5000/tcp closed then opened, reload and restart
# counters, a stopped (SIGSTOP) firewalld that must not hang a scrape, a
# killed one, and the bus itself going away and coming back.  firewalld's
# state is read once per change: scrapes in between make no call to it
# (portmap_firewalld_state_reads_total stays, firewalld's CPU time stays),
# and the first scrape after a runtime --add-port, a --reload and a restart
# already shows it.
#
# dockerd is a stand-in: a copy of sleep(1) named `dockerd` (comm "dockerd")
# started before firewalld, with its pid in a pid file given to
# --docker.pidfile.  The Docker-like rules are lab.sh's.  (A real dockerd in
# the lab is tests/lab/dockerd.sh's business, not this test's.)
#
# Usage: firewalld_test.sh PATH/TO/portmap_exporter
set -euo pipefail

# shellcheck source=firewalld.sh
source "$(dirname "${BASH_SOURCE[0]}")/firewalld.sh"
lab_exporter_test_start "${1:-}" # sets $exporter
lab_require_tools firewalld firewall-cmd dbus-daemon dbus-send unshare

lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up

work=$(mktemp -d /tmp/portmap-lab-firewalld.XXXXXX)
LAB_METRICS=$work/metrics
lab_defer rm -rf "$work"

# --- dockerd stand-in, started before firewalld --------------------------------
cp "$(command -v sleep)" "$work/dockerd"
lab_spawn dockerd "$NS_HOST" "$work/dockerd" 3600
cp "$LAB_STATE/dockerd.pid" "$work/docker.pid"
lab_fw_bus

# --- the exporter --------------------------------------------------------------
exporter_pid="" exporter_port="" # set by lab_start_exporter
lab_start_exporter exporter "$work" "$exporter" env DBUS_SYSTEM_BUS_ADDRESS="$(lab_fw_bus_address)" \
  -- --docker.pidfile="$work/docker.pid"
port=$exporter_port
show_exporter_log() { sed 's/^/  exporter: /' "$work/exporter.stderr" >&2; }

# scrape [TIMEOUT_HEADER_SECONDS]: /metrics into $work/metrics; the elapsed
# milliseconds into $scrape_ms.
scrape_ms=0
scrape() {
  lab_fetch "$NS_HOST" "http://127.0.0.1:$port/metrics" "$work/metrics" "${1:-10}" || {
    show_exporter_log
    lab_die "scrape of 127.0.0.1:$port/metrics failed"
  }
  scrape_ms=$fetch_ms
}

# scraped_is NAME LABELS WANT: for wait_for (signals arrive asynchronously).
scraped_is() {
  scrape
  [[ $(value "$1" "$2") == "$3" ]]
}
fw_success='collector="firewalld"'
p5000='proto="tcp" port="5000" zone="public"'

echo "# before firewalld: the name has no owner"
scrape
expect portmap_firewalld_up "" 0 "no firewalld"
expect portmap_scrape_collector_success "$fw_success" 1 "absence is a state"
expect portmap_firewalld_watcher_listening "" 1 "watcher subscribed on the private bus"
expect portmap_dockerd_up "" 1 "dockerd stand-in found through --docker.pidfile"
dockerd_start=$(value portmap_dockerd_start_time_seconds "")
if lab_ipt -t nat -S DOCKER >/dev/null 2>&1; then
  lab_ok "nat DOCKER exists before firewalld"
else
  lab_not_ok "nat DOCKER missing before firewalld"
fi

echo "# firewalld started after the Docker-like rules"
lab_fw_start
wait_for 10 "restarts_total 1" scraped_is portmap_firewalld_restarts_total "" 1 ||
  lab_not_ok "restarts_total did not reach 1"
expect portmap_firewalld_up "" 1 "firewalld running"
expect portmap_firewalld_info 'backend="iptables" default_zone="public"' 1 "info"
expect portmap_firewalld_interface_zone_info 'interface="eth0" zone="public"' 1 "uplink zone"
fw_start=$(value portmap_firewalld_start_time_seconds "")
if awk -v f="$fw_start" -v d="$dockerd_start" 'BEGIN { exit !(f > d && d > 0) }'; then
  lab_ok "firewalld start $fw_start > dockerd start $dockerd_start"
else
  lab_not_ok "firewalld start '$fw_start' not after dockerd start '$dockerd_start'"
fi
for spec in "nat DOCKER" "filter DOCKER" "filter DOCKER-USER" "filter DOCKER-ISOLATION-STAGE-1"; do
  read -r table chain <<<"$spec"
  if lab_ipt -t "$table" -S "$chain" >/dev/null 2>&1; then
    lab_not_ok "$table $chain survived firewalld's start"
  else
    lab_ok "$table $chain is gone after firewalld's start (iptables backend flush)"
  fi
done

# The netfilter collector sees the same wipe, when it is built in.
nat_docker='backend="nftables" family="ipv4" table="nat" chain="DOCKER"'
case $(value portmap_netfilter_chain_present "$nat_docker") in
  missing) echo "  (no netfilter collector in this exporter: chain_present not checked)" ;;
  *) expect portmap_netfilter_chain_present "$nat_docker" 0 "netfilter collector sees it" ;;
esac

echo "# nothing changes: scrapes reuse the last read and cost firewalld nothing"
fw_ticks() { awk '{ print $14 + $15 }' "/proc/$(lab_fw_firewalld_pid)/stat"; }
scrape
reads_before=$(value portmap_firewalld_state_reads_total "")
ticks_before=$(fw_ticks)
for _ in $(seq 20); do scrape; done
expect portmap_firewalld_state_reads_total "" "$reads_before" "20 scrapes, no new read"
ticks_after=$(fw_ticks)
# A read costs firewalld's Python 5-7 ms (a tick at 100 Hz or more); the
# per-scrape Peer.Ping is answered by libdbus in microseconds.
if ((ticks_after - ticks_before <= 2)); then
  lab_ok "firewalld used $((ticks_after - ticks_before)) clock ticks over 20 scrapes"
else
  lab_not_ok "firewalld used $((ticks_after - ticks_before)) clock ticks over 20 scrapes"
fi

echo "# five scrapes: no descriptor leaks"
fds() { find "/proc/$exporter_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fds_before=$(fds)
for _ in 1 2 3 4 5; do scrape; done
fds_after=$(fds)
if ((fds_after <= fds_before)); then
  lab_ok "open descriptors $fds_before before, $fds_after after five scrapes"
else
  lab_not_ok "open descriptors grew from $fds_before to $fds_after over five scrapes"
fi

echo "# port 5000/tcp not open in public"
expect portmap_firewalld_port_allowed "$p5000" 0 "port closed"
expect portmap_firewalld_port_allowed_approximate "$p5000" 0 "no rich rule concerns it"
# Pinned: the public zone's %%REJECT%% answers ICMP port-unreachable, which a
# TCP client sees as "connection refused" (not a timeout, not unreachable).
expect_probe refused "outside -> 198.51.100.1:5000 with the port closed" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$REGISTRY_PORT" 5

echo "# firewall-cmd --add-port=5000/tcp (runtime): the next scrape shows it"
reads=$(value portmap_firewalld_state_reads_total "")
"$LAB_DIR/fault.sh" port open
scrape
expect portmap_firewalld_port_allowed "$p5000" 1 "port opened, first scrape after"
expect portmap_firewalld_state_reads_total "" $((reads + 1)) "one read for the change"
# The DNAT rule is gone, so the userland proxy answers (peer = bridge address).
expect_probe "connected:peer 203\\.0\\.113\\.1" "outside -> 198.51.100.1:5000 with the port open" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$REGISTRY_PORT" 5
"$LAB_DIR/fault.sh" port closed
scrape
expect portmap_firewalld_port_allowed "$p5000" 0 "port closed again, first scrape after"
"$LAB_DIR/fault.sh" port open
scrape
expect portmap_firewalld_port_allowed "$p5000" 1 "port opened at runtime again"

echo "# reload: drops the runtime-only port; the next scrape shows it"
"$LAB_DIR/fault.sh" firewalld reload
scrape
expect portmap_firewalld_reloads_total "" 1 "Reloaded counted, first scrape after"
expect portmap_firewalld_port_allowed "$p5000" 0 "runtime port gone after reload, first scrape"

echo "# kill -STOP firewalld: the scrape answers within its deadline"
fw_pid=$(lab_fw_firewalld_pid)
kill -STOP "$fw_pid"
continue_fw() { kill -CONT "$1" 2>/dev/null || true; }
lab_defer continue_fw "$fw_pid"
scrape 3
if ((scrape_ms < 3500)); then
  lab_ok "scrape with a 3 s timeout header answered in ${scrape_ms} ms"
else
  lab_not_ok "scrape took ${scrape_ms} ms with a 3 s timeout header"
fi
expect portmap_scrape_collector_success "$fw_success" 0 "stopped firewalld fails the collector"
expect portmap_scrape_collector_success 'collector="forwarding"' 1 "other collectors unaffected"
kill -CONT "$fw_pid"
wait_for 10 "the firewalld collector to recover" scraped_is \
  portmap_scrape_collector_success "$fw_success" 1 ||
  lab_not_ok "the collector did not recover after SIGCONT"
expect portmap_firewalld_up "" 1 "recovered after SIGCONT"

echo "# firewalld killed"
kill -KILL "$fw_pid"
wait_for_pid_exit "$fw_pid" 5 || true
# dbus-daemon drops the dead process's name when it reads the closed socket, a moment
# after the exit: until then a call still goes to the name and fails (success 0).
wait_for 10 "the bus to drop firewalld's name" scraped_is portmap_firewalld_up "" 0 ||
  lab_not_ok "firewalld's name still has an owner 10 s after the kill"
expect portmap_firewalld_up "" 0 "killed firewalld"
expect portmap_scrape_collector_success "$fw_success" 1 "absence is still a state"

echo "# restarted: a new owner of the name, shown by the first scrape after"
lab_fw_start
scrape
expect portmap_firewalld_restarts_total "" 2 "restart counted, first scrape after"
expect portmap_firewalld_up "" 1 "running again, first scrape after"
expect portmap_firewalld_port_allowed "$p5000" 0 "the new firewalld's zone read"
lab_fw_in_host firewall-cmd --add-port=5000/tcp >/dev/null
scrape
expect portmap_firewalld_port_allowed "$p5000" 1 "runtime --add-port on the new firewalld"
lab_fw_stop

echo "# the bus itself goes away and comes back"
dbus_pid=$(lab_fw_dbus_pid)
kill -TERM "$dbus_pid"
wait_for_pid_exit "$dbus_pid" 5 || true
scrape
expect portmap_firewalld_up "" 0 "no bus"
expect portmap_scrape_collector_success "$fw_success" 0 "no bus is a failed scrape (NoData)"
wait_for 5 "the watcher to notice" scraped_is portmap_firewalld_watcher_listening "" 0 ||
  lab_not_ok "the watcher still says listening without a bus"
lab_fw_bus
wait_for 40 "the watcher to reconnect" scraped_is portmap_firewalld_watcher_listening "" 1 ||
  lab_not_ok "the watcher did not reconnect"
expect portmap_scrape_collector_success "$fw_success" 1 "bus back, firewalld absent"

if lab_pid_gone "$exporter_pid"; then
  lab_not_ok "the exporter died during the test"
  show_exporter_log
else
  lab_ok "the exporter is still running"
fi
lab_finish
