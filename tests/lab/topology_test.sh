#!/usr/bin/env bash
# lab.topology: the lab behaves like a Docker host, and the faults do what the
# diagnosis relies on.  Each connect's outcome and duration is printed.
#
# The registry in c1 answers "portmap-lab 5000 peer ADDR": ADDR is the outside
# client (198.51.100.2) when the connection came through DNAT and the bridge
# address (203.0.113.1) when the userland proxy relayed it, so every check
# also says which path answered.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
[[ -x $LAB_TCP ]] || lab_die "LAB_TCP=$LAB_TCP is not built"

lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up
fault() { "$LAB_DIR/fault.sh" "$@"; }

mapfile -t inodes < <(lab_netns_inodes)
mapfile -t lab_pids < <(cat "$LAB_STATE"/*.pid)
port=$REGISTRY_PORT
via_dnat="connected:^portmap-lab $port peer $UPLINK_OUT_IP\$"
via_proxy="connected:^portmap-lab $port peer $BRIDGE_IP\$"
any_path="connected:^portmap-lab $port peer "

echo "# healthy Docker host"
expect_probe "$via_dnat" "outside -> $UPLINK_HOST_IP:$port goes through DNAT" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$port" 3
expect_probe "$via_proxy" "dockerhost -> 127.0.0.1:$port goes through the userland proxy" \
  "$NS_HOST" 127.0.0.1 "$port" 3
# nat OUTPUT DNATs the host's own non-loopback addresses.
expect_probe "connected:^portmap-lab $port peer $UPLINK_HOST_IP\$" \
  "dockerhost -> $UPLINK_HOST_IP:$port goes through DNAT in nat OUTPUT" \
  "$NS_HOST" "$UPLINK_HOST_IP" "$port" 3

echo "# ip_forward=0: the DNATed packet would have to be forwarded, and is dropped silently"
fault ip_forward off
expect_probe timeout "outside -> $UPLINK_HOST_IP:$port times out (2 s bound)" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$port" 2
expect_probe "$any_path" "dockerhost -> 127.0.0.1:$port still answers" \
  "$NS_HOST" 127.0.0.1 "$port" 3
expect_probe "$any_path" "dockerhost -> $UPLINK_HOST_IP:$port still answers" \
  "$NS_HOST" "$UPLINK_HOST_IP" "$port" 3

echo "# ip_forward=1 again"
fault ip_forward on
expect_probe "$via_dnat" "outside -> $UPLINK_HOST_IP:$port answers again" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$port" 3

echo "# chain flush (firewalld's wipe): no DOCKER chain, no DNAT"
fault chain flush
for table in nat filter; do
  if lab_ipt -t "$table" -S DOCKER >/dev/null 2>&1; then
    lab_not_ok "chain flush removed $table DOCKER"
  else
    lab_ok "chain flush removed $table DOCKER"
  fi
done
# Without DNAT the SYN is for the host itself, so docker-proxy on 0.0.0.0
# takes it: the wipe alone does not cut the outside off (firewalld's own
# INPUT rules do that, in the firewalld fault).  Asserted so the exporter's
# verdict cannot silently assume otherwise.
expect_probe "$via_proxy" "outside -> $UPLINK_HOST_IP:$port now answers only via the userland proxy" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$port" 3
fault ip_forward off
expect_probe "$via_proxy" "... and with ip_forward=0 too (nothing is forwarded any more)" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$port" 3
fault ip_forward on

echo "# rules restore"
fault rules restore
expect_probe "$via_dnat" "outside -> $UPLINK_HOST_IP:$port goes through DNAT again" \
  "$NS_OUT" "$UPLINK_HOST_IP" "$port" 3

echo "# down leaves nothing behind"
"$LAB_DIR/lab.sh" down
left=$(ip netns list | awk -v p="$LAB_PREFIX-" 'index($1, p) == 1 { print $1 }')
if [[ -z $left ]]; then lab_ok "no namespace of ours is left"; else lab_not_ok "left: $left"; fi
stray=$(lab_pids_in_inodes "${inodes[@]}")
if [[ -z $stray ]]; then
  lab_ok "no process is left in our namespaces"
else
  lab_not_ok "processes left in our namespaces: $stray"
fi
alive=()
for pid in "${lab_pids[@]}"; do
  if ! lab_pid_gone "$pid"; then alive+=("$pid"); fi
done
if ((${#alive[@]} == 0)); then
  lab_ok "lab processes ${lab_pids[*]} are gone"
else
  lab_not_ok "lab processes still running: ${alive[*]}"
fi
if [[ ! -e $LAB_STATE ]]; then lab_ok "state dir removed"; else lab_not_ok "$LAB_STATE left"; fi

lab_finish
