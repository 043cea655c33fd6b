#!/usr/bin/env bash
# Structural checks of dashboards/portmap.json (Grafana is not in Debian, so no import):
#  - valid JSON, "export for sharing" form: __inputs has DS_PROMETHEUS, __requires names
#    grafana, the prometheus datasource and every panel type used;
#  - unique panel ids, every panel has a gridPos and queries, every query the data source
#    chosen at import (${DS_PROMETHEUS}: a uid, which every Grafana version resolves);
#  - layout: every panel inside the 24 columns, no two panels' rectangles overlap;
#  - vantage: every selector of a portmap_probe_* metric names its vantage, "local" with
#    $job and "external" with $external_job, so "All" of one job cannot show the other's;
#  - every $variable used is defined; the variables job, docker_host, port exist;
#  - every PromQL expression (panel targets, annotations, variable queries) parses: each is
#    written, with the variables substituted, as a recording rule and `promtool check rules`
#    checks the file; done twice, with "All" (.*) and with a multi-value selection (a|b);
#  - every portmap_* metric used is described in README.md, docs/*.md or DESIGN.md.
#   dashboards/tests/expressions_test.sh [DASHBOARD_JSON]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
dash=${1:-$repo/dashboards/portmap.json}
for t in jq promtool; do command -v $t >/dev/null || { echo "expressions_test: $t not found (scripts/install-deps.sh test)" >&2; exit 1; }; done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }

jq -e . "$dash" >/dev/null || { echo "expressions_test: $dash is not JSON" >&2; exit 1; }

