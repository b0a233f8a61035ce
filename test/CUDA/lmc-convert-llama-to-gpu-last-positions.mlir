// RUN: llamac-opt %s --lmc-convert-llama-to-gpu="compute-dtype=f16" | FileCheck %s

// A prefill's last layer cut down to a GEMM that widens its rows, the copy of
// the positions the output holds (its dimension 1), the GEMM that projects
// them back and the norm that adds them to the residual stream's kept
// positions. A kept row is copied in the dtype its reader multiplies (f16
// for the GEMM), the residual stream's in float32, and the GEMM after the
// copy runs on the kept rows only.

// CHECK-LABEL: func.func @prefill
// CHECK-SAME:  (%{{.*}}: !llvm.ptr {llama.weight_table}, %[[IN:[^:]*]]: memref<?x?x32xf32>, %[[OUT:[^:]*]]: memref<?x?x32xf32>)
// CHECK:       %[[KEPT:.*]] = memref.dim %[[OUT]], %c1
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@rms_norm_f16_h32_out_f16
// CHECK:       %[[WIDE:.*]] = memref.view {{.*}} to memref<?x?x96xf16>
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@gemm_f16_k32_n96_t128x128w4_out_f16
// CHECK:       %[[ROWS:.*]] = memref.view {{.*}}[%{{.*}}, %[[KEPT]]] : memref<?xi8> to memref<?x?x96xf16>
// CHECK:       %[[SEQ:.*]] = memref.dim %[[WIDE]], %c1
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@last_positions_h96_rows_f16
// CHECK-SAME:  args(%{{.*}} : memref<?xf16>, %{{.*}} : memref<?xf16>, %[[SEQ]] : index, %[[KEPT]] : index)
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@gemm_f16_k96_n32_t128x128w4_out_f16
// CHECK:       memref.view {{.*}}[%{{.*}}, %[[KEPT]]] : memref<?xi8> to memref<?x?x32xf32>
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@last_positions_h32{{ }}
// CHECK:       gpu.launch_func async [%{{.*}}] @llama_kernels::@add_rms_norm_f16_h32_in_f16{{ }}

// Block b * count + t copies row seq - count + t of batch row b.
// CHECK:       gpu.func @last_positions_h96_rows_f16(%[[FROM:.*]]: memref<?xf16>, %[[TO:.*]]: memref<?xf16>, %[[S:.*]]: index, %[[K:.*]]: index) kernel
// CHECK:         %[[BLOCK:.*]] = gpu.block_id x
// CHECK:         %[[B:.*]] = arith.divui %[[BLOCK]], %[[K]]
// CHECK:         %[[SKIPPED:.*]] = arith.subi %[[S]], %[[K]]
// CHECK:         %[[T:.*]] = arith.remui %[[BLOCK]], %[[K]]
// CHECK:         %[[P:.*]] = arith.addi %[[SKIPPED]], %[[T]]
// CHECK:         arith.muli %[[B]], %[[S]]
// CHECK:         memref.load %[[FROM]]
// CHECK:         memref.store %{{.*}}, %[[TO]]
module attributes {llama.model = {max_batch = 2 : i64, max_seq = 16 : i64}} {
  llama.weight_decl @norm : tensor<32xf32>
  llama.weight_decl @up : tensor<96x32xf32>
  llama.weight_decl @down : tensor<32x96xf32>

  func.func @prefill(%table: !llvm.ptr {llama.weight_table}, %in: memref<?x?x32xf32>,
                     %out: memref<?x?x32xf32>) {
    %c1 = arith.constant 1 : index
    %kept = memref.dim %out, %c1 : memref<?x?x32xf32>
    %x = bufferization.to_tensor %in restrict : memref<?x?x32xf32> to tensor<?x?x32xf32>
    %w = llama.weight @norm : tensor<32xf32>
    %n = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x32xf32>, tensor<32xf32>
    %u = llama.weight @up : tensor<96x32xf32>
    %h = llama.matmul %n, %u : tensor<?x?x32xf32>, tensor<96x32xf32> -> tensor<?x?x96xf32>
    %hk = llama.last_positions %h, %kept : tensor<?x?x96xf32> -> tensor<?x?x96xf32>
    %d = llama.weight @down : tensor<32x96xf32>
    %y = llama.matmul %hk, %d : tensor<?x?x96xf32>, tensor<32x96xf32> -> tensor<?x?x32xf32>
    %xk = llama.last_positions %x, %kept : tensor<?x?x32xf32> -> tensor<?x?x32xf32>
    %s, %r = llama.add_rms_norm %xk, %y, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x32xf32>, tensor<32xf32>
    bufferization.materialize_in_destination %r in writable %out
        : (tensor<?x?x32xf32>, memref<?x?x32xf32>) -> ()
    return
  }
}
