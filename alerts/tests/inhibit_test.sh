#!/usr/bin/env bash
# Inhibition of alerts/alertmanager.yml, checked on a real Alertmanager (Debian
# prometheus-alertmanager): start it on loopback with the shipped config, post the label
# sets the rules produce (alerts/tests/*_test.yml assert the rules produce exactly these),
# and read back which alerts are inhibited and by what. No root; leaves nothing running.
#   alerts/tests/inhibit_test.sh [ALERTMANAGER_YML]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
config=${1:-$here/../alertmanager.yml}
am=$(command -v prometheus-alertmanager || command -v alertmanager || true)
[[ -n $am ]] || { echo "inhibit_test: alertmanager not found (Debian: prometheus-alertmanager)" >&2; exit 1; }
for t in curl jq; do command -v $t >/dev/null || { echo "inhibit_test: $t not found" >&2; exit 1; }; done

tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A free loopback port: try a few random ones (the bind fails fast if taken).
url=
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 40000))
  "$am" --config.file="$config" --storage.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
    --log.level=warn >"$tmp/am.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    if curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then url="http://127.0.0.1:$port"; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $url ]] && break
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
done
[[ -n $url ]] || { echo "inhibit_test: alertmanager did not start:" >&2; cat "$tmp/am.log" >&2; exit 1; }

# Each line: id, then labels as k=v (no spaces in values). The id is a label too, so
# every alert is distinct and can be looked up.
alerts='
a1  alertname=PortmapIPForwardDisabled severity=critical docker_host=dh1 family=ipv4
a2  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh1 port=5000
a3  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh1 port=8080
a4  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh1 proto=tcp port=5000 cause=ip_forward_disabled
a5  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh2 port=5000
b1  alertname=PortmapFirewalldBlockingPort severity=critical docker_host=dh3 proto=tcp port=5000 zone=public
b2  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh3 port=5000
b3  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh3 port=6000
b4  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh3 proto=tcp port=5000 cause=firewalld_port_closed
b5  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh3 proto=udp port=5000 cause=firewalld_port_closed
c1  alertname=PortmapDockerChainMissing severity=critical docker_host=dh4 backend=legacy family=ipv4 table=nat chain=DOCKER
c2  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh4 port=5000
c3  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh4 proto=tcp port=80 cause=docker_chain_missing
c4  alertname=PortmapDockerChainWiped severity=warning docker_host=dh4 family=ipv4 table=nat chain=DOCKER
c5  alertname=PortmapFirewalldStartedAfterDockerd severity=warning docker_host=dh4
d1  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh5 proto=tcp port=5000 cause=dnat_rule_missing
d2  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh5 port=5000
d3  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh5 port=5001
e1  alertname=PortmapIPForwardNotPersisted severity=warning docker_host=dh6 family=ipv4
e2  alertname=PortmapIPForwardFlapping severity=warning docker_host=dh6 family=ipv4
g1  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh9 proto=tcp port=5000 cause=foreign_rule_drop
g2  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh9 port=5000
g3  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh9 port=5001
g4  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh9 proto=tcp port=5001 cause=rp_filter
g5  alertname=PortmapPublishedPortUnreachableExternally severity=critical docker_host=dh9 port=5002
g6  alertname=PortmapPublishedPortBlocked severity=critical docker_host=dh9 proto=udp port=53 cause=no_listener
f1  alertname=PortmapCustom severity=critical docker_host=dh7 instance=dh7:9806
f2  alertname=PortmapCustom severity=warning docker_host=dh7 instance=dh7:9806
f3  alertname=PortmapCustom severity=warning docker_host=dh8 instance=dh8:9806
f4  alertname=PortmapOther severity=warning docker_host=dh7 instance=dh7:9806
'
# Expected: id, then "active" or the id of the alert that inhibits it (Alertmanager
# reports the first inhibitor it finds; a|b accepts either).
expected='
a1 active
a2 a1
a3 a1
a4 a1
a5 active
b1 active
b2 b1|b4
b3 active
b4 b1
b5 active
c1 active
c2 c1
c3 c1
c4 active
c5 active
d1 active
d2 d1
d3 active
e1 active
e2 active
g1 active
g2 g1
g3 g4
g4 active
g5 active
g6 active
f1 active
f2 f1
f3 active
f4 active
'

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
payload=$(while read -r id labels; do
  [[ -n $id ]] || continue
  printf '%s\n' "id=$id $labels"
done <<<"$alerts" | jq -R -s --arg now "$now" --arg until "$end" '
  split("\n") | map(select(length > 0)
    | {labels: (split(" ") | map(select(length > 0) | capture("^(?<key>[^=]+)=(?<value>.*)$")) | from_entries),
       startsAt: $now, endsAt: $until})')
curl -sf -X POST -H 'Content-Type: application/json' --data "$payload" "$url/api/v2/alerts" >/dev/null

# Inhibition is evaluated when the alerts are read; the inhibitor sees new source alerts
# through a subscription, so allow it a moment.
pass=0 fail=0
for _ in $(seq 50); do
  got=$(curl -sf "$url/api/v2/alerts" | jq -r '
    (map({key: .fingerprint, value: .labels.id}) | from_entries) as $ids
    | .[] | [.labels.id, (if .status.inhibitedBy == [] then "active"
                          else (.status.inhibitedBy | map($ids[.]) | sort | join(",")) end)] | join(" ")' | sort)
  ok=1
  while read -r id state; do
    [[ -n $id ]] || continue
    actual=$(awk -v id="$id" '$1 == id { print $2 }' <<<"$got")
    [[ "|$state|" == *"|${actual:-<missing>}|"* ]] || { ok=0; break; }
  done <<<"$expected"
  ((ok)) && break
  sleep 0.1
done
while read -r id state; do
  [[ -n $id ]] || continue
  actual=$(awk -v id="$id" '$1 == id { print $2 }' <<<"$got")
  line=$(grep -E "^$id " <<<"$alerts" | sed -E 's/^[a-z0-9]+ +//')
  if [[ "|$state|" == *"|${actual:-<missing>}|"* ]]; then
    pass=$((pass + 1))
  else
    echo "FAIL: $id {$line}: got '${actual:-<missing>}', want '$state'" >&2
    fail=$((fail + 1))
  fi
done <<<"$expected"
echo "inhibit_test: $pass passed, $fail failed"
((fail == 0))
