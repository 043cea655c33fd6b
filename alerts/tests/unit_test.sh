#!/usr/bin/env bash
# `promtool test rules` on every alerts/tests/*_test.yml, after checking that every alert
# of alerts/portmap.rules.yml has at least one case where it must fire and one where it
# must not (exp_alerts: []).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rules=$here/../portmap.rules.yml
shopt -s nullglob
tests=("$here"/*_test.yml)
((${#tests[@]})) || { echo "unit_test: no alerts/tests/*_test.yml" >&2; exit 1; }

missing=$(awk '
  FNR == NR { if ($1 == "-" && $2 == "alert:") alerts[$3] = 1; next }
  $1 == "alertname:" { a = $2; next }
  $1 == "exp_alerts:" && a != "" { if ($2 == "[]") quiet[a] = 1; else fires[a] = 1 }
  END {
    for (a in alerts) {
      if (!(a in fires)) print a " has no case where it fires"
      if (!(a in quiet)) print a " has no case where it must not fire"
    }
  }' "$rules" "${tests[@]}")
if [[ -n $missing ]]; then echo "unit_test: $missing" >&2; exit 1; fi

promtool test rules "${tests[@]}"
