#!/usr/bin/env bash
# The GPU-speed benchmark, in one go on the GPU machine, from what
# prepare.sh put in .device/ (nothing is built there, ../shared is absent):
#
#  1. random f16 weights of the Llama-2-7B shape (13.5 GB; speed does not
#     depend on the values), unless already there;
#  2. llamac-run bench -p 512 -n 128 at --ctx 256 (decode after a 128-token
#     prompt) and --ctx 2048 (after a 1920-token prompt), JSON; and at
#     --ctx 256 with --no-dependent-launch, what programmatic dependent
#     launch gains;
#  3. Hugging Face's baseline in the same session, on the same card
#     (.device/bench/hf_decode_baseline.py): eager and static cache with a
#     128-token prompt and 256 new tokens, static with 1920 + 128;
#  4. the 7B shape in bf16 (random bf16 weights, the bf16 artifact) at
#     --ctx 256: its prefill GEMMs convert the weights to f16 in registers;
#     the 7B shape with its linear layers in int4 (groups of 128, quantized
#     from the f16 weights as it loads) at --ctx 256; the 70B shape in int4
#     at --ctx 256 with --random-weights (no checkpoint: its 138 GB of f16
#     would not fit the disk; drawing and quantizing them takes ~1.5 min on
#     16 cores); and the 7B f16 builds
#     with other prefill GEMM tiles (prepare.sh's llama-2-7b-tiles.txt:
#     wgmma, o_proj and down_proj's own) at --ctx 256;
#  5. the 13B shape at --ctx 256 (26 GB of weights; the 7B ones are deleted
#     first, so that the 64 GB disk holds one checkpoint at a time);
#  6. summarize.py: one markdown table with the ratios and the issue's
#     targets.
#
# Each step prints its elapsed time. Estimated at 6 minutes on an H100:
# synthesizing well under a minute per shape (one thread per shard),
# Hugging Face about 3 (each static run compiles for ~46 s). A failed step is reported and the others still
# run; the exit status is 1 if one failed.
#
#   bash bench/device/bench.sh [OUT_DIR]        (default: /tmp/llamac-bench)
# Environment: LLAMAC_BENCH_PARTS ("7b hf bf16 int4 70b tiles 13b": which of steps 2 to 5
#              run; a later run with other parts adds to the same OUT_DIR
#              and table), LLAMAC_BENCH_WEIGHTS (/tmp/llamac-weights: the
#              synthesized checkpoints, reused by the next run; deleted as
#              needed).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
device=$root/.device
out=${1:-/tmp/llamac-bench}
weights=${LLAMAC_BENCH_WEIGHTS:-/tmp/llamac-weights}
weights7b=$weights/llama-2-7b-f16
weights7bbf16=$weights/llama-2-7b-bf16
weights13b=$weights/llama-2-13b-f16
export LD_LIBRARY_PATH=$device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
parts=" ${LLAMAC_BENCH_PARTS:-7b hf bf16 int4 70b tiles 13b} "
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null \
  || echo "(nvidia-smi unavailable)"

failures=0
started=$SECONDS
# step NAME COMMAND...: runs COMMAND and prints how it ended and how long it
# took.
step() {
  local name=$1 begin=$SECONDS status=0
  shift
  echo "== $name" >&2
  "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    failures=$((failures + 1))
    echo "== $name: FAILED (exit $status) after $((SECONDS - begin)) s" >&2
  else
    echo "== $name: $((SECONDS - begin)) s" >&2
  fi
}

# synth SHAPE DIR [DTYPE]: the shape's random checkpoint (f16 unless
# DTYPE) in DIR, unless a complete one is there (the marker is written
# last).
synth() {
  if [ -f "$2/.complete" ]; then
    echo "(reusing $2)" >&2
    return 0
  fi
  rm -rf "$2"
  "$device/bin/llamac-run" synth --config "$device/configs/$1/config.json" \
    -o "$2" --dtype "${3:-f16}" && touch "$2/.complete"
}

