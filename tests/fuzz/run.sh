#!/usr/bin/env bash
# Runs one libFuzzer target for FUZZ_TIME seconds (default 60); `make fuzz`
# runs it for every target through `ctest -L fuzz-run`.
#
# Usage: tests/fuzz/run.sh FUZZER SEEDS WORKDIR
#   FUZZER   the fuzzer binary
#   SEEDS    its committed corpus (tests/fuzz/corpus/NAME), only ever read
#   WORKDIR  scratch space in the build dir: WORKDIR/corpus collects what the
#            fuzzer finds (kept between runs, so later runs start further on),
#            WORKDIR/artifacts holds crash-, timeout-, leak- and oom- inputs
#
# New corpus entries land in WORKDIR, never in the git tree.  Any crash,
# sanitizer report, hang (one input over 10 s) or memory blow-up (over
# 2 GiB RSS) fails the run, naming the input that reproduces it.
set -uo pipefail

if (($# != 3)); then
  echo "usage: $0 FUZZER SEEDS WORKDIR" >&2
  exit 2
fi
fuzzer=$1 seeds=$2 work=$3
time=${FUZZ_TIME:-60}
[[ $time =~ ^[0-9]+$ ]] || {
  echo "fuzz: FUZZ_TIME must be whole seconds, got '$time'" >&2
  exit 2
}
[[ -x $fuzzer ]] || {
  echo "fuzz: $fuzzer is not built (cmake --build ... --target portmap_fuzzers)" >&2
  exit 2
}
[[ -d $seeds ]] || {
  echo "fuzz: no committed seeds at $seeds" >&2
  exit 2
}

mkdir -p "$work/corpus" "$work/artifacts"
# Artifacts of an earlier run would be mistaken for this run's.
rm -f "$work/artifacts"/*

name=$(basename "$fuzzer")
echo "fuzz: $name for ${time}s, seeds $seeds, corpus $work/corpus"
# The first directory is where libFuzzer writes new inputs; the seeds are
# only read.  -print_final_stats: one line each for the log.
"$fuzzer" -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" 2>"$work/fuzz.log"
rc=$?
grep -E '^(Done [0-9]+ runs|stat::new_units_added|stat::peak_rss_mb)' \
  "$work/fuzz.log" || true

shopt -s nullglob
artifacts=("$work/artifacts"/*)
if ((rc != 0 || ${#artifacts[@]} > 0)); then
  # The report itself: from the sanitizer's or libFuzzer's first line on.
  sed -n '/^==[0-9]*==\|^ERROR: libFuzzer\|runtime error:\|ALARM/,/^SUMMARY/p' \
    "$work/fuzz.log" | head -n 60 >&2
  echo "fuzz: $name FAILED (exit $rc); full log: $work/fuzz.log" >&2
  for a in "${artifacts[@]}"; do
    echo "fuzz: reproduce with: $fuzzer $a" >&2
  done
  exit 1
fi
echo "fuzz: $name ok, corpus now $(find "$work/corpus" -type f | wc -l) inputs"
