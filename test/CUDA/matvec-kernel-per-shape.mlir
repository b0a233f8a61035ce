// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16" | FileCheck %s

// Kernels are shared by name and a matvec kernel has its output features
// built in: two matmuls with the same K but different N (o_proj and lm_head
// of every Llama) must get two kernels, each bounding and striding its own
// output by its own N.
//
// Both have far fewer blocks than matvec-min-blocks, so their rows are
// split (split-K, `_s4`): the four warps of a feature each take 8 of its 32
// weights; lane 0 of each leaves its dot product in shared memory, and
// after the block's barrier (outside the warps' branch) lane 0 of the
// feature's first warp adds the four in order and stores the sum.

module attributes {llama.model = {max_batch = 1 : i64, max_seq = 16 : i64}} {
  llama.weight_decl @proj : tensor<32x32xf32>
  llama.weight_decl @head : tensor<64x32xf32>

  // CHECK-LABEL: func.func @decode
  // CHECK: gpu.launch_func async [%{{.*}}] @llama_kernels::@matvec_f16_k32_n32_v8_s4
  // CHECK: gpu.launch_func async [%{{.*}}] @llama_kernels::@matvec_f16_k32_n64_v8_s4
  func.func @decode(%table: !llvm.ptr {llama.weight_table}, %x: memref<?x1x32xf32>,
                    %out: memref<?x1x64xf32>) {
    %in = bufferization.to_tensor %x restrict : memref<?x1x32xf32> to tensor<?x1x32xf32>
    %p = llama.weight @proj : tensor<32x32xf32>
    %y = llama.matmul %in, %p : tensor<?x1x32xf32>, tensor<32x32xf32> -> tensor<?x1x32xf32>
    %h = llama.weight @head : tensor<64x32xf32>
    %z = llama.matmul %y, %h : tensor<?x1x32xf32>, tensor<64x32xf32> -> tensor<?x1x64xf32>
    bufferization.materialize_in_destination %z in writable %out
        : (tensor<?x1x64xf32>, memref<?x1x64xf32>) -> ()
    return
  }

  // CHECK: gpu.func @matvec_f16_k32_n32_v8_s4(
  // CHECK-SAME: workgroup(%[[DOTS:.*]] : memref<8xf32, #gpu.address_space<workgroup>>
  // CHECK:   %[[WARP:.*]] = arith.divui %{{.*}}, %c32
  // CHECK:   %[[FEATURE:.*]] = arith.divui %[[WARP]], %c4
  // CHECK:   %[[SLICE:.*]] = arith.remui %[[WARP]], %c4
  // CHECK:   %[[SLICE_START:.*]] = arith.muli %[[SLICE]], %c8
  // CHECK:   %[[IN_RANGE:.*]] = arith.cmpi ult, %{{.*}}, %c32
  // CHECK:   scf.if %[[IN_RANGE]] {
  // CHECK:     %[[SLICE_END:.*]] = arith.addi %[[SLICE_START]], %c8
  // CHECK:     scf.for %{{.*}} = %{{.*}} to %[[SLICE_END]] step %c256
  // CHECK:       vector.fma
  // CHECK:     gpu.shuffle  xor
  // CHECK:     scf.if
  // CHECK:       memref.store %{{.*}}, %[[DOTS]]
  // CHECK:   gpu.barrier
  // CHECK:   scf.if
  // CHECK-COUNT-4: memref.load %[[DOTS]]
  // CHECK:     memref.store
  // CHECK:   gpu.return
  // CHECK: gpu.func @matvec_f16_k32_n64_v8_s4(
  // CHECK:   arith.cmpi ult, %{{.*}}, %c64
}
