#!/usr/bin/env bash
# alerts/portmap.rules.yml is generated: check it is what generate.sh makes from the
# template and config.yml (nobody edited it by hand, nobody forgot to regenerate), then
# `promtool check rules` it. Also check that generate.sh rejects a typo in an override,
# and `promtool check config` deploy/prometheus.yml.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
alerts=$here/..
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$alerts/generate.sh" -o "$tmp/portmap.rules.yml"
if ! diff -u "$alerts/portmap.rules.yml" "$tmp/portmap.rules.yml"; then
  echo "check_rules: alerts/portmap.rules.yml differs from generate.sh's output; run alerts/generate.sh -o alerts/portmap.rules.yml" >&2
  exit 1
fi
promtool check rules "$alerts/portmap.rules.yml"

# An override file changes only what it names (e.g. the e2e test's short for: durations).
printf 'for_ip_forward_disabled: 5s\nlocal_selector: job="x"\n' >"$tmp/override.yml"
"$alerts/generate.sh" -c "$alerts/config.yml" -c "$tmp/override.yml" -o "$tmp/short.yml"
promtool check rules "$tmp/short.yml" >/dev/null
grep -q 'for: 5s' "$tmp/short.yml" || { echo "check_rules: override not applied" >&2; exit 1; }
if grep -q 'job="portmap"' "$tmp/short.yml"; then echo "check_rules: selector override not applied" >&2; exit 1; fi
# The e2e test's copy: every for_* key shortened; only `for:` lines may differ.
grep -E '^for_[a-z_]+:' "$alerts/config.yml" | sed -E 's/:.*/: 5s/' >"$tmp/short-for.yml"
"$alerts/generate.sh" -c "$alerts/config.yml" -c "$tmp/short-for.yml" -o "$tmp/short-for.rules.yml"
changed=$(diff "$alerts/portmap.rules.yml" "$tmp/short-for.rules.yml" | grep -E '^[<>]' | grep -vcE '^[<>] +for: ' || true)
[[ $changed == 0 ]] || { echo "check_rules: shortening for_* changed more than for: lines" >&2; exit 1; }
# A typo in an override is an error, not silently ignored.
printf 'for_ip_forward_disabeld: 5s\n' >"$tmp/typo.yml"
if "$alerts/generate.sh" -c "$alerts/config.yml" -c "$tmp/typo.yml" >/dev/null 2>"$tmp/err"; then
  echo "check_rules: generate.sh accepted an unknown key" >&2; exit 1
fi
grep -q 'for_ip_forward_disabeld' "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
# A team's own runbook copy: a fixed runbook_base_url replaces the served one, and the
# keys only the default used (exporter_scheme) are not "unused".
printf 'runbook_base_url: https://runbooks.corp/portmap\n' >"$tmp/own-runbook.yml"
"$alerts/generate.sh" -c "$alerts/config.yml" -c "$tmp/own-runbook.yml" -o "$tmp/own-runbook.rules.yml"
n=$(grep -c "runbook_url: 'https://runbooks.corp/portmap#portmap[a-z]*'\$" "$tmp/own-runbook.rules.yml")
[[ $n == 13 ]] || { echo "check_rules: a fixed runbook_base_url gave $n of 13 runbook_url lines" >&2; exit 1; }
# deploy/prometheus.yml with the rule file where it expects it.
mkdir -p "$tmp/deploy/rules"
cp "$alerts/../deploy/prometheus.yml" "$tmp/deploy/"
cp "$alerts/portmap.rules.yml" "$tmp/deploy/rules/"
promtool check config "$tmp/deploy/prometheus.yml"
# Every portmap_* metric the rules use is described somewhere (README.md, docs/, DESIGN.md),
# so a rename in a collector cannot silently blind an alert.
repo=$(cd "$alerts/.." && pwd)
docs=("$repo/README.md" "$repo"/docs/*.md)
for d in "$repo/../shared/DESIGN.md" "${PORTMAP_DESIGN_MD:-}"; do [[ -n $d && -r $d ]] && docs+=("$d"); done
unknown=0
while read -r m; do
  grep -qw -- "$m" "${docs[@]}" 2>/dev/null || { echo "check_rules: metric $m is not described in README.md, docs/ or DESIGN.md" >&2; unknown=1; }
done < <(grep -v '^ *#' "$alerts/portmap.rules.yml.in" | grep -oE 'portmap_[a-z0-9_]+' | sort -u)
((unknown == 0))
# Every alert has a runbook section (heading = alert name, so the anchor is its lower
# case) and its runbook_url points at that anchor.
while read -r alert; do
  grep -qx "## $alert" "$alerts/runbook.md" || { echo "check_rules: runbook.md has no '## $alert'" >&2; unknown=1; }
  lower=$(tr '[:upper:]' '[:lower:]' <<<"$alert")
  grep -q "/runbook#$lower'\$" "$alerts/portmap.rules.yml" || { echo "check_rules: $alert: runbook_url does not end in #$lower" >&2; unknown=1; }
done < <(awk '$1 == "-" && $2 == "alert:" { print $3 }' "$alerts/portmap.rules.yml")
((unknown == 0))
echo "check_rules: ok"
