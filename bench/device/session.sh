#!/usr/bin/env bash
# One GPU session's device work in one call, inside a time budget, from what
# prepare.sh put in .device/: check.sh (correctness first), bench.sh's 7B
# shape and Hugging Face, then, each when the budget has room for it,
# profile.sh after a 512-token prompt (on the 7B weights bench.sh left),
# bench.sh's 7B builds with other GEMM tiles, profile.sh of the mixed wgmma
# build, its bf16 7B and its 13B shape. Logs, the benchmark's JSON
# (bench.tgz) and the kernel CSV go to OUT_DIR; the last lines printed are
# the check's verdict, the benchmark table, the prefill and decode profile
# and what limits each linear kernel (profile.sh).
# Measured on an H100 (2026-11-27): check 39–46 s, 7B and HF 222 s, profile
# 35–39 s, bf16 39 s, 13B 63 s: ~400 s in all, within the default budget
# with room for a machine's slower start. Not yet measured: the tiles part
# (six 7B benches, ~120 s), the linear kernels' limits the profiles now add
# (an Nsight Compute run of four kernels each for prefill's GEMMs and
# decode's matrix-vector kernels, and the SASS: ~40 s, ~20 s for the wgmma
# build's GEMMs) and the wgmma profile (~60 s); the bf16 and 13B parts (unchanged since v9) are the ones
# the budget leaves out. For an A/B of two builds on the
# same weights, compare.sh.
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

LLAMAC_BENCH_PARTS="7b hf" timeout "$(left)" bash "$here/bench.sh" "$results" \
  >"$out/bench.log" 2>&1
echo "bench.sh 7b hf: exit $? at $SECONDS s"

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
part 60 "profile.sh" "$out/profile.log" \
  bash "$here/profile.sh" "$weights/llama-2-7b-f16" "$out" 512
LLAMAC_BENCH_PARTS=tiles part 60 "bench.sh tiles" "$out/bench.log" bash "$here/bench.sh" "$results"
# The kernels of the build whose wide GEMMs run on 128x256/wgmma and narrow
# ones on 128x128/wgmma: what each wgmma GEMM reaches, for the next step.
LLAMAC_PROFILE_LIMITS=gemm part 60 "profile.sh wgmma" "$out/profile-wgmma.log" \
  bash "$here/profile.sh" "$weights/llama-2-7b-f16" "$out/wgmma" 512 \
  llama-2-7b-cuda-f16-wgmma-128x256-narrow-128x128
LLAMAC_BENCH_PARTS=bf16 part 60 "bench.sh bf16" "$out/bench.log" bash "$here/bench.sh" "$results"
LLAMAC_BENCH_PARTS=13b part 90 "bench.sh 13b" "$out/bench.log" bash "$here/bench.sh" "$results"
tar czf "$out/bench.tgz" -C "$results" .

echo; grep -E "^(FAIL|PASS)" "$out/check.log" | grep -v "^PASS: " ; tail -1 "$out/check.log"
echo; grep -E "^== " "$out/bench.log"
echo; sed -n '/^| measure/,$p' "$out/bench.log" | tail -25
echo; head -45 "$out/profile.log"
echo; grep -E "^((swiglu_)?gemm|matvec|swiglu)[_ ]" "$out/profile.log"
echo; head -25 "$out/profile-wgmma.log"
echo; grep -E "^((swiglu_)?gemm|matvec|swiglu)[_ ]" "$out/profile-wgmma.log"
