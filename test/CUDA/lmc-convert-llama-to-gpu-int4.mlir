// RUN: llamac-opt %s --split-input-file --lmc-convert-llama-to-gpu="compute-dtype=f16" --verify-diagnostics | FileCheck %s

// An int4 weight [96, 64] in groups of 32 reaches its matrix-vector kernel as
// the bytes of runtime/ModelABI.h's layout: 96 * 64 / 2 = 3072 bytes of
// codes, then 96 * 2 float16 scales and as many minimums (3840 bytes). Each
// lane loads 4 bytes of codes (8 elements) and, from float16 views of the
// scales and minimums after the codes, its group's scale and minimum; it
// decodes the codes before multiplying: code j, bits 4j of the little-endian
// word (codes 5-7 after a shift of the word by 12), is masked in place at bit
// p, ORed into the bits of 2^23 and made the float32 code by one FMA by 2^-p
// and -2^(23-p); the weight is then code * scale + min. The module records
// the weight's group size for the host, which quantizes it.

// CHECK: module attributes {gpu.container_module, llama.int4_weights = {proj = 32 : i64}
// CHECK-LABEL: func.func @decode
// CHECK:   %[[SLOT:.*]] = llvm.getelementptr %{{.*}}[1]
// CHECK:   llvm.load %[[SLOT]]
// CHECK:   llvm.mlir.constant(3840 : i64)
// CHECK:   gpu.launch_func async [%{{.*}}] @llama_kernels::@matvec_f16_k64_n96_v8_q4g32 blocks
// CHECK: gpu.func @matvec_f16_k64_n96_v8_q4g32(%{{.*}}: memref<?xf32>, %[[CODES:.*]]: memref<?xi8> {llama.invariant}, %{{.*}}: memref<?xf32>, %{{.*}}: index)
// CHECK-DAG:   %[[SCALES:.*]] = memref.view %[[CODES]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?xf16>
// CHECK-DAG:   %[[MINIMUMS:.*]] = memref.view %[[CODES]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?xf16>
// CHECK:   %[[BYTES:.*]] = vector.load %[[CODES]][%{{.*}}] {alignment = 4 : i64} : memref<?xi8>, vector<4xi8>
// CHECK:   %[[WORD:.*]] = vector.bitcast %[[BYTES]] : vector<4xi8> to vector<1xi32>
// CHECK:   memref.load %[[SCALES]]
// CHECK:   memref.load %[[MINIMUMS]]
// CHECK-DAG:   %[[MASKS:.*]] = arith.constant dense<[15, 240, 3840, 61440, 983040, 3840, 61440, 983040]> : vector<8xi32>
// CHECK-DAG:   %[[SHIFTS:.*]] = arith.constant dense<[0, 0, 0, 0, 0, 12, 12, 12]> : vector<8xi32>
// CHECK:   %[[SHIFTED:.*]] = arith.shrui %{{.*}}, %[[SHIFTS]] : vector<8xi32>
// CHECK:   %[[PLACED:.*]] = arith.andi %[[SHIFTED]], %[[MASKS]] : vector<8xi32>
// CHECK:   %[[TWO_TO_23:.*]] = arith.constant dense<1258291200> : vector<8xi32>
// CHECK:   %[[BIASED:.*]] = arith.ori %[[PLACED]], %[[TWO_TO_23]] : vector<8xi32>
// CHECK:   %[[FLOATS:.*]] = arith.bitcast %[[BIASED]] : vector<8xi32> to vector<8xf32>
// CHECK-DAG:   %[[BIASES:.*]] = arith.constant dense<[0xCB000000, -5.242880e+05, -3.276800e+04, -2.048000e+03, -1.280000e+02, -3.276800e+04, -2.048000e+03, -1.280000e+02]> : vector<8xf32>
// CHECK-DAG:   %[[UNITS:.*]] = arith.constant dense<[1.000000e+00, 6.250000e-02, 3.906250e-03, 2.44140625E-4, 1.52587891E-5, 3.906250e-03, 2.44140625E-4, 1.52587891E-5]> : vector<8xf32>
// CHECK:   %[[CODE:.*]] = vector.fma %[[FLOATS]], %[[UNITS]], %[[BIASES]] : vector<8xf32>
// CHECK:   %[[WEIGHT:.*]] = vector.fma %[[CODE]], %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK:   vector.fma %{{.*}}, %[[WEIGHT]], %{{.*}} : vector<8xf32>
module attributes {llama.model = {max_batch = 1 : i64, max_seq = 16 : i64}} {
  llama.weight_decl @embed : tensor<96x64xf32>
  llama.weight_decl @proj : tensor<96x64xi4, #llama.int4<group_size = 32>>

  func.func @decode(%table: !llvm.ptr {llama.weight_table}, %tokens: memref<?x1xi32>,
                    %out: memref<?x1x96xf32>) {
    %ids = bufferization.to_tensor %tokens restrict : memref<?x1xi32> to tensor<?x1xi32>
    %e = llama.weight @embed : tensor<96x64xf32>
    %x = llama.embedding %e[%ids] : tensor<96x64xf32>, tensor<?x1xi32> -> tensor<?x1x64xf32>
    %w = llama.weight @proj : tensor<96x64xi4, #llama.int4<group_size = 32>>
    %y = llama.matmul %x, %w : tensor<?x1x64xf32>, tensor<96x64xi4, #llama.int4<group_size = 32>> -> tensor<?x1x96xf32>
    bufferization.materialize_in_destination %y in writable %out
        : (tensor<?x1x96xf32>, memref<?x1x96xf32>) -> ()
    return
  }
}

