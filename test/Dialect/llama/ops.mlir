// Every llama op parses, verifies and prints back to the same text, in the
// custom form and in the generic form.
// RUN: llamac-opt %s | llamac-opt | FileCheck %s
// RUN: llamac-opt %s --mlir-print-op-generic | llamac-opt | FileCheck %s
// RUN: llamac-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK: llama.weight_decl @model.embed_tokens.weight : tensor<512x64xf32>
// CHECK: llama.weight_decl @w_f16 : tensor<96x64xf16>
// CHECK: llama.weight_decl @w_bf16 : tensor<64x96xbf16>
// CHECK: llama.weight_decl @norm : tensor<64xbf16>
// GENERIC: "llama.weight_decl"() <{sym_name = "model.embed_tokens.weight", type = tensor<512x64xf32>}> : () -> ()
llama.weight_decl @"model.embed_tokens.weight" : tensor<512x64xf32>
llama.weight_decl @w_f16 : tensor<96x64xf16>
llama.weight_decl @w_bf16 : tensor<64x96xbf16>
llama.weight_decl @norm : tensor<64xbf16>

// CHECK-LABEL: func.func @weights
// CHECK: %{{.*}} = llama.weight @model.embed_tokens.weight : tensor<512x64xf32>
// CHECK: %{{.*}} = llama.weight @w_f16 : tensor<96x64xf16>
// CHECK: %{{.*}} = llama.weight @w_bf16 : tensor<64x96xbf16>
// GENERIC-LABEL: "func.func"() <{function_type = () -> (tensor<512x64xf32>, tensor<96x64xf16>, tensor<64x96xbf16>), sym_name = "weights"}>
// GENERIC: "llama.weight"() <{name = @model.embed_tokens.weight}> : () -> tensor<512x64xf32>
func.func @weights() -> (tensor<512x64xf32>, tensor<96x64xf16>, tensor<64x96xbf16>) {
  %0 = llama.weight @"model.embed_tokens.weight" : tensor<512x64xf32>
  %1 = llama.weight @w_f16 : tensor<96x64xf16>
  %2 = llama.weight @w_bf16 : tensor<64x96xbf16>
  return %0, %1, %2 : tensor<512x64xf32>, tensor<96x64xf16>, tensor<64x96xbf16>
}

// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[TABLE:[^:]*]]: tensor<512x64xf16>, %[[IDS:[^:]*]]: tensor<?x?xi32>)
// CHECK: llama.embedding %[[TABLE]][%[[IDS]]] : tensor<512x64xf16>, tensor<?x?xi32> -> tensor<?x?x64xf32>
func.func @embedding(%table: tensor<512x64xf16>, %ids: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  %0 = llama.embedding %table[%ids] : tensor<512x64xf16>, tensor<?x?xi32> -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x64xf32>, %[[W16:[^:]*]]: tensor<96x64xf16>, %[[WB16:[^:]*]]: tensor<96x64xbf16>, %[[W32:[^:]*]]: tensor<96x64xf32>, %[[X2:[^:]*]]: tensor<3x64xf32>)
// CHECK: llama.matmul %[[X]], %[[W16]] : tensor<?x?x64xf32>, tensor<96x64xf16> -> tensor<?x?x96xf32>
// CHECK: llama.matmul %[[X]], %[[WB16]] : tensor<?x?x64xf32>, tensor<96x64xbf16> -> tensor<?x?x96xf32>
// CHECK: llama.matmul %[[X]], %[[W32]] : tensor<?x?x64xf32>, tensor<96x64xf32> -> tensor<?x?x96xf32>
// CHECK: llama.matmul %[[X2]], %[[W32]] : tensor<3x64xf32>, tensor<96x64xf32> -> tensor<3x96xf32>
func.func @matmul(%x: tensor<?x?x64xf32>, %w16: tensor<96x64xf16>, %wb16: tensor<96x64xbf16>,
                  %w32: tensor<96x64xf32>, %x2: tensor<3x64xf32>) {
  %0 = llama.matmul %x, %w16 : tensor<?x?x64xf32>, tensor<96x64xf16> -> tensor<?x?x96xf32>
  %1 = llama.matmul %x, %wb16 : tensor<?x?x64xf32>, tensor<96x64xbf16> -> tensor<?x?x96xf32>
  %2 = llama.matmul %x, %w32 : tensor<?x?x64xf32>, tensor<96x64xf32> -> tensor<?x?x96xf32>
  %3 = llama.matmul %x2, %w32 : tensor<3x64xf32>, tensor<96x64xf32> -> tensor<3x96xf32>
  return
}

