#!/usr/bin/env bash
# deploy.systemd_unit: `systemd-analyze verify` of deploy/portmap_exporter.service
# must print nothing (an unknown key or a bad value is only a warning to
# systemd, so any output fails the test).  The binary and config paths are
# pointed at this build, since verify checks that ExecStart exists.
#
# Usage: verify_unit.sh PATH/TO/portmap_exporter
set -euo pipefail
exporter=${1:?usage: $0 PATH/TO/portmap_exporter}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed"
  exit 77
fi
work=$(mktemp -d /tmp/portmap-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$repo/deploy/portmap.yml" "$work/portmap.yml"
sed -e "s|/usr/local/bin/portmap_exporter|$exporter|" \
  -e "s|/etc/portmap_exporter/portmap.yml|$work/portmap.yml|" \
  "$repo/deploy/portmap_exporter.service" >"$work/portmap_exporter.service"
out=$(systemd-analyze verify "$work/portmap_exporter.service" 2>&1) || {
  echo "$out"
  echo "FAIL: systemd-analyze verify failed"
  exit 1
}
if [[ -n $out ]]; then
  echo "$out"
  echo "FAIL: systemd-analyze verify is not clean"
  exit 1
fi
echo "PASS: systemd-analyze verify is clean"
