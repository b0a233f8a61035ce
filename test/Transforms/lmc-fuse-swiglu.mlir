// RUN: llamac-opt %s --lmc-fuse-swiglu | FileCheck %s

llama.weight_decl @gate : tensor<128x64xf16>
llama.weight_decl @up : tensor<128x64xf16>
llama.weight_decl @up_bf16 : tensor<128x64xbf16>

// The importer's form.
// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>)
// CHECK-DAG: %[[WG:.*]] = llama.weight @gate
// CHECK-DAG: %[[WU:.*]] = llama.weight @up
// CHECK-NOT: llama.{{matmul|silu|mul}}
// CHECK: %[[Y:.*]] = llama.swiglu %[[X]], %[[WG]], %[[WU]] : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
// CHECK-NOT: llama.{{matmul|silu|mul}}
// CHECK: return %[[Y]]
func.func @swiglu(%x: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  %wg = llama.weight @gate : tensor<128x64xf16>
  %wu = llama.weight @up : tensor<128x64xf16>
  %g = llama.matmul %x, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gs = llama.silu %g : tensor<?x?x128xf32>
  %u = llama.matmul %x, %wu : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gu = llama.mul %gs, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>
  return %gu : tensor<?x?x128xf32>
}

// up * silu(gate): the gate is still the activated projection.
// CHECK-LABEL: func.func @up_times_activated_gate
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>)
// CHECK-DAG: %[[WG:.*]] = llama.weight @gate
// CHECK-DAG: %[[WU:.*]] = llama.weight @up
// CHECK: llama.swiglu %[[X]], %[[WG]], %[[WU]]
func.func @up_times_activated_gate(%x: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  %wg = llama.weight @gate : tensor<128x64xf16>
  %wu = llama.weight @up : tensor<128x64xf16>
  %u = llama.matmul %x, %wu : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %g = llama.matmul %x, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gs = llama.silu %g : tensor<?x?x128xf32>
  %gu = llama.mul %u, %gs : tensor<?x?x128xf32>, tensor<?x?x128xf32>
  return %gu : tensor<?x?x128xf32>
}

//===----------------------------------------------------------------------===//
// Near misses stay unfused.
//===----------------------------------------------------------------------===//

// Gate and up project different inputs.
// CHECK-LABEL: func.func @different_inputs
// CHECK-NOT: llama.swiglu
// CHECK: llama.silu
func.func @different_inputs(%x: tensor<?x?x64xf32>, %z: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  %wg = llama.weight @gate : tensor<128x64xf16>
  %wu = llama.weight @up : tensor<128x64xf16>
  %g = llama.matmul %x, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gs = llama.silu %g : tensor<?x?x128xf32>
  %u = llama.matmul %z, %wu : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gu = llama.mul %gs, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>
  return %gu : tensor<?x?x128xf32>
}

// llama.swiglu reads gate and up as one matrix: their types must agree.
// CHECK-LABEL: func.func @weight_types_differ
// CHECK-NOT: llama.swiglu
// CHECK: llama.silu
func.func @weight_types_differ(%x: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  %wg = llama.weight @gate : tensor<128x64xf16>
  %wu = llama.weight @up_bf16 : tensor<128x64xbf16>
  %g = llama.matmul %x, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gs = llama.silu %g : tensor<?x?x128xf32>
  %u = llama.matmul %x, %wu : tensor<?x?x64xf32>, tensor<128x64xbf16> -> tensor<?x?x128xf32>
  %gu = llama.mul %gs, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>
  return %gu : tensor<?x?x128xf32>
}

// The up factor is not a projection.
// CHECK-LABEL: func.func @up_not_a_projection
// CHECK-NOT: llama.swiglu
// CHECK: llama.silu
func.func @up_not_a_projection(%x: tensor<?x?x64xf32>, %u: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
  %wg = llama.weight @gate : tensor<128x64xf16>
  %g = llama.matmul %x, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gs = llama.silu %g : tensor<?x?x128xf32>
  %gu = llama.mul %gs, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>
  return %gu : tensor<?x?x128xf32>
}

// Neither factor is activated.
// CHECK-LABEL: func.func @no_activation
// CHECK-NOT: llama.swiglu
// CHECK: llama.mul
func.func @no_activation(%x: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  %wg = llama.weight @gate : tensor<128x64xf16>
  %wu = llama.weight @up : tensor<128x64xf16>
  %g = llama.matmul %x, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %u = llama.matmul %x, %wu : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gu = llama.mul %g, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>
  return %gu : tensor<?x?x128xf32>
}

// The gate projection is used elsewhere: fusing would compute it twice.
// CHECK-LABEL: func.func @gate_used_elsewhere
// CHECK-NOT: llama.swiglu
// CHECK: llama.silu
func.func @gate_used_elsewhere(%x: tensor<?x?x64xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
  %wg = llama.weight @gate : tensor<128x64xf16>
  %wu = llama.weight @up : tensor<128x64xf16>
  %g = llama.matmul %x, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gs = llama.silu %g : tensor<?x?x128xf32>
  %u = llama.matmul %x, %wu : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
  %gu = llama.mul %gs, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>
  return %gu, %g : tensor<?x?x128xf32>, tensor<?x?x128xf32>
}
