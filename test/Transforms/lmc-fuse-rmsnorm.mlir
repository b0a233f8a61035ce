// RUN: llamac-opt %s --lmc-fuse-rmsnorm | FileCheck %s

llama.weight_decl @w16 : tensor<64xf16>
llama.weight_decl @w32 : tensor<64xf32>
llama.weight_decl @w1 : tensor<1xf16>
llama.weight_decl @w1x64 : tensor<1x64xf16>

// The importer's form: the f16 weight widened by llama.cast; rms_norm takes
// the weight in its storage type.
// CHECK-LABEL: func.func @f16_weight
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>)
// CHECK: %[[W:.*]] = llama.weight @w16 : tensor<64xf16>
// CHECK-NOT: llama.mul
// CHECK: %[[N:.*]] = llama.rms_norm %[[X]], %[[W]] {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
// CHECK-NOT: llama.{{mul|mean|rsqrt|add|cast}}
// CHECK: return %[[N]]
func.func @f16_weight(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// A float32 weight needs no cast.
// CHECK-LABEL: func.func @f32_weight
// CHECK: %[[W:.*]] = llama.weight @w32 : tensor<64xf32>
// CHECK: llama.rms_norm %{{.*}}, %[[W]] {epsilon = 9.99999997E-7 : f32} : tensor<2x?x64xf32>, tensor<64xf32>
func.func @f32_weight(%x: tensor<2x?x64xf32>) -> tensor<2x?x64xf32> {
  %eps = llama.constant 9.99999997E-7 : tensor<f32>
  %w = llama.weight @w32 : tensor<64xf32>
  %sq = llama.mul %x, %x : tensor<2x?x64xf32>, tensor<2x?x64xf32>
  %var = llama.mean %sq : tensor<2x?x64xf32> -> tensor<2x?x1xf32>
  %vare = llama.add %var, %eps : tensor<2x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<2x?x1xf32>
  %n = llama.mul %x, %inv : tensor<2x?x64xf32>, tensor<2x?x1xf32>
  %y = llama.mul %n, %w : tensor<2x?x64xf32>, tensor<64xf32>
  return %y : tensor<2x?x64xf32>
}

// The weight on the left: shapes allow it for a rank-1 input.
// CHECK-LABEL: func.func @weight_on_the_left
// CHECK-SAME: (%[[X:.*]]: tensor<64xf32>)
// CHECK: %[[N:.*]] = llama.rms_norm %[[X]], %{{.*}} {epsilon = 9.99999974E-6 : f32} : tensor<64xf32>, tensor<64xf16>
// CHECK-NOT: llama.mul
// CHECK: return %[[N]]
func.func @weight_on_the_left(%x: tensor<64xf32>) -> tensor<64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %x, %x : tensor<64xf32>, tensor<64xf32>
  %var = llama.mean %sq : tensor<64xf32> -> tensor<1xf32>
  %vare = llama.add %var, %eps : tensor<1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<1xf32>
  %n = llama.mul %x, %inv : tensor<64xf32>, tensor<1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %w32, %n : tensor<64xf32>, tensor<64xf32>
  return %y : tensor<64xf32>
}

// The inverse RMS on the left: shapes allow it for a last dim of 1.
// CHECK-LABEL: func.func @inverse_rms_on_the_left
// CHECK: llama.rms_norm %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32} : tensor<?x1xf32>, tensor<1xf16>
// CHECK-NOT: llama.mul
func.func @inverse_rms_on_the_left(%x: tensor<?x1xf32>) -> tensor<?x1xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w1 : tensor<1xf16>
  %sq = llama.mul %x, %x : tensor<?x1xf32>, tensor<?x1xf32>
  %var = llama.mean %sq : tensor<?x1xf32> -> tensor<?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x1xf32>
  %n = llama.mul %inv, %x : tensor<?x1xf32>, tensor<?x1xf32>
  %w32 = llama.cast %w : tensor<1xf16> -> tensor<1xf32>
  %y = llama.mul %n, %w32 : tensor<?x1xf32>, tensor<1xf32>
  return %y : tensor<?x1xf32>
}

//===----------------------------------------------------------------------===//
// Near misses stay unfused.
//===----------------------------------------------------------------------===//

// rsqrt(mean(x^2)) + eps is not the RMSNorm.
// CHECK-LABEL: func.func @eps_after_rsqrt
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @eps_after_rsqrt(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %rms = llama.rsqrt %var : tensor<?x?x1xf32>
  %inv = llama.add %rms, %eps : tensor<?x?x1xf32>, tensor<f32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// The statistics come from another tensor than the one normalized.
// CHECK-LABEL: func.func @mean_of_another_square
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @mean_of_another_square(%x: tensor<?x?x64xf32>, %z: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %z, %z : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// mean(x * z) is not a mean square.
// CHECK-LABEL: func.func @mean_of_a_product
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @mean_of_a_product(%x: tensor<?x?x64xf32>, %z: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %x, %z : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// The scale is an activation, not a weight.
// CHECK-LABEL: func.func @scale_not_a_weight
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @scale_not_a_weight(%x: tensor<?x?x64xf32>, %s: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %y = llama.mul %n, %s : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// A one-element weight broadcast over the hidden dim.
// CHECK-LABEL: func.func @weight_shorter_than_hidden
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @weight_shorter_than_hidden(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w1 : tensor<1xf16>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<1xf16> -> tensor<1xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<1xf32>
  return %y : tensor<?x?x64xf32>
}

// A rank-2 weight.
// CHECK-LABEL: func.func @weight_of_rank_2
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @weight_of_rank_2(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w1x64 : tensor<1x64xf16>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<1x64xf16> -> tensor<1x64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<1x64xf32>
  return %y : tensor<?x?x64xf32>
}

// The epsilon must be a constant to become an attribute.
// CHECK-LABEL: func.func @eps_not_constant
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @eps_not_constant(%x: tensor<?x?x64xf32>, %eps: tensor<f32>) -> tensor<?x?x64xf32> {
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// llama.rms_norm requires a positive epsilon.
// CHECK-LABEL: func.func @eps_zero
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @eps_zero(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %eps = llama.constant 0.000000e+00 : tensor<f32>
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// The unweighted normalization is used elsewhere: fusing would compute the
// reduction twice.
// CHECK-LABEL: func.func @normalized_used_elsewhere
// CHECK-NOT: llama.rms_norm
// CHECK: llama.rsqrt
func.func @normalized_used_elsewhere(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %eps = llama.constant 9.99999974E-6 : tensor<f32>
  %w = llama.weight @w16 : tensor<64xf16>
  %sq = llama.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %var = llama.mean %sq : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %vare = llama.add %var, %eps : tensor<?x?x1xf32>, tensor<f32>
  %inv = llama.rsqrt %vare : tensor<?x?x1xf32>
  %n = llama.mul %x, %inv : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %w32 = llama.cast %w : tensor<64xf16> -> tensor<64xf32>
  %y = llama.mul %n, %w32 : tensor<?x?x64xf32>, tensor<64xf32>
  return %y, %n : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
