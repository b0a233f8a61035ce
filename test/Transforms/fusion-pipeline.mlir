// The fusion passes in pipeline order over whole decoder layers: the
// importer's prefill layer (test/Dialect/llama/layer-example.mlir) and a
// two-layer decode function below (seq static 1). Every norm becomes exactly
// one rms_norm-family op, every layer exactly one multi_matmul, attention and
// swiglu, and no primitive op of those blocks is left.

// DEFINE: %{fuse} = --lmc-fuse-rmsnorm --lmc-fuse-residual-norm \
// DEFINE:   --lmc-fuse-swiglu --lmc-fuse-qkv --lmc-fuse-attention
// DEFINE: %{only-checked-ops} = --implicit-check-not='llama.{{(rms_norm|add_rms_norm|multi_matmul|attention|swiglu|matmul|add|mul|mean|rsqrt|cast|silu|reshape|transpose|rope|cache_write|cache_read|repeat_kv|batch_matmul|softmax|attention_mask|constant) }}'

// RUN: llamac-opt %S/../Dialect/llama/layer-example.mlir %{fuse} \
// RUN: | FileCheck %s %{only-checked-ops}
// RUN: llamac-opt %s %{fuse} | FileCheck %s --check-prefix=DECODE %{only-checked-ops}

// Canonicalization first turns the sizes into memref.dim of the token
// buffer; attention fusion still proves them the queries' batch and seq.
// RUN: llamac-opt %S/../Dialect/llama/layer-example.mlir --canonicalize --cse \
// RUN:   %{fuse} | FileCheck %s %{only-checked-ops}

// CHECK-LABEL: func.func @prefill
// CHECK-SAME: %[[CACHE:[^:]*]]: memref<1x2x1x2x256x16xf32>
// CHECK: %[[POS:.*]] = bufferization.to_tensor %arg3
// CHECK: %[[FIRST:.*]] = bufferization.to_tensor %arg4
// CHECK: %[[H0:.*]] = llama.embedding
// CHECK: %[[X1:.*]] = llama.rms_norm %[[H0]], %{{.*}} {epsilon = 9.99999974E-6 : f32}
// CHECK: %[[QKV:.*]]:3 = llama.multi_matmul %[[X1]], %{{.*}}, %{{.*}}, %{{.*}} :
// CHECK: %[[ATTN:.*]] = llama.attention %[[QKV]]#0, %[[QKV]]#1, %[[QKV]]#2, %[[POS]], %[[FIRST]], %[[CACHE]][%{{.*}}] {head_dim = 16 : i64, layer = 0 : i64, num_heads = 4 : i64, num_kv_heads = 2 : i64, rope_scale = 1.000000e+00 : f64, rope_theta = 1.000000e+04 : f64, scale = 2.500000e-01 : f32}
// CHECK: %[[O:.*]] = llama.matmul %[[ATTN]]
// CHECK: %[[H1:.*]], %[[X2:.*]] = llama.add_rms_norm %[[H0]], %[[O]], %{{.*}} {epsilon = 9.99999974E-6 : f32}
// CHECK: %[[MLP:.*]] = llama.swiglu %[[X2]]
// CHECK: %[[D:.*]] = llama.matmul %[[MLP]]
// CHECK: %{{.*}}, %[[XF:.*]] = llama.add_rms_norm %[[H1]], %[[D]]
// CHECK: %[[LOGITS:.*]] = llama.matmul %[[XF]]
// CHECK: bufferization.materialize_in_destination %[[LOGITS]]

