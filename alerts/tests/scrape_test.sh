#!/usr/bin/env bash
# deploy/prometheus.yml's relabelling, the rule file's join and the dashboard's queries on a
# real Prometheus (Debian prometheus), scraping a stand-in exporter (fake_exporter.py:
# fixed /metrics, and /probe where port 5000 fails) instead of the real one:
#  - every series of both jobs gets docker_host, and the series the join needs get port;
#  - PortmapPublishedPortUnreachableExternally fires for port 5000 only (for: shortened by
#    a generate.sh override, as the e2e test does), PortmapJoinLabelsMissing does not;
#  - the verdict's where-it-stops series answer the alert description's query (port, not
#    host_port);
#  - every dashboard expression, variables as "All", runs without error.
# No root; leaves nothing running.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
for t in prometheus promtool curl jq python3; do
  command -v $t >/dev/null || { echo "scrape_test: $t not found (scripts/install-deps.sh test)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# started PID URL: wait until the process PID answers on URL; false if it died (its random
# port may have been taken: the caller retries with another) or did not answer in 10 s.
started() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$2" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
fake=
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  python3 "$here/fake_exporter.py" "$port" >"$tmp/fake.log" 2>&1 &
  p=$!
  if started "$p" "http://127.0.0.1:$port/metrics"; then pids+=("$p"); fake=127.0.0.1:$port; break; fi
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
done
[[ -n $fake ]] || { echo "scrape_test: fake exporter did not start" >&2; cat "$tmp/fake.log" >&2; exit 1; }

# The shipped scrape config with the example hosts pointed at the stand-in, 1 s intervals.
mkdir -p "$tmp/cfg/rules"
sed -e "s/dockerhost1\.example\.com:9806/$fake/; /dockerhost2\.example\.com:9806/d" \
    -e 's/dockerhost1\.example\.com:5000/127.0.0.1:5000/; s/dockerhost1\.example\.com:8080/127.0.0.1:8080/' \
    -e '/dockerhost2\.example\.com:443/d' -e "s/outside\.example\.com:9806/$fake/" \
    -e 's/^\(  scrape_interval:\).*/\1 1s/; s/^\(  scrape_timeout:\).*/\1 1s/; s/^\(  evaluation_interval:\).*/\1 1s/' \
    -e "s/- targets: \['localhost:9093'\]/- targets: []/" \
    "$repo/deploy/prometheus.yml" >"$tmp/cfg/prometheus.yml"
if grep -v '^ *#' "$tmp/cfg/prometheus.yml" | grep -q 'example\.com'; then
  echo "scrape_test: deploy/prometheus.yml's example targets changed; update this test's sed" >&2; exit 1
fi
printf 'for_unreachable_externally: 3s\nfor_join_labels_missing: 1s\n' >"$tmp/short.yml"
"$repo/alerts/generate.sh" -c "$repo/alerts/config.yml" -c "$tmp/short.yml" -o "$tmp/cfg/rules/portmap.rules.yml"
promtool check config "$tmp/cfg/prometheus.yml" >/dev/null

prom=
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  prometheus --config.file="$tmp/cfg/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$tmp/prom.log" 2>&1 &
  p=$!
  if started "$p" "http://127.0.0.1:$port/-/ready"; then pids+=("$p"); prom=http://127.0.0.1:$port; break; fi
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
done
[[ -n $prom ]] || { echo "scrape_test: prometheus did not start" >&2; cat "$tmp/prom.log" >&2; exit 1; }

q() { curl -sf "$prom/api/v1/query" --data-urlencode "query=$1"; }
pass=0 fail=0
check() { # check DESCRIPTION: the last command's status
  if [[ $1 == ok ]]; then pass=$((pass + 1)); else echo "FAIL: $2" >&2; fail=$((fail + 1)); fi
}

# Wait for the symptom alert (3 s for: plus a few scrapes and evaluations).
firing=
for _ in $(seq 150); do
  firing=$(curl -sf "$prom/api/v1/alerts" | jq -r '[.data.alerts[] | select(.state == "firing") | "\(.labels.alertname) \(.labels.docker_host // "") \(.labels.port // "")"] | sort | join(";")')
  [[ $firing == *PortmapPublishedPortUnreachableExternally* ]] && break
  sleep 0.2
done
[[ $firing == "PortmapPublishedPortUnreachableExternally 127.0.0.1 5000" ]] && r=ok || r=no
check "$r" "firing alerts: '$firing', want only 'PortmapPublishedPortUnreachableExternally 127.0.0.1 5000'"

n=$(q 'count({job=~"portmap|portmap-external"})' | jq -r '.data.result[0].value[1] // 0')
((n > 30)) && r=ok || r=no; check "$r" "only $n series scraped"
n=$(q 'count({job=~"portmap|portmap-external",docker_host=""})' | jq -r '.data.result | length')
((n == 0)) && r=ok || r=no; check "$r" "series without docker_host"
n=$(q 'count({__name__=~"portmap_probe_.*|portmap_published_port_.*|portmap_firewalld_port_allowed.*|up",job=~"portmap|portmap-external",port=""} unless up{job="portmap"})' | jq -r '.data.result | length')
((n == 0)) && r=ok || r=no; check "$r" "probe/published-port series without port"
got=$(q 'portmap_probe_success' | jq -r '[.data.result[].metric | "\(.job) \(.docker_host) \(.port)"] | sort | unique | join(";")')
want="portmap 127.0.0.1 5000;portmap 127.0.0.1 8080;portmap-external 127.0.0.1 5000;portmap-external 127.0.0.1 8080"
[[ $got == "$want" ]] && r=ok || r=no; check "$r" "probe series: '$got', want '$want'"

# PortmapPublishedPortBlocked's description finds where the port stops with the labels the
# relabelling gives (port, not host_port): the same selector, on the scraped series.
got=$(q 'portmap_published_port_blocked_info{job="portmap",docker_host="127.0.0.1",proto="tcp",port="9000",cause="foreign_rule_drop"}' |
  jq -r '[.data.result[].metric.place] | join(";")')
[[ $got == "nf_tables inet filter forward: policy drop" ]] && r=ok || r=no
check "$r" "blocked_info by the alert's labels: '$got'"

# Every dashboard query runs (not only parses): variables as All.
while IFS=$'\t' read -r _ _ expr; do
  status=$(curl -s "$prom/api/v1/query" --data-urlencode "query=$expr" | jq -r '.status + " " + (.error // "")')
  [[ $status == "success " ]] && r=ok || r=no; check "$r" "dashboard query fails: $expr: $status"
done < <("$here/dashboard_queries.sh" -v job=portmap -v external_job=portmap-external "$repo/dashboards/portmap.json")

echo "scrape_test: $pass passed, $fail failed"
((fail == 0))
