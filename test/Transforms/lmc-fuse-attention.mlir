// RUN: llamac-opt %s --lmc-fuse-attention | FileCheck %s

// The importer's form: GQA with 4 query heads over 2 kv heads of 16.
// CHECK-LABEL: func.func @gqa
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<?x?x64xf32>, %[[K:[^:]*]]: tensor<?x?x32xf32>, %[[V:[^:]*]]: tensor<?x?x32xf32>, %[[POS:[^:]*]]: tensor<?x?xi32>, %[[FIRST:[^:]*]]: tensor<?xi32>, %[[CACHE:[^:]*]]: memref<2x2x1x2x256x16xf32>, %[[START:[^:]*]]: index)
// CHECK-NOT: llama.{{reshape|transpose|rope|cache_write|cache_read|repeat_kv|batch_matmul|mul|add|softmax|attention_mask}}
// CHECK: %[[OUT:.*]] = llama.attention %[[Q]], %[[K]], %[[V]], %[[POS]], %[[FIRST]], %[[CACHE]][%[[START]]]
// CHECK-SAME: {head_dim = 16 : i64, layer = 1 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32}
// CHECK-SAME: : tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?xi32>, tensor<?xi32>, memref<2x2x1x2x256x16xf32>
// CHECK-NOT: llama.
// CHECK: return %[[OUT]]
func.func @gqa(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
  %scale = llama.constant 2.500000e-01 : tensor<f32>
  %q4 = llama.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k4 = llama.reshape %k : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %v4 = llama.reshape %v : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %vt = llama.transpose %v4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %qr = llama.rope %qt, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  %kr = llama.rope %kt, %positions {theta = 1.000000e+04 : f64} : tensor<?x2x?x16xf32>, tensor<?x?xi32>
  llama.cache_write %kr, %vt into %cache[%start] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
  %kc = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %vc = llama.cache_read value %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %kx = llama.repeat_kv %kc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %vx = llama.repeat_kv %vc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
  %ss = llama.mul %s, %scale : tensor<?x4x?x?xf32>, tensor<f32>
  %sm = llama.add %ss, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>
  %p = llama.softmax %sm : tensor<?x4x?x?xf32>
  %o = llama.batch_matmul %p, %vx : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %ot = llama.transpose %o [0, 2, 1, 3] : tensor<?x4x?x16xf32> -> tensor<?x?x4x16xf32>
  %of = llama.reshape %ot : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  return %of : tensor<?x?x64xf32>
}