// DECODE-LABEL: func.func @decode
// DECODE: %[[H0:.*]] = llama.embedding
// DECODE: %[[X1:.*]] = llama.rms_norm %[[H0]]
// DECODE: %[[QKV0:.*]]:3 = llama.multi_matmul %[[X1]]
// DECODE: %[[ATTN0:.*]] = llama.attention %[[QKV0]]#0, %[[QKV0]]#1, %[[QKV0]]#2, {{.*}} layer = 0 : i64{{.*}} : tensor<?x1x64xf32>, tensor<?x1x32xf32>, tensor<?x1xi32>
// DECODE: %[[O0:.*]] = llama.matmul %[[ATTN0]]
// DECODE: %[[H1:.*]], %[[X2:.*]] = llama.add_rms_norm %[[H0]], %[[O0]]
// DECODE: %[[MLP0:.*]] = llama.swiglu %[[X2]]
// DECODE: %[[D0:.*]] = llama.matmul %[[MLP0]]
// DECODE: %[[H2:.*]], %[[X3:.*]] = llama.add_rms_norm %[[H1]], %[[D0]]
// DECODE: %[[QKV1:.*]]:3 = llama.multi_matmul %[[X3]]
// DECODE: %[[ATTN1:.*]] = llama.attention %[[QKV1]]#0, %[[QKV1]]#1, %[[QKV1]]#2, {{.*}} layer = 1 : i64
// DECODE: %[[O1:.*]] = llama.matmul %[[ATTN1]]
// DECODE: %[[H3:.*]], %[[X4:.*]] = llama.add_rms_norm %[[H2]], %[[O1]]
// DECODE: %[[MLP1:.*]] = llama.swiglu %[[X4]]
// DECODE: %[[D1:.*]] = llama.matmul %[[MLP1]]
// DECODE: %{{.*}}, %[[XF:.*]] = llama.add_rms_norm %[[H3]], %[[D1]]
// DECODE: llama.matmul %[[XF]]

