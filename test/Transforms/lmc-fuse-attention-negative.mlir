// RUN: llamac-opt %s --lmc-fuse-attention | FileCheck %s
// Near misses of the attention block stay unfused: every link of the chain
// is checked. Each function is the block of lmc-fuse-attention.mlir @gqa with
// one change.

// The mask is not llama.attention_mask (not known to be causal).
// CHECK-LABEL: func.func @mask_not_attention_mask
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @mask_not_attention_mask(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index, %mask: tensor<?x1x?x?xf32>) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
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

// The mask starts at another slot than the write.
// CHECK-LABEL: func.func @mask_start_differs
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @mask_start_differs(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index, %other: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %other, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
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

// The mask covers other keys than the reads.
// CHECK-LABEL: func.func @mask_keys_differ
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @mask_keys_differ(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index, %other: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %other : tensor<?xi32> -> tensor<?x1x?x?xf32>
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

// The mask's queries are not the query's seq.
// CHECK-LABEL: func.func @mask_queries_differ
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @mask_queries_differ(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index, %other: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %other, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
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

// Queries and keys are rotated with different thetas.
// CHECK-LABEL: func.func @rope_theta_differs
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @rope_theta_differs(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
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
  %kr = llama.rope %kt, %positions {theta = 5.000000e+05 : f64} : tensor<?x2x?x16xf32>, tensor<?x?xi32>
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

// Queries and keys are rotated with different position scales.
// CHECK-LABEL: func.func @rope_scale_differs
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @rope_scale_differs(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
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

// Queries and keys are rotated at different positions.
// CHECK-LABEL: func.func @rope_positions_differ
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @rope_positions_differ(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index, %other_positions: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
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
  %kr = llama.rope %kt, %other_positions {theta = 1.000000e+04 : f64} : tensor<?x2x?x16xf32>, tensor<?x?xi32>
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

// The reads see another layer than the write.
// CHECK-LABEL: func.func @read_layer_differs
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @read_layer_differs(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
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

// The scores read the cached values and the output the cached keys.
// CHECK-LABEL: func.func @read_kinds_swapped
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @read_kinds_swapped(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
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
  %kc = llama.cache_read value %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %vc = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
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

// Another write of the layer between the write and the reads.
// CHECK-LABEL: func.func @second_write_between
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @second_write_between(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
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
  llama.cache_write %vt, %vt into %cache[%start] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
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

// An op with unknown effects on the cache between the write and the reads.
// CHECK-LABEL: func.func @store_between
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @store_between(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
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
  %zero = arith.constant 0.000000e+00 : f32
  memref.store %zero, %cache[%c1, %c0, %c0, %c0, %c0, %c0] : memref<2x2x1x2x256x16xf32>
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

// The reads come before the write: they see the old cache.
// CHECK-LABEL: func.func @read_before_write
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @read_before_write(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
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
  %kc = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  %vc = llama.cache_read value %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
  llama.cache_write %kr, %vt into %cache[%start] layer 1 : tensor<?x2x?x16xf32>, memref<2x2x1x2x256x16xf32>
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

// The reads stop short of start + seq.
// CHECK-LABEL: func.func @length_not_start_plus_seq
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @length_not_start_plus_seq(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %c1 : index
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

// The reads end relative to another start than the write's.
// CHECK-LABEL: func.func @length_from_another_start
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @length_from_another_start(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index, %other: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %other, %seq : index
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

// The reads cover as many rows as the query has tokens.
// CHECK-LABEL: func.func @batch_not_query_batch
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @batch_not_query_batch(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c1 : tensor<?x?x64xf32>
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

// The scale is not a constant.
// CHECK-LABEL: func.func @scale_not_constant
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @scale_not_constant(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index, %scale: tensor<f32>) -> tensor<?x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %batch = tensor.dim %q, %c0 : tensor<?x?x64xf32>
  %seq = tensor.dim %q, %c1 : tensor<?x?x64xf32>
  %length = arith.addi %start, %seq : index
  %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
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

// The probabilities are used outside the block.
// CHECK-LABEL: func.func @probabilities_used_elsewhere
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @probabilities_used_elsewhere(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> (tensor<?x?x64xf32>, tensor<?x4x?x?xf32>) {
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
  return %of, %p : tensor<?x?x64xf32>, tensor<?x4x?x?xf32>
}

// The cached keys are used outside the block.
// CHECK-LABEL: func.func @cached_keys_used_elsewhere
// CHECK-NOT: llama.attention %
// CHECK: llama.cache_write
func.func @cached_keys_used_elsewhere(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
    %positions: tensor<?x?xi32>, %first_slot: tensor<?xi32>,
    %cache: memref<2x2x1x2x256x16xf32>, %start: index) -> (tensor<?x?x64xf32>, tensor<?x2x?x16xf32>) {
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
  return %of, %kc : tensor<?x?x64xf32>, tensor<?x2x?x16xf32>
}
