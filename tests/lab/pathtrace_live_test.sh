#!/usr/bin/env bash
# lab.pathtrace.live: the packet tracer's live nf_tables reader against the
# kernel.  In a scratch namespace holding the recorded fixture rulesets
# (tests/fixtures/pathtrace/: Docker 29's nftables table, a firewalld-like
# inet table, an inet filter with sets of every shape, iptables-nft's
# tables), `portmap_pathtrace_record --check-live` compares every answer of
# NftLiveRuleset (base chains of each hook, each chain by name, each set)
# with a full dump, then commits a change and checks it is seen as one.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
lab_require_tools nft iptables-nft ip6tables-nft
record=${PATHTRACE_RECORD:-$REPO/build/tests/lab/portmap_pathtrace_record}
[[ -x $record ]] || lab_die "PATHTRACE_RECORD=$record is not built"
fixtures=$REPO/tests/fixtures/pathtrace

ns=$LAB_PREFIX-nft
lab_cleanup_trap
ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
lab_defer ip netns del "$ns"

for f in docker_bridges firewalld_inet inet_filter; do
  ip netns exec "$ns" nft -f "$fixtures/$f.nft"
done
ip netns exec "$ns" sh "$fixtures/iptables_nft.sh"

if ip netns exec "$ns" "$record" --check-live >/dev/null; then
  lab_ok "NftLiveRuleset answers as the full dump does, and sees a commit"
else
  lab_not_ok "NftLiveRuleset differs from the full dump (mismatches above)"
fi
lab_finish
