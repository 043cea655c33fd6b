#!/usr/bin/env bash
# Routing of alerts/alertmanager.yml: `amtool check-config`, then `amtool config routes
# test` for every alert of alerts/portmap.rules.yml (its receiver follows from its
# severity label) and for the edge cases. No Alertmanager process is started.
#   alerts/tests/routes_test.sh [ALERTMANAGER_YML] [RULES_YML]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
config=${1:-$here/../alertmanager.yml}
rules=${2:-$here/../portmap.rules.yml}
command -v amtool >/dev/null || { echo "routes_test: amtool not found (Debian: prometheus-alertmanager; scripts/install-deps.sh test)" >&2; exit 1; }

amtool check-config "$config"

pass=0 fail=0
expect() { # expect RECEIVER label=value...
  local want=$1; shift
  local got
  if got=$(amtool config routes test --config.file="$config" --verify.receivers="$want" "$@" 2>/dev/null); then
    pass=$((pass + 1))
  else
    echo "FAIL: {$*} -> '$got', want '$want'" >&2
    fail=$((fail + 1))
  fi
}
receiver_for() {
  case $1 in critical) echo pager ;; warning) echo ticket ;; info) echo blackhole ;; *) echo "?$1" ;; esac
}

# Every alert of the rule file, with its own severity and typical labels.
n=0
while read -r alert severity; do
  n=$((n + 1))
  expect "$(receiver_for "$severity")" alertname="$alert" severity="$severity" docker_host=dh1 port=5000 proto=tcp
done < <(awk '
  /^[ \t]*- alert:/ { if (a != "") { print "rules has an alert without severity: " a > "/dev/stderr"; exit 1 } a = $3 }
  /^[ \t]*severity:/ && a != "" { print a, $2; a = "" }
  END { if (a != "") { print "rules has an alert without severity: " a > "/dev/stderr"; exit 1 } }' "$rules")
((n >= 13)) || { echo "FAIL: found only $n alerts in $rules" >&2; exit 1; }

# The signature and each cause, as the inhibition tests send them.
expect pager alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh1 port=5000
expect pager alertname=PortmapIPForwardDisabled severity=critical docker_host=dh1 family=ipv4
expect pager alertname=PortmapFirewalldBlockingPort severity=critical docker_host=dh1 proto=tcp port=5000 zone=public
expect pager alertname=PortmapDockerChainMissing severity=critical docker_host=dh1 backend=legacy family=ipv4 table=nat chain=DOCKER
expect ticket alertname=PortmapIPForwardNotPersisted severity=warning docker_host=dh1 family=ipv4
expect blackhole alertname=PortmapFirewalldVerdictApproximate severity=info docker_host=dh1 port=6000
# No or an unknown severity: the default route, a ticket (never silently dropped).
expect ticket alertname=SomethingElse
expect ticket alertname=SomethingElse severity=page
# Matchers are exact: "Critical" is not critical.
expect ticket alertname=SomethingElse severity=Critical

echo "routes_test: $pass passed, $fail failed"
((fail == 0))