// CHECK-LABEL: func.func @multi_matmul
// CHECK: %{{.*}}:3 = llama.multi_matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x1x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>, tensor<32x64xf16> -> tensor<?x1x64xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>
// CHECK: %{{.*}} = llama.multi_matmul %{{.*}}, %{{.*}} : tensor<?x1x64xf32>, tensor<64x64xf16> -> tensor<?x1x64xf32>
// GENERIC-LABEL: sym_name = "multi_matmul"
// GENERIC: "llama.multi_matmul"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (tensor<?x1x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>, tensor<32x64xf16>) -> (tensor<?x1x64xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>)
func.func @multi_matmul(%x: tensor<?x1x64xf32>, %wq: tensor<64x64xf16>, %wk: tensor<32x64xf16>, %wv: tensor<32x64xf16>) {
  %q, %k, %v = llama.multi_matmul %x, %wq, %wk, %wv : tensor<?x1x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>, tensor<32x64xf16> -> tensor<?x1x64xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>
  %one = llama.multi_matmul %x, %wq : tensor<?x1x64xf32>, tensor<64x64xf16> -> tensor<?x1x64xf32>
  return
}

// CHECK-LABEL: func.func @elementwise
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x64xf32>, %[[ROW:[^:]*]]: tensor<?x?x1xf32>, %[[W:[^:]*]]: tensor<64xf32>)
// CHECK: %[[C:.*]] = llama.constant 9.99999974E-6 : tensor<f32>
// CHECK: llama.add %[[X]], %[[X]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
// CHECK: llama.add %[[ROW]], %[[C]] : tensor<?x?x1xf32>, tensor<f32>
// CHECK: llama.mul %[[X]], %[[ROW]] : tensor<?x?x64xf32>, tensor<?x?x1xf32>
// CHECK: llama.mul %[[X]], %[[W]] : tensor<?x?x64xf32>, tensor<64xf32>
// CHECK: llama.rsqrt %[[ROW]] : tensor<?x?x1xf32>
// CHECK: llama.silu %[[X]] : tensor<?x?x64xf32>
// CHECK: llama.softmax %[[X]] : tensor<?x?x64xf32>
// CHECK: llama.mean %[[X]] : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
// GENERIC-LABEL: sym_name = "elementwise"
// GENERIC: "llama.constant"() <{value = 9.99999974E-6 : f32}> : () -> tensor<f32>
func.func @elementwise(%x: tensor<?x?x64xf32>, %row: tensor<?x?x1xf32>, %w: tensor<64xf32>) {
  %c = llama.constant 9.99999974E-6 : tensor<f32>
  %0 = llama.add %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %1 = llama.add %row, %c : tensor<?x?x1xf32>, tensor<f32>
  %2 = llama.mul %x, %row : tensor<?x?x64xf32>, tensor<?x?x1xf32>
  %3 = llama.mul %x, %w : tensor<?x?x64xf32>, tensor<64xf32>
  %4 = llama.rsqrt %row : tensor<?x?x1xf32>
  %5 = llama.silu %x : tensor<?x?x64xf32>
  %6 = llama.softmax %x : tensor<?x?x64xf32>
  %7 = llama.mean %x : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  return
}

// CHECK-LABEL: func.func @cast
// CHECK: llama.cast %{{.*}} : tensor<64xbf16> -> tensor<64xf32>
// CHECK: llama.cast %{{.*}} : tensor<96x64xf16> -> tensor<96x64xf32>
func.func @cast(%a: tensor<64xbf16>, %b: tensor<96x64xf16>) {
  %0 = llama.cast %a : tensor<64xbf16> -> tensor<64xf32>
  %1 = llama.cast %b : tensor<96x64xf16> -> tensor<96x64xf32>
  return
}

