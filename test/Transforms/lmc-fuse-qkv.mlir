// RUN: llamac-opt %s --lmc-fuse-qkv | FileCheck %s

llama.weight_decl @wq : tensor<64x64xf16>
llama.weight_decl @wk : tensor<32x64xf16>
llama.weight_decl @wv : tensor<32x64xf16>
llama.weight_decl @wk_bf16 : tensor<32x64xbf16>
llama.weight_decl @wk_48 : tensor<32x48xf16>
llama.weight_decl @wo : tensor<64x64xf16>

// The importer's form: q, k and v projections of one input.
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>)
// CHECK: %[[WQ:.*]] = llama.weight @wq
// CHECK: %[[WK:.*]] = llama.weight @wk
// CHECK: %[[WV:.*]] = llama.weight @wv
// CHECK-NOT: llama.matmul
// CHECK: %[[QKV:.*]]:3 = llama.multi_matmul %[[X]], %[[WQ]], %[[WK]], %[[WV]] : tensor<?x?x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>, tensor<32x64xf16> -> tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
// CHECK-NOT: llama.matmul
// CHECK: return %[[QKV]]#0, %[[QKV]]#1, %[[QKV]]#2
func.func @qkv(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %wq = llama.weight @wq : tensor<64x64xf16>
  %wk = llama.weight @wk : tensor<32x64xf16>
  %wv = llama.weight @wv : tensor<32x64xf16>
  %q = llama.matmul %x, %wq : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
  %k = llama.matmul %x, %wk : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  %v = llama.matmul %x, %wv : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  return %q, %k, %v : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// Two projections are enough. An unused projection stays out (the rewrite
// driver then erases it as dead), and so does the projection of another input.
// CHECK-LABEL: func.func @pair
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>, %[[Z:.*]]: tensor<?x?x64xf32>)
// CHECK-NOT: llama.matmul %[[X]]
// CHECK: %[[KV:.*]]:2 = llama.multi_matmul %[[X]], %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<32x64xf16>, tensor<32x64xf16> -> tensor<?x?x32xf32>, tensor<?x?x32xf32>
// CHECK-NOT: llama.matmul %[[X]]
// CHECK: %[[O:.*]] = llama.matmul %[[Z]]
// CHECK: return %[[KV]]#0, %[[KV]]#1, %[[O]]
func.func @pair(%x: tensor<?x?x64xf32>, %z: tensor<?x?x64xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x64xf32>) {
  %wq = llama.weight @wq : tensor<64x64xf16>
  %wk = llama.weight @wk : tensor<32x64xf16>
  %wv = llama.weight @wv : tensor<32x64xf16>
  %wo = llama.weight @wo : tensor<64x64xf16>
  %k = llama.matmul %x, %wk : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  %v = llama.matmul %x, %wv : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  %unused = llama.matmul %x, %wq : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
  %o = llama.matmul %z, %wo : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
  return %k, %v, %o : tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x64xf32>
}

// A bf16 key weight cannot be read as one matrix with f16 q and v: q and v
// are grouped, k stays alone.
// CHECK-LABEL: func.func @mixed_element_types
// CHECK: %[[QV:.*]]:2 = llama.multi_matmul %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>
// CHECK: %[[K:.*]] = llama.matmul %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<32x64xbf16>
// CHECK: return %[[QV]]#0, %[[K]], %[[QV]]#1
func.func @mixed_element_types(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %wq = llama.weight @wq : tensor<64x64xf16>
  %wk = llama.weight @wk_bf16 : tensor<32x64xbf16>
  %wv = llama.weight @wv : tensor<32x64xf16>
  %q = llama.matmul %x, %wq : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
  %k = llama.matmul %x, %wk : tensor<?x?x64xf32>, tensor<32x64xbf16> -> tensor<?x?x32xf32>
  %v = llama.matmul %x, %wv : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  return %q, %k, %v : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// The importer reads each weight right before its matmul: a read defined
// after the first projection moves before the fused op.
// CHECK-LABEL: func.func @weight_read_late
// CHECK: %[[WV:.*]] = llama.weight @wv
// CHECK: %[[QKV:.*]]:3 = llama.multi_matmul %{{.*}}, %{{.*}}, %{{.*}}, %[[WV]]
// CHECK: return %[[QKV]]#0, %[[QKV]]#1, %[[QKV]]#2
func.func @weight_read_late(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %wq = llama.weight @wq : tensor<64x64xf16>
  %wk = llama.weight @wk : tensor<32x64xf16>
  %q = llama.matmul %x, %wq : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
  %k = llama.matmul %x, %wk : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  %wv = llama.weight @wv : tensor<32x64xf16>
  %v = llama.matmul %x, %wv : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  return %q, %k, %v : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// A weight computed after the first projection cannot move before it: its
// matmul stays out of the group.
// CHECK-LABEL: func.func @weight_computed_late
// CHECK: %[[QK:.*]]:2 = llama.multi_matmul %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>
// CHECK: %[[WV:.*]] = llama.cast
// CHECK: %[[V:.*]] = llama.matmul %{{.*}}, %[[WV]]
// CHECK: return %[[QK]]#0, %[[QK]]#1, %[[V]]
func.func @weight_computed_late(%x: tensor<?x?x64xf32>, %wq: tensor<64x64xf32>, %wk: tensor<32x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %q = llama.matmul %x, %wq : tensor<?x?x64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
  %k = llama.matmul %x, %wk : tensor<?x?x64xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
  %raw = llama.weight @wv : tensor<32x64xf16>
  %wv = llama.cast %raw : tensor<32x64xf16> -> tensor<32x64xf32>
  %v = llama.matmul %x, %wv : tensor<?x?x64xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
  return %q, %k, %v : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

//===----------------------------------------------------------------------===//
// Near misses stay unfused.
//===----------------------------------------------------------------------===//

// A lone projection.
// CHECK-LABEL: func.func @single_projection
// CHECK-NOT: llama.multi_matmul
// CHECK: llama.matmul
func.func @single_projection(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %wq = llama.weight @wq : tensor<64x64xf16>
  %q = llama.matmul %x, %wq : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
  return %q : tensor<?x?x64xf32>
}

// Weights with different in_features (the input's feature dim is dynamic,
// so the matmul verifier accepts both).
// CHECK-LABEL: func.func @in_features_differ
// CHECK-NOT: llama.multi_matmul
// CHECK: llama.matmul
// CHECK: llama.matmul
func.func @in_features_differ(%x: tensor<?x?x?xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %wk = llama.weight @wk : tensor<32x64xf16>
  %w48 = llama.weight @wk_48 : tensor<32x48xf16>
  %k = llama.matmul %x, %wk : tensor<?x?x?xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  %k48 = llama.matmul %x, %w48 : tensor<?x?x?xf32>, tensor<32x48xf16> -> tensor<?x?x32xf32>
  return %k, %k48 : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// Projections in different blocks.
// CHECK-LABEL: func.func @different_blocks
// CHECK-NOT: llama.multi_matmul
// CHECK: llama.matmul
// CHECK: llama.matmul
func.func @different_blocks(%x: tensor<?x?x64xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %wk = llama.weight @wk : tensor<32x64xf16>
  %wv = llama.weight @wv : tensor<32x64xf16>
  %k = llama.matmul %x, %wk : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  cf.br ^next
^next:
  %v = llama.matmul %x, %wv : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
  return %k, %v : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}
