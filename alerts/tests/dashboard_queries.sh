#!/usr/bin/env bash
# Prints every PromQL expression of the Grafana dashboard (panel targets and annotations),
# its variables substituted, one per line: KIND<TAB>WHERE<TAB>EXPR (KIND panel|annotation,
# WHERE the panel title or annotation name; newlines in EXPR folded to spaces). Shared by
# alerts/tests/scrape_test.sh and tests/lab/alerts_test.sh, which run them on a real Prometheus.
#   alerts/tests/dashboard_queries.sh [-r RANGE] [-v NAME=VALUE]... [DASHBOARD_JSON]
# $__rate_interval/$__interval/$__range become RANGE (default 1m); each -v variable its VALUE
# (a regex: the dashboard matches variables with =~); every other variable `.*` ("All").
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
range=1m
sed_args=()
while getopts 'r:v:h' opt; do
  case $opt in
    r) range=$OPTARG ;;
    v) [[ $OPTARG =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || { echo "dashboard_queries.sh: -v NAME=VALUE" >&2; exit 2; }
       sed_args+=(-e "s/\\\$\\{?(${BASH_REMATCH[1]})\\}?([^A-Za-z0-9_]|\$)/${BASH_REMATCH[2]//\//\\/}\\2/g") ;;
    h) sed -n '2,8p' "$0"; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
dash=${1:-$here/../../dashboards/portmap.json}
command -v jq >/dev/null || { echo "dashboard_queries.sh: jq not found" >&2; exit 2; }
jq -r '
  def allpanels: .panels[] | (., (.panels[]?));
  (allpanels | select(.type != "row") | .title as $t | .targets[]? | ["panel", $t, .expr]),
  (.annotations.list[] | select(.expr != null) | ["annotation", .name, .expr])
  | map(gsub("[\\n\\t]"; " ")) | join("\t")' "$dash" |
  sed -E -e "s/\\\$\\{?__(rate_interval|interval|range)\\}?/$range/g" ${sed_args[@]+"${sed_args[@]}"} \
    -e 's/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/.*/g'
