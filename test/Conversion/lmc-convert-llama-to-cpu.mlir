// RUN: llamac-opt %s --lmc-convert-llama-to-cpu | FileCheck %s
// RUN: llamac-opt %s --lmc-convert-llama-to-cpu=vector-width=8 | FileCheck %s --check-prefix=WIDTH8
// The lowered IR is valid input for the rest of the CPU pipeline.
// RUN: llamac-opt %s --lmc-convert-llama-to-cpu --lmc-cpu-to-llvm-pipeline -o /dev/null

// The shapes of the loops each op family lowers to. Functions take and fill
// buffers the way the importer's entry points do; the weight-table argument
// holds one pointer per llama.weight_decl, in declaration order.

// Weight declarations disappear; the rotary inverse frequencies, float32 as
// Hugging Face computes them, become one constant table per (head_dim,
// theta, scale), named by their exact bits, at the top of the module.
// CHECK-NOT: llama.weight_decl
// CHECK-DAG: memref.global "private" constant @__llama_rope_inv_freq_16_0x412e848000000000_0x3ff0000000000000 : memref<8xf32> = dense<[1.000000e+00, 0.177827939, 0.0316227786, 0.00562341325, 1.000000e-03, 1.7782794E-4, 3.16227743E-5, 5.62341347E-6]> {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" constant @__llama_rope_inv_freq_16_0x40c3880000000000_0x3ff0000000000000 : memref<8xf32> = dense<[1.000000e+00, 0.316227764, 1.000000e-01, 0.0316227786, 0.00999999977, 0.00316227786, 1.000000e-03, 3.16227786E-4]> {alignment = 64 : i64}
// CHECK-NOT: llama.weight_decl
llama.weight_decl @first : tensor<8xf32>
llama.weight_decl @proj : tensor<96x64xf16>
llama.weight_decl @gate : tensor<32x64xbf16>
llama.weight_decl @up : tensor<32x64xbf16>
llama.weight_decl @norm : tensor<64xf16>
llama.weight_decl @table : tensor<512x64xf32>

//===----------------------------------------------------------------------===//
// Weights and linear layers
//===----------------------------------------------------------------------===//

// A weight is a memref descriptor around the pointer in its table slot
// (@proj is the second declaration: slot 1).
// Matmul: one parallel loop over the output features, serial loops over the
// input rows inside, vector FMAs over the input features, the f16 weight
// widened as it is loaded; the result is copied to the output and freed.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[TABLE:[^:]*]]: !llvm.ptr {llama.weight_table}, %[[X:[^:]*]]: memref<?x64xf32>, %[[OUT:[^:]*]]: memref<?x96xf32>)
// CHECK: %[[SLOT:[^ ,):]*]] = llvm.getelementptr %[[TABLE]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[PTR:[^ ,):]*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.insertvalue %[[PTR]], %{{.*}}[0]
// CHECK: llvm.insertvalue %[[PTR]], %{{.*}}[1]
// CHECK: %[[DESC:[^ ,):]*]] = llvm.insertvalue %{{.*}}[4, 0] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: %[[W:[^ ,):]*]] = builtin.unrealized_conversion_cast %[[DESC]] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<96x64xf16>
// CHECK: %[[Y:[^ ,):]*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x96xf32>
// CHECK: scf.parallel (%[[N:[^ ,):]*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK:   scf.for %[[M:[^ ,):]*]] = %{{.*}} to %{{.*}} step
// CHECK:     scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>
// CHECK:       %[[WV:[^ ,):]*]] = vector.load %[[W]][%{{.*}}, %{{.*}}] : memref<96x64xf16>, vector<16xf16>
// CHECK:       %[[WF:[^ ,):]*]] = arith.extf %[[WV]] : vector<16xf16> to vector<16xf32>
// CHECK:       %[[XV:[^ ,):]*]] = vector.load %[[X]][%{{.*}}, %{{.*}}] : memref<?x64xf32>, vector<16xf32>
// CHECK:       vector.fma %[[XV]], %[[WF]], %{{.*}} : vector<16xf32>
// CHECK:       scf.yield
// CHECK:     vector.reduction <add>, %{{.*}} : vector<16xf32> into f32
// CHECK:     memref.store %{{.*}}, %[[Y]][%{{.*}}, %{{.*}}] : memref<?x96xf32>
// CHECK:   scf.reduce
// CHECK: memref.copy %[[Y]], %[[OUT]] : memref<?x96xf32> to memref<?x96xf32>
// CHECK-NEXT: memref.dealloc %[[Y]] : memref<?x96xf32>
// CHECK-NEXT: return
// WIDTH8-LABEL: func.func @matmul
// WIDTH8: vector.load %{{.*}} : memref<96x64xf16>, vector<8xf16>
// WIDTH8: vector.fma %{{.*}} : vector<8xf32>
func.func @matmul(%weights: !llvm.ptr {llama.weight_table}, %x_buf: memref<?x64xf32>, %out: memref<?x96xf32>) {
  %x = bufferization.to_tensor %x_buf restrict : memref<?x64xf32> to tensor<?x64xf32>
  %w = llama.weight @proj : tensor<96x64xf16>
  %y = llama.matmul %x, %w : tensor<?x64xf32>, tensor<96x64xf16> -> tensor<?x96xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<?x96xf32>, memref<?x96xf32>) -> ()
  return
}

