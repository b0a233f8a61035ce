//===- Passes.td - llamac fusion passes ---------------------*- tablegen -*-===//
#ifndef LLAMAC_TRANSFORMS_PASSES_TD
#define LLAMAC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeInt4 : Pass<"lmc-quantize-int4", "mlir::ModuleOp"> {
  let summary = "linear layers' weights -> 4-bit codes in groups (#llama.int4)";
  let description = [{
    Retypes every weight that is read only as the weight of linear ops
    (`llama.matmul`, `llama.multi_matmul`, `llama.swiglu`) to
    `tensor<out x in x i4, #llama.int4<group_size = G>>`: weight-only
    quantization, like torchao's `int4_weight_only` in Hugging Face. The
    runtime quantizes the float checkpoint tensor when it loads it and the
    lowering dequantizes as it reads. As in Hugging Face, the output head
    (the linear op whose result is written to the entry function's output:
    `lm_head`, `score`) keeps its dtype, and so do the embedding (also when
    the head is tied to it) and the norms. A group size that does not divide
    a quantized weight's input features is an error.
  }];
  let options = [
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "input features per scale and minimum (positive, even)">
  ];
  let dependentDialects = ["mlir::llama::LlamaDialect"];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Number of weights quantized">
  ];
}

def FuseRMSNorm : Pass<"lmc-fuse-rmsnorm", "mlir::func::FuncOp"> {
  let summary = "x * rsqrt(mean(x^2) + eps) * w -> llama.rms_norm";
  let description = [{
    Matches `mul(mul(x, rsqrt(add(mean(mul(x, x)), eps))), w)`, the
    commutative operands in either order, where `eps` is a positive scalar
    constant and `w` is a rank-1 `llama.weight` as long as the last dimension
    of `x`, read directly or through its float32 `llama.cast`. The fused op
    takes the weight in its storage type.
  }];
  let dependentDialects = ["mlir::llama::LlamaDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of RMSNorm chains fused">
  ];
}

def FuseAttention : Pass<"lmc-fuse-attention", "mlir::func::FuncOp"> {
  let summary = "RoPE + KV-cache write + softmax(QK^T * scale + mask) V -> llama.attention";
  let description = [{
    Matches the attention block from the three `[batch, seq, features]`
    projections to the `[batch, seq, heads * head_dim]` output: head split,
    rotary embedding of queries and keys, the layer's cache write and cache
    reads, `repeat_kv`, scaled scores plus a `llama.attention_mask`, softmax
    and the product with the values. The fused op owns the cache update, so
    the absorbed `llama.cache_write` and `llama.cache_read` ops are erased.
  }];
  let dependentDialects = ["mlir::llama::LlamaDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of attention blocks fused">
  ];
}

def FuseSwiGLU : Pass<"lmc-fuse-swiglu", "mlir::func::FuncOp"> {
  let summary = "silu(x W_gate^T) * (x W_up^T) -> llama.swiglu";
  let description = [{
    Matches `mul(silu(matmul(x, gate)), matmul(x, up))`, the product's
    operands in either order, when `gate` and `up` have one type.
  }];
  let dependentDialects = ["mlir::llama::LlamaDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of SwiGLU blocks fused">
  ];
}

def FuseQKV : Pass<"lmc-fuse-qkv", "mlir::func::FuncOp"> {
  let summary = "projections of one input -> one llama.multi_matmul";
  let description = [{
    Groups the used `llama.matmul`s of one input whose weights share the
    element type and in_features into one `llama.multi_matmul`. Run it after
    `lmc-fuse-swiglu`, which takes the gate and up projections first; in a
    decoder layer the remaining group is q, k and v.
  }];
  let dependentDialects = ["mlir::llama::LlamaDialect"];
  let statistics = [
    Statistic<"numGroups", "num-groups", "Number of llama.multi_matmul ops created">,
    Statistic<"numMatmulsFused", "num-matmuls-fused",
              "Number of llama.matmul ops merged into them">
  ];
}

def FuseResidualNorm : Pass<"lmc-fuse-residual-norm", "mlir::func::FuncOp"> {
  let summary = "residual add followed by llama.rms_norm -> llama.add_rms_norm";
  let description = [{
    Matches a `llama.rms_norm` of a same-type `llama.add`; other users of the
    sum read the fused op's `sum` result. Run it after `lmc-fuse-rmsnorm`.
  }];
  let dependentDialects = ["mlir::llama::LlamaDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of residual adds fused into RMSNorm">
  ];
}

def GpuDependentLaunch : Pass<"lmc-gpu-dependent-launch", "mlir::gpu::GPUModuleOp"> {
  let summary = "Every kernel lets its successor launch, then waits for its predecessor's grid";
  let description = [{
    Starts every `gpu.func` kernel with `nvvm.griddepcontrol
    launch_dependents` and puts `griddepcontrol.wait` before the first
    top-level operation of its entry block that does anything with memory
    but read an argument marked `llama.invariant` (memory no earlier kernel
    of the call writes where this one reads it: the weights, which no
    kernel writes; decode attention's positions and KV cache) and write the
    block's own workgroup buffers (a GEMM's cp.async copies of weight chunks
    into shared memory). Launched with programmatic stream serialization (the
    runtime's dependent launch), a kernel's blocks are then scheduled while
    the previous kernel is still running: they issue their weight loads and
    wait until that kernel has finished and its writes are visible. The
    launch latency between the hundreds of small kernels of a decode step,
    and the first round of each matrix-vector kernel's weight loads,
    overlap the previous kernel instead of following it. Releasing the
    successor before the wait is safe: a grid is released only once all its
    blocks are resident, and its wait also covers the grids before it.

    The wait is inline assembly that clobbers memory (as CUTLASS writes it):
    LLVM models the NVVM intrinsic as touching no memory and moves loads
    across it. Launched without the attribute, both instructions do nothing.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect"];
}

def LLVMLoopAnnotations : Pass<"lmc-llvm-loop-annotations"> {
  let summary = "Makes the loop annotations that reach llvm.br as discardable attributes its loop_annotation";
  let description = [{
    `convert-scf-to-cf` moves an `scf.for`'s `llvm.loop_annotation`
    attribute to the loop's back edge, and `cf.br` becomes `llvm.br` with it
    as a discardable attribute, which translation to LLVM IR ignores. This
    pass moves it into the branch's `loop_annotation`, so the loop gets its
    `!llvm.loop` metadata (the tensor-core GEMM's slice loop asks LLVM not
    to unroll it).
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def ExternDynamicShared : Pass<"lmc-extern-dynamic-shared"> {
  let summary = "Gives the dynamic shared memory globals external linkage, "
                "aligned to 1 KiB";
  let description = [{
    `convert-gpu-to-nvvm` lowers `gpu.dynamic_shared_memory` to an
    `internal` zero-length global in the shared address space, which the
    NVPTX backend prints as a one-byte static `.shared` variable: its address
    is then not the start of the dynamic shared memory. CUDA declares that as
    `extern __shared__ T name[]`, an `external` global that NVPTX prints as
    `.extern .shared .b8 name[]`; this pass makes the lowered globals so.

    It also aligns them to 1024 bytes: wgmma's 128-byte swizzle permutes
    address bits 4-6 by bits 7-9, so the 1 KiB atoms of the operands it
    reads must start at multiples of 1 KiB, and the kernels place them at
    such offsets from the start.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // LLAMAC_TRANSFORMS_PASSES_TD
