#!/usr/bin/env bash
# Prepares .device/ for bench/device/check.sh and bench.sh, HERE, where the
# compiler is: the GPU machine has the CUDA driver and Python but no MLIR and
# builds nothing. Compiles every fixture of fixtures/hf/ and stories260K for
# --target cuda in f32, f16 and bf16, and for the CPU (a portable x86-64-v3
# build, the reference check.sh compares against, also on copies of the
# checkpoints rounded to f16/bf16); copies llamac-run, the libraries it needs
# beyond glibc, and the fixture files. For bench.sh: the CUDA artifacts of
# the Llama-2-7B (f16, bf16 and int4) and 13B (f16) shapes and Hugging
# Face's baseline script.
#
# For session.sh's decode A/Bs, the 7B shape built by earlier commits, in
# f16 (LLAMAC_BASELINE_COMMITS names them, e.g. "f9d757e") and in int4
# (LLAMAC_INT4_BASELINE_COMMITS); each commit's compiler is built once in a
# worktree (llamac only, ~4 min on 2 cores) and its artifacts kept in
# LLAMAC_BASELINE_CACHE (default /tmp/llamac-baselines), so the next
# prepare.sh reuses them.
#
#   bench/device/prepare.sh            (LLAMAC_BUILD=build LLAMAC_SHARED=/work/shared
#                                       LLAMAC_BASELINE_COMMITS="COMMIT..."
#                                       LLAMAC_INT4_BASELINE_COMMITS="COMMIT...")
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${LLAMAC_BUILD:-$root/build}
shared=${LLAMAC_SHARED:-/work/shared}
out=$root/.device
llamac=$build/bin/llamac

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/fixtures" "$out/artifacts"

cp "$build/bin/llamac-run" "$out/bin/"
# Everything but the C library itself, so a GPU machine with an older
# libstdc++ or without sentencepiece still runs it.
ldd "$build/bin/llamac-run" | awk '/=> \// {print $3}' | while read -r lib; do
  case $(basename "$lib") in
    libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|ld-linux*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done

