// One case per verifier rule of the llama dialect: bad IR is rejected at the
// op that has it, with a message that names the problem.
// RUN: llamac-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// weight_decl / weight
//===----------------------------------------------------------------------===//

// expected-error @below {{'llama.weight_decl' op expects a static shape, got [?, 64]}}
llama.weight_decl @dynamic : tensor<?x64xf32>

// -----

// expected-error @below {{'llama.weight_decl' op attribute 'type' failed to satisfy constraint: type attribute of ranked tensor of 32-bit float or 16-bit float or bfloat16 type or 4-bit signless integer values}}
llama.weight_decl @ints : tensor<4x4xi32>

// -----

func.func @decl_in_function() {
  // expected-error @below {{'llama.weight_decl' op expects parent op 'builtin.module'}}
  llama.weight_decl @inner : tensor<4xf32>
  return
}

// -----

func.func @missing_decl() -> tensor<4xf32> {
  // expected-error @below {{'llama.weight' op refers to @absent, which is not a llama.weight_decl}}
  %0 = llama.weight @absent : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @not_a_weight() -> tensor<4xf32> {
  // expected-error @below {{'llama.weight' op refers to @not_a_weight, which is not a llama.weight_decl}}
  %0 = llama.weight @not_a_weight : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

llama.weight_decl @norm : tensor<64xf16>
func.func @weight_type_mismatch() -> tensor<64xbf16> {
  // expected-error @below {{'llama.weight' op has type 'tensor<64xbf16>' but @norm is declared as 'tensor<64xf16>'}}
  %0 = llama.weight @norm : tensor<64xbf16>
  return %0 : tensor<64xbf16>
}

// -----

llama.weight_decl @proj : tensor<96x64xf16>
func.func @weight_shape_mismatch() -> tensor<64x96xf16> {
  // expected-error @below {{'llama.weight' op has type 'tensor<64x96xf16>' but @proj is declared as 'tensor<96x64xf16>'}}
  %0 = llama.weight @proj : tensor<64x96xf16>
  return %0 : tensor<64x96xf16>
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

// -----

func.func @embedding_table_rank(%table: tensor<512xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @below {{'llama.embedding' op expects a table of rank 2, got [512]}}
  %0 = llama.embedding %table[%ids] : tensor<512xf32>, tensor<?x?xi32> -> tensor<?x?x64xf32>
  return
}

// -----

func.func @embedding_result(%table: tensor<512x64xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @below {{'llama.embedding' op expects result [batch, seq, 64], got [?, ?, 32]}}
  %0 = llama.embedding %table[%ids] : tensor<512x64xf32>, tensor<?x?xi32> -> tensor<?x?x32xf32>
  return
}

//===----------------------------------------------------------------------===//
// matmul / multi_matmul
//===----------------------------------------------------------------------===//

// -----

func.func @matmul_dims_disagree(%x: tensor<?x?x32xf32>, %w: tensor<96x64xf16>) {
  // expected-error @below {{'llama.matmul' op input features 32 do not match the weight's 64 (weight [96, 64] is [out, in])}}
  %0 = llama.matmul %x, %w : tensor<?x?x32xf32>, tensor<96x64xf16> -> tensor<?x?x96xf32>
  return
}

// -----

// A weight given as [in, out] (the transposed layout) is rejected.
func.func @matmul_weight_not_out_in(%x: tensor<?x?x64xf32>, %w: tensor<64x96xf16>) {
  // expected-error @below {{'llama.matmul' op input features 64 do not match the weight's 96 (weight [64, 96] is [out, in])}}
  %0 = llama.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x96xf16> -> tensor<?x?x96xf32>
  return
}

// -----

func.func @matmul_weight_rank(%x: tensor<?x?x64xf32>, %w: tensor<64xf16>) {
  // expected-error @below {{'llama.matmul' op expects a weight of rank 2, got [64]}}
  %0 = llama.matmul %x, %w : tensor<?x?x64xf32>, tensor<64xf16> -> tensor<?x?x64xf32>
  return
}

// -----

func.func @matmul_result(%x: tensor<?x?x64xf32>, %w: tensor<96x64xf16>) {
  // expected-error @below {{'llama.matmul' op expects result [?, ?, 96], got [?, ?, 64]}}
  %0 = llama.matmul %x, %w : tensor<?x?x64xf32>, tensor<96x64xf16> -> tensor<?x?x64xf32>
  return
}

// -----

func.func @matmul_scalar_input(%x: tensor<f32>, %w: tensor<96x64xf16>) {
  // expected-error @below {{'llama.matmul' op expects an input of rank >= 1}}
  %0 = llama.matmul %x, %w : tensor<f32>, tensor<96x64xf16> -> tensor<96xf32>
  return
}

// -----

func.func @matmul_int_weight(%x: tensor<?x64xf32>, %w: tensor<96x64xi8>) {
  // expected-error @below {{'llama.matmul' op operand #1 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type or 4-bit signless integer values, but got 'tensor<96x64xi8>'}}
  %0 = "llama.matmul"(%x, %w) : (tensor<?x64xf32>, tensor<96x64xi8>) -> tensor<?x96xf32>
  return
}

// -----

func.func @multi_matmul_counts(%x: tensor<?x1x64xf32>, %wq: tensor<64x64xf16>, %wk: tensor<32x64xf16>) {
  // expected-error @below {{'llama.multi_matmul' op expects one result per weight and at least one weight}}
  %0 = "llama.multi_matmul"(%x, %wq, %wk) : (tensor<?x1x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>) -> tensor<?x1x64xf32>
  return
}

// -----

func.func @multi_matmul_no_weight(%x: tensor<?x1x64xf32>) {
  // expected-error @below {{'llama.multi_matmul' op expects one result per weight and at least one weight}}
  "llama.multi_matmul"(%x) : (tensor<?x1x64xf32>) -> ()
  return
}

// -----

func.func @multi_matmul_bad_weight(%x: tensor<?x1x64xf32>, %wq: tensor<64x64xf16>, %wk: tensor<32x48xf16>) {
  // expected-error @below {{'llama.multi_matmul' op input features 64 do not match the weight's 48 (weight [32, 48] is [out, in])}}
  %q, %k = llama.multi_matmul %x, %wq, %wk : tensor<?x1x64xf32>, tensor<64x64xf16>, tensor<32x48xf16> -> tensor<?x1x64xf32>, tensor<?x1x32xf32>
  return
}

// -----

func.func @multi_matmul_bad_result(%x: tensor<?x1x64xf32>, %wq: tensor<64x64xf16>, %wk: tensor<32x64xf16>) {
  // expected-error @below {{'llama.multi_matmul' op expects result [?, 1, 32], got [?, 1, 64]}}
  %q, %k = llama.multi_matmul %x, %wq, %wk : tensor<?x1x64xf32>, tensor<64x64xf16>, tensor<32x64xf16> -> tensor<?x1x64xf32>, tensor<?x1x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// add / mul / unary / constant
//===----------------------------------------------------------------------===//

// -----

func.func @broadcast_size(%x: tensor<?x?x64xf32>, %w: tensor<32xf32>) {
  // expected-error @below {{'llama.add' op cannot broadcast [32] to [?, ?, 64] (dimension 0)}}
  %0 = llama.add %x, %w : tensor<?x?x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @broadcast_rank(%x: tensor<64xf32>, %y: tensor<2x64xf32>) {
  // expected-error @below {{'llama.mul' op cannot broadcast [2, 64] to [64]}}
  %0 = llama.mul %x, %y : tensor<64xf32>, tensor<2x64xf32>
  return
}

// -----

func.func @broadcast_middle(%x: tensor<?x8x?x?xf32>, %mask: tensor<?x4x?x?xf32>) {
  // expected-error @below {{'llama.add' op cannot broadcast [?, 4, ?, ?] to [?, 8, ?, ?] (dimension 1)}}
  %0 = llama.add %x, %mask : tensor<?x8x?x?xf32>, tensor<?x4x?x?xf32>
  return
}

// -----

func.func @binary_result_type(%x: tensor<4x64xf32>, %y: tensor<64xf32>) {
  // expected-error @below {{'llama.mul' op failed to verify that all of {lhs, result} have same type}}
  %0 = "llama.mul"(%x, %y) : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @unary_result_type(%x: tensor<4x64xf32>) {
  // expected-error @below {{'llama.silu' op requires the same type for all operands and results}}
  %0 = "llama.silu"(%x) : (tensor<4x64xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @activation_not_f32(%x: tensor<4x64xf16>) {
  // expected-error @below {{'llama.rsqrt' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4x64xf16>'}}
  %0 = llama.rsqrt %x : tensor<4x64xf16>
  return
}

// -----

func.func @constant_not_scalar() {
  // expected-error @below {{'llama.constant' op result #0 must be 0D tensor of 32-bit float values, but got 'tensor<1xf32>'}}
  %0 = llama.constant 1.0 : tensor<1xf32>
  return
}

//===----------------------------------------------------------------------===//
// mean / cast / reshape / transpose
//===----------------------------------------------------------------------===//

// -----

func.func @mean_result_shape(%x: tensor<?x?x64xf32>) {
  // expected-error @below {{'llama.mean' op expects result [?, ?, 1], got [?, ?]}}
  %0 = llama.mean %x : tensor<?x?x64xf32> -> tensor<?x?xf32>
  return
}

// -----

func.func @mean_result_size(%x: tensor<?x?x64xf32>) {
  // expected-error @below {{'llama.mean' op expects result [?, ?, 1], got [?, ?, 64]}}
  %0 = llama.mean %x : tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  return
}

// -----

func.func @mean_scalar(%x: tensor<f32>) {
  // expected-error @below {{'llama.mean' op expects an input of rank >= 1}}
  %0 = llama.mean %x : tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @cast_shape(%w: tensor<64xf16>) {
  // expected-error @below {{'llama.cast' op changes the shape [64] to [32]}}
  %0 = llama.cast %w : tensor<64xf16> -> tensor<32xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<?x?x64xf32>) {
  // expected-error @below {{'llama.reshape' op cannot reshape [?, ?, 64] to [?, ?, 4, 8]: the static sizes must have equal products and the dynamic sizes must correspond}}
  %0 = llama.reshape %x : tensor<?x?x64xf32> -> tensor<?x?x4x8xf32>
  return
}

// -----

func.func @reshape_dynamic(%x: tensor<?x?x64xf32>) {
  // expected-error @below {{'llama.reshape' op cannot reshape [?, ?, 64] to [?, 4, 16]}}
  %0 = llama.reshape %x : tensor<?x?x64xf32> -> tensor<?x4x16xf32>
  return
}

// -----

func.func @reshape_static(%x: tensor<2x3x4xf32>) {
  // expected-error @below {{'llama.reshape' op cannot reshape [2, 3, 4] to [25]}}
  %0 = llama.reshape %x : tensor<2x3x4xf32> -> tensor<25xf32>
  return
}

// -----

func.func @transpose_length(%x: tensor<?x?x4x16xf32>) {
  // expected-error @below {{'llama.transpose' op expects a permutation of 4 dimensions}}
  %0 = llama.transpose %x [0, 2, 1] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  return
}

// -----

func.func @transpose_repeated(%x: tensor<?x?x4x16xf32>) {
  // expected-error @below {{'llama.transpose' op expects a permutation of [0, 4)}}
  %0 = llama.transpose %x [0, 2, 2, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x4x16xf32>
  return
}

// -----

func.func @transpose_out_of_range(%x: tensor<?x?x4x16xf32>) {
  // expected-error @below {{'llama.transpose' op expects a permutation of [0, 4)}}
  %0 = llama.transpose %x [0, 2, 1, 4] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  return
}

// -----

func.func @transpose_result(%x: tensor<?x3x4x16xf32>) {
  // expected-error @below {{'llama.transpose' op expects result [?, 4, 3, 16], got [?, 3, 4, 16]}}
  %0 = llama.transpose %x [0, 2, 1, 3] : tensor<?x3x4x16xf32> -> tensor<?x3x4x16xf32>
  return
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

// -----

func.func @rope_odd_head_dim(%x: tensor<?x4x?x15xf32>, %pos: tensor<?x?xi32>) {
  // expected-error @below {{'llama.rope' op expects a static, even head_dim, got [?, 4, ?, 15]}}
  %0 = llama.rope %x, %pos {theta = 1.0e4 : f64} : tensor<?x4x?x15xf32>, tensor<?x?xi32>
  return
}

// -----

func.func @rope_dynamic_head_dim(%x: tensor<?x4x?x?xf32>, %pos: tensor<?x?xi32>) {
  // expected-error @below {{'llama.rope' op expects a static, even head_dim, got [?, 4, ?, ?]}}
  %0 = llama.rope %x, %pos {theta = 1.0e4 : f64} : tensor<?x4x?x?xf32>, tensor<?x?xi32>
  return
}

// -----

func.func @rope_positions_mismatch(%x: tensor<?x4x1x16xf32>, %pos: tensor<?x3xi32>) {
  // expected-error @below {{'llama.rope' op positions [?, 3] do not match input [?, 4, 1, 16]}}
  %0 = llama.rope %x, %pos {theta = 1.0e4 : f64} : tensor<?x4x1x16xf32>, tensor<?x3xi32>
  return
}

// -----

func.func @rope_positions_rank(%x: tensor<?x4x?x16xf32>, %pos: tensor<?xi32>) {
  // expected-error @below {{'llama.rope' op expects positions [batch, seq] of rank 2, got [?]}}
  %0 = llama.rope %x, %pos {theta = 1.0e4 : f64} : tensor<?x4x?x16xf32>, tensor<?xi32>
  return
}

// -----

func.func @rope_input_rank(%x: tensor<?x?x64xf32>, %pos: tensor<?x?xi32>) {
  // expected-error @below {{'llama.rope' op expects an input [batch, heads, seq, head_dim] of rank 4, got [?, ?, 64]}}
  %0 = llama.rope %x, %pos {theta = 1.0e4 : f64} : tensor<?x?x64xf32>, tensor<?x?xi32>
  return
}

// -----

func.func @rope_theta(%x: tensor<?x4x?x16xf32>, %pos: tensor<?x?xi32>) {
  // expected-error @below {{'llama.rope' op expects positive theta and scale}}
  %0 = llama.rope %x, %pos {theta = 0.0 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  return
}

// -----

func.func @rope_scale(%x: tensor<?x4x?x16xf32>, %pos: tensor<?x?xi32>) {
  // expected-error @below {{'llama.rope' op expects positive theta and scale}}
  %0 = llama.rope %x, %pos {theta = 1.0e4 : f64, scale = -2.0 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  return
}

//===----------------------------------------------------------------------===//
// cache_write / cache_read
//===----------------------------------------------------------------------===//

// -----

func.func @cache_write_layer(%k: tensor<?x2x?x16xf32>, %cache: memref<2x2x1x2x256x16xf32>, %start: index) {
  // expected-error @below {{'llama.cache_write' op layer 2 is outside the cache's 2 layers}}
  llama.cache_write %k, %k into %cache[%start] layer 2 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
  return
}

// -----

func.func @cache_read_negative_layer(%cache: memref<2x2x1x2x256x16xf32>, %b: index, %n: index) {
  // expected-error @below {{'llama.cache_read' op layer -1 is outside the cache's 2 layers}}
  %0 = llama.cache_read key %cache[%b, %n] layer -1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  return
}

// -----

func.func @cache_write_kv_heads(%k: tensor<?x4x?x16xf32>, %cache: memref<2x2x1x2x256x16xf32>, %start: index) {
  // expected-error @below {{'llama.cache_write' op expects keys [batch, kv_heads, seq, head_dim] to match the cache's kv_heads and head_dim [2, 2, 1, 2, 256, 16], got [?, 4, ?, 16]}}
  llama.cache_write %k, %k into %cache[%start] layer 0 : tensor<?x4x?x16xf32>, memref<2x2x1x2x256x16xf32>
  return
}

// -----

func.func @cache_read_head_dim(%cache: memref<2x2x1x2x256x16xf32>, %b: index, %n: index) {
  // expected-error @below {{'llama.cache_read' op expects a result [batch, kv_heads, seq, head_dim] to match the cache's kv_heads and head_dim [2, 2, 1, 2, 256, 16], got [?, 2, ?, 32]}}
  %0 = llama.cache_read value %cache[%b, %n] layer 0 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x32xf32>
  return
}

// -----

func.func @cache_read_rank(%cache: memref<2x2x1x2x256x16xf32>, %b: index, %n: index) {
  // expected-error @below {{'llama.cache_read' op expects a result of rank 4, got [?, ?, 32]}}
  %0 = llama.cache_read value %cache[%b, %n] layer 0 : memref<2x2x1x2x256x16xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @cache_write_batch(%k: tensor<4x2x?x16xf32>, %cache: memref<2x2x1x2x256x16xf32>, %start: index) {
  // expected-error @below {{'llama.cache_write' op batch 4 exceeds the cache's 1}}
  llama.cache_write %k, %k into %cache[%start] layer 0 : tensor<4x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
  return
}

// -----

func.func @cache_not_keys_and_values(%k: tensor<?x2x?x16xf32>, %cache: memref<2x3x1x2x256x16xf32>, %start: index) {
  // expected-error @below {{'llama.cache_write' op expects the cache's second dimension to be 2 (keys, values), got 3}}
  llama.cache_write %k, %k into %cache[%start] layer 0 : tensor<?x2x?x16xf32>, memref<2x3x1x2x256x16xf32>
  return
}

// -----

func.func @cache_write_key_value_types(%k: tensor<?x2x?x16xf32>, %v: tensor<?x2x1x16xf32>, %cache: memref<2x2x1x2x256x16xf32>, %start: index) {
  // expected-error @below {{'llama.cache_write' op failed to verify that all of {key, value} have same type}}
  "llama.cache_write"(%k, %v, %cache, %start) {layer = 0 : i64} : (tensor<?x2x?x16xf32>, tensor<?x2x1x16xf32>, memref<2x2x1x2x256x16xf32>, index) -> ()
  return
}

// -----

func.func @cache_rank(%k: tensor<?x2x?x16xf32>, %cache: memref<2x1x2x256x16xf32>, %start: index) {
  // expected-error @below {{'llama.cache_write' op operand #2 must be 6D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<2x1x2x256x16xf32>'}}
  "llama.cache_write"(%k, %k, %cache, %start) {layer = 0 : i64} : (tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, memref<2x1x2x256x16xf32>, index) -> ()
  return
}

//===----------------------------------------------------------------------===//
// repeat_kv / batch_matmul / attention_mask
//===----------------------------------------------------------------------===//

// -----

func.func @repeat_kv_shape(%kv: tensor<?x2x?x16xf32>) {
  // expected-error @below {{'llama.repeat_kv' op expects result [?, 8, ?, 16], got [?, 4, ?, 16]}}
  %0 = llama.repeat_kv %kv {repeats = 4 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  return
}

// -----

func.func @repeat_kv_repeats(%kv: tensor<?x2x?x16xf32>) {
  // expected-error @below {{'llama.repeat_kv' op expects repeats >= 1}}
  %0 = llama.repeat_kv %kv {repeats = 0 : i64} : tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return
}

// -----

func.func @repeat_kv_rank(%kv: tensor<?x?x32xf32>) {
  // expected-error @below {{'llama.repeat_kv' op expects an input of rank 4, got [?, ?, 32]}}
  %0 = llama.repeat_kv %kv {repeats = 2 : i64} : tensor<?x?x32xf32> -> tensor<?x?x64xf32>
  return
}

// -----

func.func @batch_matmul_contraction(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x32xf32>) {
  // expected-error @below {{'llama.batch_matmul' op cannot multiply [?, 4, ?, 16] by [?, 4, ?, 32] transposed}}
  %0 = llama.batch_matmul %q, %k {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x32xf32> -> tensor<?x4x?x?xf32>
  return
}

// -----

func.func @batch_matmul_heads(%p: tensor<?x4x?x?xf32>, %v: tensor<?x2x?x16xf32>) {
  // expected-error @below {{'llama.batch_matmul' op cannot multiply [?, 4, ?, ?] by [?, 2, ?, 16]}}
  %0 = llama.batch_matmul %p, %v : tensor<?x4x?x?xf32>, tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  return
}

// -----

func.func @batch_matmul_result(%p: tensor<?x4x?x?xf32>, %v: tensor<?x4x?x16xf32>) {
  // expected-error @below {{'llama.batch_matmul' op expects result [?, 4, ?, 16], got [?, 4, ?, 32]}}
  %0 = llama.batch_matmul %p, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x32xf32>
  return
}

// -----

func.func @batch_matmul_rank(%p: tensor<?x?xf32>, %v: tensor<?x4x?x16xf32>) {
  // expected-error @below {{'llama.batch_matmul' op expects lhs of rank 4, got [?, ?]}}
  %0 = llama.batch_matmul %p, %v : tensor<?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return
}

// -----

func.func @attention_mask_heads(%first: tensor<?xi32>, %start: index, %n: index) {
  // expected-error @below {{'llama.attention_mask' op expects result [batch, 1, queries, keys], got [?, 4, ?, ?]}}
  %0 = llama.attention_mask %first, %start, %n, %n : tensor<?xi32> -> tensor<?x4x?x?xf32>
  return
}

// -----

func.func @attention_mask_first_slot(%first: tensor<?x?xi32>, %start: index, %n: index) {
  // expected-error @below {{'llama.attention_mask' op expects first_slot [batch] of rank 1, got [?, ?]}}
  %0 = llama.attention_mask %first, %start, %n, %n : tensor<?x?xi32> -> tensor<?x1x?x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// last_positions
//===----------------------------------------------------------------------===//

// -----

func.func @last_positions_rank(%x: tensor<?x64xf32>, %n: index) {
  // expected-error @below {{'llama.last_positions' op expects an input [batch, seq, features] of rank 3, got [?, 64]}}
  %0 = llama.last_positions %x, %n : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @last_positions_features(%x: tensor<?x?x64xf32>, %n: index) {
  // expected-error @below {{'llama.last_positions' op expects result [batch, count, 64], got [?, ?, 32]}}
  %0 = llama.last_positions %x, %n : tensor<?x?x64xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @last_positions_count(%x: tensor<?x4x64xf32>, %n: index) {
  // expected-error @below {{'llama.last_positions' op keeps 8 of 4 positions}}
  %0 = llama.last_positions %x, %n : tensor<?x4x64xf32> -> tensor<?x8x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// rms_norm / add_rms_norm / swiglu
//===----------------------------------------------------------------------===//

// -----

func.func @rms_norm_weight(%x: tensor<?x?x64xf32>, %w: tensor<32xf16>) {
  // expected-error @below {{'llama.rms_norm' op weight [32] does not match the input's last dimension [?, ?, 64]}}
  %0 = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x64xf32>, tensor<32xf16>
  return
}

// -----

func.func @rms_norm_weight_rank(%x: tensor<?x?x64xf32>, %w: tensor<1x64xf16>) {
  // expected-error @below {{'llama.rms_norm' op expects a weight of rank 1, got [1, 64]}}
  %0 = llama.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x64xf32>, tensor<1x64xf16>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<?x?x64xf32>, %w: tensor<64xf16>) {
  // expected-error @below {{'llama.rms_norm' op expects a positive epsilon}}
  %0 = llama.rms_norm %x, %w {epsilon = 0.0 : f32} : tensor<?x?x64xf32>, tensor<64xf16>
  return
}

// -----

func.func @add_rms_norm_weight(%x: tensor<?x?x64xf32>, %r: tensor<?x?x64xf32>, %w: tensor<128xbf16>) {
  // expected-error @below {{'llama.add_rms_norm' op weight [128] does not match the input's last dimension [?, ?, 64]}}
  %s, %n = llama.add_rms_norm %x, %r, %w {epsilon = 1.0e-5 : f32} : tensor<?x?x64xf32>, tensor<128xbf16>
  return
}

// -----

func.func @add_rms_norm_residual(%x: tensor<?x?x64xf32>, %r: tensor<?x1x64xf32>, %w: tensor<64xbf16>) {
  // expected-error @below {{'llama.add_rms_norm' op failed to verify that all of {input, residual, sum, result} have same type}}
  %s, %n = "llama.add_rms_norm"(%x, %r, %w) {epsilon = 1.0e-5 : f32} : (tensor<?x?x64xf32>, tensor<?x1x64xf32>, tensor<64xbf16>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  return
}

// -----

func.func @swiglu_gate_up_types(%x: tensor<?x1x64xf32>, %gate: tensor<176x64xf16>, %up: tensor<176x64xbf16>) {
  // expected-error @below {{'llama.swiglu' op failed to verify that all of {gate, up} have same type}}
  %0 = "llama.swiglu"(%x, %gate, %up) : (tensor<?x1x64xf32>, tensor<176x64xf16>, tensor<176x64xbf16>) -> tensor<?x1x176xf32>
  return
}

// -----

func.func @swiglu_gate_up_shapes(%x: tensor<?x1x64xf32>, %gate: tensor<176x64xf16>, %up: tensor<172x64xf16>) {
  // expected-error @below {{'llama.swiglu' op failed to verify that all of {gate, up} have same type}}
  %0 = "llama.swiglu"(%x, %gate, %up) : (tensor<?x1x64xf32>, tensor<176x64xf16>, tensor<172x64xf16>) -> tensor<?x1x176xf32>
  return
}

// -----

func.func @swiglu_input(%x: tensor<?x1x32xf32>, %gate: tensor<176x64xf16>, %up: tensor<176x64xf16>) {
  // expected-error @below {{'llama.swiglu' op input features 32 do not match the weight's 64 (weight [176, 64] is [out, in])}}
  %0 = llama.swiglu %x, %gate, %up : tensor<?x1x32xf32>, tensor<176x64xf16> -> tensor<?x1x176xf32>
  return
}

// -----

func.func @swiglu_result(%x: tensor<?x1x64xf32>, %gate: tensor<176x64xf16>, %up: tensor<176x64xf16>) {
  // expected-error @below {{'llama.swiglu' op expects result [?, 1, 176], got [?, 1, 64]}}
  %0 = llama.swiglu %x, %gate, %up : tensor<?x1x64xf32>, tensor<176x64xf16> -> tensor<?x1x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

// -----

func.func @attention_kv_heads_divide(%q: tensor<?x?x96xf32>, %k: tensor<?x?x64xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x4x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op num_kv_heads 4 does not divide num_heads 6}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 6 : i64, num_kv_heads = 4 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x96xf32>, tensor<?x?x64xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x4x64x16xf32>
  return
}

// -----

func.func @attention_query_features(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op query features 64 != num_heads * head_dim = 128}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 8 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @attention_key_features(%q: tensor<?x?x64xf32>, %k: tensor<?x?x64xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op key features 64 != num_kv_heads * head_dim = 32}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @attention_odd_head_dim(%q: tensor<?x?x60xf32>, %k: tensor<?x?x30xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x15xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op expects positive heads and kv heads and a positive, even head_dim}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 15 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x60xf32>, tensor<?x?x30xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x2x64x15xf32>
  return
}

// -----

func.func @attention_seq_disagree(%q: tensor<?x1x64xf32>, %k: tensor<?x2x32xf32>, %pos: tensor<?x1xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op query [?, 1, 64] and key [?, 2, 32] disagree on batch or seq}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x1x64xf32>, tensor<?x2x32xf32>, tensor<?x1xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @attention_cache_kv_heads(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x4x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op expects keys [batch, kv_heads, seq, head_dim] to match the cache's kv_heads and head_dim [1, 2, 1, 4, 64, 16], got [?, 2, ?, 16]}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x4x64x16xf32>
  return
}

// -----

func.func @attention_layer(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op layer 1 is outside the cache's 1 layers}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @attention_result_type(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op failed to verify that all of {query, result} have same type}}
  %0 = "llama.attention"(%q, %k, %k, %pos, %first, %cache, %start) {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>, index) -> tensor<?x1x64xf32>
  return
}

// -----

func.func @attention_positions_rank(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op expects positions [batch, seq] of rank 2, got [?]}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @attention_positions_mismatch(%q: tensor<?x1x64xf32>, %k: tensor<?x1x32xf32>, %pos: tensor<?x4xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op positions [?, 4] and first_slot [?] do not match query [?, 1, 64]}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x1x64xf32>, tensor<?x1x32xf32>, tensor<?x4xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @attention_first_slot_rank(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?x?xi32>, %first: tensor<?x?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op expects first_slot [batch] of rank 1, got [?, ?]}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = 1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?x?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @attention_rope_theta(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?x?xi32>, %first: tensor<?xi32>, %cache: memref<1x2x1x2x64x16xf32>, %start: index) {
  // expected-error @below {{'llama.attention' op expects positive rope_theta and rope_scale}}
  %0 = llama.attention %q, %k, %k, %pos, %first, %cache[%start] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.0 : f64, rope_theta = -1.0e4 : f64, scale = 0.25 : f32} : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<1x2x1x2x64x16xf32>
  return
}

// -----

func.func @cache_dynamic_shape(%k: tensor<?x2x?x16xf32>, %cache: memref<?x2x1x2x?x16xf32>, %start: index) {
  // expected-error @below {{'llama.cache_write' op expects a static cache shape, got [?, 2, 1, 2, ?, 16]}}
  llama.cache_write %k, %k into %cache[%start] layer 0 : tensor<?x2x?x16xf32>, memref<?x2x1x2x?x16xf32>
  return
}

// -----

// expected-error @+1 {{int4 group_size must be positive and even, got 5}}
llama.weight_decl @odd_group : tensor<8x10xi4, #llama.int4<group_size = 5>>

// -----

// expected-error @+1 {{int4 group_size 4 does not divide the 10 input features}}
llama.weight_decl @partial_group : tensor<8x10xi4, #llama.int4<group_size = 4>>

// -----

// expected-error @+1 {{expects i4 elements exactly with a #llama.int4 encoding}}
llama.weight_decl @bare_codes : tensor<8x16xi4>

// -----

// expected-error @+1 {{expects i4 elements exactly with a #llama.int4 encoding}}
llama.weight_decl @float_groups : tensor<8x16xf16, #llama.int4<group_size = 4>>

// -----

// expected-error @+1 {{expects an int4 weight of rank 2, got [16]}}
llama.weight_decl @vector_codes : tensor<16xi4, #llama.int4<group_size = 4>>

// -----

llama.weight_decl @codes : tensor<8x16xi4, #llama.int4<group_size = 4>>

func.func @int4_norm(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %w = llama.weight @codes : tensor<8x16xi4, #llama.int4<group_size = 4>>
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %y = llama.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : tensor<?x16xf32>, tensor<8x16xi4, #llama.int4<group_size = 4>>
  return %y : tensor<?x16xf32>
}
