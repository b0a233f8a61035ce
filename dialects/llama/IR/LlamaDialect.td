//===- LlamaDialect.td - The llama dialect -----------------*- tablegen -*-===//
#ifndef LLAMA_DIALECT_TD
#define LLAMA_DIALECT_TD

include "mlir/IR/OpBase.td"

def Llama_Dialect : Dialect {
  let name = "llama";
  let cppNamespace = "::mlir::llama";
  let summary = "Llama-family language models as tensor programs";
  let description = [{
    The graph-level IR of llamac. The frontend emits a model with primitive
    ops, written the way the Hugging Face reference computes it; the fusion
    passes replace recognised patterns with the fused ops (`llama.rms_norm`,
    `llama.attention`, `llama.swiglu`, ...), which the conversions lower to
    CPU loops or GPU kernels. Weights are symbols (`llama.weight`), never
    inlined constants, so the IR of a 70B model stays small.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
  let useDefaultAttributePrinterParser = 1;
}

class Llama_Op<string mnemonic, list<Trait> traits = []>
    : Op<Llama_Dialect, mnemonic, traits>;

#endif // LLAMA_DIALECT_TD
