#!/usr/bin/env bash
# lab.diagnose: `portmap_exporter diagnose` inside the lab's
# dockerhost, for each state, compared (text and JSON, normalised) with the
# golden files in tests/fixtures/diagnose/lab/:
#
#   healthy                                  exit 0
#   ip_forward off, nothing persists it      exit 1  ip_forward_disabled
#   firewalld started after dockerd (wipe),  exit 1  docker_chain_missing
#     5000/tcp not in zone public, --port 5000       + firewalld_port_closed
#   ... the same without --port              exit 2  ports unknown (not a false 0)
#   ... 5000/tcp opened in zone public       exit 0  (docker-proxy serves)
#   a host with no Docker (a fresh netns)    exit 0  no published ports
#   without CAP_NET_ADMIN (uid nobody)       exit 2  "sudo portmap_exporter diagnose"
#
# A stand-in dockerd (a copy of sleep named dockerd, its pid in the pid file of
# a private --path.rootfs) gives "firewalld started after dockerd" real start
# times; the private rootfs has an empty /etc/sysctl.d, so ip_forward is never
# persisted whatever this machine's own files say.
#
# Normalised: timestamps, durations, start times.  Regenerate the goldens
# after a deliberate change with PORTMAP_UPDATE_GOLDEN=1 and review the diff.
#
# Usage: diagnose_test.sh PATH/TO/portmap_exporter
set -euo pipefail

# shellcheck source=firewalld.sh
source "$(dirname "${BASH_SOURCE[0]}")/firewalld.sh"
lab_exporter_test_start "${1:-}" # sets $exporter
lab_require_tools firewalld firewall-cmd dbus-daemon unshare setpriv

lab_cleanup_trap
lab_defer "$LAB_DIR/lab.sh" down
"$LAB_DIR/lab.sh" up

golden=$REPO/tests/fixtures/diagnose/lab
work=$(mktemp -d /tmp/portmap-lab-diagnose.XXXXXX)
lab_defer rm -rf "$work"
chmod 755 "$work" # the unprivileged run reads its configuration too
rootfs=$work/rootfs
mkdir -p "$rootfs/etc/sysctl.d" "$rootfs/var/run" "$work/bin"
printf 'modules:\n  tcp_connect:\n    timeout: 2s\n' >"$work/diag.yml"
chmod -R a+rX "$work"

lab_fw_bus
cp "$(command -v sleep)" "$work/bin/dockerd"
lab_spawn dockerd "$NS_HOST" "$work/bin/dockerd" infinity
cat "$LAB_STATE/dockerd.pid" >"$rootfs/var/run/docker.pid"
# firewalld starts seconds later (after two diagnose runs): start times are
# read to the clock tick, so "after dockerd" needs no extra wait.

normalise() {
  sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/TIMESTAMP/g' \
    -e 's/\([0-9.]+ ms\)/(N ms)/g' \
    -e 's/("(seconds|start_time_seconds|dockerd_start_time_seconds)": )[0-9.e+-]+/\1"N"/g' \
    -e 's/nf_tables generation [0-9]+/nf_tables generation N/g' \
    -e 's/("generation": )[0-9]+/\1"N"/g'
}

# diagnose NAME WANT_EXIT [ARG...]: runs diagnose (text, then JSON) in
# $DIAG_NS (default dockerhost) behind $DIAG_WRAP, checks the exit status
# and the normalised output against the goldens NAME.txt and NAME.json.
DIAG_WRAP=()
diagnose() {
  local name=$1 want=$2 format rc out ext
  shift 2
  for format in text json; do
    ext=$format
    [[ $format == text ]] && ext=txt
    out=$work/$name.$ext
    rc=0
    ip netns exec "${DIAG_NS:-$NS_HOST}" env DBUS_SYSTEM_BUS_ADDRESS="$(lab_fw_bus_address)" \
      "${DIAG_WRAP[@]}" "$exporter" diagnose --path.rootfs="$rootfs" \
      --config.file="$work/diag.yml" --format="$format" "$@" \
      >"$out.raw" 2>"$out.stderr" || rc=$?
    normalise <"$out.raw" >"$out"
    # jq is optional here (the alerts group installs it): the unit tests parse the JSON too.
    if [[ $format == json ]] && command -v jq >/dev/null &&
      ! jq -e '.schema_version == 2' "$out.raw" >/dev/null; then
      lab_not_ok "$name: not JSON with schema_version 2"
    fi
    if [[ $rc == "$want" ]]; then lab_ok "$name ($format): exit $rc"; else
      lab_not_ok "$name ($format): exit $rc, want $want"
      sed 's/^/  stderr: /' "$out.stderr" >&2
    fi
    if [[ ${PORTMAP_UPDATE_GOLDEN:-} == 1 ]]; then
      cp "$out" "$golden/$name.$ext"
      lab_ok "$name ($format): wrote $golden/$name.$ext"
    elif diff -u "$golden/$name.$ext" "$out" >"$out.diff"; then
      lab_ok "$name ($format): matches $name.$ext"
    else
      lab_not_ok "$name ($format): differs from $golden/$name.$ext"
      cat "$out.diff" >&2
    fi
  done
  # Not a terminal: no colour.  Failures reach stderr as log lines only.
  if grep -q $'\033' "$work/$name.txt.raw"; then lab_not_ok "$name: ANSI colour in a pipe"; fi
  sed 's/^/  | /' "$work/$name.txt.raw"
  sed 's/^/  stderr: /' "$work/$name.txt.stderr"
}

echo "# healthy"
diagnose healthy 0

echo "# ip_forward off, not persisted"
"$LAB_DIR/fault.sh" ip_forward off
diagnose ip_forward_off 1
"$LAB_DIR/fault.sh" ip_forward on

echo "# firewalld started after dockerd: chains wiped, 5000/tcp not in zone public"
lab_fw_start
diagnose firewalld_wipe 1 --port "$REGISTRY_PORT"
diagnose firewalld_wipe_no_port 2

echo "# 5000/tcp opened in zone public"
"$LAB_DIR/fault.sh" port open
diagnose port_open 0 --port "$REGISTRY_PORT"
lab_fw_stop
"$LAB_DIR/fault.sh" rules restore

echo "# without CAP_NET_ADMIN"
DIAG_WRAP=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all)
diagnose no_cap_net_admin 2
DIAG_WRAP=()

echo "# a host with no Docker at all"
lab_stop_pid "$(cat "$LAB_STATE/dockerd.pid")"
empty=$LAB_PREFIX-empty
ip netns del "$empty" 2>/dev/null || true
ip netns add "$empty"
lab_defer ip netns del "$empty"
rm -f "$rootfs/var/run/docker.pid"
DIAG_NS=$empty diagnose no_docker 0

lab_finish
