// RUN: llamac-opt %s | llamac-opt | FileCheck %s
// One decoder layer of a tiny GQA model (hidden 64, 4 heads, 2 kv heads,
// head_dim 16, ffn 128) exactly as the importer emits it.

// CHECK-LABEL: func.func @prefill
// CHECK: llama.attention_mask
// CHECK: llama.embedding
// CHECK: llama.rope
// CHECK: llama.cache_write
// CHECK: llama.repeat_kv
// CHECK: llama.softmax
// CHECK: llama.silu
// CHECK: bufferization.materialize_in_destination
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
  llama.weight_decl @"model.norm.weight" : tensor<64xf16>
  llama.weight_decl @"lm_head.weight" : tensor<512x64xf16>

  func.func @prefill(%weights: !llvm.ptr {llama.weight_table},
                     %cache: memref<1x2x1x2x256x16xf32>,
                     %tokens_buffer: memref<?x?xi32>, %positions_buffer: memref<?x?xi32>,
                     %first_slot_buffer: memref<?xi32>, %start: index,
                     %output: memref<?x?x512xf32>) attributes {llvm.emit_c_interface} {
    %tokens = bufferization.to_tensor %tokens_buffer restrict : memref<?x?xi32> to tensor<?x?xi32>
    %positions = bufferization.to_tensor %positions_buffer restrict : memref<?x?xi32> to tensor<?x?xi32>
    %first_slot = bufferization.to_tensor %first_slot_buffer restrict : memref<?xi32> to tensor<?xi32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %batch = tensor.dim %tokens, %c0 : tensor<?x?xi32>
    %seq = tensor.dim %tokens, %c1 : tensor<?x?xi32>
    %length = arith.addi %start, %seq : index
    %mask = llama.attention_mask %first_slot, %start, %seq, %length : tensor<?xi32> -> tensor<?x1x?x?xf32>
    %eps = llama.constant 9.99999974E-6 : tensor<f32>
    %scale = llama.constant 2.500000e-01 : tensor<f32>
    %embed = llama.weight @"model.embed_tokens.weight" : tensor<512x64xf32>
    %h0 = llama.embedding %embed[%tokens] : tensor<512x64xf32>, tensor<?x?xi32> -> tensor<?x?x64xf32>

    // input_layernorm
    %ln1_w = llama.weight @"model.layers.0.input_layernorm.weight" : tensor<64xf16>
    %sq1 = llama.mul %h0, %h0 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
    %var1 = llama.mean %sq1 : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
    %var1e = llama.add %var1, %eps : tensor<?x?x1xf32>, tensor<f32>
    %inv1 = llama.rsqrt %var1e : tensor<?x?x1xf32>
    %n1 = llama.mul %h0, %inv1 : tensor<?x?x64xf32>, tensor<?x?x1xf32>
    %ln1_w32 = llama.cast %ln1_w : tensor<64xf16> -> tensor<64xf32>
    %x1 = llama.mul %n1, %ln1_w32 : tensor<?x?x64xf32>, tensor<64xf32>

    // self_attn
    %wq = llama.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf16>
    %wk = llama.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf16>
    %wv = llama.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf16>
    %q = llama.matmul %x1, %wq : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
    %k = llama.matmul %x1, %wk : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
    %v = llama.matmul %x1, %wv : tensor<?x?x64xf32>, tensor<32x64xf16> -> tensor<?x?x32xf32>
    %q4 = llama.reshape %q : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
    %k4 = llama.reshape %k : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
    %v4 = llama.reshape %v : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
    %qt = llama.transpose %q4 [0, 2, 1, 3] : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
    %kt = llama.transpose %k4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
    %vt = llama.transpose %v4 [0, 2, 1, 3] : tensor<?x?x2x16xf32> -> tensor<?x2x?x16xf32>
    %qr = llama.rope %qt, %positions {theta = 1.000000e+04 : f64} : tensor<?x4x?x16xf32>, tensor<?x?xi32>
    %kr = llama.rope %kt, %positions {theta = 1.000000e+04 : f64} : tensor<?x2x?x16xf32>, tensor<?x?xi32>
    llama.cache_write %kr, %vt into %cache[%start] layer 0 : tensor<?x2x?x16xf32>, memref<1x2x1x2x256x16xf32>
    %kc = llama.cache_read key %cache[%batch, %length] layer 0 : memref<1x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
    %vc = llama.cache_read value %cache[%batch, %length] layer 0 : memref<1x2x1x2x256x16xf32> -> tensor<?x2x?x16xf32>
    %kx = llama.repeat_kv %kc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
    %vx = llama.repeat_kv %vc {repeats = 2 : i64} : tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
    %s = llama.batch_matmul %qr, %kx {transpose_rhs} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x?xf32>
    %ss = llama.mul %s, %scale : tensor<?x4x?x?xf32>, tensor<f32>
    %sm = llama.add %ss, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32>
    %p = llama.softmax %sm : tensor<?x4x?x?xf32>
    %o = llama.batch_matmul %p, %vx : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
    %ot = llama.transpose %o [0, 2, 1, 3] : tensor<?x4x?x16xf32> -> tensor<?x?x4x16xf32>
    %of = llama.reshape %ot : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
    %wo = llama.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf16>
    %attn = llama.matmul %of, %wo : tensor<?x?x64xf32>, tensor<64x64xf16> -> tensor<?x?x64xf32>
    %h1 = llama.add %h0, %attn : tensor<?x?x64xf32>, tensor<?x?x64xf32>

    // post_attention_layernorm
    %ln2_w = llama.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<64xf16>
    %sq2 = llama.mul %h1, %h1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
    %var2 = llama.mean %sq2 : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
    %var2e = llama.add %var2, %eps : tensor<?x?x1xf32>, tensor<f32>
    %inv2 = llama.rsqrt %var2e : tensor<?x?x1xf32>
    %n2 = llama.mul %h1, %inv2 : tensor<?x?x64xf32>, tensor<?x?x1xf32>
    %ln2_w32 = llama.cast %ln2_w : tensor<64xf16> -> tensor<64xf32>
    %x2 = llama.mul %n2, %ln2_w32 : tensor<?x?x64xf32>, tensor<64xf32>

    // mlp
    %wg = llama.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<128x64xf16>
    %wu = llama.weight @"model.layers.0.mlp.up_proj.weight" : tensor<128x64xf16>
    %wd = llama.weight @"model.layers.0.mlp.down_proj.weight" : tensor<64x128xf16>
    %g = llama.matmul %x2, %wg : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
    %gs = llama.silu %g : tensor<?x?x128xf32>
    %u = llama.matmul %x2, %wu : tensor<?x?x64xf32>, tensor<128x64xf16> -> tensor<?x?x128xf32>
    %gu = llama.mul %gs, %u : tensor<?x?x128xf32>, tensor<?x?x128xf32>
    %d = llama.matmul %gu, %wd : tensor<?x?x128xf32>, tensor<64x128xf16> -> tensor<?x?x64xf32>
    %h2 = llama.add %h1, %d : tensor<?x?x64xf32>, tensor<?x?x64xf32>

    // model.norm + lm_head
    %lnf_w = llama.weight @"model.norm.weight" : tensor<64xf16>
    %sqf = llama.mul %h2, %h2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
    %varf = llama.mean %sqf : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
    %varfe = llama.add %varf, %eps : tensor<?x?x1xf32>, tensor<f32>
    %invf = llama.rsqrt %varfe : tensor<?x?x1xf32>
    %nf = llama.mul %h2, %invf : tensor<?x?x64xf32>, tensor<?x?x1xf32>
    %lnf_w32 = llama.cast %lnf_w : tensor<64xf16> -> tensor<64xf32>
    %xf = llama.mul %nf, %lnf_w32 : tensor<?x?x64xf32>, tensor<64xf32>
    %lm = llama.weight @"lm_head.weight" : tensor<512x64xf16>
    %logits = llama.matmul %xf, %lm : tensor<?x?x64xf32>, tensor<512x64xf16> -> tensor<?x?x512xf32>
    bufferization.materialize_in_destination %logits in restrict writable %output : (tensor<?x?x512xf32>, memref<?x?x512xf32>) -> ()
    return
  }
}
