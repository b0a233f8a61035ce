#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang-22 and ASan + UBSan (a
# separate configure in build-fuzz, compiler off) and runs each for
# SECONDS_PER_TARGET seconds (default 60), seeded from fuzz/seeds and from
# the shared fixtures (fuzz/make-seeds.py, into the build directory).
# Fails when any target crashes, leaks, hangs (> 25 s on one input), runs
# out of memory (> 2 GiB) or breaks a FUZZ_CHECK; the input that did it is
# kept as build-fuzz/fuzz/crashes/TARGET-crash-*, and its log is printed.
# The corpus each run grows is kept in build-fuzz/fuzz/corpus/TARGET, so later
# runs start from it; a table of executions per target ends the output (and
# is in build-fuzz/fuzz/stats.txt).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   LLAMAC_FUZZ_BUILD_DIR  build directory (default ./build-fuzz)
#   LLAMAC_SHARED_DIR      the shared fixtures (default ../shared)
#   LLAMAC_JOBS            build jobs and targets run at once (default 2)
# Reproduce a crash: build-fuzz/fuzz/TARGET build-fuzz/fuzz/crashes/FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" >/dev/null
seconds=${1:-60}
[ $# -gt 0 ] && shift
build=${LLAMAC_FUZZ_BUILD_DIR:-$root/build-fuzz}
shared=$(cd "${LLAMAC_SHARED_DIR:-$root/../shared}" && pwd)
jobs=${LLAMAC_JOBS:-2}
all_targets=(safetensors_fuzzer safetensors_index_fuzzer config_fuzzer
             llama2c_fuzzer manifest_fuzzer tokenizer_fuzzer
             tokenizer_model_fuzzer http_request_fuzzer json_schema_fuzzer)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

case $seconds in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

# fuzzer-no-link: coverage feedback from every library the targets link.
"$root/scripts/configure-sanitized.sh" "$build" fuzzer-no-link,address,undefined \
  -DLLAMAC_ENABLE_TESTS=OFF -DLLAMAC_FUZZ=ON -DLLAMAC_SHARED_DIR="$shared"
ninja -C "$build" -j "$jobs" "${targets[@]}"

work=$build/fuzz
rm -rf "$work/seeds" "$work/logs"
mkdir -p "$work/seeds" "$work/logs" "$work/crashes"
python3 "$root/fuzz/make-seeds.py" "$shared" "$work/seeds"
scratch=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch=/dev/shm

run_target() {
  local target=$1 corpus=$work/corpus/$1 seeds=$work/seeds/$1 extra=()
  mkdir -p "$corpus" "$seeds"
  [ -d "$root/fuzz/seeds/$target" ] && cp "$root/fuzz/seeds/$target"/* "$seeds/"
  case $target in
    config_fuzzer|manifest_fuzzer|safetensors_index_fuzzer|http_request_fuzzer|json_schema_fuzzer)
      extra=(-dict="$root/fuzz/json.dict" -max_len=16384) ;;
    safetensors_fuzzer)
      extra=(-dict="$root/fuzz/json.dict" -max_len=65536) ;;
    *) extra=(-max_len=65536) ;;
  esac
  # The targets that need files write them under $TMPDIR: memory is faster.
  TMPDIR=$scratch LLAMAC_SHARED_DIR="$shared" "$work/$target" "$corpus" "$seeds" \
    -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/crashes/$target-" \
    "${extra[@]}" >"$work/logs/$target.log" 2>&1
}

# Run the targets $jobs at a time.
declare -A pids
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$target" &
  pids[$target]=$!
done

failed=()
for target in "${targets[@]}"; do
  if ! wait "${pids[$target]}"; then failed+=("$target"); fi
done

stat() { grep -E "^stat::$2:" "$work/logs/$1.log" | tail -1 | awk '{print $2}'; }
{
  printf '%-26s %12s %10s %8s %s\n' target executions exec/s corpus result
  for target in "${targets[@]}"; do
    runs=$(stat "$target" number_of_executed_units)
    corpus=$(ls "$work/corpus/$target" | wc -l)
    result=ok
    [[ " ${failed[*]} " == *" $target "* ]] && result=FAILED
    printf '%-26s %12s %10s %8s %s\n' "$target" "${runs:-?}" \
      "$(( ${runs:-0} / (seconds > 0 ? seconds : 1) ))" "$corpus" "$result"
  done
} | tee "$work/stats.txt"

for target in "${failed[@]}"; do
  echo "=== $target (log: $work/logs/$target.log) ===" >&2
  tail -n 60 "$work/logs/$target.log" >&2
done
[ ${#failed[@]} -eq 0 ] || echo "fuzz: failed: ${failed[*]}; inputs in $work/crashes" >&2
# One line per target counted, in the test summary's format (.ci/run adds it up).
echo "fuzz ($seconds s per target): $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed, 0 skipped"
[ ${#failed[@]} -eq 0 ]
