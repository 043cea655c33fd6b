#!/usr/bin/env bash
# lab.forwarding: the exporter runs inside the lab's dockerhost
# namespace and its forwarding gauges follow ip_forward and a per-interface
# forwarding switch, scrape by scrape.
#
# Usage: forwarding_test.sh PATH/TO/portmap_exporter
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_exporter_test_start "${1:-}" # sets $exporter

lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up

work=$(mktemp -d /tmp/portmap-lab-forwarding.XXXXXX)
LAB_METRICS=$work/metrics
lab_defer rm -rf "$work"

exporter_pid="" exporter_port="" # set by lab_start_exporter
lab_start_exporter exporter "$work" "$exporter"
port=$exporter_port
show_exporter_log() { sed 's/^/  exporter: /' "$work/exporter.stderr" >&2; }

scrape() {
  ip netns exec "$NS_HOST" curl -sSf --max-time 5 "http://127.0.0.1:$port/metrics" \
    >"$work/metrics" || {
    show_exporter_log
    lab_die "scrape of 127.0.0.1:$port/metrics failed"
  }
}

# Every ipv4 interface gauge as "interface value" lines, sorted.
interface_gauges() {
  grep '^portmap_interface_forwarding_enabled{' "$work/metrics" | grep 'family="ipv4"' |
    sed -n 's/.*interface="\([^"]*\)".* \([^ ]*\)$/\1 \2/p' | sort
}

sysctl_host() { ip netns exec "$NS_HOST" sysctl -qw "$1"; }
ipv4='family="ipv4"'
docker0="family=\"ipv4\" interface=\"$BRIDGE\""

echo "# as dockerd leaves it: ip_forward=1"
scrape
expect portmap_ip_forward_enabled "$ipv4" 1 "initially"
expect portmap_interface_forwarding_enabled "$docker0" 1 "initially"
before=$(interface_gauges)
echo "  ipv4 interface gauges: $(echo "$before" | tr '\n' ' ')"

echo "# ip_forward=0"
sysctl_host net.ipv4.ip_forward=0
scrape
expect portmap_ip_forward_enabled "$ipv4" 0 "after ip_forward=0"
# The kernel copies net.ipv4.ip_forward into every interface's forwarding.
expect portmap_interface_forwarding_enabled "$docker0" 0 "after ip_forward=0 (kernel propagates)"

echo "# ip_forward=1"
sysctl_host net.ipv4.ip_forward=1
scrape
expect portmap_ip_forward_enabled "$ipv4" 1 "after ip_forward=1"
expect portmap_interface_forwarding_enabled "$docker0" 1 "after ip_forward=1"

echo "# net.ipv4.conf.$BRIDGE.forwarding=0: only $BRIDGE's gauge moves"
sysctl_host "net.ipv4.conf.$BRIDGE.forwarding=0"
scrape
expect portmap_ip_forward_enabled "$ipv4" 1 "after $BRIDGE forwarding=0"
expect portmap_interface_forwarding_enabled "$docker0" 0 "after $BRIDGE forwarding=0"
after=$(interface_gauges)
want=$(echo "$before" | awk -v b="$BRIDGE" '$1 == b { $2 = 0 } { print }')
if [[ $after == "$want" ]]; then
  lab_ok "no other interface gauge moved ($(echo "$after" | tr '\n' ' '))"
else
  lab_not_ok "interface gauges: want [$(echo "$want" | tr '\n' ' ')]," \
    "got [$(echo "$after" | tr '\n' ' ')]"
fi

if lab_pid_gone "$exporter_pid"; then
  lab_not_ok "the exporter died during the test"
  show_exporter_log
else
  lab_ok "the exporter is still running"
fi
lab_finish
