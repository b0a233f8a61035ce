#!/usr/bin/env bash
# One GPU session's device work in one call, inside a time budget, from what
# prepare.sh put in .device/: check.sh (correctness first), then, each when
# the budget has room for it: compare.sh's int4 decode A/B on random weights
# (the default, --int4-lanes 16 and 32, earlier commits' int4 builds),
# bench.sh's int4 70B (random weights) and int4 7B, profile.sh of the int4
# 7B's decode (on the f16 weights bench.sh synthesized), bench.sh's 7B
# shape and Hugging Face, compare.sh's f16 decode A/B (the default,
# whole-row matrix-vector kernels, earlier commits' artifacts), what a
# prompt-lookup step costs (verify_cost.sh), bench.sh's 13B shape,
# compare.sh's 128-token prompts, bench.sh's 7B builds with other GEMM
# tiles and its bf16 7B. Logs, the benchmark's JSON (bench.tgz) and the
# kernel CSV go to OUT_DIR; the last lines printed are the check's verdict,
# the benchmark table, the profile, what limits each linear kernel
# (profile.sh), the A/Bs and the prompt-lookup step's cost.
# Measured on an H100 (2026-11-28): check ~50 s, the int4 A/B (four builds,
# twice, each drawing its random weights) ~125 s, the 70B ~135 s, the int4
# 7B with its synthesis 40 s, the int4 profile ~55 s, 7B and HF 258 s, the
# f16 decode A/B (three builds, twice) ~100 s.
#
#   bash bench/device/session.sh OUT_DIR [BUDGET_SECONDS]   (default 560)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: session.sh OUT_DIR [BUDGET_SECONDS]}
budget=${2:-560}
results=/tmp/llamac-bench
weights=${LLAMAC_BENCH_WEIGHTS:-/tmp/llamac-weights}
mkdir -p "$out"

# left: seconds of the budget remaining.
left() { echo $((budget - SECONDS)); }

timeout "${LLAMAC_CHECK_SECONDS:-150}" bash "$here/check.sh" >"$out/check.log" 2>&1
echo "check.sh: exit $? at $SECONDS s"

# part MIN_SECONDS NAME LOG COMMAND...: runs COMMAND, its output appended
# to LOG, within what is left of the budget if at least MIN_SECONDS are
# (`timeout 0` would mean no limit).
part() {
  local least=$1 name=$2 log=$3
  shift 3
  if [ "$(left)" -ge "$least" ]; then
    timeout "$(left)" "$@" >>"$log" 2>&1
    echo "$name: exit $? at $SECONDS s"
  else
    echo "$name: skipped, $(left) s left" | tee -a "$log"
  fi
}
artifacts=$here/../../.device/artifacts
# add_present ARRAY PATH...: appends to ARRAY each PATH that exists (the
# builds prepare.sh made only when asked).
add_present() {
  local -n list=$1
  shift
  local path
  for path in "$@"; do
    if [ -d "$path" ]; then list+=("$path"); fi
  done
}
# The int4 decode A/B on random weights (no checkpoint to write): the
# default against its wider vectors (--int4-lanes 16 and 32, NOTES v18) and
# the earlier commits' int4 builds (LLAMAC_INT4_BASELINE_COMMITS).
int4_builds=("$artifacts/llama-2-7b-cuda-int4.lmc")
add_present int4_builds "$artifacts"/llama-2-7b-cuda-int4-lanes*.lmc \
  "$artifacts"/baselines-int4/*.lmc
part 60 "compare.sh int4" "$out/compare.log" bash "$here/compare.sh" random "${int4_builds[@]}"
# The 70B shape in int4 on random weights (NOTES v17).
LLAMAC_BENCH_PARTS=70b part 150 "bench.sh 70b" "$out/bench.log" bash "$here/bench.sh" "$results"
# The 7B int4 on synthesized f16 weights, and where its decode's time goes.
LLAMAC_BENCH_PARTS=int4 part 60 "bench.sh int4" "$out/bench.log" bash "$here/bench.sh" "$results"
LLAMAC_PROFILE_LIMITS=matvec part 60 "profile.sh int4" "$out/profile.log" \
  bash "$here/profile.sh" "$weights/llama-2-7b-f16" "$out" 128 llama-2-7b-cuda-int4
LLAMAC_BENCH_PARTS="7b hf" part 240 "bench.sh 7b hf" "$out/bench.log" \
  bash "$here/bench.sh" "$results"
# Decode A/B on the same weights (NOTES v14, v15): the default, its
# matrix-vector kernels on whole rows, every one split below 2048 blocks,
# and the earlier commits' builds prepare.sh made (LLAMAC_BASELINE_COMMITS).
decode_builds=("$artifacts/llama-2-7b-cuda-f16.lmc" "$artifacts/llama-2-7b-cuda-f16-unsplit.lmc"
  "$artifacts/llama-2-7b-cuda-f16-split-2048.lmc")
add_present decode_builds "$artifacts"/baselines-f16/*.lmc
part 60 "compare.sh decode" "$out/compare.log" \
  bash "$here/compare.sh" "$weights/llama-2-7b-f16" "${decode_builds[@]}"
# A prompt-lookup step's cost: prefill of 1 + draft tokens against a decode
# step (before the 13B deletes the 7B weights).
part 40 "verify_cost.sh" "$out/verify.log" bash "$here/verify_cost.sh" \
  "$artifacts/llama-2-7b-cuda-f16.lmc" "$weights/llama-2-7b-f16"
LLAMAC_BENCH_PARTS=13b part 90 "bench.sh 13b" "$out/bench.log" bash "$here/bench.sh" "$results"
# A 128-token prompt on the default's 128x256/wgmma, 128x128/wgmma and
# mma.sync: whether the wide tile's fewer blocks cost short prompts
# (NOTES v13).
LLAMAC_COMPARE_PROMPT=128 LLAMAC_COMPARE_TOKENS=8 part 40 "compare.sh -p 128" \
  "$out/compare.log" bash "$here/compare.sh" "$weights/llama-2-7b-f16" \
  "$artifacts/llama-2-7b-cuda-f16.lmc" "$artifacts/llama-2-7b-cuda-f16-wgmma-128x128.lmc" \
  "$artifacts/llama-2-7b-cuda-f16-mma-128x128w4.lmc"
LLAMAC_BENCH_PARTS=tiles part 60 "bench.sh tiles" "$out/bench.log" bash "$here/bench.sh" "$results"
LLAMAC_BENCH_PARTS=bf16 part 60 "bench.sh bf16" "$out/bench.log" bash "$here/bench.sh" "$results"
tar czf "$out/bench.tgz" -C "$results" .

echo; grep -E "^(FAIL|PASS)" "$out/check.log" | grep -v "^PASS: " ; tail -1 "$out/check.log"
echo; grep -E "^== " "$out/bench.log"
echo; sed -n '/^| measure/,$p' "$out/bench.log" | tail -27
echo; head -45 "$out/profile.log"
echo; grep -E "^((swiglu_)?gemm|matvec|swiglu)[_ ]" "$out/profile.log"
echo; cat "$out/compare.log"
echo; cat "$out/verify.log"
