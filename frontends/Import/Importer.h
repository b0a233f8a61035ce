//===- Importer.h - A ModelSpec as llama dialect IR -------------*- C++ -*-===//
//
// Emits the model as Hugging Face computes it, op by op (unfused primitive
// ops; the fusion passes find the patterns). The module holds one
// llama.weight_decl per checkpoint tensor, in the ModelSpec's order (the
// runtime's weight table order), and two entry functions with the signature
// of runtime/ModelABI.h: @prefill (any number of tokens per row) and @decode
// (one token per row).
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_IMPORT_IMPORTER_H
#define LLAMAC_FRONTENDS_IMPORT_IMPORTER_H

#include "frontends/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace llamac {

struct ImportOptions {
  int64_t maxBatch = 1;
  int64_t maxSeq = 0; ///< 0: min(max_position_embeddings, 2048).
};

/// The context effective for `spec` (maxSeq resolved).
ImportOptions resolveImportOptions(const ModelSpec &spec, ImportOptions options);

/// Builds the graph-level module. Returns null (after emitting a diagnostic)
/// if the options do not fit the model.
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              const ModelSpec &spec,
                                              const ImportOptions &options);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_IMPORT_IMPORTER_H
