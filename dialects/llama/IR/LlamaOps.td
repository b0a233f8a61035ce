//===- LlamaOps.td - llama dialect ops ---------------------*- tablegen -*-===//
#ifndef LLAMA_OPS_TD
#define LLAMA_OPS_TD

include "dialects/llama/IR/LlamaAttrs.td"
include "dialects/llama/IR/LlamaDialect.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Types and attributes
//===----------------------------------------------------------------------===//

def Llama_Activation : RankedTensorOf<[F32]>;
def Llama_WeightTensor : RankedTensorOf<[F32, F16, BF16]>;
// What a linear layer reads: a float weight, or one quantized to int4 codes
// (i4 elements encoded with #llama.int4, see LlamaAttrs.td).
def Llama_LinearWeight : RankedTensorOf<[F32, F16, BF16, I<4>]>;
def Llama_TokenTensor : RankedTensorOf<[I32]>;
def Llama_KVCache : MemRefRankOf<[F32, F16, BF16], [6]>;

def Llama_KVKind : I32EnumAttr<"KVKind", "which half of the KV cache", [
    I32EnumAttrCase<"Key", 0, "key">,
    I32EnumAttrCase<"Value", 1, "value">]> {
  let cppNamespace = "::mlir::llama";
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def Llama_WeightDeclOp : Llama_Op<"weight_decl", [Symbol, HasParent<"ModuleOp">]> {
  let summary = "declares a checkpoint tensor the compiled code reads";
  let description = [{
    Declares one entry of the artifact's weight table. The position of the
    declaration among the module's `llama.weight_decl` ops is the index of
    the weight's pointer in the table the runtime passes in.

    ```mlir
    llama.weight_decl @"model.norm.weight" : tensor<4096xf16>
    llama.weight_decl @"model.layers.0.mlp.up_proj.weight"
        : tensor<11008x4096xi4, #llama.int4<group_size = 128>>
    ```

    An int4 declaration (lmc-quantize-int4) names a float checkpoint tensor
    that the runtime quantizes when it loads it; its pointer in the table is
    then the `#llama.int4` buffer.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttrOf<Llama_LinearWeight>:$type);
  let assemblyFormat = "$sym_name `:` $type attr-dict";
  let hasVerifier = 1;
}

def Llama_WeightOp : Llama_Op<"weight",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "reads a declared checkpoint tensor";
  let description = [{
    ```mlir
    %w = llama.weight @"model.norm.weight" : tensor<4096xf16>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs Llama_LinearWeight:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Primitive tensor ops (what the frontend emits)
//===----------------------------------------------------------------------===//

def Llama_EmbeddingOp : Llama_Op<"embedding", [Pure]> {
  let summary = "gathers rows of an embedding table";
  let description = [{
    `result[b, t, :] = float32(table[ids[b, t], :])`.
  }];
  let arguments = (ins Llama_WeightTensor:$table, Llama_TokenTensor:$ids);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Llama_MatmulOp : Llama_Op<"matmul", [Pure]> {
  let summary = "multiplies activations by a weight matrix (torch Linear)";
  let description = [{
    `result[..., n] = sum_k input[..., k] * weight[n, k]` with `weight` of
    shape `[out_features, in_features]` in its storage type, widened to
    float32 as it is read (an int4 weight is dequantized as it is read).
  }];
  let arguments = (ins Llama_Activation:$input, Llama_LinearWeight:$weight);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Llama_MultiMatmulOp : Llama_Op<"multi_matmul", [Pure]> {
  let summary = "several matmuls of one input, read as one concatenated weight";
  let description = [{
    Computes `llama.matmul %input, %w_i` for every weight in one pass over
    the input: the weights act as one matrix concatenated along the output
    dimension, kept as separate tensors so the runtime maps them unchanged.
  }];
  let arguments = (ins Llama_Activation:$input, Variadic<Llama_LinearWeight>:$weights);
  let results = (outs Variadic<Llama_Activation>:$results);
  let assemblyFormat = [{
    $input `,` $weights attr-dict `:` type($input) `,` type($weights) `->` type($results)
  }];
  let hasVerifier = 1;
}

class Llama_BroadcastBinaryOp<string mnemonic, string formula>
    : Llama_Op<mnemonic, [Pure, AllTypesMatch<["lhs", "result"]>]> {
  let summary = "elementwise " # mnemonic # " with trailing broadcast of rhs";
  let description = [{
    `result = }] # formula # [{`, where `rhs` is broadcast against `lhs`
    numpy-style: its dimensions align with the trailing dimensions of `lhs`
    and each is 1 or equal.
  }];
  let arguments = (ins Llama_Activation:$lhs, Llama_Activation:$rhs);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let hasVerifier = 1;
}

