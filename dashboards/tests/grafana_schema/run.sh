#!/usr/bin/env bash
# Checks dashboards/portmap.json against the TypeScript types Grafana publishes on npm
# (@grafana/schema), for the Grafana releases the dashboard is meant for: 10.4, 11.6, 12.4
# (the whole dashboard, panel options and field config) and 9.5 (panel custom field config
# and overrides only: 9.5's dashboard types describe Grafana's in-memory state, not the saved
# JSON). Grafana is not in Debian, so this is the closest to an import we get without one: it
# catches wrong types, unknown keys (typos), bad enum values, unknown override property ids.
# The differences that are not mistakes (the export wrapper, keys Grafana itself saves but the
# types lack, options the plugins fill with defaults) are listed, each with its reason, in
# ALLOWANCES in check.mjs; anything else fails.
#
# A manual check, not part of `make test`: it needs node, npm and, on the first run, the npm
# registry. Each version is installed (npm install, with typescript@5) into a cache outside
# the repo, reused afterwards; nothing is written into the repo. tsc runs one at a time, niced.
#
# Usage: dashboards/tests/grafana_schema/run.sh [--self-test] [DASHBOARD_JSON]
#   --self-test   plant known mistakes into a copy of the dashboard and fail unless every
#                 one of them is reported (shows that the check can fail at all)
#   PORTMAP_GRAFANA_SCHEMA_CACHE   cache directory
#                 (default ${XDG_CACHE_HOME:-$HOME/.cache}/portmap-grafana-schema)
# Exit 0: pass; 1: a problem (or a planted mistake went unreported); 2: setup error.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
mode=()
if [[ ${1:-} == --self-test ]]; then mode=(--self-test); shift; fi
dash=$(realpath "${1:-$repo/dashboards/portmap.json}")
cache=${PORTMAP_GRAFANA_SCHEMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portmap-grafana-schema}
# exact versions, so that a result can be reproduced: the latest patch release of each line
# when this was written
versions=(9.5.21 10.4.19 11.6.16 12.4.11)
for t in node npm; do command -v $t >/dev/null || { echo "grafana_schema: $t not found" >&2; exit 2; }; done
[[ -r $dash ]] || { echo "grafana_schema: cannot read $dash" >&2; exit 2; }

status=0
for v in "${versions[@]}"; do
  dir=$cache/v${v%%.*}
  have=$(node -p 'require(process.argv[1]).version' "$dir/node_modules/@grafana/schema/package.json" 2>/dev/null || true)
  if [[ $have != "$v" || ! -f $dir/node_modules/typescript/bin/tsc ]]; then
    echo "installing @grafana/schema@$v and typescript@5 into $dir"
    mkdir -p "$dir"
    # --prefix: install into $dir even when a parent directory holds a package.json
    nice npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@grafana/schema@$v" typescript@5 >/dev/null ||
      { echo "grafana_schema: npm install of @grafana/schema@$v failed" >&2; exit 2; }
  fi
  rc=0
  nice node "$here/check.mjs" "${mode[@]}" "$dash" "$dir" || rc=$?
  case $rc in
    0) ;;
    1) status=1 ;;
    *) echo "grafana_schema: check.mjs failed for @grafana/schema $v (exit $rc)" >&2; exit 2 ;;
  esac
done
if [[ $status == 0 ]]; then echo "grafana_schema: ${mode[*]:-check} passed for @grafana/schema ${versions[*]}"; fi
exit $status
