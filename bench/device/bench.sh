#!/usr/bin/env bash
# Decode and prefill speed of the Llama-2-7B shape on the GPU machine, from
# .device/ (prepare.sh): synthesizes random f16 weights (13.5 GB, throughput
# does not depend on the values) and runs llamac-run bench with and without
# the CUDA graph. Compare with ../shared/bench/BASELINES.md (224.5 tok/s is
# the H100's bandwidth floor for these weights).
#
#   bash bench/device/bench.sh [PROMPT_TOKENS [NEW_TOKENS]]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
device=$root/.device
export LD_LIBRARY_PATH=$device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
weights=${LLAMAC_BENCH_WEIGHTS:-/tmp/llamac-llama-2-7b-f16}
if [ ! -f "$weights/model.safetensors" ] && [ ! -f "$weights/model.safetensors.index.json" ]; then
  "$device/bin/llamac-run" synth --config "$device/configs/llama-2-7b/config.json" \
    -o "$weights" --dtype f16
fi
artifact=$device/artifacts/llama-2-7b-cuda-f16.lmc
for graph in "" --no-cuda-graph; do
  echo "== llama-2-7b f16 ${graph:-(CUDA graph)}"
  "$device/bin/llamac-run" bench "$artifact" --weights "$weights" \
    -p "${1:-128}" -n "${2:-128}" $graph
done
