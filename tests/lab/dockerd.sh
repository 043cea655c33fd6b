#!/usr/bin/env bash
# A real dockerd (Debian docker.io) inside the lab's dockerhost namespace, so
# the exporter can be checked against the rules dockerd itself writes.
#
# Usage: tests/lab/dockerd.sh start|stop|docker ARGS...
#   start   the lab must be up (lab.sh up); removes the lab's hand-written
#           rules and starts dockerd with everything of its own under
#           $LAB_STATE/docker (data, exec root, socket, pidfile), then imports
#           the image "portmap-lab-busybox" (busybox-static, `docker import`)
#   stop    stops dockerd (and the containerd it started), removes its
#           containers' state; never fails on partial state
#   docker  runs the docker client against this dockerd
#
# IPTABLES=iptables-legacy puts iptables-legacy first in dockerd's PATH (as
# `update-alternatives` would); the default is iptables-nft.
#
# DOCKERD_DBUS_SYSTEM_BUS_ADDRESS, when set, becomes dockerd's
# DBUS_SYSTEM_BUS_ADDRESS: with firewalld.sh's private bus there, dockerd finds
# the lab's firewalld and registers with it (docker zone, iptables through
# firewalld's direct passthrough, chains rebuilt on `Reloaded`).  Unset,
# dockerd gets a bus address that leads nowhere: on a machine whose own
# firewalld runs, the lab's dockerd must never register with it.  DOCKERD_FLUSH=no skips the flush of
# the lab's rules at start (for a firewalld started first).
#
# dockerd runs under `nsenter --net=/run/netns/...`, not `ip netns exec`:
# the latter also remounts /sys for the namespace, which dockerd's own mounts
# then leak into.  Only the network namespace differs from the machine's;
# nothing is ever started in the machine's own network namespace.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKER_STATE=$LAB_STATE/docker
DOCKER_SOCK=$DOCKER_STATE/docker.sock
DOCKER_PID=$DOCKER_STATE/docker.pid
DOCKER_IMAGE=portmap-lab-busybox
DOCKER_BIP=192.0.2.1/24
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}

lab_docker() { "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" "$@"; }

dockerd_alive() { lab_docker version >/dev/null 2>&1; }

dockerd_start() {
  [[ -x $DOCKERD && -x $DOCKER_CLI ]] || {
    echo "SKIP: docker.io is not installed (scripts/install-deps.sh lab)"
    exit 77
  }
  local busybox
  busybox=$(command -v busybox || true)
  [[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=/bin/busybox
  [[ -x $busybox ]] || {
    echo "SKIP: busybox-static is not installed (scripts/install-deps.sh lab)"
    exit 77
  }
  lab_netns_exists "$NS_HOST" || lab_die "the lab is not up (lab.sh up)"
  local ipt
  ipt=$(lab_iptables_cmd)
  mkdir -p "$DOCKER_STATE/bin" "$DOCKER_STATE/data" "$DOCKER_STATE/exec"
  # dockerd runs `iptables`, `ip6tables`, ... from PATH.
  local base suffix flavour=${ipt#iptables-}
  for base in iptables ip6tables; do
    for suffix in "" -save -restore; do
      ln -sf "$(command -v "$base-$flavour$suffix")" "$DOCKER_STATE/bin/$base$suffix"
    done
  done
  # Docker's rules only: the lab's hand-written ones would be counted twice.
  # DOCKERD_FLUSH=no leaves the ruleset alone, for a firewalld already running
  # (whose start flushed the lab's rules and wrote its own, kept here).
  if [[ ${DOCKERD_FLUSH:-yes} != no ]]; then
    lab_rules_flush
    lab_ipt -t filter -P FORWARD ACCEPT
  fi
  # dockerd makes its own docker0, on TEST-NET-1 (RFC 5737) so its IPAM never
  # hands out the lab container's address.
  ip -n "$NS_HOST" link del "$BRIDGE" 2>/dev/null || true
  lab_log "starting dockerd in $NS_HOST with $ipt"
  local bus=${DOCKERD_DBUS_SYSTEM_BUS_ADDRESS:-unix:path=$DOCKER_STATE/no-system-bus}
  lab_log "dockerd's system bus: $bus"
  env DBUS_SYSTEM_BUS_ADDRESS="$bus" PATH="$DOCKER_STATE/bin:$PATH" \
    nsenter --net="/run/netns/$NS_HOST" "$DOCKERD" \
    --data-root="$DOCKER_STATE/data" --exec-root="$DOCKER_STATE/exec" \
    -H "unix://$DOCKER_SOCK" --pidfile="$DOCKER_PID" --storage-driver=vfs \
    --bip="$DOCKER_BIP" --iptables=true --ip-forward=true --log-level=warn \
    </dev/null >"$DOCKER_STATE/dockerd.log" 2>&1 &
  echo $! >"$DOCKER_STATE/dockerd.launcher.pid"
  if ! wait_for 30 "dockerd to answer on $DOCKER_SOCK" dockerd_alive; then
    tail -n 20 "$DOCKER_STATE/dockerd.log" >&2
    lab_die "dockerd did not start"
  fi
  # An image with nothing but busybox, no registry needed.
  local root=$DOCKER_STATE/image
  rm -rf "$root"
  mkdir -p "$root/bin"
  cp "$busybox" "$root/bin/busybox"
  ln -sf busybox "$root/bin/sh"
  tar -C "$root" -cf "$DOCKER_STATE/image.tar" .
  lab_docker import "$DOCKER_STATE/image.tar" "$DOCKER_IMAGE" >/dev/null
  lab_log "dockerd up; image $DOCKER_IMAGE imported"
}

dockerd_stop() {
  [[ -d $DOCKER_STATE ]] || return 0
  if dockerd_alive; then
    local ids
    ids=$(lab_docker ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086 # one id per word
    [[ -z $ids ]] || lab_docker rm -f $ids >/dev/null 2>&1 || true
  fi
  local pid=""
  [[ -r $DOCKER_PID ]] && pid=$(<"$DOCKER_PID")
  [[ -n $pid ]] || { [[ -r $DOCKER_STATE/dockerd.launcher.pid ]] && pid=$(<"$DOCKER_STATE/dockerd.launcher.pid"); }
  if [[ $pid =~ ^[0-9]+$ ]] && grep -qa dockerd "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for_pid_exit "$pid" 20; then
      lab_log "dockerd $pid ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_for_pid_exit "$pid" 5 || true
    fi
  fi
  # containerd-shim processes outlive a killed dockerd; they sit in our
  # exec root, so find them by that path only.
  local p
  for p in /proc/[0-9]*; do
    if grep -qa "$DOCKER_STATE" "$p/cmdline" 2>/dev/null; then kill -KILL "${p#/proc/}" 2>/dev/null || true; fi
  done
  # vfs layers and the exec root's mounts: unmount before removing.
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v s="$DOCKER_STATE" 'index($2, s) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf "$DOCKER_STATE"
}

case ${1:-} in
  start) dockerd_start ;;
  stop) dockerd_stop ;;
  docker)
    shift
    lab_docker "$@"
    ;;
  *)
    echo "usage: $0 start|stop|docker ARGS..." >&2
    exit 2
    ;;
esac
