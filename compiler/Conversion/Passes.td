//===- Passes.td - llamac conversions -----------------------*- tablegen -*-===//
#ifndef LLAMAC_CONVERSION_PASSES_TD
#define LLAMAC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLlamaToCPU : Pass<"lmc-convert-llama-to-cpu", "mlir::ModuleOp"> {
  let summary = "lowers the llama dialect to loops over memrefs for CPUs";
  let description = [{
    Replaces every llama op with a buffer and the loops that fill it:
    `scf.parallel` over independent rows (OpenMP later), `scf.for` over
    reductions, vector arithmetic in the hot inner loops. Weights become
    memrefs over the pointers of the weight table the entry function
    receives (its argument marked `llama.weight_table`); the KV cache is
    updated in place.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "float32 lanes of the vector loops (16: AVX-512, 8: AVX2)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect", "mlir::LLVM::LLVMDialect",
  ];
}

def ConvertLlamaToGPU : Pass<"lmc-convert-llama-to-gpu", "mlir::ModuleOp"> {
  let summary = "lowers the fused llama dialect to GPU kernels and launches";
  let description = [{
    Builds `gpu.module @llama_kernels` with one `gpu.func` per op family and
    specialisation (matrix-vector for decode and tensor-core `nvvm.mma.sync`
    GEMMs for prefill, both with fused epilogues, RMSNorm, rotary
    embedding + KV-cache write, attention, embedding gather), and rewrites
    each entry function into asynchronous `gpu.launch_func` ops on a single
    stream over device buffers. Weights and the KV cache are read in
    `compute-dtype`; activations and accumulation stay float32. Scratch
    buffers are placed at fixed offsets of one arena whose size becomes the
    module attribute `llama.scratch_bytes`.
  }];
  let options = [
    Option<"computeDType", "compute-dtype", "std::string", /*default=*/"\"f32\"",
           "dtype of the weights and the KV cache on the device: f32, f16, bf16">,
    Option<"gemmTile", "gemm-tile", "std::string", /*default=*/"\"128x128/4\"",
           "output tile (rows x features, /warps when not 8) of a block of "
           "prefill's tensor-core GEMM: 128x128/4, 128x128, 64x128, 64x256, "
           "128x256, or with wgmma (f16, sm_90a) 128x128/wgmma or "
           "128x256/wgmma">,
    Option<"narrowGemmTile", "narrow-gemm-tile", "std::string", /*default=*/"\"\"",
           "the tile of the GEMMs whose outputs are no wider than their input "
           "(o_proj, down_proj); one of gemm-tile's, or empty for gemm-tile">,
    Option<"prefillTensorCores", "prefill-tensor-cores", "std::string",
           /*default=*/"\"all\"",
           "prefill kernels that use the tensor cores where the dtype allows: "
           "all, gemm, attention or none (the others take the CUDA cores)">,
    Option<"foldDecodeNorms", "fold-decode-norms", "bool", /*default=*/"true",
           "decode's matrix-vector kernels normalize their input row "
           "themselves (hidden <= 4096) instead of launching the RMSNorm "
           "kernel before them">,
    Option<"foldPrefillRope", "fold-prefill-rope", "bool", /*default=*/"false",
           "prefill's q/k/v GEMM rotates queries and keys and writes the "
           "cache in its epilogue where a tensor-core attention reads them, "
           "instead of a rope_qkv kernel per layer (measured slower on "
           "Hopper: bench/NOTES.md v12)">,
    Option<"matvecMinBlocks", "matvec-min-blocks", "int64_t", /*default=*/"1024",
           "decode's matrix-vector kernels with fewer blocks of 8 features "
           "than this share each weight row between 2, 4 or 8 warps "
           "(split-K) until they have as many; 0 never splits; int4 kernels "
           "keep whole rows">,
    Option<"int4Lanes", "int4-lanes", "int64_t", /*default=*/"8",
           "int4 codes a matrix-vector kernel's lane loads at once: 8, 16 or "
           "32 (one 4-, 8- or 16-byte load with one scale and minimum), "
           "fewer where the int4 group is smaller (16 and 32 measured slower: "
           "bench/NOTES.md v18)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect", "mlir::LLVM::LLVMDialect",
    "mlir::gpu::GPUDialect", "mlir::NVVM::NVVMDialect",
    "mlir::nvgpu::NVGPUDialect",
  ];
}

def ConvertGPUToCPUEmulation
    : Pass<"lmc-convert-gpu-to-cpu-emulation", "mlir::ModuleOp"> {
  let summary = "rewrites GPU kernels and launches into host code that a SIMT emulator runs";
  let description = [{
    For checking the CUDA lowering's kernels without a GPU (the
    `llamac-gpu-emulate` tool). Every `gpu.func` kernel of the module becomes
    `func.func @lmc_emu_kernel_<name>(!llvm.ptr)`: its arguments are read
    from an array of 64-bit words (a buffer's address, an index, a float's
    bits), its workgroup buffers become module globals (the emulator runs
    one block at a time), and the thread and block ids, `gpu.barrier` and
    `gpu.shuffle xor` become calls of `lmcEmuThreadId`, `lmcEmuBlockId`,
    `lmcEmuBarrier` and `lmcEmuShuffleXor`, and `nvvm.mma.sync` (m16n8k16,
    f16 or bf16, float32 accumulators) a call of `lmcEmuMma`, which gathers
    the fragments of the warp's lanes; `nvgpu.ldmatrix` (four 8 x 8
    matrices of 16-bit elements, transposed or not) a call of
    `lmcEmuLdMatrix`, which gathers the rows the lanes name, and
    `nvgpu.device_async_copy` a copy done at once (with its zero fill), so
    its groups and waits disappear. Every `gpu.launch_func` becomes
    a call of `lmcEmuLaunch(kernel number, words, grid x, y, z, block x)`,
    the kernels numbered in module order (the module attribute
    `lmc.emulated_kernels` lists their functions); `gpu.alloc` and `gpu.dealloc`
    become host allocations and `gpu.wait` disappears (the emulator runs
    each launch to completion). `nvvm.griddepcontrol` is dropped.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::func::FuncDialect",
    "mlir::memref::MemRefDialect", "mlir::LLVM::LLVMDialect",
    "mlir::vector::VectorDialect",
  ];
}

#endif // LLAMAC_CONVERSION_PASSES_TD