# bench ARTIFACT DIR CTX NAME [FLAG...]: our benchmark of
# .device/artifacts/ARTIFACT.lmc on the weights in DIR (or, where DIR is
# "random", --random-weights), as JSON in $out/ours-NAME.json.
bench() {
  local artifact=$1 weights=$2 ctx=$3 name=$4
  shift 4
  local source=(--weights "$weights")
  [ "$weights" = random ] && source=(--random-weights)
  "$device/bin/llamac-run" bench "$device/artifacts/$artifact.lmc" \
    "${source[@]}" -p 512 -n 128 --ctx "$ctx" --json "$@" \
    >"$out/ours-$name.json"
}

# hf MODE PROMPT NEW: the baseline's JSON in $out/hf-MODE-PROMPT-NEW.json.
hf() {
  python3 "$device/bench/hf_decode_baseline.py" "$out/hf-$1-$2-$3.json" "$1" "$2" "$3" >&2
}

if [[ $parts == *" 7b "* ]]; then
  rm -f "$out"/ours-llama-2-7b-*.json
  step "synthesize llama-2-7b f16" synth llama-2-7b "$weights7b"
  step "llamac bench llama-2-7b --ctx 256" \
    bench llama-2-7b-cuda-f16 "$weights7b" 256 llama-2-7b-ctx256
  step "llamac bench llama-2-7b --ctx 2048" \
    bench llama-2-7b-cuda-f16 "$weights7b" 2048 llama-2-7b-ctx2048
  step "llamac bench llama-2-7b --ctx 256 --no-dependent-launch" \
    bench llama-2-7b-cuda-f16 "$weights7b" 256 llama-2-7b-ctx256-plain --no-dependent-launch
fi
if [[ $parts == *" hf "* ]]; then
  rm -f "$out"/hf-*.json
  step "HF eager, prompt 128, 256 new" hf eager 128 256
  step "HF static, prompt 128, 256 new" hf static 128 256
  step "HF static, prompt 1920, 128 new" hf static 1920 128
fi
if [[ $parts == *" bf16 "* ]]; then
  rm -f "$out"/ours-llama-2-7b-bf16-*.json
  step "synthesize llama-2-7b bf16" synth llama-2-7b "$weights7bbf16" bf16
  step "llamac bench llama-2-7b bf16 --ctx 256" \
    bench llama-2-7b-cuda-bf16 "$weights7bbf16" 256 llama-2-7b-bf16-ctx256
fi
if [[ $parts == *" int4 "* ]]; then
  rm -f "$out"/ours-llama-2-7b-int4-*.json
  step "synthesize llama-2-7b f16" synth llama-2-7b "$weights7b"
  step "llamac bench llama-2-7b int4 --ctx 256" \
    bench llama-2-7b-cuda-int4 "$weights7b" 256 llama-2-7b-int4-ctx256
fi
if [[ $parts == *" 70b "* ]]; then
  rm -f "$out"/ours-llama-2-70b-*.json
  step "llamac bench llama-2-70b int4 --random-weights --ctx 256" \
    bench llama-2-70b-cuda-int4 random 256 llama-2-70b-int4-ctx256
fi
if [[ $parts == *" tiles "* ]]; then
  rm -f "$out"/ours-llama-2-7b-tiles-*.json
  tiles=$device/artifacts/llama-2-7b-tiles.txt
  cp "$tiles" "$out/"
  step "synthesize llama-2-7b f16" synth llama-2-7b "$weights7b"
  while read -r name flags <&3; do
    step "llamac bench llama-2-7b $flags --ctx 256" \
      bench "llama-2-7b-cuda-f16-$name" "$weights7b" 256 "llama-2-7b-tiles-$name-ctx256"
  done 3<"$tiles"
fi
if [[ $parts == *" 13b "* ]]; then
  rm -f "$out"/ours-llama-2-13b-*.json
  rm -rf "$weights7b" "$weights7bbf16"
  step "synthesize llama-2-13b f16" synth llama-2-13b "$weights13b"
  step "llamac bench llama-2-13b --ctx 256" \
    bench llama-2-13b-cuda-f16 "$weights13b" 256 llama-2-13b-ctx256
fi
echo "== total: $((SECONDS - started)) s" >&2

python3 "$root/bench/device/summarize.py" "$out" || failures=$((failures + 1))
[ "$failures" -eq 0 ]