module {
  llama.weight_decl @"model.embed_tokens.weight" : tensor<512x64xf32>
  llama.weight_decl @"model.layers.0.input_layernorm.weight" : tensor<64xf16>
  llama.weight_decl @"model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf16>
  llama.weight_decl @"model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf16>
  llama.weight_decl @"model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf16>
  llama.weight_decl @"model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf16>
  llama.weight_decl @"model.layers.0.post_attention_layernorm.weight" : tensor<64xf16>
  llama.weight_decl @"model.layers.0.mlp.gate_proj.weight" : tensor<128x64xf16>
  llama.weight_decl @"model.layers.0.mlp.up_proj.weight" : tensor<128x64xf16>
  llama.weight_decl @"model.layers.0.mlp.down_proj.weight" : tensor<64x128xf16>
  llama.weight_decl @"model.layers.1.input_layernorm.weight" : tensor<64xf16>
  llama.weight_decl @"model.layers.1.self_attn.q_proj.weight" : tensor<64x64xf16>
  llama.weight_decl @"model.layers.1.self_attn.k_proj.weight" : tensor<32x64xf16>
  llama.weight_decl @"model.layers.1.self_attn.v_proj.weight" : tensor<32x64xf16>
  llama.weight_decl @"model.layers.1.self_attn.o_proj.weight" : tensor<64x64xf16>
  llama.weight_decl @"model.layers.1.post_attention_layernorm.weight" : tensor<64xf16>
  llama.weight_decl @"model.layers.1.mlp.gate_proj.weight" : tensor<128x64xf16>
  llama.weight_decl @"model.layers.1.mlp.up_proj.weight" : tensor<128x64xf16>
  llama.weight_decl @"model.layers.1.mlp.down_proj.weight" : tensor<64x128xf16>
  llama.weight_decl @"model.norm.weight" : tensor<64xf16>
  llama.weight_decl @"lm_head.weight" : tensor<512x64xf16>

  func.func @decode(%weights: !llvm.ptr {llama.weight_table},
                    %cache: memref<2x2x1x2x256x16xf32>,
                    %tokens_buffer: memref<?x1xi32>, %positions_buffer: memref<?x1xi32>,
                    %first_slot_buffer: memref<?xi32>, %start: index,
                    %output: memref<?x1x512xf32>) attributes {llvm.emit_c_interface} {
    %tokens = bufferization.to_tensor %tokens_buffer restrict : memref<?x1xi32> to tensor<?x1xi32>
    %positions = bufferization.to_tensor %positions_buffer restrict : memref<?x1xi32> to tensor<?x1xi32>
    %first_slot = bufferization.to_tensor %first_slot_buffer restrict : memref<?xi32> to tensor<?xi32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %batch = tensor.dim %tokens, %c0 : tensor<?x1xi32>
    %seq = tensor.dim %tokens, %c1 : tensor<?x1xi32>
    %length = arith.addi %start, %seq : index
    %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x1x?xf32>
    %eps = llama.constant 9.99999974E-6 : tensor<f32>
    %scale = llama.constant 2.500000e-01 : tensor<f32>
    %embed = llama.weight @"model.embed_tokens.weight" : tensor<512x64xf32>
    %h0 = llama.embedding %embed[%tokens] : tensor<512x64xf32>, tensor<?x1xi32> -> tensor<?x1x64xf32>

    // layer 0: input_layernorm
    %ln1_w0 = llama.weight @"model.layers.0.input_layernorm.weight" : tensor<64xf16>
    %sq1_0 = llama.mul %h0, %h0 : tensor<?x1x64xf32>, tensor<?x1x64xf32>
    %var1_0 = llama.mean %sq1_0 : tensor<?x1x64xf32> -> tensor<?x1x1xf32>
    %var1e_0 = llama.add %var1_0, %eps : tensor<?x1x1xf32>, tensor<f32>
    %inv1_0 = llama.rsqrt %var1e_0 : tensor<?x1x1xf32>
    %n1_0 = llama.mul %h0, %inv1_0 : tensor<?x1x64xf32>, tensor<?x1x1xf32>
    %ln1_w32_0 = llama.cast %ln1_w0 : tensor<64xf16> -> tensor<64xf32>
    %x1_0 = llama.mul %n1_0, %ln1_w32_0 : tensor<?x1x64xf32>, tensor<64xf32>

    // layer 0: self_attn
    %wq0 = llama.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf16>
    %wk0 = llama.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf16>
    %wv0 = llama.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf16>
    %q0 = llama.matmul %x1_0, %wq0 : tensor<?x1x64xf32>, tensor<64x64xf16> -> tensor<?x1x64xf32>
    %k0 = llama.matmul %x1_0, %wk0 : tensor<?x1x64xf32>, tensor<32x64xf16> -> tensor<?x1x32xf32>
    %v0 = llama.matmul %x1_0, %wv0 : tensor<?x1x64xf32>, tensor<32x64xf16> -> tensor<?x1x32xf32>
    %q4_0 = llama.reshape %q0 : tensor<?x1x64xf32> -> tensor<?x1x4x16xf32>
    %k4_0 = llama.reshape %k0 : tensor<?x1x32xf32> -> tensor<?x1x2x16xf32>
    %v4_0 = llama.reshape %v0 : tensor<?x1x32xf32> -> tensor<?x1x2x16xf32>
    %qt0 = llama.transpose %q4_0 [0, 2, 1, 3] : tensor<?x1x4x16xf32> -> tensor<?x4x1x16xf32>
    %kt0 = llama.transpose %k4_0 [0, 2, 1, 3] : tensor<?x1x2x16xf32> -> tensor<?x2x1x16xf32>
    %vt0 = llama.transpose %v4_0 [0, 2, 1, 3] : tensor<?x1x2x16xf32> -> tensor<?x2x1x16xf32>
    %qr0 = llama.rope %qt0, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x1x16xf32>, tensor<?x1xi32>
    %kr0 = llama.rope %kt0, %positions {theta = 1.000000e+04 : f64} : tensor<?x2x1x16xf32>, tensor<?x1xi32>
    llama.cache_write %kr0, %vt0 into %cache[%start] layer 0 : tensor<?x2x1x16xf32>, memref<2x2x1x2x256x16xf32>
    %kc0 = llama.cache_read key %cache[%batch, %length] layer 0 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
    %vc0 = llama.cache_read value %cache[%batch, %length] layer 0 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
    %kx0 = llama.repeat_kv %kc0 {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
    %vx0 = llama.repeat_kv %vc0 {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
    %s0 = llama.batch_matmul %qr0, %kx0 {transpose_rhs} : tensor<?x4x1x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x1x?xf32>
    %ss0 = llama.mul %s0, %scale : tensor<?x4x1x?xf32>, tensor<f32>
    %sm0 = llama.add %ss0, %mask : tensor<?x4x1x?xf32>, tensor<?x1x1x?xf32>
    %p0 = llama.softmax %sm0 : tensor<?x4x1x?xf32>
    %o0 = llama.batch_matmul %p0, %vx0 : tensor<?x4x1x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x1x16xf32>
    %ot0 = llama.transpose %o0 [0, 2, 1, 3] : tensor<?x4x1x16xf32> -> tensor<?x1x4x16xf32>
    %of0 = llama.reshape %ot0 : tensor<?x1x4x16xf32> -> tensor<?x1x64xf32>
    %wo0 = llama.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf16>
    %attn0 = llama.matmul %of0, %wo0 : tensor<?x1x64xf32>, tensor<64x64xf16> -> tensor<?x1x64xf32>
    %h1_0 = llama.add %h0, %attn0 : tensor<?x1x64xf32>, tensor<?x1x64xf32>

    // layer 0: post_attention_layernorm
    %ln2_w0 = llama.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<64xf16>
    %sq2_0 = llama.mul %h1_0, %h1_0 : tensor<?x1x64xf32>, tensor<?x1x64xf32>
    %var2_0 = llama.mean %sq2_0 : tensor<?x1x64xf32> -> tensor<?x1x1xf32>
    %var2e_0 = llama.add %var2_0, %eps : tensor<?x1x1xf32>, tensor<f32>
    %inv2_0 = llama.rsqrt %var2e_0 : tensor<?x1x1xf32>
    %n2_0 = llama.mul %h1_0, %inv2_0 : tensor<?x1x64xf32>, tensor<?x1x1xf32>
    %ln2_w32_0 = llama.cast %ln2_w0 : tensor<64xf16> -> tensor<64xf32>
    %x2_0 = llama.mul %n2_0, %ln2_w32_0 : tensor<?x1x64xf32>, tensor<64xf32>

    // layer 0: mlp
    %wg0 = llama.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<128x64xf16>
    %wu0 = llama.weight @"model.layers.0.mlp.up_proj.weight" : tensor<128x64xf16>
    %wd0 = llama.weight @"model.layers.0.mlp.down_proj.weight" : tensor<64x128xf16>
    %g0 = llama.matmul %x2_0, %wg0 : tensor<?x1x64xf32>, tensor<128x64xf16> -> tensor<?x1x128xf32>
    %gs0 = llama.silu %g0 : tensor<?x1x128xf32>
    %u0 = llama.matmul %x2_0, %wu0 : tensor<?x1x64xf32>, tensor<128x64xf16> -> tensor<?x1x128xf32>
    %gu0 = llama.mul %gs0, %u0 : tensor<?x1x128xf32>, tensor<?x1x128xf32>
    %d0 = llama.matmul %gu0, %wd0 : tensor<?x1x128xf32>, tensor<64x128xf16> -> tensor<?x1x64xf32>
    %h2_0 = llama.add %h1_0, %d0 : tensor<?x1x64xf32>, tensor<?x1x64xf32>

    // layer 1: input_layernorm
    %ln1_w1 = llama.weight @"model.layers.1.input_layernorm.weight" : tensor<64xf16>
    %sq1_1 = llama.mul %h2_0, %h2_0 : tensor<?x1x64xf32>, tensor<?x1x64xf32>
    %var1_1 = llama.mean %sq1_1 : tensor<?x1x64xf32> -> tensor<?x1x1xf32>
    %var1e_1 = llama.add %var1_1, %eps : tensor<?x1x1xf32>, tensor<f32>
    %inv1_1 = llama.rsqrt %var1e_1 : tensor<?x1x1xf32>
    %n1_1 = llama.mul %h2_0, %inv1_1 : tensor<?x1x64xf32>, tensor<?x1x1xf32>
    %ln1_w32_1 = llama.cast %ln1_w1 : tensor<64xf16> -> tensor<64xf32>
    %x1_1 = llama.mul %n1_1, %ln1_w32_1 : tensor<?x1x64xf32>, tensor<64xf32>

    // layer 1: self_attn
    %wq1 = llama.weight @"model.layers.1.self_attn.q_proj.weight" : tensor<64x64xf16>
    %wk1 = llama.weight @"model.layers.1.self_attn.k_proj.weight" : tensor<32x64xf16>
    %wv1 = llama.weight @"model.layers.1.self_attn.v_proj.weight" : tensor<32x64xf16>
    %q1 = llama.matmul %x1_1, %wq1 : tensor<?x1x64xf32>, tensor<64x64xf16> -> tensor<?x1x64xf32>
    %k1 = llama.matmul %x1_1, %wk1 : tensor<?x1x64xf32>, tensor<32x64xf16> -> tensor<?x1x32xf32>
    %v1 = llama.matmul %x1_1, %wv1 : tensor<?x1x64xf32>, tensor<32x64xf16> -> tensor<?x1x32xf32>
    %q4_1 = llama.reshape %q1 : tensor<?x1x64xf32> -> tensor<?x1x4x16xf32>
    %k4_1 = llama.reshape %k1 : tensor<?x1x32xf32> -> tensor<?x1x2x16xf32>
    %v4_1 = llama.reshape %v1 : tensor<?x1x32xf32> -> tensor<?x1x2x16xf32>
    %qt1 = llama.transpose %q4_1 [0, 2, 1, 3] : tensor<?x1x4x16xf32> -> tensor<?x4x1x16xf32>
    %kt1 = llama.transpose %k4_1 [0, 2, 1, 3] : tensor<?x1x2x16xf32> -> tensor<?x2x1x16xf32>
    %vt1 = llama.transpose %v4_1 [0, 2, 1, 3] : tensor<?x1x2x16xf32> -> tensor<?x2x1x16xf32>
    %qr1 = llama.rope %qt1, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x1x16xf32>, tensor<?x1xi32>
    %kr1 = llama.rope %kt1, %positions {theta = 1.000000e+04 : f64} : tensor<?x2x1x16xf32>, tensor<?x1xi32>
    llama.cache_write %kr1, %vt1 into %cache[%start] layer 1 : tensor<?x2x1x16xf32>, memref<2x2x1x2x256x16xf32>
    %kc1 = llama.cache_read key %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
    %vc1 = llama.cache_read value %cache[%batch, %length] layer 1 : memref<2x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
    %kx1 = llama.repeat_kv %kc1 {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
    %vx1 = llama.repeat_kv %vc1 {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
    %s1 = llama.batch_matmul %qr1, %kx1 {transpose_rhs} : tensor<?x4x1x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x1x?xf32>
    %ss1 = llama.mul %s1, %scale : tensor<?x4x1x?xf32>, tensor<f32>
    %sm1 = llama.add %ss1, %mask : tensor<?x4x1x?xf32>, tensor<?x1x1x?xf32>
    %p1 = llama.softmax %sm1 : tensor<?x4x1x?xf32>
    %o1 = llama.batch_matmul %p1, %vx1 : tensor<?x4x1x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x1x16xf32>
    %ot1 = llama.transpose %o1 [0, 2, 1, 3] : tensor<?x4x1x16xf32> -> tensor<?x1x4x16xf32>
    %of1 = llama.reshape %ot1 : tensor<?x1x4x16xf32> -> tensor<?x1x64xf32>
    %wo1 = llama.weight @"model.layers.1.self_attn.o_proj.weight" : tensor<64x64xf16>
    %attn1 = llama.matmul %of1, %wo1 : tensor<?x1x64xf32>, tensor<64x64xf16> -> tensor<?x1x64xf32>
    %h1_1 = llama.add %h2_0, %attn1 : tensor<?x1x64xf32>, tensor<?x1x64xf32>

    // layer 1: post_attention_layernorm
    %ln2_w1 = llama.weight @"model.layers.1.post_attention_layernorm.weight" : tensor<64xf16>
    %sq2_1 = llama.mul %h1_1, %h1_1 : tensor<?x1x64xf32>, tensor<?x1x64xf32>
    %var2_1 = llama.mean %sq2_1 : tensor<?x1x64xf32> -> tensor<?x1x1xf32>
    %var2e_1 = llama.add %var2_1, %eps : tensor<?x1x1xf32>, tensor<f32>
    %inv2_1 = llama.rsqrt %var2e_1 : tensor<?x1x1xf32>
    %n2_1 = llama.mul %h1_1, %inv2_1 : tensor<?x1x64xf32>, tensor<?x1x1xf32>
    %ln2_w32_1 = llama.cast %ln2_w1 : tensor<64xf16> -> tensor<64xf32>
    %x2_1 = llama.mul %n2_1, %ln2_w32_1 : tensor<?x1x64xf32>, tensor<64xf32>

    // layer 1: mlp
    %wg1 = llama.weight @"model.layers.1.mlp.gate_proj.weight" : tensor<128x64xf16>
    %wu1 = llama.weight @"model.layers.1.mlp.up_proj.weight" : tensor<128x64xf16>
    %wd1 = llama.weight @"model.layers.1.mlp.down_proj.weight" : tensor<64x128xf16>
    %g1 = llama.matmul %x2_1, %wg1 : tensor<?x1x64xf32>, tensor<128x64xf16> -> tensor<?x1x128xf32>
    %gs1 = llama.silu %g1 : tensor<?x1x128xf32>
    %u1 = llama.matmul %x2_1, %wu1 : tensor<?x1x64xf32>, tensor<128x64xf16> -> tensor<?x1x128xf32>
    %gu1 = llama.mul %gs1, %u1 : tensor<?x1x128xf32>, tensor<?x1x128xf32>
    %d1 = llama.matmul %gu1, %wd1 : tensor<?x1x128xf32>, tensor<64x128xf16> -> tensor<?x1x64xf32>
    %h2_1 = llama.add %h1_1, %d1 : tensor<?x1x64xf32>, tensor<?x1x64xf32>

    // model.norm + lm_head
    %lnf_w = llama.weight @"model.norm.weight" : tensor<64xf16>
    %sqf = llama.mul %h2_1, %h2_1 : tensor<?x1x64xf32>, tensor<?x1x64xf32>
    %varf = llama.mean %sqf : tensor<?x1x64xf32> -> tensor<?x1x1xf32>
    %varfe = llama.add %varf, %eps : tensor<?x1x1xf32>, tensor<f32>
    %invf = llama.rsqrt %varfe : tensor<?x1x1xf32>
    %nf = llama.mul %h2_1, %invf : tensor<?x1x64xf32>, tensor<?x1x1xf32>
    %lnf_w32 = llama.cast %lnf_w : tensor<64xf16> -> tensor<64xf32>
    %xf = llama.mul %nf, %lnf_w32 : tensor<?x1x64xf32>, tensor<64xf32>
    %lm = llama.weight @"lm_head.weight" : tensor<512x64xf16>
    %logits = llama.matmul %xf, %lm : tensor<?x1x64xf32>, tensor<512x64xf16> -> tensor<?x1x512xf32>
    bufferization.materialize_in_destination %logits in restrict writable %output : (tensor<?x1x512xf32>, memref<?x1x512xf32>) -> ()
    return
  }
}
