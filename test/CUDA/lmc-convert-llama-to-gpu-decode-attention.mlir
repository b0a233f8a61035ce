// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16" | FileCheck %s

// A decode step's attention (one token per row): one launch of the split
// attention, a block per (chunk, head, row), which writes the attention's
// output itself. The block that finishes a (head, row) last combines its
// chunks: it counts its arrival in a zeroed device global of one count per
// head and cache row (max_batch 2 x 4 heads), after a fence and a barrier,
// resets the count when it is the last (2 chunks of a 64-slot cache), and
// fences again before it reads the other chunk's partial results.
// The positions, first slots and cache are marked llama.invariant (no earlier
// kernel of a decode call writes what it reads of them, see
// lmc-gpu-dependent-launch): the first passes' key and value rows are loaded
// before anything else; the block that writes the new slot also leaves it,
// rounded to f16, in a shared row that those passes take it from.
// The attention's result is the kernel's last buffer, before layer 1's
// offset in the cache and the scale.

// CHECK-LABEL: func.func @decode
// CHECK-SAME:  %[[OUT:[^:]*]]: memref<?x1x64xf32>)
// CHECK:       %[[FLAT:.*]] = memref.collapse_shape %[[OUT]]
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@attention_split_f16_h4_kv2_d16_s64_b2_decode_c32
// CHECK-SAME:  blocks in (%c2, %c4, %{{[a-z0-9_]+}}) threads in (%c128, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}})
// CHECK-SAME:  args(%{{.*}} : memref<?xf32>, {{.*}}, %[[FLAT]] : memref<?xf32>, %c8192 : index, %{{.*}} : f32)
// CHECK-NOT:   gpu.launch_func
// CHECK:       return

// CHECK:       memref.global "private" @attention_arrivals_h4_b2 : memref<8xi32> = dense<0> {alignment = 16 : i64}
// CHECK:       gpu.func @attention_split_f16_h4_kv2_d16_s64_b2_decode_c32
// CHECK-SAME:    %{{[^:]*}}: memref<?xi32> {llama.invariant}, %{{[^:]*}}: memref<?xi32> {llama.invariant}, %[[CACHE:[^:]*]]: memref<?xf16> {llama.invariant},
// CHECK-SAME:    %[[STATS:[^:]*]]: memref<?xf32>, %[[RESULT:[^:]*]]: memref<?xf32>, %{{[^:]*}}: index, %{{[^:]*}}: f32)
// CHECK-SAME:    %[[FLAG:[^ ]*]] : memref<1xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[NEW:[^ ]*]] : memref<32xf32, #gpu.address_space<workgroup>>
// CHECK-NOT:     memref.store
// CHECK-COUNT-8: vector.load %[[CACHE]]
// CHECK:         scf.if
// CHECK:           memref.store %{{.*}}, %[[CACHE]]
// CHECK:           arith.truncf
// CHECK-NEXT:      arith.extf
// CHECK:           memref.store %{{.*}}, %[[NEW]]
// CHECK:         vector.load %[[NEW]]
// CHECK:         memref.store %{{.*}}, %[[STATS]]
// CHECK:         %[[COUNTS:.*]] = memref.get_global @attention_arrivals_h4_b2 : memref<8xi32>
// CHECK-NEXT:    nvvm.memory.barrier <gpu>
// CHECK-NEXT:    gpu.barrier
// CHECK:         %[[BEFORE:.*]] = memref.atomic_rmw addi %{{.*}}, %[[COUNTS]][%[[HEAD:.*]]] : (i32, memref<8xi32>) -> i32
// CHECK:         %[[LAST:.*]] = arith.cmpi eq, %[[BEFORE]], %{{.*}} : i32
// CHECK:         memref.store %{{.*}}, %[[FLAG]][%{{.*}}]
// CHECK:         scf.if %[[LAST]] {
// CHECK:           memref.store %{{.*}}, %[[COUNTS]][%[[HEAD]]] : memref<8xi32>
// CHECK:         gpu.barrier
// CHECK:         %[[SEEN:.*]] = memref.load %[[FLAG]][%{{.*}}]
// CHECK:         %[[COMBINES:.*]] = arith.cmpi ne, %[[SEEN]], %{{.*}} : i32
// CHECK:         scf.if %[[COMBINES]] {
// CHECK-NEXT:      nvvm.memory.barrier <gpu>
// CHECK-COUNT-4:   memref.load %[[STATS]]
// CHECK-COUNT-2:   memref.load
// CHECK:           math.exp
// CHECK:           scf.if
// CHECK:             memref.store %{{.*}}, %[[RESULT]]
// CHECK:         gpu.return
module attributes {llama.model = {max_batch = 2 : i64, max_seq = 64 : i64}} {
  func.func @decode(%table: !llvm.ptr {llama.weight_table}, %query: memref<?x1x64xf32>,
                    %key: memref<?x1x32xf32>, %value: memref<?x1x32xf32>,
                    %pos: memref<?x1xi32>, %first: memref<?xi32>,
                    %cache: memref<2x2x2x2x64x16xf16>, %out: memref<?x1x64xf32>) {
    %c0 = arith.constant 0 : index
    %q = bufferization.to_tensor %query restrict : memref<?x1x64xf32> to tensor<?x1x64xf32>
    %k = bufferization.to_tensor %key restrict : memref<?x1x32xf32> to tensor<?x1x32xf32>
    %v = bufferization.to_tensor %value restrict : memref<?x1x32xf32> to tensor<?x1x32xf32>
    %p = bufferization.to_tensor %pos restrict : memref<?x1xi32> to tensor<?x1xi32>
    %f = bufferization.to_tensor %first restrict : memref<?xi32> to tensor<?xi32>
    %a = llama.attention %q, %k, %v, %p, %f, %cache[%c0] {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32} : tensor<?x1x64xf32>, tensor<?x1x32xf32>, tensor<?x1xi32>, tensor<?xi32>, memref<2x2x2x2x64x16xf16>
    bufferization.materialize_in_destination %a in writable %out
        : (tensor<?x1x64xf32>, memref<?x1x64xf32>) -> ()
    return
  }
}
