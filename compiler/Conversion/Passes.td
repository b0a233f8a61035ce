//===- Passes.td - llamac conversions -----------------------*- tablegen -*-===//
#ifndef LLAMAC_CONVERSION_PASSES_TD
#define LLAMAC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLlamaToCPU : Pass<"lmc-convert-llama-to-cpu", "mlir::ModuleOp"> {
  let summary = "lowers the llama dialect to loops over memrefs for CPUs";
  let description = [{
    Replaces every llama op with a buffer and the loops that fill it:
    `scf.parallel` over independent rows (OpenMP later), `scf.for` over
    reductions, vector arithmetic in the hot inner loops. Weights become
    memrefs over the pointers of the weight table the entry function
    receives (its argument marked `llama.weight_table`); the KV cache is
    updated in place.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "float32 lanes of the vector loops (16: AVX-512, 8: AVX2)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::memref::MemRefDialect", "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect", "mlir::LLVM::LLVMDialect",
  ];
}

#endif // LLAMAC_CONVERSION_PASSES_TD
