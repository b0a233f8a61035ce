// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16" | FileCheck %s --check-prefixes=CHECK,FOLDED
// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16 fold-decode-norms=false" | FileCheck %s --check-prefixes=CHECK,UNFOLDED

// A decode step cut down to embedding -> rms_norm -> matmul: each op becomes
// an asynchronous launch on the stream of the function, the intermediates
// are views of one scratch arena, and the last matmul writes the output
// argument. By default the matmul normalizes its own input row: two
// launches and one buffer. Unfolded the norm is a kernel of its own, whose
// output reuses nothing (the embedding is still live).

// FOLDED:   module attributes {gpu.container_module, {{.*}}llama.scratch_bytes = 256 : i64}
// UNFOLDED: module attributes {gpu.container_module, {{.*}}llama.scratch_bytes = 512 : i64}
module attributes {llama.model = {max_batch = 2 : i64, max_seq = 16 : i64}} {
  llama.weight_decl @embed : tensor<64x32xf32>
  llama.weight_decl @norm : tensor<32xf32>
  llama.weight_decl @head : tensor<64x32xf32>

  // CHECK-LABEL: func.func @decode
  // CHECK:      %[[S0:.*]] = gpu.wait async
  // CHECK:      %[[ARENA:.*]], %[[S1:.*]] = gpu.alloc async [%[[S0]]] (%{{.*}}) : memref<?xi8>
  // CHECK:      memref.view %[[ARENA]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?x1x32xf32>
  // CHECK:      %[[S2:.*]] = gpu.launch_func async [%[[S1]]] @llama_kernels::@embedding_f16_h32
  // FOLDED-NOT:   memref.view
  // FOLDED:       %[[S4:.*]] = gpu.launch_func async [%[[S2]]] @llama_kernels::@matvec_f16_k32_n64_v8_s4_rmsnorm
  // UNFOLDED:     memref.view %[[ARENA]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?x1x32xf32>
  // UNFOLDED:     %[[S3:.*]] = gpu.launch_func async [%[[S2]]] @llama_kernels::@rms_norm_f16_h32
  // UNFOLDED:     %[[S4:.*]] = gpu.launch_func async [%[[S3]]] @llama_kernels::@matvec_f16_k32_n64_v8_s4{{ }}
  // CHECK-SAME:   blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}})
  // CHECK:      %[[S5:.*]] = gpu.dealloc async [%[[S4]]] %[[ARENA]]
  // CHECK:      gpu.wait [%[[S5]]]
  // CHECK-NOT:  llama.
  func.func @decode(%table: !llvm.ptr {llama.weight_table}, %tokens: memref<?x1xi32>,
                    %out: memref<?x1x64xf32>) {
    %ids = bufferization.to_tensor %tokens restrict : memref<?x1xi32> to tensor<?x1xi32>
    %e = llama.weight @embed : tensor<64x32xf32>
    %x = llama.embedding %e[%ids] : tensor<64x32xf32>, tensor<?x1xi32> -> tensor<?x1x32xf32>
    %w = llama.weight @norm : tensor<32xf32>
    %n = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x1x32xf32>, tensor<32xf32>
    %h = llama.weight @head : tensor<64x32xf32>
    %y = llama.matmul %n, %h : tensor<?x1x32xf32>, tensor<64x32xf32> -> tensor<?x1x64xf32>
    bufferization.materialize_in_destination %y in writable %out
        : (tensor<?x1x64xf32>, memref<?x1x64xf32>) -> ()
    return
  }

  // The kernels: one gpu.func per op family and specialisation.
  // CHECK: gpu.module @llama_kernels
  // CHECK: gpu.func @embedding_f16_h32(%{{.*}}: memref<?xf16>, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?xf32>) kernel
  // UNFOLDED: gpu.func @rms_norm_f16_h32({{.*}}) workgroup(%{{.*}} : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
  // UNFOLDED:   gpu.shuffle xor
  // UNFOLDED:   gpu.barrier
  // UNFOLDED:   math.rsqrt
  // UNFOLDED: gpu.func @matvec_f16_k32_n64_v8_s4(
  // The row (32 floats) and the reduction's scratch in shared memory; the
  // norm's weight is invariant like the matrix (lmc-gpu-dependent-launch).
  // FOLDED: gpu.func @matvec_f16_k32_n64_v8_s4_rmsnorm(%{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf16> {llama.invariant}, %{{.*}}: f32, %{{.*}}: memref<?xf16> {llama.invariant}, %{{.*}}: memref<?xf32>, %{{.*}}: index)
  // FOLDED-SAME:  workgroup(%[[ROW:.*]] : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
  // FOLDED-SAME:  kernel attributes {nvvm.maxntid = array<i32: 256, 1, 1>, nvvm.minctasm = 3 : i32}
  // FOLDED:   gpu.shuffle xor
  // FOLDED:   gpu.barrier
  // FOLDED:   math.rsqrt
  // FOLDED:   vector.store %{{.*}}, %[[ROW]]
  // FOLDED:   gpu.barrier
  // CHECK:   vector.load %{{.*}} {alignment = 16 : i64} : memref<?xf16>, vector<8xf16>
  // FOLDED:  vector.load %[[ROW]]
  // CHECK:   vector.fma
  // CHECK:   gpu.shuffle xor
}