def Llama_AddOp : Llama_BroadcastBinaryOp<"add", "lhs + rhs">;
def Llama_MulOp : Llama_BroadcastBinaryOp<"mul", "lhs * rhs">;

def Llama_ConstantOp : Llama_Op<"constant", [Pure, ConstantLike]> {
  let summary = "a float32 scalar";
  let arguments = (ins F32Attr:$value);
  let results = (outs 0DTensorOf<[F32]>:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasFolder = 1;
}

class Llama_UnaryOp<string mnemonic, string formula>
    : Llama_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise " # formula;
  let arguments = (ins Llama_Activation:$input);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Llama_RsqrtOp : Llama_UnaryOp<"rsqrt", "1 / sqrt(x)">;
def Llama_SiluOp : Llama_UnaryOp<"silu", "x * sigmoid(x)">;
def Llama_SoftmaxOp : Llama_UnaryOp<"softmax", "softmax over the last dimension">;

def Llama_MeanOp : Llama_Op<"mean", [Pure]> {
  let summary = "mean over the last dimension, keeping it with size 1";
  let arguments = (ins Llama_Activation:$input);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Llama_CastOp : Llama_Op<"cast", [Pure]> {
  let summary = "widens a weight to float32";
  let arguments = (ins Llama_WeightTensor:$input);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Llama_ReshapeOp : Llama_Op<"reshape", [Pure]> {
  let summary = "reinterprets a row-major tensor with another shape";
  let description = [{
    The element count is unchanged. Dynamic dimensions of the result take
    the sizes of the input's dynamic dimensions, in order.
  }];
  let arguments = (ins Llama_Activation:$input);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Llama_TransposeOp : Llama_Op<"transpose", [Pure]> {
  let summary = "permutes dimensions: result dim i is input dim permutation[i]";
  let arguments = (ins Llama_Activation:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input $permutation attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Llama_RopeOp : Llama_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding, Hugging Face rotate-half layout";
  let description = [{
    `input` is `[batch, heads, seq, head_dim]` and `positions` `[batch, seq]`.
    For `i < head_dim / 2`, with `f_i = (p / scale) * theta^(-2i / head_dim)`:
    `out[i] = x[i] cos f_i - x[i + d/2] sin f_i` and
    `out[i + d/2] = x[i + d/2] cos f_i + x[i] sin f_i`.
  }];
  let arguments = (ins Llama_Activation:$input, Llama_TokenTensor:$positions,
                       F64Attr:$theta, DefaultValuedAttr<F64Attr, "1.0">:$scale);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` type($input) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def Llama_CacheWriteOp : Llama_Op<"cache_write", [AllTypesMatch<["key", "value"]>]> {
  let summary = "stores keys and values of new tokens into the static KV cache";
  let description = [{
    `key`/`value` are `[batch, kv_heads, seq, head_dim]`; token `t` of row `b`
    goes to slot `start + t` of layer `layer`:
    `cache[layer][0][b][h][start + t] = key[b][h][t]`, and `[1]` for values.
  }];
  let arguments = (ins Llama_Activation:$key, Llama_Activation:$value,
                       Arg<Llama_KVCache, "the cache", [MemWrite]>:$cache,
                       Index:$start, I64Attr:$layer);
  let assemblyFormat = [{
    $key `,` $value `into` $cache `[` $start `]` `layer` $layer attr-dict
    `:` type($key) `,` type($cache)
  }];
  let hasVerifier = 1;
}

def Llama_CacheReadOp : Llama_Op<"cache_read"> {
  let summary = "reads the first `length` slots of one layer's keys or values";
  let description = [{
    Result `[batch, kv_heads, length, head_dim]` = rows `[0, batch)` and slots
    `[0, length)` of `cache[layer][kind]`.
  }];
  let arguments = (ins Arg<Llama_KVCache, "the cache", [MemRead]>:$cache,
                       Index:$batch, Index:$length, I64Attr:$layer, Llama_KVKind:$kind);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $kind $cache `[` $batch `,` $length `]` `layer` $layer attr-dict
    `:` type($cache) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Llama_RepeatKVOp : Llama_Op<"repeat_kv", [Pure]> {
  let summary = "shares each kv head among `repeats` query heads (GQA)";
  let description = [{
    `[batch, kv_heads, seq, d] -> [batch, kv_heads * repeats, seq, d]`;
    query head `h` reads kv head `h / repeats`.
  }];
  let arguments = (ins Llama_Activation:$input, I64Attr:$repeats);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Llama_BatchMatmulOp : Llama_Op<"batch_matmul", [Pure]> {
  let summary = "matrix products over the two leading (batch, head) dims";
  let description = [{
    `[B, H, M, K] x [B, H, K, N] -> [B, H, M, N]`; with `transpose_rhs` the
    right operand is `[B, H, N, K]`.
  }];
  let arguments = (ins Llama_Activation:$lhs, Llama_Activation:$rhs,
                       UnitAttr:$transpose_rhs);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Llama_AttentionMaskOp : Llama_Op<"attention_mask", [Pure]> {
  let summary = "causal + left-padding additive mask";
  let description = [{
    Result `[batch, 1, queries, keys]`: `0` where query `t` may see key slot
    `j` (`first_slot[b] <= j <= start + t`), the lowest float32 elsewhere
    (as Hugging Face builds it, so fully masked rows stay finite).
  }];
  let arguments = (ins Llama_TokenTensor:$first_slot, Index:$start,
                       Index:$queries, Index:$keys);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $first_slot `,` $start `,` $queries `,` $keys attr-dict `:` type($first_slot) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Llama_LastPositionsOp : Llama_Op<"last_positions", [Pure]> {
  let summary = "the last `count` positions of each row";
  let description = [{
    `[batch, seq, features] -> [batch, count, features]`: positions
    `[seq - count, seq)` of every row, `1 <= count <= seq`. Prefill's last
    layer computes its output projection, MLP, final norm and logits only at
    the positions its caller reads: each row's last when generating (rows
    are left-padded, so that is position `seq - 1` of every row), all of
    them for teacher-forced logits.
  }];
  let arguments = (ins Llama_Activation:$input, Index:$count);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $count attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused ops (what the fusion passes produce)
//===----------------------------------------------------------------------===//

def Llama_RMSNormOp : Llama_Op<"rms_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "x * rsqrt(mean(x^2) + epsilon) * weight over the last dim";
  let arguments = (ins Llama_Activation:$input, Llama_WeightTensor:$weight, F32Attr:$epsilon);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` type($input) `,` type($weight)";
  let hasVerifier = 1;
}

def Llama_AddRMSNormOp : Llama_Op<"add_rms_norm",
    [Pure, AllTypesMatch<["input", "residual", "sum", "result"]>]> {
  let summary = "residual add followed by RMSNorm, producing both";
  let description = [{
    `sum = input + residual`; `result = rms_norm(sum, weight, epsilon)`.
  }];
  let arguments = (ins Llama_Activation:$input, Llama_Activation:$residual,
                       Llama_WeightTensor:$weight, F32Attr:$epsilon);
  let results = (outs Llama_Activation:$sum, Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $residual `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Llama_SwiGLUOp : Llama_Op<"swiglu", [Pure, AllTypesMatch<["gate", "up"]>]> {
  let summary = "silu(x W_gate^T) * (x W_up^T), both weights read in one pass";
  let arguments = (ins Llama_Activation:$input, Llama_LinearWeight:$gate,
                       Llama_LinearWeight:$up);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $gate `,` $up attr-dict `:` type($input) `,` type($gate) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Llama_AttentionOp : Llama_Op<"attention",
    [AllTypesMatch<["key", "value"]>, AllTypesMatch<["query", "result"]>]> {
  let summary = "rotary embedding, KV-cache update and masked GQA attention";
  let description = [{
    `query` is `[batch, seq, num_heads * head_dim]`, `key`/`value` are
    `[batch, seq, num_kv_heads * head_dim]` (the projections' outputs).
    Applies the rotary embedding (`rope_theta`, `rope_scale`) to query and key
    at `positions`, writes key and value to slots `[start, start + seq)` of
    layer `layer`, and returns
    `softmax(Q K^T * scale + mask) V` over slots `[0, start + seq)` with the
    causal and left-padding mask of `llama.attention_mask`, query head `h`
    reading kv head `h / (num_heads / num_kv_heads)`; result
    `[batch, seq, num_heads * head_dim]`.
  }];
  let arguments = (ins Llama_Activation:$query, Llama_Activation:$key,
                       Llama_Activation:$value, Llama_TokenTensor:$positions,
                       Llama_TokenTensor:$first_slot,
                       Arg<Llama_KVCache, "the cache", [MemRead, MemWrite]>:$cache,
                       Index:$start, I64Attr:$layer, I64Attr:$num_heads,
                       I64Attr:$num_kv_heads, I64Attr:$head_dim, F64Attr:$rope_theta,
                       F64Attr:$rope_scale, F32Attr:$scale);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $positions `,` $first_slot `,` $cache `[` $start `]`
    attr-dict `:` type($query) `,` type($key) `,` type($positions) `,` type($first_slot)
    `,` type($cache)
  }];
  let hasVerifier = 1;
}

#endif // LLAMA_OPS_TD