fixtures=()
for dir in "$shared"/fixtures/hf/*/; do
  fixtures+=("$(basename "$dir"):$dir")
done
fixtures+=("stories260K:$shared/models/stories260K/hf/")

for entry in "${fixtures[@]}"; do
  name=${entry%%:*}
  source=${entry#*:}
  mkdir -p "$out/fixtures/$name"
  cp "$source"/*.json "$source"/*.safetensors "$out/fixtures/$name/"
  cp "$source"/*.f32 "$out/fixtures/$name/" 2>/dev/null || true
  cp "$source"/tokenizer.model "$out/fixtures/$name/" 2>/dev/null || true
  fixture=$out/fixtures/$name
  echo "compiling $name"
  "$llamac" compile "$fixture" -o "$out/artifacts/$name-cpu.lmc" --target cpu \
    --cpu x86-64-v3 --vector-width 8 --max-batch 2
  for dtype in f32 f16 bf16; do
    "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-$dtype.lmc" \
      --target cuda --dtype "$dtype" --max-batch 2
  done
  # check.sh's bit-for-bit check of the other --gemm-tile builds (sm_90's
  # mma.sync), its check of each prefill kernel on the tensor cores alone,
  # and of the norms.
  if [ "$name" = tiny-llama2-gqa ]; then
    for tile in 128x128/4 128x128 64x128 64x256 128x256; do
      "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-f16-t${tile//\//w}.lmc" \
        --target cuda --chip sm_90 --dtype f16 --max-batch 2 --gemm-tile "$tile"
    done
    # check.sh's check of the wgmma GEMM against Hugging Face.
    for tile in 128x128 128x256; do
      "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-f16-wgmma-$tile.lmc" \
        --target cuda --chip sm_90a --dtype f16 --max-batch 2 --gemm-tile "$tile/wgmma"
    done
    for kernels in gemm attention none; do
      "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-f16-tc-$kernels.lmc" \
        --target cuda --chip sm_90 --dtype f16 --max-batch 2 --prefill-tensor-cores "$kernels"
    done
    # check.sh's bit-for-bit check of decode with the norms in kernels of
    # their own against the default, folded into the matrix-vector kernels.
    "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-f16-unfolded.lmc" \
      --target cuda --chip sm_90 --dtype f16 --max-batch 2 --fold-decode-norms=false
    # Its bit-for-bit check of prefill with the q/k/v GEMM rotating in its
    # epilogue against the default's rope_qkv kernels.
    "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-f16-rope-folded.lmc" \
      --target cuda --dtype f16 --max-batch 2 --fold-prefill-rope
    # Its check of int4 weights (groups of 8) on the GPU against the CPU's.
    "$llamac" compile "$fixture" -o "$out/artifacts/$name-cpu-int4.lmc" --target cpu \
      --cpu x86-64-v3 --vector-width 8 --max-batch 2 --quantize int4 --group-size 8
    for dtype in f32 f16; do
      "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-$dtype-int4.lmc" \
        --target cuda --dtype "$dtype" --max-batch 2 --quantize int4 --group-size 8
    done
  fi
  # Its check of int4 vectors of 32 codes (--int4-lanes 32, groups of 32).
  if [ "$name" = tiny-llama-bf16-theta1e6 ]; then
    "$llamac" compile "$fixture" -o "$out/artifacts/$name-cpu-int4-wide.lmc" --target cpu \
      --cpu x86-64-v3 --vector-width 8 --max-batch 2 --quantize int4 --group-size 32
    for dtype in f32 f16; do
      "$llamac" compile "$fixture" -o "$out/artifacts/$name-cuda-$dtype-int4-wide.lmc" \
        --target cuda --dtype "$dtype" --max-batch 2 --quantize int4 --group-size 32 \
        --int4-lanes 32
    done
  fi
  # The f16/bf16 reference: the CPU in f32 on the checkpoint rounded to that
  # dtype, i.e. on the very weights the CUDA artifact computes with.
  for dtype in f16 bf16; do
    status=0
    python3 "$root/test/tools/round_checkpoint.py" "$fixture" \
      "$out/fixtures/$name@$dtype" "$dtype" || status=$?
    case $status in
      0) "$llamac" compile "$out/fixtures/$name@$dtype" \
           -o "$out/artifacts/$name-cpu-$dtype.lmc" --target cpu --cpu x86-64-v3 \
           --vector-width 8 --max-batch 2 ;;
      2) ;; # Already stored in $dtype: the plain CPU artifact is the reference.
      *) exit 1 ;;
    esac
  done
done

# bench.sh: the Llama-2-7B and 13B shapes (weights synthesized there) and
# Hugging Face's baseline script, as ../shared is not on the GPU machine.
for shape in llama-2-7b llama-2-13b; do
  mkdir -p "$out/configs/$shape"
  cp "$shared/configs/$shape/config.json" "$out/configs/$shape/"
  "$llamac" compile --config "$out/configs/$shape/config.json" \
    -o "$out/artifacts/$shape-cuda-f16.lmc" --target cuda --dtype f16
done
# bench.sh's bf16 part: the 7B shape in bf16.
"$llamac" compile --config "$out/configs/llama-2-7b/config.json" \
  -o "$out/artifacts/llama-2-7b-cuda-bf16.lmc" --target cuda --dtype bf16
# Its int4 part: the 7B shape's linear layers in int4 (groups of 128),
# quantized from the f16 weights as the artifact loads.
"$llamac" compile --config "$out/configs/llama-2-7b/config.json" \
  -o "$out/artifacts/llama-2-7b-cuda-int4.lmc" --target cuda --dtype f16 --quantize int4
# session.sh's int4 A/B: vectors of 16 and 32 codes a lane (NOTES v18).
for lanes in 16 32; do
  "$llamac" compile --config "$out/configs/llama-2-7b/config.json" \
    -o "$out/artifacts/llama-2-7b-cuda-int4-lanes$lanes.lmc" --target cuda --dtype f16 \
    --quantize int4 --int4-lanes "$lanes"
done
# Its 70b part: the 70B shape in int4, on one card (random weights: its
# f16 checkpoint would not fit the GPU machine's disk).
mkdir -p "$out/configs/llama-2-70b"
cp "$shared/configs/llama-2-70b/config.json" "$out/configs/llama-2-70b/"
"$llamac" compile --config "$out/configs/llama-2-70b/config.json" \
  -o "$out/artifacts/llama-2-70b-cuda-int4.lmc" --target cuda --dtype f16 --quantize int4
# Its tiles part: the 7B shape in f16 built otherwise than the default
# (sm_90a, 128x256/wgmma, rope_qkv), a build a line of llama-2-7b-tiles.txt
# (NAME FLAGS...): sm_90's mma.sync GEMMs (the default before NOTES v13),
# with and without the q/k/v GEMM's rotary epilogue; the default with that
# epilogue; 128x128/wgmma for all GEMMs and for the narrow ones only
# (o_proj and down_proj: twice the blocks).
tile_builds=(
  "mma-128x128w4 --chip sm_90"
  "mma-rope-folded --chip sm_90 --fold-prefill-rope"
  "wgmma-rope-folded --fold-prefill-rope"
  "wgmma-128x128 --gemm-tile 128x128/wgmma"
  "wgmma-narrow-128x128 --narrow-gemm-tile 128x128/wgmma"
)
for build in "${tile_builds[@]}"; do
  read -r name flags <<<"$build"
  # shellcheck disable=SC2086 # the flags are words
  "$llamac" compile --config "$out/configs/llama-2-7b/config.json" \
    -o "$out/artifacts/llama-2-7b-cuda-f16-$name.lmc" --target cuda --dtype f16 $flags
done
printf '%s\n' "${tile_builds[@]}" >"$out/artifacts/llama-2-7b-tiles.txt"
# session.sh's decode A/B (bench/NOTES.md v14, v15): the default against
# its matrix-vector kernels on whole rows (--matvec-min-blocks 0), against
# every kernel split below 2048 blocks (q/k/v, swiglu, o_proj and down_proj
# in 2 or 4 slices), and against the earlier commits' builds.
decode_builds=("unsplit 0" "split-2048 2048")
for build in "${decode_builds[@]}"; do
  read -r name blocks <<<"$build"
  "$llamac" compile --config "$out/configs/llama-2-7b/config.json" \
    -o "$out/artifacts/llama-2-7b-cuda-f16-$name.lmc" --target cuda --dtype f16 \
    --matvec-min-blocks "$blocks"
done
# copy_baseline COMMIT VARIANT FLAGS...: the 7B artifact COMMIT's compiler
# builds with FLAGS, into artifacts/baselines-VARIANT/COMMIT.lmc; the
# compiler is built in a worktree unless the cache has the artifact.
copy_baseline() {
  local commit variant=$2 cache tree artifact
  commit=$(git -C "$root" rev-parse --short "$1^{commit}")
  shift 2
  cache=${LLAMAC_BASELINE_CACHE:-/tmp/llamac-baselines}/$commit
  artifact=$cache/llama-2-7b-cuda-$variant.lmc
  if [ ! -d "$artifact" ]; then
    tree=$cache/tree
    if [ ! -x "$tree/build/bin/llamac" ]; then
      rm -rf "$tree"
      git -C "$root" worktree prune
      git -C "$root" worktree add --detach "$tree" "$commit"
      cmake -G Ninja -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release \
        -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir -DLLAMAC_ENABLE_TESTS=OFF
      ninja -C "$tree/build" llamac
    fi
    rm -rf "$artifact.partial"
    "$tree/build/bin/llamac" compile --config "$out/configs/llama-2-7b/config.json" \
      -o "$artifact.partial" --target cuda "$@"
    mv "$artifact.partial" "$artifact"
  fi
  mkdir -p "$out/artifacts/baselines-$variant"
  cp -r "$artifact" "$out/artifacts/baselines-$variant/$commit.lmc"
}
for commit in ${LLAMAC_BASELINE_COMMITS:-}; do
  copy_baseline "$commit" f16 --dtype f16
done
for commit in ${LLAMAC_INT4_BASELINE_COMMITS:-}; do
  copy_baseline "$commit" int4 --dtype f16 --quantize int4
done
# The baselines' compilers are built; their worktrees go.
for tree in "${LLAMAC_BASELINE_CACHE:-/tmp/llamac-baselines}"/*/tree; do
  [ -d "$tree" ] && git -C "$root" worktree remove --force "$tree"
done
mkdir -p "$out/bench"
cp "$shared/bench/hf_decode_baseline.py" "$out/bench/"

# Every CPU reference artifact bundles libomp.so.5 (1.2 MB); one copy in
# lib/, which check.sh puts on LD_LIBRARY_PATH, serves them all and keeps
# .device within what a GPU run carries.
for bundled in "$out"/artifacts/*.lmc/libomp.so.5; do
  cp -n "$bundled" "$out/lib/libomp.so.5"
  rm "$bundled"
done

# A GPU run carries the working tree and .device, 64 MiB in all; a MiB is
# left for what the transfer adds.
tree_bytes=$(cd "$root" && git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
device_bytes=$(du -sb "$out" | cut -f1)
total_kib=$(((tree_bytes + device_bytes) / 1024))
echo ".device $((device_bytes / 1024)) KiB, with the tree $total_kib KiB"
if [ "$total_kib" -gt $((63 * 1024)) ]; then
  echo "error: .device and the tree are $((total_kib / 1024)) MiB, over the 63 MiB a GPU run carries" >&2
  exit 1
fi
echo "ready: run  bash bench/device/check.sh  or  bash bench/device/bench.sh  on the GPU machine (carry .device)"
