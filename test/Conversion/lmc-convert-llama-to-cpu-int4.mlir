// RUN: llamac-opt %s --split-input-file --verify-diagnostics --lmc-convert-llama-to-cpu | FileCheck %s
// The lowered IR is valid input for the rest of the CPU pipeline.
// RUN: llamac-opt %s --split-input-file --verify-diagnostics --lmc-convert-llama-to-cpu --lmc-cpu-to-llvm-pipeline -o /dev/null

// An int4 weight's table slot holds one buffer: codes [out, in / 2] bytes,
// then the f16 scales and the f16 minimums, [out, in / group] each. The
// kernels view the three parts and dequantize as they load: the vector loop's
// two vectors of 16 weights are one 16-byte load, split into low and high
// nibbles and interleaved back into input order; each is its code times the
// group's scale plus its minimum, in one FMA, with the scale and minimum
// loaded once for both (a group of 32 spans them) and broadcast.
// CHECK-LABEL: func.func @wide_groups
// CHECK: %[[BUF:.*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<3840xi8>
// CHECK: %[[CODES:.*]] = memref.view %[[BUF]][%{{.*}}][] : memref<3840xi8> to memref<96x32xi8>
// CHECK: %[[C3072:.*]] = arith.constant 3072 : index
// CHECK: %[[SCALES:.*]] = memref.view %[[BUF]][%[[C3072]]][] : memref<3840xi8> to memref<96x2xf16>
// CHECK: %[[C3456:.*]] = arith.constant 3456 : index
// CHECK: %[[MINS:.*]] = memref.view %[[BUF]][%[[C3456]]][] : memref<3840xi8> to memref<96x2xf16>
// CHECK: scf.parallel
// CHECK: memref.load %[[SCALES]]
// CHECK: %[[SCALEV:.*]] = vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK: memref.load %[[MINS]]
// CHECK: %[[MINV:.*]] = vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK: %[[BYTES:.*]] = vector.load %[[CODES]][%{{.*}}, %{{.*}}] : memref<96x32xi8>, vector<16xi8>
// CHECK: %[[LOW:.*]] = arith.andi %[[BYTES]], %{{.*}} : vector<16xi8>
// CHECK: %[[HIGH:.*]] = arith.shrui %[[BYTES]], %{{.*}} : vector<16xi8>
// CHECK: %[[Q0:.*]] = vector.shuffle %[[LOW]], %[[HIGH]] [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23] : vector<16xi8>, vector<16xi8>
// CHECK: %[[Q1:.*]] = vector.shuffle %[[LOW]], %[[HIGH]] [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31] : vector<16xi8>, vector<16xi8>
// CHECK: %[[Q0F:.*]] = arith.uitofp %[[Q0]] : vector<16xi8> to vector<16xf32>
// CHECK: vector.fma %[[Q0F]], %[[SCALEV]], %[[MINV]] : vector<16xf32>
// CHECK: %[[Q1F:.*]] = arith.uitofp %[[Q1]] : vector<16xi8> to vector<16xf32>
// CHECK: vector.fma %[[Q1F]], %[[SCALEV]], %[[MINV]] : vector<16xf32>
llama.weight_decl @proj : tensor<96x64xi4, #llama.int4<group_size = 32>>

func.func @wide_groups(%table: !llvm.ptr {llama.weight_table}, %x: memref<?x64xf32>, %out: memref<?x96xf32>) {
  %xt = bufferization.to_tensor %x restrict : memref<?x64xf32> to tensor<?x64xf32>
  %w = llama.weight @proj : tensor<96x64xi4, #llama.int4<group_size = 32>>
  %y = llama.matmul %xt, %w : tensor<?x64xf32>, tensor<96x64xi4, #llama.int4<group_size = 32>> -> tensor<?x96xf32>
  bufferization.materialize_in_destination %y in writable %out : (tensor<?x96xf32>, memref<?x96xf32>) -> ()
  return
}

// -----

// Groups of 4 under a vector of 16: each group's scale and minimum repeat
// over its 4 lanes. The 8 input features past the last whole vector pair are
// read one at a time: byte k / 2, shifted by 4 for odd k, masked.
// CHECK-LABEL: func.func @narrow_groups
// CHECK: vector.load %{{.*}} : memref<8x36xi8>, vector<16xi8>
// CHECK: vector.load %{{.*}} : memref<8x18xf16>, vector<4xf16>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3] : vector<4xf32>, vector<4xf32>
// CHECK: vector.fma
// CHECK: scf.for
// CHECK: %[[BYTE:.*]] = memref.load %{{.*}} : memref<8x36xi8>
// CHECK: %[[SHIFT:.*]] = arith.index_cast %{{.*}} : index to i8
// CHECK: %[[SHIFTED:.*]] = arith.shrui %[[BYTE]], %[[SHIFT]] : i8
// CHECK: %[[CODE:.*]] = arith.andi %[[SHIFTED]], %{{.*}} : i8
// CHECK: %[[CODEF:.*]] = arith.uitofp %[[CODE]] : i8 to f32
// CHECK: math.fma %[[CODEF]], %{{.*}}, %{{.*}} : f32
llama.weight_decl @fine : tensor<8x72xi4, #llama.int4<group_size = 4>>

func.func @narrow_groups(%table: !llvm.ptr {llama.weight_table}, %x: memref<?x72xf32>, %out: memref<?x8xf32>) {
  %xt = bufferization.to_tensor %x restrict : memref<?x72xf32> to tensor<?x72xf32>
  %w = llama.weight @fine : tensor<8x72xi4, #llama.int4<group_size = 4>>
  %y = llama.matmul %xt, %w : tensor<?x72xf32>, tensor<8x72xi4, #llama.int4<group_size = 4>> -> tensor<?x8xf32>
  bufferization.materialize_in_destination %y in writable %out : (tensor<?x8xf32>, memref<?x8xf32>) -> ()
  return
}

// -----

// expected-error @+1 {{int4 group_size 6 and vector-width 16: one must divide the other}}
llama.weight_decl @sixes : tensor<8x48xi4, #llama.int4<group_size = 6>>

func.func @misaligned_groups(%table: !llvm.ptr {llama.weight_table}, %x: memref<?x48xf32>, %out: memref<?x8xf32>) {
  %xt = bufferization.to_tensor %x restrict : memref<?x48xf32> to tensor<?x48xf32>
  %w = llama.weight @sixes : tensor<8x48xi4, #llama.int4<group_size = 6>>
  %y = llama.matmul %xt, %w : tensor<?x48xf32>, tensor<8x48xi4, #llama.int4<group_size = 6>> -> tensor<?x8xf32>
  bufferization.materialize_in_destination %y in writable %out : (tensor<?x8xf32>, memref<?x8xf32>) -> ()
  return
}