# --- Structure --------------------------------------------------------------------------
while read -r msg; do bad "$msg"; done < <(jq -r '
  def allpanels: .panels[] | (., (.panels[]?));
  [allpanels] as $ps
  | ([$ps[] | select(.type != "row") | .type] | unique) as $kinds
  | ([.__requires[]? | select(.type == "panel") | .id]) as $reqpanels
  | (if ([.__inputs[]? | select(.name == "DS_PROMETHEUS" and .pluginId == "prometheus")] | length) == 1
     then empty else "__inputs lacks DS_PROMETHEUS (prometheus)" end),
    (if any(.__requires[]?; .type == "grafana") then empty else "__requires lacks grafana" end),
    (if any(.__requires[]?; .type == "datasource" and .id == "prometheus") then empty else "__requires lacks the prometheus datasource" end),
    ($kinds[] | select(. as $k | $reqpanels | index($k) | not) | "__requires lacks panel type \(.)"),
    ([$ps[].id] | group_by(.) | map(select(length > 1))[] | "panel id \(.[0]) used \(length) times"),
    ($ps[] | select(.type != "row") | select(.gridPos.w == null or .gridPos.h == null) | "panel \(.title): no gridPos"),
    ($ps[] | select(.type != "row") | select((.targets // []) | length == 0) | "panel \(.title): no queries"),
    ($ps[] | select(.type != "row") | .title as $t | .targets[]? | select((.expr // "") == "") | "panel \($t): a query without expr"),
    ($ps[] | select(.type != "row") | .title as $t | .targets[]?
       | select(((.datasource.uid // .datasource // "") | tostring) != "${DS_PROMETHEUS}")
       | "panel \($t): query datasource is not ${DS_PROMETHEUS}"),
    ((.templating.list[] | select(.type == "query")), (.annotations.list[] | select(.expr != null))
       | select(((.datasource.uid // .datasource // "") | tostring) != "${DS_PROMETHEUS}")
       | "variable or annotation \(.name): datasource is not ${DS_PROMETHEUS}"),
    ($ps[] | select(.gridPos != null) | .gridPos as $g
       | select($g.x < 0 or $g.y < 0 or $g.w < 1 or $g.h < 1 or $g.x + $g.w > 24)
       | "panel \(.id) \(.title): gridPos \($g) is outside the 24 columns"),
    ([$ps[] | select(.gridPos != null)] as $gs
       | range(0; $gs | length) as $i | range($i + 1; $gs | length) as $j
       | $gs[$i] as $a | $gs[$j] as $b | $a.gridPos as $p | $b.gridPos as $q
       | select($p.x < $q.x + $q.w and $q.x < $p.x + $p.w and $p.y < $q.y + $q.h and $q.y < $p.y + $p.h)
       | "panels \($a.id) (\($a.title)) and \($b.id) (\($b.title)) overlap: \($p) and \($q)"),
    ($ps[] | select((.title // "") == "") | "panel \(.id): no title"),
    ([.templating.list[].name] as $vars | ["job", "docker_host", "port"][]
       | select(. as $v | $vars | index($v) | not) | "variable \(.) missing"),
    (if .uid == null or .uid == "" then "no uid" else empty end)
  ' "$dash")

# --- Expressions --------------------------------------------------------------------------
# One expression per line: kind<TAB>where<TAB>expr (newlines in expr folded to spaces).
jq -r '
  def allpanels: .panels[] | (., (.panels[]?));
  (allpanels | select(.type != "row") | .title as $t | .targets[]? | ["panel", $t, .expr]),
  (.annotations.list[] | select(.expr != null) | ["annotation", .name, .expr]),
  (.templating.list[] | select(.type == "query")
     | ["variable", .name, ((.query | if type == "object" then .query else . end) // "")])
  | map(gsub("[\\n\\t]"; " ")) | join("\t")' "$dash" >"$tmp/exprs.tsv"
defined=$(jq -r '[.templating.list[].name] | join(" ")' "$dash")

n=0
: >"$tmp/promql.tsv"
while IFS=$'\t' read -r kind where expr; do
  n=$((n + 1))
  if [[ $kind == variable ]]; then
    # label_values(SELECTOR, label) -> SELECTOR; query_result(EXPR) -> EXPR;
    # label_values(label) and metrics(...) have no PromQL to check.
    if [[ $expr =~ ^label_values\((.*),[[:space:]]*[a-zA-Z_][a-zA-Z0-9_]*[[:space:]]*\)$ ]]; then
      expr=${BASH_REMATCH[1]}
    elif [[ $expr =~ ^query_result\((.*)\)$ ]]; then
      expr=${BASH_REMATCH[1]}
    elif [[ $expr =~ ^label_values\([a-zA-Z_][a-zA-Z0-9_]*\)$ || $expr =~ ^metrics\( ]]; then
      continue
    else
      bad "variable $where: query '$expr' is not label_values/query_result"; continue
    fi
  fi
  # Every $var / ${var} / [[var]] used must be defined (or be one of Grafana's own).
  while read -r v; do
    [[ -z $v ]] && continue
    case $v in __rate_interval | __interval | __interval_ms | __range | __range_s | __range_ms) continue ;; esac
    [[ " $defined " == *" $v "* ]] || bad "$kind $where: uses undefined variable \$$v"
  done < <(grep -oE '\$\{?[A-Za-z_][A-Za-z0-9_]*' <<<"$expr" | sed -E 's/^\$\{?//' | sort -u)
  printf '%s\t%s\t%s\n' "$kind" "$where" "$expr" >>"$tmp/promql.tsv"
done <"$tmp/exprs.tsv"
((n >= 20)) || bad "only $n expressions found"

# --- Vantage ------------------------------------------------------------------------------
# Each portmap_probe_* selector: $external_job with vantage="external", $job with
# vantage="local", and no selector without a vantage.
while IFS=$'\t' read -r kind where expr; do
  while read -r sel; do
    [[ -z $sel ]] && continue
    if [[ $sel == *'$external_job'* ]]; then
      [[ $sel == *'vantage="external"'* ]] || bad "$kind $where: $sel selects the external job without vantage=\"external\""
    elif [[ $sel == *'$job'* ]]; then
      [[ $sel == *'vantage="local"'* ]] || bad "$kind $where: $sel selects the local job without vantage=\"local\""
    elif [[ $sel != *'vantage='* ]]; then
      bad "$kind $where: $sel names no vantage"
    fi
  done < <(grep -oE 'portmap_probe_[a-z_]+\{[^}]*\}' <<<"$expr" || true)
done <"$tmp/exprs.tsv"

check_with() { # check_with LABEL VALUE: substitute every variable with VALUE, promtool check rules
  local label=$1 value=$2 i=0
  local file=$tmp/rules-$label.yml
  printf 'groups:\n  - name: dashboard-%s\n    rules:\n' "$label" >"$file"
  while IFS=$'\t' read -r kind where expr; do
    i=$((i + 1))
    expr=$(sed -E -e 's/\$\{?__(rate_interval|interval|range)\}?/5m/g' \
                  -e 's/\$\{?__(interval_ms|range_ms|range_s)\}?/300/g' \
                  -e "s/\\\$\\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\\}?/$value/g" <<<"$expr")
    printf '      # %s: %s\n      - record: dashboard:expr_%d\n        expr: |\n          %s\n' \
      "$kind" "${where//$'\n'/ }" "$i" "$expr" >>"$file"
  done <"$tmp/promql.tsv"
  if ! promtool check rules "$file" >"$tmp/out" 2>&1; then
    cat "$tmp/out" >&2
    bad "expressions do not parse with variables = '$value' (rules file above)"
  fi
}
check_with all '.*'
check_with multi 'dh1|dh2'
echo "expressions_test: $(wc -l <"$tmp/promql.tsv") expressions parse"

# --- Metric names -------------------------------------------------------------------------
docs=("$repo/README.md" "$repo"/docs/*.md)
for d in "$repo/../shared/DESIGN.md" "${PORTMAP_DESIGN_MD:-}"; do [[ -n $d && -r $d ]] && docs+=("$d"); done
while read -r m; do
  grep -qw -- "$m" "${docs[@]}" 2>/dev/null || bad "metric $m is not described in README.md, docs/ or DESIGN.md"
done < <(grep -oE 'portmap_[a-z0-9_]+' "$tmp/promql.tsv" | sort -u)

if ((fail)); then echo "expressions_test: $fail problem(s)" >&2; exit 1; fi
echo "expressions_test: ok"
