// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16 fold-prefill-rope=true" | FileCheck %s
// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16 fold-prefill-rope=true prefill-tensor-cores=attention" | FileCheck %s --check-prefix=ROPE-QKV
// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16" | FileCheck %s --check-prefix=ROPE-QKV

// A prefill layer's attention cut down to its input norm, the q/k/v
// projection and the attention on the tensor cores. With fold-prefill-rope
// (off by default: slower on Hopper, bench/NOTES.md v12), the projection's
// GEMM does rope_qkv's work in its epilogue: it rotates the queries in place and
// writes keys and values into layer 1 of the cache (its offset, 2 halves of
// 1 x 2 x 64 x 16 elements, is the epilogue's last argument before the
// rows), with the cosines and sines rope_angles computes once per prefill
// (a block per token, a thread per pair). The attention reads the GEMM's
// queries; no rope_qkv runs. With the projection on the CUDA cores, or
// fold-prefill-rope off, rope_qkv runs after the GEMM.

// CHECK-LABEL: func.func @prefill
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@rms_norm_f16_h64_out_f16
// CHECK:       %[[QUERIES:.*]] = memref.view {{.*}} to memref<?x?x64xf16>
// CHECK:       %[[ANGLES:.*]] = memref.collapse_shape {{.*}} : memref<?x?x8x2xf32> into memref<?xf32>
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@rope_angles_d16_{{[a-z0-9_]+}} blocks in ({{.*}}) threads in (%c8
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@gemm_f16_k64_n64x32x32_t128x128w4_out_f16_rope_f16_h4_kv2_d16_s64_b1_prefill
// CHECK-SAME:  args(%{{.*}} : memref<?xf16>, %{{.*}} : memref<?xf16>, %{{.*}} : memref<?xf16>, %{{.*}} : memref<?xf16>, %{{.*}} : memref<?xf16>, %[[CACHE:.*]] : memref<?xf16>, %[[CACHE]] : memref<?xf16>, %[[ANGLES]] : memref<?xf32>, %{{.*}} : index, %{{.*}} : index, %c4096 : index, %{{.*}} : index)
// CHECK-NOT:   rope_qkv
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@attention_f16_h4_kv2_d16_s64_b1_prefill_mma

// The epilogue: the tile staged in shared memory between two barriers,
// then a pair (i, i + 8) of a head a thread at a time: values (group 2)
// keep theirs, queries (group 0) go where the GEMM's output goes.
// CHECK:       gpu.func @gemm_f16_k64_n64x32x32_t128x128w4_out_f16_rope_f16_h4_kv2_d16_s64_b1_prefill
// CHECK:         nvvm.mma.sync
// CHECK:         gpu.barrier
// CHECK:         vector.store %{{.*}} : memref<{{[0-9]+}}xf16, #gpu.address_space<workgroup>>, vector<2xf16>
// CHECK:         gpu.barrier
// CHECK:         vector.load %{{.*}} : memref<?xf32>, vector<2xf32>
// CHECK-NOT:     math.cos
// CHECK:         gpu.return

// ROPE-QKV-NOT: rope_angles
// ROPE-QKV:     gpu.launch_func async [%{{.*}}] @llama_kernels::@rope_qkv_f16_h4_kv2_d16_s64_b1_prefill
// ROPE-QKV:     gpu.launch_func async [%{{.*}}] @llama_kernels::@attention_f16_h4_kv2_d16_s64_b1_prefill_mma
module attributes {llama.model = {max_batch = 1 : i64, max_seq = 64 : i64}} {
  llama.weight_decl @norm : tensor<64xf16>
  llama.weight_decl @q : tensor<64x64xf16>
  llama.weight_decl @k : tensor<32x64xf16>
  llama.weight_decl @v : tensor<32x64xf16>

  func.func @prefill(%table: !llvm.ptr {llama.weight_table}, %in: memref<?x?x64xf32>,
                     %pos: memref<?x?xi32>, %first: memref<?xi32>,
                     %cache: memref<2x2x1x2x64x16xf32>, %start: index,
                     %out: memref<?x?x64xf32>) {
    %x = bufferization.to_tensor %in restrict : memref<?x?x64xf32> to tensor<?x?x64xf32>
    %p = bufferization.to_tensor %pos restrict : memref<?x?xi32> to tensor<?x?xi32>
    %f = bufferization.to_tensor %first restrict : memref<?xi32> to tensor<?xi32>
    %w = llama.weight @norm : tensor<64xf16>
    %n = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
    %wq = llama.weight @q : tensor<64x64xf16>
    %wk = llama.weight @k : tensor<32x64xf16>
    %wv = llama.weight @v : tensor<32x64xf16>
    %q, %k, %v = llama.multi_matmul %n, %wq, %wk, %wv : tensor<?x?x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>, tensor<32x64xf16> -> tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %a = llama.attention %q, %k, %v, %p, %f, %cache[%start] {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<2x2x1x2x64x16xf32>
    bufferization.materialize_in_destination %a in writable %out
        : (tensor<?x?x64xf32>, memref<?x?x64xf32>) -> ()
    return
  }
}