// -----

// Prefill's tensor-core GEMM reads the int4 weight decoded to float16 in the
// scratch arena (96 * 64 halves) by a kernel launched before it: a thread
// decodes 8 elements, loading them before the grid dependency wait, even past
// the end (clamped), and stores them as one 16-byte vector. The GEMM's
// weights are that scratch, so they are not marked invariant.

// CHECK-LABEL: func.func @prefill
// CHECK:   %[[DECODED:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<?xi8> to memref<6144xf16>
// CHECK:   %[[FLAT:.*]] = memref.cast %[[DECODED]]
// CHECK:   %[[DONE:.*]] = gpu.launch_func async [%{{.*}}] @llama_kernels::@dequantize_q4g32_n96_k64
// CHECK-SAME: args(%{{.*}} : memref<?xi8>, %[[FLAT]] : memref<?xf16>)
// CHECK:   gpu.launch_func async [%[[DONE]]] @llama_kernels::@gemm_f16_k64_n96_t128x128w4_dequantized
// CHECK-SAME: %[[FLAT]] : memref<?xf16>
// CHECK: gpu.func @dequantize_q4g32_n96_k64(%[[CODES:.*]]: memref<?xi8> {llama.invariant}, %[[HALVES:.*]]: memref<?xf16>) kernel
// CHECK:   arith.select
// CHECK:   vector.load %[[CODES]]
// CHECK:   scf.if
// CHECK:     vector.fma
// CHECK:     arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK:     vector.store %{{.*}}, %[[HALVES]][%{{.*}}] {alignment = 16 : i64}
// CHECK: gpu.func @gemm_f16_k64_n96_t128x128w4_dequantized(%{{.*}}: memref<?xf16>, %{{.*}}: memref<?xf16>, %{{.*}}: memref<?xf32>, %{{.*}}: index) kernel
module attributes {llama.model = {max_batch = 1 : i64, max_seq = 16 : i64}} {
  llama.weight_decl @embed : tensor<96x64xf32>
  llama.weight_decl @norm : tensor<64xf32>
  llama.weight_decl @proj : tensor<96x64xi4, #llama.int4<group_size = 32>>

  func.func @prefill(%table: !llvm.ptr {llama.weight_table}, %tokens: memref<?x?xi32>,
                     %out: memref<?x?x96xf32>) {
    %ids = bufferization.to_tensor %tokens restrict : memref<?x?xi32> to tensor<?x?xi32>
    %e = llama.weight @embed : tensor<96x64xf32>
    %x = llama.embedding %e[%ids] : tensor<96x64xf32>, tensor<?x?xi32> -> tensor<?x?x64xf32>
    %g = llama.weight @norm : tensor<64xf32>
    %n = llama.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : tensor<?x?x64xf32>, tensor<64xf32>
    %w = llama.weight @proj : tensor<96x64xi4, #llama.int4<group_size = 32>>
    %y = llama.matmul %n, %w : tensor<?x?x64xf32>, tensor<96x64xi4, #llama.int4<group_size = 32>> -> tensor<?x?x96xf32>
    bufferization.materialize_in_destination %y in writable %out
        : (tensor<?x?x96xf32>, memref<?x?x96xf32>) -> ()
    return
  }
}

// -----

// A group must hold whole kernel vectors of 8 codes.
module attributes {llama.model = {max_batch = 1 : i64, max_seq = 16 : i64}} {
  // expected-error @+1 {{has int4 groups of 4: the CUDA kernels read 8 codes at a time, so the group size must be a multiple of 8}}
  llama.weight_decl @proj : tensor<96x64xi4, #llama.int4<group_size = 4>>
}

// -----

// One kernel reads q, k and v alike: their group sizes must agree.
module attributes {llama.model = {max_batch = 1 : i64, max_seq = 16 : i64}} {
  llama.weight_decl @embed : tensor<96x64xf32>
  llama.weight_decl @q : tensor<64x64xi4, #llama.int4<group_size = 32>>
  llama.weight_decl @k : tensor<32x64xi4, #llama.int4<group_size = 16>>

  func.func @decode(%table: !llvm.ptr {llama.weight_table}, %tokens: memref<?x1xi32>,
                    %out: memref<?x1x64xf32>) {
    %ids = bufferization.to_tensor %tokens restrict : memref<?x1xi32> to tensor<?x1xi32>
    %e = llama.weight @embed : tensor<96x64xf32>
    %x = llama.embedding %e[%ids] : tensor<96x64xf32>, tensor<?x1xi32> -> tensor<?x1x64xf32>
    %wq = llama.weight @q : tensor<64x64xi4, #llama.int4<group_size = 32>>
    %wk = llama.weight @k : tensor<32x64xi4, #llama.int4<group_size = 16>>
    // expected-error @+1 {{reads weights of different int4 group sizes in one kernel}}
    %q, %k = llama.multi_matmul %x, %wq, %wk : tensor<?x1x64xf32>, tensor<64x64xi4, #llama.int4<group_size = 32>>, tensor<32x64xi4, #llama.int4<group_size = 16>> -> tensor<?x1x64xf32>, tensor<?x1x32xf32>
    bufferization.materialize_in_destination %q in writable %out
        : (tensor<?x1x64xf32>, memref<?x1x64xf32>) -> ()
    return
  }
}