// CHECK-LABEL: func.func @shapes
// CHECK: %[[R:.*]] = llama.reshape %{{.*}} : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
// CHECK: %[[T:.*]] = llama.transpose %[[R]] [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
// CHECK: llama.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<24xf32>
// CHECK: llama.repeat_kv %{{.*}} {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
// CHECK: llama.repeat_kv %{{.*}} {repeats = 1 : i64} : tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
// GENERIC-LABEL: sym_name = "shapes"
// GENERIC: "llama.transpose"(%{{.*}}) <{permutation = array<i64: 0, 2, 1, 3>}>
// GENERIC: "llama.repeat_kv"(%{{.*}}) <{repeats = 2 : i64}>
func.func @shapes(%x: tensor<?x?x64xf32>, %s: tensor<2x3x4xf32>, %kv: tensor<?x2x?x16xf32>) {
  %0 = llama.reshape %x : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %1 = llama.transpose %0 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %2 = llama.reshape %s : tensor<2x3x4xf32> -> tensor<24xf32>
  %3 = llama.repeat_kv %kv {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %4 = llama.repeat_kv %kv {repeats = 1 : i64} : tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return
}

// The default scale (1.0) is elided; any other value is printed.
// CHECK-LABEL: func.func @rope
// CHECK: llama.rope %{{.*}}, %{{.*}} {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
// CHECK: llama.rope %{{.*}}, %{{.*}} {scale = 4.000000e+00 : f64, theta = 1.000000e+06 : f64} : tensor<?x4x1x16xf32>, tensor<?x1xi32>
func.func @rope(%x: tensor<?x4x?x16xf32>, %pos: tensor<?x?xi32>, %y: tensor<?x4x1x16xf32>, %pos1: tensor<?x1xi32>) {
  %0 = llama.rope %x, %pos {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  %1 = llama.rope %y, %pos1 {theta = 1.000000e+06 : f64, scale = 4.0 : f64} : tensor<?x4x1x16xf32>, tensor<?x1xi32>
  return
}

// CHECK-LABEL: func.func @cache
// CHECK-SAME: (%[[K:[^:]*]]: tensor<?x2x?x16xf32>, %[[V:[^:]*]]: tensor<?x2x?x16xf32>, %[[CACHE:[^:]*]]: memref<2x2x1x2x256x16xf16>, %[[START:[^:]*]]: index, %[[B:[^:]*]]: index, %[[LEN:[^:]*]]: index)
// CHECK: llama.cache_write %[[K]], %[[V]] into %[[CACHE]][%[[START]]] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf16>
// CHECK: llama.cache_read key %[[CACHE]][%[[B]], %[[LEN]]] layer 1 : memref<2x2x1x2x256x16xf16> -> tensor<?x2x?x16xf32>
// CHECK: llama.cache_read value %[[CACHE]][%[[B]], %[[LEN]]] layer 0 : memref<2x2x1x2x256x16xf16> -> tensor<?x2x?x16xf32>
// GENERIC-LABEL: sym_name = "cache"
// GENERIC: "llama.cache_write"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{layer = 1 : i64}>
// GENERIC: "llama.cache_read"(%{{.*}}, %{{.*}}, %{{.*}}) <{kind = 0 : i32, layer = 1 : i64}>
// GENERIC: "llama.cache_read"(%{{.*}}, %{{.*}}, %{{.*}}) <{kind = 1 : i32, layer = 0 : i64}>
func.func @cache(%k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>, %cache: memref<2x2x1x2x256x16xf16>,
                 %start: index, %batch: index, %length: index) {
  llama.cache_write %k, %v into %cache[%start] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf16>
  %0 = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf16> -> tensor<?x2x?x16xf32>
  %1 = llama.cache_read value %cache[%batch, %length] layer 0 : memref<2x2x1x2x256x16xf16> -> tensor<?x2x?x16xf32>
  return
}

// CHECK-LABEL: func.func @batch_matmul
// CHECK: %[[S:.*]] = llama.batch_matmul %{{.*}}, %{{.*}} {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
// CHECK: llama.batch_matmul %[[S]], %{{.*}} : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
func.func @batch_matmul(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>) {
  %s = llama.batch_matmul %q, %k {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
  %o = llama.batch_matmul %s, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return
}

// CHECK-LABEL: func.func @attention_mask
// CHECK-SAME: (%[[FIRST:[^:]*]]: tensor<?xi32>, %[[START:[^:]*]]: index, %[[Q:[^:]*]]: index, %[[K:[^:]*]]: index)
// CHECK: llama.attention_mask %[[FIRST]], %[[START]], %[[Q]], %[[K]] : tensor<?xi32> -> tensor<?x1x?x?xf32>
func.func @attention_mask(%first: tensor<?xi32>, %start: index, %queries: index, %keys: index) -> tensor<?x1x?x?xf32> {
  %0 = llama.attention_mask %first, %start, %queries, %keys : tensor<?xi32> -> tensor<?x1x?x?xf32>
  return %0 : tensor<?x1x?x?xf32>
}

// CHECK-LABEL: func.func @last_positions
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x64xf32>, %[[N:[^:]*]]: index)
// CHECK: llama.last_positions %[[X]], %[[N]] : tensor<?x?x64xf32> -> tensor<?x?x64xf32>
func.func @last_positions(%x: tensor<?x?x64xf32>, %n: index) -> tensor<?x?x64xf32> {
  %0 = llama.last_positions %x, %n : tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

//===----------------------------------------------------------------------===//
// Fused ops
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x?x64xf32>, %[[R:[^:]*]]: tensor<?x?x64xf32>, %[[W:[^:]*]]: tensor<64xbf16>)
// CHECK: %[[N:.*]] = llama.rms_norm %[[X]], %[[W]] {epsilon = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xbf16>
// CHECK: %[[SUM:.*]], %[[NORMED:.*]] = llama.add_rms_norm %[[X]], %[[R]], %[[W]] {epsilon = 9.99999997E-7 : f32} : tensor<?x?x64xf32>, tensor<64xbf16>
// CHECK: return %[[N]], %[[SUM]], %[[NORMED]]
// GENERIC-LABEL: sym_name = "rms_norm"
// GENERIC: "llama.rms_norm"(%{{.*}}, %{{.*}}) <{epsilon = 9.99999974E-6 : f32}> : (tensor<?x?x64xf32>, tensor<64xbf16>) -> tensor<?x?x64xf32>
// GENERIC: "llama.add_rms_norm"(%{{.*}}, %{{.*}}, %{{.*}}) <{epsilon = 9.99999997E-7 : f32}> : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xbf16>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
func.func @rms_norm(%x: tensor<?x?x64xf32>, %r: tensor<?x?x64xf32>, %w: tensor<64xbf16>)
    -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x64xf32>, tensor<64xbf16>
  %sum, %normed = llama.add_rms_norm %x, %r, %w {epsilon = 1.0e-6 : f32} : tensor<?x?x64xf32>, tensor<64xbf16>
  return %0, %sum, %normed : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x1x64xf32>, %[[G:[^:]*]]: tensor<176x64xf16>, %[[U:[^:]*]]: tensor<176x64xf16>)
// CHECK: llama.swiglu %[[X]], %[[G]], %[[U]] : tensor<?x1x64xf32>, tensor<176x64xf16> -> tensor<?x1x176xf32>
func.func @swiglu(%x: tensor<?x1x64xf32>, %gate: tensor<176x64xf16>, %up: tensor<176x64xf16>) -> tensor<?x1x176xf32> {
  %0 = llama.swiglu %x, %gate, %up : tensor<?x1x64xf32>, tensor<176x64xf16> -> tensor<?x1x176xf32>
  return %0 : tensor<?x1x176xf32>
}

// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<?x?x64xf32>, %[[K:[^:]*]]: tensor<?x?x32xf32>, %[[V:[^:]*]]: tensor<?x?x32xf32>, %[[POS:[^:]*]]: tensor<?x?xi32>, %[[FIRST:[^:]*]]: tensor<?xi32>, %[[CACHE:[^:]*]]: memref<2x2x1x2x256x16xf32>, %[[START:[^:]*]]: index)
// CHECK: llama.attention %[[Q]], %[[K]], %[[V]], %[[POS]], %[[FIRST]], %[[CACHE]][%[[START]]]
// CHECK-SAME: {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32}
// CHECK-SAME: : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<2x2x1x2x256x16xf32>
// GENERIC-LABEL: sym_name = "attention"
// GENERIC: "llama.attention"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32}>
func.func @attention(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
                     %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
                     %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %0 = llama.attention %q, %k, %v, %positions, %first_slot, %cache[%start] {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<2x2x1x2x256x16xf32>
  return %0 : tensor<?x?x64xf32>
}

// Decode form (seq 1), multi-head (no GQA), a bf16 cache.
// CHECK-LABEL: func.func @attention_decode
// CHECK: llama.attention {{.*}} {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 4 : i64, rope_scale = 2.000000e+00 : f64, rope_theta = 1.000000e+06 : f64, scale = 2.500000e-01 : f32} : tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1xi32>, tensor<?xi32>, memref<1x2x4x4x64x16xbf16>
func.func @attention_decode(%q: tensor<?x1x64xf32>, %k: tensor<?x1x64xf32>, %v: tensor<?x1x64xf32>,
                            %positions: tensor<?x1xi32>, %first_slot: tensor<?xi32>,
                            %cache: memref<1x2x4x4x64x16xbf16>, %start: index) -> tensor<?x1x64xf32> {
  %0 = llama.attention %q, %k, %v, %positions, %first_slot, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 4 : i64, rope_scale = 2.0 : f64, rope_theta = 1.0e6 : f64, scale = 0.25 : f32} : tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1xi32>, tensor<?xi32>, memref<1x2x4x4x64x16xbf16>
  return %0 : tensor<?x1x64xf32>
}
