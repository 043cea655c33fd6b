#!/usr/bin/env bash
# A real firewalld (Debian's 1.3) for the lab, on a private system bus, inside
# the lab's dockerhost namespace — never the machine's own.
#
# Usage: tests/lab/firewalld.sh bus|start|reload|stop|status|cmd [ARG...]
#   bus      start the private dbus-daemon (start does it when needed)
#   start    start firewalld (iptables backend, default zone public)
#   reload   firewall-cmd --reload (firewalld emits Reloaded)
#   stop     SIGTERM firewalld and wait for it (CleanupOnExit flushes its rules)
#   status   the bus, firewalld's pid and state
#   cmd ARG  firewall-cmd ARG... against the private bus, e.g. cmd --add-port=5000/tcp
# Sourced (by fault.sh and the tests), it only defines the lab_fw_* functions.
#
# Isolation, so nothing here can touch the machine's firewall or its permanent
# configuration:
#   - network: dbus-daemon and firewalld run under `ip netns exec dockerhost`;
#     every rule firewalld writes lands in that namespace.
#   - bus: a dbus-daemon with its own config and socket in $LAB_STATE; clients
#     find it through DBUS_SYSTEM_BUS_ADDRESS (lab_fw_bus_address).  No policy
#     kit on it, so firewalld authorises uid 0 only — the lab runs as root.
#   - files: firewalld runs in its own mount namespace (unshare -m, private
#     propagation) with tmpfs over /etc/firewalld (holding only the lab's
#     firewalld.conf) and over /run/firewalld and /var/lib/firewalld when they
#     exist, and --system-config pointing at that tmpfs: even a --permanent
#     change goes to memory that disappears with the process.
# The processes live in dockerhost, so `lab.sh down` kills them too; the mount
# namespace and its tmpfs die with the last of them.
#
# Environment: LAB_PREFIX (see lib.sh), FIREWALLD_BACKEND (default iptables:
# the backend that flushes Docker's chains on start and reload).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB_FW_SOCKET=$LAB_STATE/system_bus_socket
FIREWALLD_BACKEND=${FIREWALLD_BACKEND:-iptables}

lab_fw_bus_address() { echo "unix:path=$LAB_FW_SOCKET"; }

# lab_fw_in_host CMD...: CMD inside dockerhost, talking to the private bus.
lab_fw_in_host() {
  ip netns exec "$NS_HOST" env DBUS_SYSTEM_BUS_ADDRESS="$(lab_fw_bus_address)" "$@"
}

lab_fw_pid_named() {
  local pidfile=$LAB_STATE/$1.pid pid
  [[ -r $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && ! lab_pid_gone "$pid" &&
    grep -qa "$2" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}
lab_fw_dbus_pid() { lab_fw_pid_named dbus dbus-daemon; }
lab_fw_firewalld_pid() { lab_fw_pid_named firewalld firewalld; }

lab_fw_bus_answers() {
  lab_fw_in_host dbus-send --system --print-reply --reply-timeout=1000 \
    --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId
}

lab_fw_bus() {
  if lab_fw_dbus_pid >/dev/null; then return 0; fi
  mkdir -p "$LAB_STATE"
  cat >"$LAB_STATE/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$LAB_FW_SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
  rm -f "$LAB_FW_SOCKET"
  lab_spawn dbus "$NS_HOST" dbus-daemon --nofork --nopidfile --nosyslog \
    --config-file="$LAB_STATE/dbus.conf"
  wait_for 5 "the private bus at $LAB_FW_SOCKET" lab_fw_bus_answers ||
    lab_die "dbus-daemon did not start: $(cat "$LAB_STATE/dbus.log")"
}

lab_fw_state() {
  lab_fw_in_host dbus-send --system --print-reply=literal --reply-timeout=1000 \
    --dest=org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 \
    org.freedesktop.DBus.Properties.Get string:org.fedoraproject.FirewallD1 string:state \
    2>/dev/null | awk '{print $NF}'
}
lab_fw_running() { [[ $(lab_fw_state) == RUNNING ]]; }

lab_fw_start() {
  lab_fw_bus
  if lab_fw_firewalld_pid >/dev/null; then lab_die "firewalld is already running"; fi
  printf 'DefaultZone=public\nFirewallBackend=%s\nCleanupOnExit=yes\nLockdown=no\n' \
    "$FIREWALLD_BACKEND" >"$LAB_STATE/firewalld.conf"
  # The inner script runs in the new mount namespace; $1 is the state dir.
  # shellcheck disable=SC2016 # expanded by the inner bash
  local inner='
    set -e
    mount -t tmpfs -o mode=0750,size=16m portmap-lab-fw /etc/firewalld
    cp "$1/firewalld.conf" /etc/firewalld/firewalld.conf
    for d in /run/firewalld /var/lib/firewalld; do
      if [ -d "$d" ]; then mount -t tmpfs -o mode=0750,size=16m portmap-lab-fw "$d"; fi
    done
    exec firewalld --nofork --nopid --log-target console --system-config /etc/firewalld'
  # ip netns exec first (it makes its own mount namespace for /sys), then
  # unshare: our tmpfs mounts are made inside that, private, and never
  # propagate to the machine.
  lab_spawn firewalld "$NS_HOST" env DBUS_SYSTEM_BUS_ADDRESS="$(lab_fw_bus_address)" \
    unshare --mount --propagation private bash -c "$inner" firewalld-lab "$LAB_STATE"
  if ! wait_for 30 "firewalld to report RUNNING" lab_fw_running; then
    lab_log "firewalld log:"
    sed 's/^/  firewalld: /' "$LAB_STATE/firewalld.log" >&2
    lab_die "firewalld did not start"
  fi
}

lab_fw_reload() {
  lab_fw_in_host firewall-cmd --reload >/dev/null
}

lab_fw_stop() {
  local pid
  pid=$(lab_fw_firewalld_pid) || return 0
  kill -CONT "$pid" 2>/dev/null || true  # a stopped process cannot exit
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for_pid_exit "$pid" 15; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_for_pid_exit "$pid" 3 || true
  fi
}

lab_fw_status() {
  echo "bus: $(lab_fw_dbus_pid || echo 'not running') ($(lab_fw_bus_address))"
  echo "firewalld: $(lab_fw_firewalld_pid || echo 'not running') state=$(lab_fw_state)"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  [[ $(id -u) -eq 0 ]] || lab_die "firewalld.sh needs root"
  lab_netns_exists "$NS_HOST" || lab_die "no lab with LAB_PREFIX=$LAB_PREFIX; run lab.sh up first"
  case ${1:-} in
    bus) lab_fw_bus ;;
    start) lab_fw_start ;;
    reload) lab_fw_reload ;;
    stop) lab_fw_stop ;;
    status) lab_fw_status ;;
    cmd)
      shift
      lab_fw_in_host firewall-cmd "$@"
      ;;
    *)
      sed -n '5,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
      exit 2
      ;;
  esac
fi