// Batch and seq taken from the rotary positions [batch, seq]; the rope's
// position scale carries over.
// CHECK-LABEL: func.func @sizes_from_positions
// CHECK: llama.attention
// CHECK-SAME: rope_scale = 2.000000e+00 : f64
// CHECK-NOT: llama.cache_
func.func @sizes_from_positions(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %positions, %c0 : tensor<?x?xi32>
  %seq = tensor.dim %positions, %c1 : tensor<?x?xi32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
  %scale = llama.constant 2.500000e-01 : tensor<f32>
  %q4 = llama.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k4 = llama.reshape %k : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %v4 = llama.reshape %v : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %vt = llama.transpose %v4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %qr = llama.rope %qt, %positions {scale = 2.000000e+00 : f64, theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  %kr = llama.rope %kt, %positions {scale = 2.000000e+00 : f64, theta = 1.000000e+04 : f64} : tensor<?x2x?x16xf32>, tensor<?x?xi32>
  llama.cache_write %kr, %vt into %cache[%start] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
  %kc = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %vc = llama.cache_read value %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %kx = llama.repeat_kv %kc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %vx = llama.repeat_kv %vc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
  %ss = llama.mul %s, %scale : tensor<?x4x?x?xf32>, tensor<f32>
  %sm = llama.add %ss, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>
  %p = llama.softmax %sm : tensor<?x4x?x?xf32>
  %o = llama.batch_matmul %p, %vx : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %ot = llama.transpose %o [0, 2, 1, 3] : tensor<?x4x?x16xf32> -> tensor<?x?x4x16xf32>
  %of = llama.reshape %ot : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  return %of : tensor<?x?x64xf32>
}

// A write of another layer between the write and the reads does not touch
// the slots they read; it stays.
// CHECK-LABEL: func.func @other_layer_written_between
// CHECK: llama.cache_write %{{.*}} layer 0
// CHECK-NOT: llama.cache_
// CHECK: llama.attention
// CHECK-SAME: layer = 1 : i64
// CHECK-NOT: llama.cache_
func.func @other_layer_written_between(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
  %scale = llama.constant 2.500000e-01 : tensor<f32>
  %q4 = llama.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k4 = llama.reshape %k : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %v4 = llama.reshape %v : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %vt = llama.transpose %v4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %qr = llama.rope %qt, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  %kr = llama.rope %kt, %positions {theta = 1.000000e+04 : f64} : tensor<?x2x?x16xf32>, tensor<?x?xi32>
  llama.cache_write %kr, %vt into %cache[%start] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
  llama.cache_write %kr, %vt into %cache[%start] layer 0 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
  %kc = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %vc = llama.cache_read value %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %kx = llama.repeat_kv %kc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %vx = llama.repeat_kv %vc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
  %ss = llama.mul %s, %scale : tensor<?x4x?x?xf32>, tensor<f32>
  %sm = llama.add %ss, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>
  %p = llama.softmax %sm : tensor<?x4x?x?xf32>
  %o = llama.batch_matmul %p, %vx : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %ot = llama.transpose %o [0, 2, 1, 3] : tensor<?x4x?x16xf32> -> tensor<?x?x4x16xf32>
  %of = llama.reshape %ot : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  return %of : tensor<?x?x64xf32>
}


// Multi-head attention: as many kv heads as query heads, so repeat_kv is a
// no-op (repeats 1) or absent. The read length is written seq + start.
// CHECK-LABEL: func.func @mha
// CHECK: llama.attention
// CHECK-SAME: {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 4 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32}
// CHECK-NOT: llama.{{cache_|repeat_kv}}
func.func @mha(%q: tensor<?x?x64xf32>, %k: tensor<?x?x64xf32>, %v: tensor<?x?x64xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<1x2x1x4x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %seq, %start : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
  %scale = llama.constant 2.500000e-01 : tensor<f32>
  %q4 = llama.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k4 = llama.reshape %k : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %v4 = llama.reshape %v : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %vt = llama.transpose %v4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %qr = llama.rope %qt, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  %kr = llama.rope %kt, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  llama.cache_write %kr, %vt into %cache[%start] layer 0 : tensor<?x4x?x16xf32>, memref<1x2x1x4x256x16xf32>
  %kc = llama.cache_read key %cache[%batch, %length] layer 0 : memref<1x2x1x4x256x16xf32> -> tensor<?x4x?x16xf32>
  %vc = llama.cache_read value %cache[%batch, %length] layer 0 : memref<1x2x1x4x256x16xf32> -> tensor<?x4x?x16xf32>
  %kx = llama.repeat_kv %kc {repeats = 1 : i64} : tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
  %ss = llama.mul %s, %scale : tensor<?x4x?x?xf32>, tensor<f32>
  %sm = llama.add %ss, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>
  %p = llama.softmax %sm : tensor<?x4x?x?xf32>
  %o = llama.batch_matmul %p, %vc : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %ot = llama.transpose %o [0, 2, 1, 3] : tensor<?x4x?x16xf32> -> tensor<?x?x4x16xf32>
  %of = llama.reshape %ot : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  return %of : tensor<?x?x64xf32>
}

// Decode: one token per row, the seq a constant.
// CHECK-LABEL: func.func @decode
// CHECK: llama.attention
// CHECK-SAME: : tensor<?x1x64xf32>, tensor<?x1x32xf32>, tensor<?x1xi32>, tensor<?xi32>, memref<2x2x1x2x256x16xf32>
// CHECK-NOT: llama.cache_
func.func @decode(%q: tensor<?x1x64xf32>, %k: tensor<?x1x32xf32>, %v: tensor<?x1x32xf32>,
    %positions: tensor<?x1xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x1x64xf32> {
  %c0 = arith.constant 0 : index
  %seq = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x1x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x1x?xf32>
  %scale = llama.constant 2.500000e-01 : tensor<f32>
  %q4 = llama.reshape %q : tensor<?x1x64xf32> -> tensor<?x1x4x16xf32>
  %k4 = llama.reshape %k : tensor<?x1x32xf32> -> tensor<?x1x2x16xf32>
  %v4 = llama.reshape %v : tensor<?x1x32xf32> -> tensor<?x1x2x16xf32>
  %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x1x4x16xf32> -> tensor<?x4x1x16xf32>
  %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x1x2x16xf32> -> tensor<?x2x1x16xf32>
  %vt = llama.transpose %v4 [0, 2, 1, 3] : tensor<?x1x2x16xf32> -> tensor<?x2x1x16xf32>
  %qr = llama.rope %qt, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x1x16xf32>, tensor<?x1xi32>
  %kr = llama.rope %kt, %positions {theta = 1.000000e+04 : f64} : tensor<?x2x1x16xf32>, tensor<?x1xi32>
  llama.cache_write %kr, %vt into %cache[%start] layer 1 : tensor<?x2x1x16xf32>, memref<2x2x1x2x256x16xf32>
  %kc = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %vc = llama.cache_read value %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %kx = llama.repeat_kv %kc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %vx = llama.repeat_kv %vc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x1x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x1x?xf32>
  %ss = llama.mul %s, %scale : tensor<?x4x1x?xf32>, tensor<f32>
  %sm = llama.add %ss, %mask : tensor<?x4x1x?xf32>, tensor<?x1x1x?xf32>
  %p = llama.softmax %sm : tensor<?x4x1x?xf32>
  %o = llama.batch_matmul %p, %vx : tensor<?x4x1x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x1x16xf32>
  %ot = llama.transpose %o [0, 2, 1, 3] : tensor<?x4x1x16xf32> -> tensor<?x1x4x16xf32>
  %of = llama.reshape %ot : tensor<?x1x4x16xf32> -> tensor<?x1x64xf32>
  return %of : tensor<?x1x64xf32>
}

// The projections come from lmc-fuse-qkv; batch and seq are dims of the
// projections' input, which the queries share.
// CHECK-LABEL: func.func @from_multi_matmul
// CHECK: %[[QKV:.*]]:3 = llama.multi_matmul
// CHECK-NEXT: llama.attention %[[QKV]]#0, %[[QKV]]#1, %[[QKV]]#2,
// CHECK-NOT: llama.cache_
func.func @from_multi_matmul(%x: tensor<?x?x64xf32>, %wq: tensor<64x64xf16>,
    %wk: tensor<32x64xf16>, %wv: tensor<32x64xf16>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
  %scale = llama.constant 2.500000e-01 : tensor<f32>
  %q, %k, %v = llama.multi_matmul %x, %wq, %wk, %wv : tensor<?x?x64xf32>, tensor<64x64xf16>, tensor<32x64xf16>, tensor<32x64xf16> -> tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  %q4 = llama.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k4 = llama.reshape %k : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %v4 = llama.reshape %v : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
  %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %vt = llama.transpose %v4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
  %qr = llama.rope %qt, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
  %kr = llama.rope %kt, %positions {theta = 1.000000e+04 : f64} : tensor<?x2x?x16xf32>, tensor<?x?xi32>
  llama.cache_write %kr, %vt into %cache[%start] layer 0 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
  %kc = llama.cache_read key %cache[%batch, %length] layer 0 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %vc = llama.cache_read value %cache[%batch, %length] layer 0 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %kx = llama.repeat_kv %kc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %vx = llama.repeat_kv %vc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
  %ss = llama.mul %s, %scale : tensor<?x4x?x?xf32>, tensor<f32>
  %sm = llama.add %ss, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>
  %p = llama.softmax %sm : tensor<?x4x?x?xf32>
  %o = llama.batch_matmul %p, %vx : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %ot = llama.transpose %o [0, 2, 1, 3] : tensor<?x4x?x16xf32> -> tensor<?x?x4x16xf32>
  %of = llama.reshape %ot : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  return %of : tensor<?x?x64xf32>
}
