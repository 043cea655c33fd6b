#!/usr/bin/env bash
# No URL in alerts/ or dashboards/ points at a placeholder: every link on-call follows from a
# page (runbook_url), the dashboard or these docs must lead somewhere real. Refused: the
# hosts reserved for examples (example.com/.net/.org, *.example, *.invalid, *.test,
# *.localhost) and owner or path placeholders (OWNER, YOUR..., CHANGEME, <...>, xxx).
# Hosts built by a template ({{ ... }}, ${...}) are the generated links: alerts.unit
# and dashboards.semantics check what they expand to.
#   alerts/tests/links_test.sh [DIR...]      default: alerts/ and dashboards/
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
dirs=("$@")
((${#dirs[@]})) || dirs=("$repo/alerts" "$repo/dashboards")
bad=0 n=0
while IFS= read -r -d '' f; do
  while IFS=: read -r line url; do
    n=$((n + 1))
    rest=${url#*://}
    host=${rest%%/*}
    host=${host%%[:?#]*}
    case $host in *'{{'* | *'${'*) continue ;; esac
    lower=$(tr '[:upper:]' '[:lower:]' <<<"$host")
    if [[ $lower =~ (^|\.)example\.(com|net|org)$ || $lower =~ \.(example|invalid|test|localhost)$ ||
          $url =~ (OWNER|YOUR[_A-Z-]*|CHANGEME|\<[^>]*\>|/xxx) ]]; then
      echo "links_test: ${f#"$repo"/}:$line: placeholder URL $url" >&2
      bad=1
    fi
  done < <(grep -noE "https?://[^][[:space:]\"'\`<>()|]+" "$f" || true)
done < <(find "${dirs[@]}" -type f -print0)
((n > 0)) || { echo "links_test: no URL found in ${dirs[*]}" >&2; exit 1; }
((bad == 0)) || exit 1
echo "links_test: $n URLs, none a placeholder"
