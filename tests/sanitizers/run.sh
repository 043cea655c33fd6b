#!/usr/bin/env bash
# Runs the tests of a -DPORTMAP_SANITIZE=ON build (ASan + UBSan + LSan) and
# fails on any sanitizer report; `make test-sanitize` calls it.
#
# Usage: tests/sanitizers/run.sh BUILD_DIR [CTEST_ARGS...]
#
# Every sanitized process writes its report to BUILD_DIR/sanitizer-logs/
# instead of stderr: the lab runs exporters in the background with stderr in a
# file and stops them with SIGTERM, so a leak found at exit or a report from a
# child would otherwise pass unseen.  Any file there after ctest fails the run.
# The environment reaches those exporters through `ip netns exec`, nsenter
# and setpriv, which all keep it.
set -uo pipefail

if (($# < 1)); then
  echo "usage: $0 BUILD_DIR [CTEST_ARGS...]" >&2
  exit 2
fi
build=$(realpath "$1")
shift
here=$(dirname "$(realpath "$0")")
logs=$build/sanitizer-logs

rm -rf "$logs"
# 1777: the lab also runs the exporter as nobody (setpriv), which must be able
# to write its report.
mkdir -p "$logs" && chmod 1777 "$logs"

# halt_on_error: the first report ends the process, so a test cannot pass after it.
# detect_stack_use_after_return and the init-order checks are off by default.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"

cd "$build" || exit 2
ctest --output-on-failure "$@"
rc=$?

shopt -s nullglob
reports=("$logs"/*)
if ((${#reports[@]} > 0)); then
  for r in "${reports[@]}"; do
    echo "=== sanitizer report $r" >&2
    cat "$r" >&2
  done
  echo "test-sanitize: ${#reports[@]} sanitizer report(s) above (in $logs)" >&2
  exit 1
fi
if ((rc != 0)); then
  echo "test-sanitize: ctest failed (exit $rc) without a sanitizer report" >&2
  exit "$rc"
fi
echo "test-sanitize: all tests passed, no sanitizer reports"
