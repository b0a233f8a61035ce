#!/usr/bin/env bash
# One GPU session's device work in one call, inside a time budget, from what
# prepare.sh put in .device/: check.sh (correctness first), bench.sh's 7B
# shape and Hugging Face, then, each when the budget has room for it, on the
# 7B weights bench.sh left the decode A/B of the norms folded or not
# (--fold-decode-norms), the prefill A/B of the --gemm-tile artifacts and
# profile.sh after a 512-token prompt, then bench.sh's 13B shape. Logs, the
# benchmark's JSON (bench.tgz) and the kernel CSV go to OUT_DIR; the last
# lines printed are the check's verdict, the benchmark table, the two A/Bs
# and the prefill and decode profile.
# Measured on an H100: check 35 s, 7B and HF 275 s, profile ~45 s (after a
# 128-token prompt), 13B 75 s; the A/Bs (norms: 2 artifacts x 2 rounds,
# tiles: 5 x 2) are not measured yet, ~10 s a run estimated.
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
echo "check.sh: exit $? after $SECONDS s"

LLAMAC_BENCH_PARTS="7b hf" timeout "$(left)" bash "$here/bench.sh" "$results" \
  >"$out/bench.log" 2>&1
echo "bench.sh 7b hf: exit $? at $SECONDS s"

# Then, each while the budget has room for it, most telling first: the
# folded norms' decode and the tiles' prefill on the same weights, the
# profile, the 13B shape (its decode kernels differ from v4's, measured
# before, by v5 and the folded norms). `timeout 0` would mean no limit, so
# every step checks what is left first.
if [ "$(left)" -ge 150 ]; then
  timeout 60 bash "$here/compare.sh" "$weights/llama-2-7b-f16" \
    "$here/../../.device/artifacts/llama-2-7b-cuda-f16.lmc" \
    "$here/../../.device/artifacts/llama-2-7b-cuda-f16-unfolded.lmc" >"$out/norms.log" 2>&1
  echo "compare.sh norms: exit $? at $SECONDS s"
else
  echo "compare.sh norms: skipped, $(left) s left" | tee "$out/norms.log"
fi

if [ "$(left)" -ge 120 ]; then
  LLAMAC_COMPARE_TOKENS=16 timeout 110 bash "$here/compare.sh" "$weights/llama-2-7b-f16" \
    "$here/../../.device/artifacts/llama-2-7b-cuda-f16.lmc" \
    "$here"/../../.device/artifacts/llama-2-7b-cuda-f16-t*.lmc >"$out/tiles.log" 2>&1
  echo "compare.sh tiles: exit $? at $SECONDS s"
else
  echo "compare.sh tiles: skipped, $(left) s left" | tee "$out/tiles.log"
fi

if [ "$(left)" -ge 100 ]; then
  timeout 90 bash "$here/profile.sh" "$weights/llama-2-7b-f16" "$out" 512 \
    >"$out/profile.log" 2>&1
  echo "profile.sh: exit $? at $SECONDS s"
else
  echo "profile.sh: skipped, $(left) s left" | tee "$out/profile.log"
fi

if [ "$(left)" -ge 90 ]; then
  LLAMAC_BENCH_PARTS=13b timeout "$(left)" bash "$here/bench.sh" "$results" \
    >>"$out/bench.log" 2>&1
  echo "bench.sh 13b: exit $? at $SECONDS s"
else
  echo "bench.sh 13b: skipped, $(left) s left"
fi
tar czf "$out/bench.tgz" -C "$results" .

echo; grep -E "^(FAIL|PASS)" "$out/check.log" | grep -v "^PASS: " ; tail -1 "$out/check.log"
echo; grep -E "^== " "$out/bench.log"
echo; sed -n '/^| measure/,$p' "$out/bench.log" | tail -20
echo; cat "$out/norms.log"
echo; cat "$out/tiles.log"
echo; head -45 "$out/profile.log"
