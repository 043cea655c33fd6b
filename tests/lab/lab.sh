#!/usr/bin/env bash
# The lab: a Docker host, one container and an external client as network
# namespaces, with the rules dockerd 20.10 writes.  See README.md for the picture.
#
# Usage: tests/lab/lab.sh up|down|status
#   up      tear down any leftover of the same LAB_PREFIX, then build it all
#   down    kill the lab's processes and delete its namespaces; never fails on
#           partial state, only when something could not be removed
#   status  what exists now (exit 0 when the lab is complete, 1 otherwise)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Kills every process inside our namespaces and every process we recorded
# (a recorded one may sit in a namespace whose name is already gone), politely
# first, then with SIGKILL; bounded either way.
lab_kill_all() {
  local -a pids=()
  local ns pidfile pid
  for ns in "${LAB_NAMESPACES[@]}"; do
    if lab_netns_exists "$ns"; then
      mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null || true)
    fi
  done
  if [[ -d $LAB_STATE ]]; then
    for pidfile in "$LAB_STATE"/*.pid; do
      [[ -e $pidfile ]] || continue
      pid=$(<"$pidfile")
      if lab_pid_is_lab_tcp "$pid"; then pids+=("$pid"); fi
    done
  fi
  ((${#pids[@]} > 0)) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    if ! wait_for_pid_exit "$pid" 3 2>/dev/null; then
      lab_log "pid $pid ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_for_pid_exit "$pid" 2 || true
    fi
  done
}

lab_down() {
  lab_kill_all
  local ns left=0
  for ns in "${LAB_NAMESPACES[@]}"; do
    if lab_netns_exists "$ns"; then
      ip netns del "$ns" 2>/dev/null || true
    fi
    if lab_netns_exists "$ns"; then
      lab_log "could not delete namespace $ns"
      left=1
    fi
  done
  rm -rf "$LAB_STATE"
  return "$left"
}

lab_c1_answers() {
  [[ $(tcp_probe "$NS_HOST" "$C1_IP" "$REGISTRY_PORT" 1) == connected* ]]
}

lab_up() {
  require_root
  [[ -x $LAB_TCP ]] || lab_die "LAB_TCP=$LAB_TCP is not an executable; build it with" \
    "'cmake --build build --target portmap_lab_tcp' or point LAB_TCP at it"
  local ipt
  ipt=$(lab_iptables_cmd)
  command -v "$ipt" >/dev/null || lab_die "IPTABLES=$ipt not found (install iptables)"

  lab_down || lab_die "leftovers of a previous lab could not be removed"
  mkdir -p "$LAB_STATE"
  echo "$ipt" >"$LAB_STATE/iptables"
  echo "$LAB_TCP" >"$LAB_STATE/lab_tcp"

  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done

  # Uplink.  Both ends are created inside namespaces, so no name can collide
  # with an interface of the machine itself.
  ip -n "$NS_HOST" link add eth0 type veth peer name eth0 netns "$NS_OUT"
  ip -n "$NS_HOST" addr add "$UPLINK_HOST_IP/$UPLINK_PREFIXLEN" dev eth0
  ip -n "$NS_OUT" addr add "$UPLINK_OUT_IP/$UPLINK_PREFIXLEN" dev eth0
  ip -n "$NS_HOST" link set eth0 up
  ip -n "$NS_OUT" link set eth0 up
  # No route to $BRIDGE_NET in outside: an external client knows only the host.

  # The bridge and the container.
  ip -n "$NS_HOST" link add "$BRIDGE" type bridge
  ip -n "$NS_HOST" addr add "$BRIDGE_IP/$BRIDGE_PREFIXLEN" dev "$BRIDGE"
  ip -n "$NS_HOST" link set "$BRIDGE" up
  ip -n "$NS_C1" link add eth0 type veth peer name "$C1_VETH" netns "$NS_HOST"
  ip -n "$NS_HOST" link set "$C1_VETH" master "$BRIDGE" up
  ip -n "$NS_C1" addr add "$C1_IP/$BRIDGE_PREFIXLEN" dev eth0
  ip -n "$NS_C1" link set eth0 up
  ip -n "$NS_C1" route add default via "$BRIDGE_IP"

  # dockerd sets it at run time only; nothing persists it.
  ip netns exec "$NS_HOST" sysctl -qw net.ipv4.ip_forward=1
  lab_rules_apply

  # --peer: the registry says who it sees (DNAT keeps the client's address,
  # the userland proxy shows the bridge address).
  lab_spawn registry "$NS_C1" "$LAB_TCP" listen --peer "$REGISTRY_PORT"
  lab_spawn proxy "$NS_HOST" "$LAB_TCP" proxy "0.0.0.0:$REGISTRY_PORT" "$C1_IP:$REGISTRY_PORT"
  wait_for_listen "$NS_C1" "$REGISTRY_PORT" 5 ||
    lab_die "registry did not start: $(cat "$LAB_STATE/registry.log")"
  wait_for_listen "$NS_HOST" "$REGISTRY_PORT" 5 ||
    lab_die "proxy did not start: $(cat "$LAB_STATE/proxy.log")"
  # The bridge port needs a moment (carrier) before the container answers.
  wait_for 5 "the container to answer on $C1_IP:$REGISTRY_PORT" lab_c1_answers ||
    lab_die "the container does not answer from the host"
  lab_log "up: $NS_HOST $NS_C1 $NS_OUT (iptables: $ipt)"
}

lab_status() {
  local ns complete=0 pidfile
  for ns in "${LAB_NAMESPACES[@]}"; do
    if lab_netns_exists "$ns"; then
      echo "== $ns"
      ip -n "$ns" -br addr show | sed 's/^/  /'
      echo "  processes: $(ip netns pids "$ns" | tr '\n' ' ')"
    else
      echo "== $ns: missing"
      complete=1
    fi
  done
  if lab_netns_exists "$NS_HOST"; then
    echo "== $NS_HOST forwarding: $(ip netns exec "$NS_HOST" sysctl -n net.ipv4.ip_forward)" \
      "($BRIDGE: $(ip netns exec "$NS_HOST" sysctl -n "net.ipv4.conf.$BRIDGE.forwarding" \
        2>/dev/null || echo none))"
    echo "== $NS_HOST rules ($(lab_iptables_cmd)):"
    lab_ipt -t nat -S | sed 's/^/  nat    /'
    lab_ipt -t filter -S | sed 's/^/  filter /'
  fi
  for pidfile in "$LAB_STATE"/*.pid; do
    [[ -e $pidfile ]] || continue
    if lab_pid_is_lab_tcp "$(<"$pidfile")"; then
      echo "== $(basename "$pidfile" .pid): running (pid $(<"$pidfile"))"
    else
      echo "== $(basename "$pidfile" .pid): not running"
      complete=1
    fi
  done
  [[ -d $LAB_STATE ]] || complete=1
  return "$complete"
}

case ${1:-} in
  up) lab_up ;;
  down)
    [[ $(id -u) -eq 0 ]] || lab_die "down needs root"
    lab_down
    ;;
  status) lab_status ;;
  *)
    echo "usage: $0 up|down|status   (env: LAB_PREFIX, LAB_TCP, IPTABLES)" >&2
    exit 2
    ;;
esac
