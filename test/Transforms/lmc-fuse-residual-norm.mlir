// RUN: llamac-opt %s --lmc-fuse-residual-norm | FileCheck %s

llama.weight_decl @w : tensor<64xf16>

// The importer's form: the sum also feeds the next residual add, after the
// norm.
// CHECK-LABEL: func.func @sum_used_after_norm
// CHECK-SAME: (%[[H:.*]]: tensor<?x?x64xf32>, %[[ATTN:.*]]: tensor<?x?x64xf32>, %[[MLP:.*]]: tensor<?x?x64xf32>)
// CHECK: %[[W:.*]] = llama.weight @w
// CHECK-NEXT: %[[SUM:.*]], %[[NORMED:.*]] = llama.add_rms_norm %[[H]], %[[ATTN]], %[[W]] {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
// CHECK-NOT: llama.rms_norm
// CHECK-NEXT: %[[NEXT:.*]] = llama.add %[[SUM]], %[[MLP]]
// CHECK-NEXT: return %[[NORMED]], %[[NEXT]]
func.func @sum_used_after_norm(%h: tensor<?x?x64xf32>, %attn: tensor<?x?x64xf32>, %mlp: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %s = llama.add %h, %attn : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %w = llama.weight @w : tensor<64xf16>
  %n = llama.rms_norm %s, %w {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  %next = llama.add %s, %mlp : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  return %n, %next : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// The sum is used before the norm; the weight is defined before the add, so
// the fused op takes the add's place.
// CHECK-LABEL: func.func @sum_used_before_norm
// CHECK: %[[SUM:.*]], %[[NORMED:.*]] = llama.add_rms_norm
// CHECK-NEXT: %[[EARLY:.*]] = llama.mul %[[SUM]], %[[SUM]]
// CHECK-NEXT: return %[[NORMED]], %[[EARLY]]
func.func @sum_used_before_norm(%h: tensor<?x?x64xf32>, %attn: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %w = llama.weight @w : tensor<64xf16>
  %s = llama.add %h, %attn : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %early = llama.mul %s, %s : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %n = llama.rms_norm %s, %w {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  return %n, %early : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

//===----------------------------------------------------------------------===//
// Near misses stay unfused.
//===----------------------------------------------------------------------===//

// A broadcasting add is not a residual connection.
// CHECK-LABEL: func.func @broadcast_add
// CHECK-NOT: llama.add_rms_norm
// CHECK: llama.rms_norm
func.func @broadcast_add(%h: tensor<?x?x64xf32>, %bias: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %s = llama.add %h, %bias : tensor<?x?x64xf32>, tensor<64xf32>
  %w = llama.weight @w : tensor<64xf16>
  %n = llama.rms_norm %s, %w {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  return %n : tensor<?x?x64xf32>
}

// No place for the fused op: the sum is used before the weight exists.
// CHECK-LABEL: func.func @sum_used_before_weight
// CHECK-NOT: llama.add_rms_norm
// CHECK: llama.rms_norm
func.func @sum_used_before_weight(%h: tensor<?x?x64xf32>, %attn: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %s = llama.add %h, %attn : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %early = llama.mul %s, %s : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %w = llama.weight @w : tensor<64xf16>
  %n = llama.rms_norm %s, %w {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  return %n, %early : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// The norm's input is not a sum.
// CHECK-LABEL: func.func @norm_of_a_product
// CHECK-NOT: llama.add_rms_norm
// CHECK: llama.rms_norm
func.func @norm_of_a_product(%h: tensor<?x?x64xf32>, %g: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %p = llama.mul %h, %g : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %w = llama.weight @w : tensor<64xf16>
  %n = llama.rms_norm %p, %w {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  return %n : tensor<?x?x64xf32>
}