// SwiGLU: gate and up rows read in the same pass (both weight tables, bf16
// widened), silu(gate) * up computed before the single store.
// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[TABLE:[^:]*]]: !llvm.ptr {llama.weight_table}, %{{[^:]*}}: memref<?x1x64xf32>, %[[OUT:[^:]*]]: memref<?x1x32xf32>)
// CHECK: llvm.getelementptr %[[TABLE]][2]
// CHECK: %[[G:[^ ,):]*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<32x64xbf16>
// CHECK: llvm.getelementptr %[[TABLE]][3]
// CHECK: %[[U:[^ ,):]*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<32x64xbf16>
// CHECK: %[[Y:[^ ,):]*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1x32xf32>
// CHECK: %[[ROWS:[^ ,):]*]] = memref.collapse_shape %[[Y]] {{\[}}[0, 1], [2]] : memref<?x1x32xf32> into memref<?x32xf32>
// CHECK: scf.parallel
// CHECK-DAG: vector.load %[[G]][{{.*}}] : memref<32x64xbf16>, vector<16xbf16>
// CHECK-DAG: vector.load %[[U]][{{.*}}] : memref<32x64xbf16>, vector<16xbf16>
// CHECK: vector.fma
// CHECK: %[[GATE:[^ ,):]*]] = vector.reduction <add>
// CHECK: %[[NEG:[^ ,):]*]] = arith.negf %[[GATE]] : f32
// CHECK: %[[EXP:[^ ,):]*]] = math.exp %[[NEG]] : f32
// CHECK: %[[DEN:[^ ,):]*]] = arith.addf {{.*}}%[[EXP]]
// CHECK: %[[SILU:[^ ,):]*]] = arith.divf %[[GATE]], %[[DEN]] : f32
// CHECK: %[[PROD:[^ ,):]*]] = arith.mulf %[[SILU]], %{{.*}} : f32
// CHECK: memref.store %[[PROD]], %[[ROWS]]
// CHECK: memref.copy %[[Y]], %[[OUT]]
// CHECK-NEXT: memref.dealloc %[[Y]] :
func.func @swiglu(%weights: !llvm.ptr {llama.weight_table}, %x_buf: memref<?x1x64xf32>, %out: memref<?x1x32xf32>) {
  %x = bufferization.to_tensor %x_buf restrict : memref<?x1x64xf32> to tensor<?x1x64xf32>
  %g = llama.weight @gate : tensor<32x64xbf16>
  %u = llama.weight @up : tensor<32x64xbf16>
  %y = llama.swiglu %x, %g, %u : tensor<?x1x64xf32>, tensor<32x64xbf16> -> tensor<?x1x32xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<?x1x32xf32>, memref<?x1x32xf32>) -> ()
  return
}

// multi_matmul: one buffer per result, both freed after their last use (the
// add), before the result is copied out.
// CHECK-LABEL: func.func @multi_matmul
// CHECK: %[[A:[^ ,):]*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1x32xf32>
// CHECK: scf.parallel
// CHECK: %[[B:[^ ,):]*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1x32xf32>
// CHECK: scf.parallel
// CHECK: %[[SUM:[^ ,):]*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x1x32xf32>
// CHECK: scf.parallel
// CHECK:   memref.load %[[A]]
// CHECK:   memref.load %[[B]]
// CHECK:   arith.addf
// CHECK:   memref.store %{{.*}}, %[[SUM]]
// CHECK-DAG: memref.dealloc %[[A]] :
// CHECK-DAG: memref.dealloc %[[B]] :
// CHECK: memref.copy %[[SUM]], %{{.*}}
// CHECK-NEXT: memref.dealloc %[[SUM]] :
// CHECK-NEXT: return
func.func @multi_matmul(%weights: !llvm.ptr {llama.weight_table}, %x_buf: memref<?x1x64xf32>, %out: memref<?x1x32xf32>) {
  %x = bufferization.to_tensor %x_buf restrict : memref<?x1x64xf32> to tensor<?x1x64xf32>
  %g = llama.weight @gate : tensor<32x64xbf16>
  %u = llama.weight @up : tensor<32x64xbf16>
  %a, %b = llama.multi_matmul %x, %g, %u : tensor<?x1x64xf32>, tensor<32x64xbf16>, tensor<32x64xbf16> -> tensor<?x1x32xf32>, tensor<?x1x32xf32>
  %s = llama.add %a, %b : tensor<?x1x32xf32>, tensor<?x1x32xf32>
  bufferization.materialize_in_destination %s in restrict writable %out : (tensor<?x1x32xf32>, memref<?x1x32xf32>) -> ()
  return
}

