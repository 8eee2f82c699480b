#!/usr/bin/env bash
# Issue 13, acceptance 1: the kill -9 persistence test, N runs in a row (default 30) with every core
# kept busy by `yes > /dev/null` loops (one per core unless BUSY=n). Not part of CI (CI runs the test
# once); run it from the repository root: bash broker/test/soak/persistence-loop.sh [runs]
# Prints one line per run and the pass count; exits 1 if any run failed. Failed runs' output is kept
# in the printed log directory.
set -u
runs="${1:-30}"
busy="${BUSY:-$(nproc)}"
test_file="${TEST_FILE:-broker/test/persistence.test.ts}"
logs="$(mktemp -d -t sg-persistence-loop-XXXXXX)"
pids=()
stop_busy() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
}
trap stop_busy EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 "$busy"); do
  yes > /dev/null &
  pids+=("$!")
done
echo "$runs runs of $test_file with $busy busy loops ($(nproc) cores); load: $(cut -d' ' -f1-3 /proc/loadavg)"
passed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if npx vitest run "$test_file" > "$logs/run-$i.log" 2>&1; then
    passed=$((passed + 1))
    rm -f "$logs/run-$i.log"
    echo "run $i: pass ($(( $(date +%s) - start )) s)"
  else
    echo "run $i: FAIL ($(( $(date +%s) - start )) s), output in $logs/run-$i.log"
  fi
done
echo "passed $passed of $runs; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$passed" -eq "$runs" ]
