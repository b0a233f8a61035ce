//===- LlamaAttrs.td - llama dialect attributes ------------*- tablegen -*-===//
#ifndef LLAMA_ATTRS_TD
#define LLAMA_ATTRS_TD

include "dialects/llama/IR/LlamaDialect.td"
include "mlir/IR/AttrTypeBase.td"

def Llama_Int4Attr : AttrDef<Llama_Dialect, "Int4"> {
  let mnemonic = "int4";
  let summary = "encoding of a weight quantized to 4-bit codes in groups";
  let description = [{
    The encoding of a `tensor<N x K x i4>` weight (`[out, in]`): each row is
    cut into groups of `group_size` consecutive input features, and element
    `(n, k)` stands for `q(n, k) * scale(n, k / G) + min(n, k / G)`, a code
    `q` in [0, 15] and a float16 scale and minimum per group (asymmetric
    round-to-nearest, like torchao's `int4_weight_only`).

    The tensor's memory is one buffer: `N * K / 2` bytes of codes (element
    `(n, k)` in byte `n * K / 2 + k / 2`, the low nibble for even `k`), then
    the `N * K / G` scales and the `N * K / G` minimums, each `[N][K / G]`.

    ```mlir
    tensor<4096x4096xi4, #llama.int4<group_size = 128>>
    ```
  }];
  let parameters = (ins "int64_t":$groupSize);
  let assemblyFormat = "`<` `group_size` `=` $groupSize `>`";
  let genVerifyDecl = 1;
}

#endif // LLAMA_ATTRS_TD