// Embedding: parallel over (batch, seq), the token id loaded and cast to an
// index, the row copied.
// CHECK-LABEL: func.func @embedding
// CHECK-SAME: %[[TABLE:[^:]*]]: !llvm.ptr {llama.weight_table}, %[[IDS:[^:]*]]: memref<?x?xi32>
// CHECK: llvm.getelementptr %[[TABLE]][5]
// CHECK: %[[T:[^ ,):]*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<512x64xf32>
// CHECK: %[[Y:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[S:[^ ,):]*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK:   %[[ID:[^ ,):]*]] = memref.load %[[IDS]][%[[B]], %[[S]]] : memref<?x?xi32>
// CHECK:   %[[ROW:[^ ,):]*]] = arith.index_cast %[[ID]] : i32 to index
// CHECK:   scf.for %[[D:[^ ,):]*]] = %{{.*}} to %{{.*}} step
// CHECK:     %[[V:[^ ,):]*]] = memref.load %[[T]][%[[ROW]], %[[D]]] : memref<512x64xf32>
// CHECK:     memref.store %[[V]], %[[Y]][%[[B]], %[[S]], %[[D]]] : memref<?x?x64xf32>
func.func @embedding(%weights: !llvm.ptr {llama.weight_table}, %ids_buf: memref<?x?xi32>, %out: memref<?x?x64xf32>) {
  %ids = bufferization.to_tensor %ids_buf restrict : memref<?x?xi32> to tensor<?x?xi32>
  %t = llama.weight @table : tensor<512x64xf32>
  %y = llama.embedding %t[%ids] : tensor<512x64xf32>, tensor<?x?xi32> -> tensor<?x?x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<?x?x64xf32>, memref<?x?x64xf32>) -> ()
  return
}

//===----------------------------------------------------------------------===//
// Elementwise and reductions
//===----------------------------------------------------------------------===//

// The importer's RMSNorm, op by op: a scalar constant buffer, mean as a
// parallel loop over rows with a serial sum, elementwise ops as parallel
// loops over every element with the broadcast operand's size-1 dimensions
// pinned to 0, the f16 weight widened by llama.cast. Each buffer is freed
// right after its last use.
// CHECK-LABEL: func.func @primitive_norm
// CHECK-SAME: (%{{[^:]*}}: !llvm.ptr {llama.weight_table}, %[[X:[^:]*]]: memref<?x?x64xf32>, %[[OUT:[^:]*]]: memref<?x?x64xf32>)
// CHECK: %[[EPS:[^ ,):]*]] = memref.alloc() {alignment = 64 : i64} : memref<f32>
// CHECK: memref.store %{{.*}}, %[[EPS]][] : memref<f32>
// CHECK: %[[XROWS:[^ ,):]*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : memref<?x?x64xf32> into memref<?x64xf32>
// CHECK: %[[VAR:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x1xf32>
// CHECK: %[[VROWS:[^ ,):]*]] = memref.collapse_shape %[[VAR]]
// CHECK: scf.parallel (%[[ROW:[^ ,):]*]]) =
// CHECK:   %[[SUM:[^ ,):]*]] = scf.for %[[K:[^ ,):]*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:[^ ,):]*]] = %{{.*}}) -> (f32) {
// CHECK:     %[[E:[^ ,):]*]] = memref.load %[[XROWS]][%[[ROW]], %[[K]]] : memref<?x64xf32>
// CHECK:     arith.addf %[[ACC]], %[[E]] : f32
// CHECK:   %[[MEAN:[^ ,):]*]] = arith.divf %[[SUM]], %{{.*}} : f32
// CHECK:   memref.store %[[MEAN]], %[[VROWS]][%[[ROW]], %{{.*}}] : memref<?x1xf32>
// CHECK: %[[SHIFTED:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x1xf32>
// CHECK: scf.parallel (%[[I:[^ ,):]*]], %[[J:[^ ,):]*]], %[[L:[^ ,):]*]]) =
// CHECK:   memref.load %[[VAR]][%[[I]], %[[J]], %[[L]]] : memref<?x?x1xf32>
// CHECK:   memref.load %[[EPS]][] : memref<f32>
// CHECK:   arith.addf
// CHECK: memref.dealloc %[[VAR]] :
// CHECK: memref.dealloc %[[EPS]] :
// CHECK: %[[INV:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x1xf32>
// CHECK: scf.parallel
// CHECK:   math.rsqrt %{{.*}} : f32
// CHECK: memref.dealloc %[[SHIFTED]] :
// CHECK: %[[N:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: scf.parallel (%[[I:[^ ,):]*]], %[[J:[^ ,):]*]], %[[L:[^ ,):]*]]) =
// CHECK:   memref.load %[[X]][%[[I]], %[[J]], %[[L]]]
// CHECK:   memref.load %[[INV]][%[[I]], %[[J]], %c0{{[_0-9]*}}] : memref<?x?x1xf32>
// CHECK:   arith.mulf
// CHECK: memref.dealloc %[[INV]] :
// CHECK: %[[W32:[^ ,):]*]] = memref.alloc() {alignment = 64 : i64} : memref<64xf32>
// CHECK: scf.parallel
// CHECK:   %[[H:[^ ,):]*]] = memref.load %{{.*}} : memref<64xf16>
// CHECK:   arith.extf %[[H]] : f16 to f32
// CHECK: %[[Y:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: scf.parallel (%[[I:[^ ,):]*]], %[[J:[^ ,):]*]], %[[L:[^ ,):]*]]) =
// CHECK:   memref.load %[[N]][%[[I]], %[[J]], %[[L]]]
// CHECK:   memref.load %[[W32]][%[[L]]] : memref<64xf32>
// CHECK: memref.dealloc %[[W32]] :
// CHECK: memref.dealloc %[[N]] :
// CHECK: memref.copy %[[Y]], %[[OUT]]
// CHECK-NEXT: memref.dealloc %[[Y]] :
// CHECK-NEXT: return
func.func @primitive_norm(%weights: !llvm.ptr {llama.weight_table}, %x_buf: memref<?x?x64xf32>, %out: memref<?x?x64xf32>) {
  %x = bufferization.to_tensor %x_buf restrict : memref<?x?x64xf32> to tensor<?x?x64xf32>
  %eps = llama.constant 1.0e-5 : tensor<f32>
  %var = llama.mean %x : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %shift = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %shift : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w = llama.weight @norm : tensor<64xf16>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<?x?x64xf32>, memref<?x?x64xf32>) -> ()
  return
}

