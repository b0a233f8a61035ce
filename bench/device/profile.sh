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
# Writes OUT_DIR/kernels.csv, gemm-*.csv and matvec-*.csv and prints the
# tables, then a line per linear kernel: what limits it (gemm_report.py
# limits) and its SASS opcodes (gemm_report.py sass).
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

# What limits the linear kernels (LLAMAC_PROFILE_LIMITS: "gemm" for
# prefill's GEMMs, "matvec" for decode's matrix-vector kernels; both by
# default): the first launch of each of layer 0's four (q/k/v, o_proj,
# gate/up, down_proj) under Nsight Compute's throughput, issue and
# warp-state sections, whose report gives both the named limits (details
# page) and the warps' stall reasons (raw page); then the SASS opcodes of
# every kernel of the kind. Reports and listings stay in /tmp (megabytes).
# None of it may end the profile.
prompt=$(seq -s, 100 $((99 + prompt_tokens)))
cuobjdump=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
sass=/tmp/llamac-$artifact.sass
if ! python3 "$root/bench/device/gemm_report.py" cubin \
  "$device/artifacts/$artifact.lmc/model.so" "$sass.cubin" >/dev/null ||
  ! "$cuobjdump" -sass "$sass.cubin" >"$sass"; then
  rm -f "$sass"
fi

# limits KIND KERNEL_REGEX NEW_TOKENS
limits() {
  local kind=$1 kernels=$2 new_tokens=$3 report=/tmp/llamac-$artifact-$1
  rm -f "$report.ncu-rep"
  if "$ncu" --clock-control none --export "$report" \
    --kernel-name "regex:$kernels" --launch-count 4 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
    "$device/bin/llamac-run" generate "$device/artifacts/$artifact.lmc" \
    --weights "$weights" --prompt-ids "$prompt" --max-new-tokens "$new_tokens" \
    --ignore-eos --no-cuda-graph >"$out/$kind-ncu.log" 2>&1 &&
    "$ncu" --import "$report.ncu-rep" --csv --page details >"$out/$kind-details.csv" &&
    "$ncu" --import "$report.ncu-rep" --csv --page raw >"$out/$kind-raw.csv"; then
    python3 "$root/bench/device/gemm_report.py" limits "$out/$kind-details.csv" \
      "$out/$kind-raw.csv" || echo "$kind limits: not read from $out/$kind-details.csv"
  else
    echo "$kind limits: ncu failed (see $out/$kind-ncu.log)"
  fi
  if [ -f "$sass" ]; then
    python3 "$root/bench/device/gemm_report.py" sass "$sass" "$kernels" ||
      echo "$kind sass: not read"
  else
    echo "$kind sass: cuobjdump failed"
  fi
}
for kind in ${LLAMAC_PROFILE_LIMITS:-gemm matvec}; do
  case $kind in
    gemm) limits gemm '^(swiglu_)?gemm_' 1 ;;
    # The decode step after the prompt: its kernels, not prefill's.
    matvec) limits matvec '^(matvec|swiglu)_f' 2 ;;
  esac
done
