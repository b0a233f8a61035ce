#!/usr/bin/env bash
# Runs the whole lit suite (FileCheck tests and GoogleTest units) and ends with
# one plain line "N passed, N failed, N skipped" that CI reads.
# Usage: lit-summary.sh LIT BUILD_TEST_DIR [lit args...]
set -uo pipefail
lit=$1; dir=$2; shift 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$lit" -sv "$@" "$dir" "$dir/unittests" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# lit pads the labels to the longest one present ("  Passed     : 12 (..)").
count() {
  grep -E "^ *$1 *: *[0-9]+" "$log" | sed -E 's/^[^:]*: *([0-9]+).*/\1/' |
    awk '{s += $1} END {print s + 0}'
}
passed=$(( $(count Passed) + $(count "Passed With Retry") + $(count "Expectedly Failed") ))
failed=$(( $(count Failed) + $(count "Unexpectedly Passed") + $(count Unresolved) + $(count "Timed Out") ))
skipped=$(( $(count Unsupported) + $(count Excluded) + $(count Skipped) ))
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