// rms_norm: one parallel loop over rows; the sum of squares is a vector dot
// product of the row with itself, then rsqrt(mean + eps) scales the row
// times the widened weight. add_rms_norm first writes the sum, then
// normalizes it. softmax: max, sum of exponentials, then the quotients.
// CHECK-LABEL: func.func @norms
// CHECK-SAME: %[[X:[^:]*]]: memref<?x?x64xf32>, %[[R:[^:]*]]: memref<?x?x64xf32>, %[[OUT:[^:]*]]: memref<?x?x64xf32>)
// CHECK: %[[XROWS:[^ ,):]*]] = memref.collapse_shape %[[X]]
// CHECK: %[[N:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: %[[NROWS:[^ ,):]*]] = memref.collapse_shape %[[N]]
// CHECK: scf.parallel (%[[ROW:[^ ,):]*]]) =
// CHECK:   scf.for {{.*}} -> (vector<16xf32>
// CHECK:     %[[A:[^ ,):]*]] = vector.load %[[XROWS]][%[[ROW]], %{{.*}}] : memref<?x64xf32>, vector<16xf32>
// CHECK:     %[[B:[^ ,):]*]] = vector.load %[[XROWS]][%[[ROW]], %{{.*}}] : memref<?x64xf32>, vector<16xf32>
// CHECK:     vector.fma %[[A]], %[[B]], %{{.*}} : vector<16xf32>
// CHECK:   %[[SQ:[^ ,):]*]] = vector.reduction <add>, %{{.*}} : vector<16xf32> into f32
// CHECK:   %[[MS:[^ ,):]*]] = arith.divf %[[SQ]], %{{.*}} : f32
// CHECK:   %[[SHIFT:[^ ,):]*]] = arith.addf %[[MS]], %{{.*}} : f32
// CHECK:   %[[RS:[^ ,):]*]] = math.rsqrt %[[SHIFT]] : f32
// CHECK:   scf.for %[[COL:[^ ,):]*]] = %{{.*}} to %{{.*}} step
// CHECK:     %[[V:[^ ,):]*]] = memref.load %[[XROWS]][%[[ROW]], %[[COL]]] : memref<?x64xf32>
// CHECK:     %[[S:[^ ,):]*]] = arith.mulf %[[V]], %[[RS]] : f32
// CHECK:     %[[WH:[^ ,):]*]] = memref.load %{{.*}}[%[[COL]]] : memref<64xf16>
// CHECK:     %[[WF:[^ ,):]*]] = arith.extf %[[WH]] : f16 to f32
// CHECK:     %[[P:[^ ,):]*]] = arith.mulf %[[S]], %[[WF]] : f32
// CHECK:     memref.store %[[P]], %[[NROWS]][%[[ROW]], %[[COL]]] : memref<?x64xf32>
//
// CHECK: %[[RROWS:[^ ,):]*]] = memref.collapse_shape %[[R]]
// CHECK: %[[SUMBUF:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: %[[NORMED:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: %[[SROWS:[^ ,):]*]] = memref.collapse_shape %[[SUMBUF]]
// CHECK: scf.parallel (%[[ROW:[^ ,):]*]]) =
// CHECK:   scf.for %[[COL:[^ ,):]*]] = %{{.*}} to %{{.*}} step
// CHECK:     memref.load %{{.*}}[%[[ROW]], %[[COL]]] : memref<?x64xf32>
// CHECK:     memref.load %[[RROWS]][%[[ROW]], %[[COL]]] : memref<?x64xf32>
// CHECK:     %[[ADDED:[^ ,):]*]] = arith.addf
// CHECK:     memref.store %[[ADDED]], %[[SROWS]][%[[ROW]], %[[COL]]]
// CHECK:   vector.load %[[SROWS]][%[[ROW]], %{{.*}}] : memref<?x64xf32>, vector<16xf32>
// CHECK:   math.rsqrt
// CHECK: memref.dealloc %[[SUMBUF]] :
// CHECK: memref.dealloc %[[N]] :
//
// CHECK: %[[PROBS:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: scf.parallel (%[[ROW:[^ ,):]*]]) =
// CHECK:   %[[FIRST:[^ ,):]*]] = memref.load %{{.*}}[%[[ROW]], %{{.*}}] : memref<?x64xf32>
// CHECK:   %[[MAX:[^ ,):]*]] = scf.for {{.*}} iter_args(%[[M:[^ ,):]*]] = %[[FIRST]]) -> (f32) {
// CHECK:     arith.maximumf %[[M]], %{{.*}} : f32
// CHECK:   %[[TOTAL:[^ ,):]*]] = scf.for {{.*}} -> (f32) {
// CHECK:     %[[D:[^ ,):]*]] = arith.subf %{{.*}}, %[[MAX]] : f32
// CHECK:     math.exp %[[D]] : f32
// CHECK:   scf.for
// CHECK:     %[[EXP:[^ ,):]*]] = math.exp
// CHECK:     arith.divf %[[EXP]], %[[TOTAL]] : f32
// CHECK: memref.dealloc %[[NORMED]] :
// CHECK: memref.copy %[[PROBS]], %[[OUT]]
// CHECK-NEXT: memref.dealloc %[[PROBS]] :
func.func @norms(%weights: !llvm.ptr {llama.weight_table}, %x_buf: memref<?x?x64xf32>, %r_buf: memref<?x?x64xf32>, %out: memref<?x?x64xf32>) {
  %x = bufferization.to_tensor %x_buf restrict : memref<?x?x64xf32> to tensor<?x?x64xf32>
  %r = bufferization.to_tensor %r_buf restrict : memref<?x?x64xf32> to tensor<?x?x64xf32>
  %w = llama.weight @norm : tensor<64xf16>
  %n = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  %sum, %normed = llama.add_rms_norm %n, %r, %w {epsilon = 1.0e-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  %y = llama.softmax %normed : tensor<?x?x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out : (tensor<?x?x64xf32>, memref<?x?x64xf32>) -> ()
  return
}

//===----------------------------------------------------------------------===//
// Shapes, rotary embedding, KV cache: the unfused attention
//===----------------------------------------------------------------------===//

// reshape is a view (memref.reshape of the input, no copy); transpose and
// repeat_kv gather through permuted / divided indices; rope reads a
// module-level table of inverse frequencies; cache_write stores keys and
// values of layer 1 at slots start + t; cache_read copies the first
// `length` slots; batch_matmul sums over head_dim; the mask selects 0 or
// the lowest float.
// CHECK-LABEL: func.func @attention_primitives
// CHECK-SAME: (%[[CACHE:[^:]*]]: memref<2x2x1x2x64x16xf32>, %[[Q:[^:]*]]: memref<?x?x64xf32>, %[[K:[^:]*]]: memref<?x?x32xf32>, %[[POS:[^:]*]]: memref<?x?xi32>, %[[FIRST:[^:]*]]: memref<?xi32>, %[[START:[^:]*]]: index,
// CHECK: %[[SHAPE:[^ ,):]*]] = memref.alloca() : memref<4xindex>
// CHECK: %[[Q4:[^ ,):]*]] = memref.reshape %[[Q]](%[[SHAPE]]) : (memref<?x?x64xf32>, memref<4xindex>) -> memref<?x?x4x16xf32>
// CHECK: %[[QT:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x4x?x16xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[H:[^ ,):]*]], %[[T:[^ ,):]*]], %[[D:[^ ,):]*]]) =
// CHECK:   %[[E:[^ ,):]*]] = memref.load %[[Q4]][%[[B]], %[[T]], %[[H]], %[[D]]] : memref<?x?x4x16xf32>
// CHECK:   memref.store %[[E]], %[[QT]][%[[B]], %[[H]], %[[T]], %[[D]]] : memref<?x4x?x16xf32>
// CHECK: %[[KT:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x2x?x16xf32>
// CHECK: %[[FREQ:[^ ,):]*]] = memref.get_global @__llama_rope_inv_freq_16_0x412e848000000000_0x3ff0000000000000 : memref<8xf32>
// CHECK: %[[QR:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x4x?x16xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[H:[^ ,):]*]], %[[T:[^ ,):]*]], %[[I:[^ ,):]*]]) = ({{.*}}) to (%{{.*}}, %{{.*}}, %{{.*}}, %c8{{[_0-9]*}})
// CHECK:   %[[P:[^ ,):]*]] = memref.load %[[POS]][%[[B]], %[[T]]] : memref<?x?xi32>
// CHECK:   %[[PF:[^ ,):]*]] = arith.sitofp %[[P]] : i32 to f32
// CHECK:   %[[F:[^ ,):]*]] = memref.load %[[FREQ]][%[[I]]] : memref<8xf32>
// CHECK:   %[[ANGLE:[^ ,):]*]] = arith.mulf %[[PF]], %[[F]] : f32
// CHECK:   math.cos %[[ANGLE]] : f32
// CHECK:   math.sin %[[ANGLE]] : f32
// CHECK:   memref.store %{{.*}}, %[[QR]][%[[B]], %[[H]], %[[T]], %[[I]]]
// CHECK:   memref.store %{{.*}}, %[[QR]][%[[B]], %[[H]], %[[T]], %{{.*}}]
// CHECK: memref.dealloc %[[QT]] :
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[G:[^ ,):]*]], %[[T:[^ ,):]*]], %[[D:[^ ,):]*]]) =
// CHECK:   %[[SLOT:[^ ,):]*]] = arith.addi %[[START]], %[[T]] : index
// CHECK:   memref.load %[[KT]][%[[B]], %[[G]], %[[T]], %[[D]]]
// CHECK:   memref.store %{{.*}}, %[[CACHE]][%c1{{[_0-9]*}}, %c0{{[_0-9]*}}, %[[B]], %[[G]], %[[SLOT]], %[[D]]] : memref<2x2x1x2x64x16xf32>
// CHECK:   memref.store %{{.*}}, %[[CACHE]][%c1{{[_0-9]*}}, %c1{{[_0-9]*}}, %[[B]], %[[G]], %[[SLOT]], %[[D]]] : memref<2x2x1x2x64x16xf32>
// CHECK: memref.dealloc %[[KT]] :
// CHECK: %[[KC:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x2x?x16xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[G:[^ ,):]*]], %[[J:[^ ,):]*]], %[[D:[^ ,):]*]]) =
// CHECK:   memref.load %[[CACHE]][%c1{{[_0-9]*}}, %c0{{[_0-9]*}}, %[[B]], %[[G]], %[[J]], %[[D]]]
// CHECK: %[[KX:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x4x?x16xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[H:[^ ,):]*]], %[[J:[^ ,):]*]], %[[D:[^ ,):]*]]) =
// CHECK:   %[[KVH:[^ ,):]*]] = arith.divui %[[H]], %c2{{[_0-9]*}} : index
// CHECK:   memref.load %[[KC]][%[[B]], %[[KVH]], %[[J]], %[[D]]]
// CHECK: memref.dealloc %[[KC]] :
// CHECK: %[[SCORES:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x4x?x?xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[H:[^ ,):]*]], %[[T:[^ ,):]*]], %[[J:[^ ,):]*]]) =
// CHECK:   scf.for %[[D:[^ ,):]*]] = {{.*}} -> (f32) {
// CHECK:     memref.load %[[QR]][%[[B]], %[[H]], %[[T]], %[[D]]]
// CHECK:     memref.load %[[KX]][%[[B]], %[[H]], %[[J]], %[[D]]]
// CHECK-DAG: memref.dealloc %[[KX]] :
// CHECK-DAG: memref.dealloc %[[QR]] :
// CHECK: %[[MASK:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x1x?x?xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %{{.*}}, %[[T:[^ ,):]*]], %[[J:[^ ,):]*]]) =
// CHECK:   %[[F:[^ ,):]*]] = memref.load %[[FIRST]][%[[B]]] : memref<?xi32>
// CHECK:   %[[FI:[^ ,):]*]] = arith.index_cast %[[F]] : i32 to index
// CHECK:   %[[LAST:[^ ,):]*]] = arith.addi %[[START]], %[[T]] : index
// CHECK:   %[[AFTER:[^ ,):]*]] = arith.cmpi sge, %[[J]], %[[FI]] : index
// CHECK:   %[[CAUSAL:[^ ,):]*]] = arith.cmpi sle, %[[J]], %[[LAST]] : index
// CHECK:   %[[SEEN:[^ ,):]*]] = arith.andi %[[AFTER]], %[[CAUSAL]] : i1
// CHECK:   arith.select %[[SEEN]], %{{.*}}, %{{.*}} : f32
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[H:[^ ,):]*]], %[[T:[^ ,):]*]], %[[J:[^ ,):]*]]) =
// CHECK:   memref.load %[[SCORES]][%[[B]], %[[H]], %[[T]], %[[J]]]
// CHECK:   memref.load %[[MASK]][%[[B]], %c0{{[_0-9]*}}, %[[T]], %[[J]]]
// CHECK-DAG: memref.dealloc %[[MASK]] :
// CHECK-DAG: memref.dealloc %[[SCORES]] :
// CHECK: return
func.func @attention_primitives(%cache: memref<2x2x1x2x64x16xf32>, %q_buf: memref<?x?x64xf32>, %k_buf: memref<?x?x32xf32>,
    %pos_buf: memref<?x?xi32>, %first_buf: memref<?xi32>, %start: index, %out: memref<?x4x?x?xf32>) {
  %q = bufferization.to_tensor %q_buf restrict : memref<?x?x64xf32> to tensor<?x?x64xf32>
  %k = bufferization.to_tensor %k_buf restrict : memref<?x?x32xf32> to tensor<?x?x32xf32>
  %positions = bufferization.to_tensor %pos_buf restrict : memref<?x?xi32> to tensor<?x?xi32>
  %first = bufferization.to_tensor %first_buf restrict : memref<?xi32> to tensor<?xi32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %q4 = llama.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %k4 = llama.reshape %k : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %qr = llama.rope %qt, %positions {theta = 1.0e6 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  llama.cache_write %kt, %kt into %cache[%start] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x64x16xf32>
  %kc = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x64x16xf32> -> tensor<?x2x?x16xf32>
  %kx = llama.repeat_kv %kc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
  %mask = llama.attention_mask %first, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
  %sm = llama.add %s, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>
  bufferization.materialize_in_destination %sm in restrict writable %out : (tensor<?x4x?x?xf32>, memref<?x4x?x?xf32>) -> ()
  return
}

// last_positions copies positions [seq - count, seq) of each row: the source
// position is the result's plus seq - count.
// CHECK-LABEL: func.func @last_positions
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x?x64xf32>, %[[N:[^:]*]]: index,
// CHECK: %[[KEPT:[^ ,):]*]] = memref.alloc(%{{.*}}, %[[N]]) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[T:[^ ,):]*]], %[[F:[^ ,):]*]]) =
// CHECK:   %[[SEQ:[^ ,):]*]] = memref.dim %[[X]], %c1{{[_0-9]*}} : memref<?x?x64xf32>
// CHECK:   %[[SKIPPED:[^ ,):]*]] = arith.subi %[[SEQ]], %[[N]] : index
// CHECK:   %[[P:[^ ,):]*]] = arith.addi %[[T]], %[[SKIPPED]] : index
// CHECK:   %[[E:[^ ,):]*]] = memref.load %[[X]][%[[B]], %[[P]], %[[F]]] : memref<?x?x64xf32>
// CHECK:   memref.store %[[E]], %[[KEPT]][%[[B]], %[[T]], %[[F]]] : memref<?x?x64xf32>
func.func @last_positions(%x_buf: memref<?x?x64xf32>, %n: index, %out: memref<?x?x64xf32>) {
  %x = bufferization.to_tensor %x_buf restrict : memref<?x?x64xf32> to tensor<?x?x64xf32>
  %kept = llama.last_positions %x, %n : tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  bufferization.materialize_in_destination %kept in restrict writable %out : (tensor<?x?x64xf32>, memref<?x?x64xf32>) -> ()
  return
}

//===----------------------------------------------------------------------===//
// Fused attention
//===----------------------------------------------------------------------===//

// Two parallel loops. The first, over (batch, seq, kv head), rotates the new
// key head as one vector and stores key and value (narrowed to the f16
// cache) at slot start + t of layer 1. The second, over (batch, seq, head),
// rotates the query and makes one pass over the visible slots
// [first_slot, start + t] with an online softmax: running maximum, rescaled
// total and accumulator, the value row folded in with an FMA. Query head h
// reads kv head h / 2. No scratch buffer but the result.
// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[CACHE:[^:]*]]: memref<2x2x1x2x64x16xf16>, %[[Q:[^:]*]]: memref<?x?x64xf32>, %[[K:[^:]*]]: memref<?x?x32xf32>, %[[V:[^:]*]]: memref<?x?x32xf32>, %[[POS:[^:]*]]: memref<?x?xi32>, %[[FIRST:[^:]*]]: memref<?xi32>, %[[START:[^:]*]]: index, %[[OUT:[^:]*]]: memref<?x?x64xf32>)
// CHECK: %[[FREQ:[^ ,):]*]] = memref.get_global @__llama_rope_inv_freq_16_0x40c3880000000000_0x3ff0000000000000 : memref<8xf32>
// CHECK: %[[KROWS:[^ ,):]*]] = memref.collapse_shape %[[K]]
// CHECK: %[[VROWS:[^ ,):]*]] = memref.collapse_shape %[[V]]
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[T:[^ ,):]*]], %[[G:[^ ,):]*]]) = ({{.*}}) to (%{{.*}}, %{{.*}}, %c2{{[_0-9]*}})
// CHECK:   %[[KEY:[^ ,):]*]] = vector.load %[[KROWS]][{{.*}}] : memref<?x32xf32>, vector<16xf32>
// CHECK:   vector.load %[[FREQ]][%{{.*}}] : memref<8xf32>, vector<8xf32>
// CHECK:   math.cos %{{.*}} : vector<8xf32>
// CHECK:   math.sin %{{.*}} : vector<8xf32>
// CHECK:   vector.extract_strided_slice %[[KEY]] {offsets = [8], sizes = [8], strides = [1]}
// CHECK:   %[[ROTATED:[^ ,):]*]] = vector.shuffle
// CHECK:   %[[VALUE:[^ ,):]*]] = vector.load %[[VROWS]][{{.*}}] : memref<?x32xf32>, vector<16xf32>
// CHECK:   %[[SLOT:[^ ,):]*]] = arith.addi %[[START]], %[[T]] : index
// CHECK:   %[[K16:[^ ,):]*]] = arith.truncf %[[ROTATED]] : vector<16xf32> to vector<16xf16>
// CHECK:   vector.store %[[K16]], %[[CACHE]][%c1{{[_0-9]*}}, %c0{{[_0-9]*}}, %[[B]], %[[G]], %[[SLOT]], %{{.*}}] : memref<2x2x1x2x64x16xf16>, vector<16xf16>
// CHECK:   %[[V16:[^ ,):]*]] = arith.truncf %[[VALUE]] : vector<16xf32> to vector<16xf16>
// CHECK:   vector.store %[[V16]], %[[CACHE]][%c1{{[_0-9]*}}, %c1{{[_0-9]*}}, %[[B]], %[[G]], %[[SLOT]], %{{.*}}] : memref<2x2x1x2x64x16xf16>, vector<16xf16>
// CHECK:   scf.reduce
// CHECK: %[[Y:[^ ,):]*]] = memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?x64xf32>
// CHECK: %[[QROWS:[^ ,):]*]] = memref.collapse_shape %[[Q]]
// CHECK: %[[YROWS:[^ ,):]*]] = memref.collapse_shape %[[Y]]
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel (%[[B:[^ ,):]*]], %[[T:[^ ,):]*]], %[[H:[^ ,):]*]]) = ({{.*}}) to (%{{.*}}, %{{.*}}, %c4{{[_0-9]*}})
// CHECK:   %[[ROW:[^ ,):]*]] = arith.addi %{{.*}}, %[[T]] : index
// CHECK:   %[[OFFSET:[^ ,):]*]] = arith.muli %[[H]], %c16{{[_0-9]*}} : index
// CHECK:   vector.load %[[QROWS]][%[[ROW]], %[[OFFSET]]] : memref<?x64xf32>, vector<16xf32>
// CHECK:   %[[QUERY:[^ ,):]*]] = vector.shuffle
// CHECK:   %[[KVH:[^ ,):]*]] = arith.divui %[[H]], %c2{{[_0-9]*}} : index
// CHECK:   %[[F:[^ ,):]*]] = memref.load %[[FIRST]][%[[B]]] : memref<?xi32>
// CHECK:   %[[BEGIN:[^ ,):]*]] = arith.index_cast %[[F]] : i32 to index
// CHECK:   %[[LAST:[^ ,):]*]] = arith.addi %[[START]], %[[T]] : index
// CHECK:   %[[END:[^ ,):]*]] = arith.addi %[[LAST]], %c1{{[_0-9]*}} : index
// CHECK:   %[[NEGINF:[^ ,):]*]] = arith.constant 0xFF800000 : f32
// CHECK:   %[[STATE:[^ ,):]*]]:3 = scf.for %[[J:[^ ,):]*]] = %[[BEGIN]] to %[[END]] step %{{.*}} iter_args(%[[MAX:[^ ,):]*]] = %[[NEGINF]], %[[TOTAL:[^ ,):]*]] = %{{.*}}, %[[ACC:[^ ,):]*]] = %{{.*}}) -> (f32, f32, vector<16xf32>) {
// CHECK:     %[[KH:[^ ,):]*]] = vector.load %[[CACHE]][%c1{{[_0-9]*}}, %c0{{[_0-9]*}}, %[[B]], %[[KVH]], %[[J]], %{{.*}}] : memref<2x2x1x2x64x16xf16>, vector<16xf16>
// CHECK:     %[[KF:[^ ,):]*]] = arith.extf %[[KH]] : vector<16xf16> to vector<16xf32>
// CHECK:     %[[QK:[^ ,):]*]] = arith.mulf %[[QUERY]], %[[KF]] : vector<16xf32>
// CHECK:     %[[DOT:[^ ,):]*]] = vector.reduction <add>, %[[QK]] : vector<16xf32> into f32
// CHECK:     %[[SCORE:[^ ,):]*]] = arith.mulf %[[DOT]], %{{.*}} : f32
// CHECK:     %[[NEWMAX:[^ ,):]*]] = arith.maximumf %[[MAX]], %[[SCORE]] : f32
// CHECK:     %[[D1:[^ ,):]*]] = arith.subf %[[MAX]], %[[NEWMAX]] : f32
// CHECK:     %[[CORR:[^ ,):]*]] = math.exp %[[D1]] : f32
// CHECK:     %[[D2:[^ ,):]*]] = arith.subf %[[SCORE]], %[[NEWMAX]] : f32
// CHECK:     %[[W:[^ ,):]*]] = math.exp %[[D2]] : f32
// CHECK:     %[[SCALED:[^ ,):]*]] = arith.mulf %[[TOTAL]], %[[CORR]] : f32
// CHECK:     %[[NEWTOTAL:[^ ,):]*]] = arith.addf %[[SCALED]], %[[W]] : f32
// CHECK:     %[[VH:[^ ,):]*]] = vector.load %[[CACHE]][%c1{{[_0-9]*}}, %c1{{[_0-9]*}}, %[[B]], %[[KVH]], %[[J]], %{{.*}}] : memref<2x2x1x2x64x16xf16>, vector<16xf16>
// CHECK:     %[[VF:[^ ,):]*]] = arith.extf %[[VH]] : vector<16xf16> to vector<16xf32>
// CHECK:     %[[NEWACC:[^ ,):]*]] = vector.fma %{{.*}}, %[[VF]], %{{.*}} : vector<16xf32>
// CHECK:     scf.yield %[[NEWMAX]], %[[NEWTOTAL]], %[[NEWACC]] : f32, f32, vector<16xf32>
// CHECK:   %[[ANY:[^ ,):]*]] = arith.cmpf ogt, %[[STATE]]#1, %{{.*}} : f32
// CHECK:   %[[SAFE:[^ ,):]*]] = arith.select %[[ANY]], %[[STATE]]#1, %{{.*}} : f32
// CHECK:   %[[DEN:[^ ,):]*]] = vector.broadcast %[[SAFE]] : f32 to vector<16xf32>
// CHECK:   %[[RES:[^ ,):]*]] = arith.divf %[[STATE]]#2, %[[DEN]] : vector<16xf32>
// CHECK:   vector.store %[[RES]], %[[YROWS]][%[[ROW]], %[[OFFSET]]] : memref<?x64xf32>, vector<16xf32>
// CHECK: memref.copy %[[Y]], %[[OUT]]
// CHECK-NEXT: memref.dealloc %[[Y]] :
// CHECK-NEXT: return
func.func @attention(%cache: memref<2x2x1x2x64x16xf16>, %q_buf: memref<?x?x64xf32>, %k_buf: memref<?x?x32xf32>, %v_buf: memref<?x?x32xf32>,
    %pos_buf: memref<?x?xi32>, %first_buf: memref<?xi32>, %start: index, %out: memref<?x?x64xf32>) {
  %q = bufferization.to_tensor %q_buf restrict : memref<?x?x64xf32> to tensor<?x?x64xf32>
  %k = bufferization.to_tensor %k_buf restrict : memref<?x?x32xf32> to tensor<?x?x32xf32>
  %v = bufferization.to_tensor %v_buf restrict : memref<?x?x32xf32> to tensor<?x?x32xf32>
  %positions = bufferization.to_tensor %pos_buf restrict : memref<?x?xi32> to tensor<?x?xi32>
  %first = bufferization.to_tensor %first_buf restrict : memref<?xi32> to tensor<?xi32>
  %0 = llama.attention %q, %k, %v, %positions, %first, %cache[%start] {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<2x2x1x2x64x16xf16>
  bufferization.materialize_in_destination %0 in restrict writable %out : (tensor<?x?x64xf32>, memref<?x?x64xf32>) -> ()
  return
}
