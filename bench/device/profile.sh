#!/usr/bin/env bash
# Where a 7B prefill's and decode step's time goes, on the GPU machine:
# Nsight Compute times every kernel of one generation (a prompt of
# PROMPT_TOKENS, 128 by default, then decode steps, launched directly so
# that each kernel is its own launch) with the clocks as found, and
# kernel_profile.py sums them by kernel for the prefill and for one decode
# step. ncu runs the kernels one at a time with
# the caches flushed between them, so the sum is a little above a graph
# replay's time; the shares and each kernel's bandwidth are what count.
#
#   bash bench/device/profile.sh WEIGHTS_DIR [OUT_DIR] [PROMPT_TOKENS] [ARTIFACT]
#   (defaults: /tmp/llamac-profile, 128, llama-2-7b-cuda-f16: a build in
#   .device/artifacts, e.g. one of prepare.sh's llama-2-7b-tiles.txt)
# Writes OUT_DIR/kernels.csv and gemm-*.csv and prints the tables, then
# a line per GEMM: what limits it (gemm_report.py limits) and its SASS
# opcodes (gemm_report.py sass).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
device=$root/.device
weights=${1:?usage: profile.sh WEIGHTS_DIR [OUT_DIR]}
out=${2:-/tmp/llamac-profile}
prompt_tokens=${3:-128}
artifact=${4:-llama-2-7b-cuda-f16}
export LD_LIBRARY_PATH=$device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
if [ -z "$ncu" ]; then
  echo "error: ncu (Nsight Compute) not found" >&2
  exit 1
fi
mkdir -p "$out"
"$ncu" --clock-control none --csv --page raw --print-units base --log-file "$out/kernels.csv" \
  --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum \
  "$device/bin/llamac-run" generate "$device/artifacts/$artifact.lmc" \
  --weights "$weights" --prompt-ids "$(seq -s, 100 $((99 + prompt_tokens)))" --max-new-tokens 4 \
  --ignore-eos --no-cuda-graph >/dev/null
python3 "$root/bench/device/kernel_profile.py" "$out/kernels.csv"

# What limits the GEMMs: the first launch of each of layer 0's four (q/k/v,
# o_proj, gate/up, down_proj) under Nsight Compute's throughput, issue and
# warp-state sections, whose report gives both the named limits (details
# page) and the warps' stall reasons (raw page); then the SASS of every GEMM
# kernel. The report and the listing stay in /tmp (megabytes). Neither step
# may end the profile.
prompt=$(seq -s, 100 $((99 + prompt_tokens)))
report=/tmp/llamac-$artifact-gemm
rm -f "$report.ncu-rep"
if "$ncu" --clock-control none --export "$report" \
  --kernel-name regex:gemm_ --launch-count 4 \
  --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
  "$device/bin/llamac-run" generate "$device/artifacts/$artifact.lmc" \
  --weights "$weights" --prompt-ids "$prompt" --max-new-tokens 1 --no-cuda-graph \
  >"$out/gemm-ncu.log" 2>&1 &&
  "$ncu" --import "$report.ncu-rep" --csv --page details >"$out/gemm-details.csv" &&
  "$ncu" --import "$report.ncu-rep" --csv --page raw >"$out/gemm-raw.csv"; then
  python3 "$root/bench/device/gemm_report.py" limits "$out/gemm-details.csv" \
    "$out/gemm-raw.csv" || echo "gemm limits: not read from $out/gemm-details.csv"
else
  echo "gemm limits: ncu failed (see $out/gemm-ncu.log)"
fi
cuobjdump=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
sass=/tmp/llamac-$artifact.sass
if python3 "$root/bench/device/gemm_report.py" cubin "$device/artifacts/$artifact.lmc/model.so" \
  "$sass.cubin" >/dev/null && "$cuobjdump" -sass "$sass.cubin" >"$sass"; then
  python3 "$root/bench/device/gemm_report.py" sass "$sass" || echo "gemm sass: not read"
else
  echo "gemm sass: cuobjdump failed"
fi
