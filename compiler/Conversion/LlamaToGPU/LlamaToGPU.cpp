//===- LlamaToGPU.cpp - llama dialect to GPU kernels and launches ---------===//
//
// Lowers each entry function's graph to a sequence of asynchronous
// `gpu.launch_func` on one stream, with the kernels collected in
// `gpu.module @llama_kernels`. Activations are float32 buffers carved from
// one scratch arena per call (`gpu.alloc`, which the CUDA runtime serves from
// preallocated memory, so the addresses are the same on every call and a
// captured CUDA graph stays valid); weights and the KV cache are read in the
// compute dtype, or the linear layers' weights in int4 (WeightRows.h). The
// arena size is recorded as `llama.scratch_bytes`.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "compiler/Conversion/LlamaToGPU/WeightRows.h"
#include "compiler/Conversion/Passes.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

namespace llamac {
#define GEN_PASS_DEF_CONVERTLLAMATOGPU
#include "compiler/Conversion/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac::gpu;

llvm::ArrayRef<llvm::StringRef> llamac::supportedGemmTiles() {
  static const llvm::StringRef tiles[] = {"128x128/4",     "128x128",      "64x128",
                                          "64x256",        "128x256",      "128x128/wgmma",
                                          "128x256/wgmma"};
  return tiles;
}

int64_t llamac::cudaInt4GroupMultiple() { return kInt4Lanes; }

llvm::ArrayRef<llvm::StringRef> llamac::prefillTensorCoreChoices() {
  static const llvm::StringRef choices[] = {"all", "gemm", "attention", "none"};
  return choices;
}

namespace {

/// The tile "ROWSxFEATURES[/WARPS|/wgmma]" names, if it is a supported one.
std::optional<GemmTile> parseGemmTile(StringRef name) {
  if (!llvm::is_contained(llamac::supportedGemmTiles(), name))
    return std::nullopt;
  auto [shape, warps] = name.split('/');
  auto [rows, features] = shape.split('x');
  GemmTile tile;
  tile.warps = kGemmTileUnnamedWarps;
  tile.wgmma = warps == "wgmma";
  if (rows.getAsInteger(10, tile.rows) || features.getAsInteger(10, tile.features) ||
      (!warps.empty() && !tile.wgmma && warps.getAsInteger(10, tile.warps)))
    return std::nullopt;
  if (tile.wgmma)
    tile.warps = tile.rows / kWgmmaRowsPerWarp;
  return tile;
}

/// The tile option `option` names, or none after reporting why it is not
/// one the lowering builds for `compute`.
std::optional<GemmTile> parseTileOption(ModuleOp module, StringRef option, StringRef name,
                                        Type compute) {
  std::optional<GemmTile> tile = parseGemmTile(name);
  if (!tile) {
    module.emitError() << option << " must be one of "
                       << llvm::join(llamac::supportedGemmTiles(), ", ") << ", not '"
                       << name << "'";
    return std::nullopt;
  }
  if (tile->wgmma && !compute.isF16()) {
    module.emitError() << option << " " << name
                       << " multiplies f16 operands (wgmma), not " << compute;
    return std::nullopt;
  }
  return tile;
}

LogicalResult lowerOp(Operation *op, GPULowering &l) {
  l.builder().setInsertionPoint(op);
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](bufferization::ToTensorOp toTensor) {
        l.setBuffer(toTensor.getResult(), toTensor.getBuffer());
        return success();
      })
      .Case([&](bufferization::MaterializeInDestinationOp materialize)
                -> LogicalResult {
        // The producer wrote into the destination directly (see allocate).
        if (l.bufferOf(materialize.getSource()) != materialize.getDest())
          return materialize.emitOpError(
              "expects its source to be computed in place");
        return success();
      })
      // Read through GPULowering::weight by their users.
      .Case([](llama::WeightOp) { return success(); })
      .Case([&](llama::EmbeddingOp op) { return lowerEmbedding(op, l); })
      .Case([&](llama::LastPositionsOp op) { return lowerLastPositions(op, l); })
      .Case([&](llama::MatmulOp op) { return lowerMatmul(op, l); })
      .Case([&](llama::MultiMatmulOp op) { return lowerMultiMatmul(op, l); })
      .Case([&](llama::SwiGLUOp op) { return lowerSwiGLU(op, l); })
      .Case([&](llama::RMSNormOp op) { return lowerRMSNorm(op, l); })
      .Case([&](llama::AddRMSNormOp op) { return lowerAddRMSNorm(op, l); })
      .Case([&](llama::AttentionOp op) { return lowerAttention(op, l); })
      .Case([](func::ReturnOp) { return success(); })
      .Default([](Operation *op) -> LogicalResult {
        if (isa<llama::LlamaDialect, bufferization::BufferizationDialect,
                tensor::TensorDialect>(op->getDialect()))
          return op->emitOpError(
              "has no CUDA lowering (the CUDA target needs the fused ops of -O2)");
        return success();
      });
}

/// The int4 weights' groups must hold whole kernel vectors (kInt4Lanes).
LogicalResult checkInt4Weights(ModuleOp module) {
  for (auto decl : module.getOps<llama::WeightDeclOp>())
    if (llama::Int4Attr int4 = llama::getInt4Encoding(decl.getType());
        int4 && int4.getGroupSize() % kInt4Lanes != 0)
      return decl.emitOpError("has int4 groups of ")
             << int4.getGroupSize() << ": the CUDA kernels read " << kInt4Lanes
             << " codes at a time, so the group size must be a multiple of "
             << kInt4Lanes;
  return success();
}

/// Leaves the group size of each int4 weight in the module's
/// `llama.int4_weights` ({name = G}): the weight declarations go, and whoever
/// runs the lowered module (llamac-gpu-emulate) must quantize those weights.
void recordInt4Weights(ModuleOp module) {
  SmallVector<NamedAttribute> int4Weights;
  OpBuilder b(module.getContext());
  for (auto decl : module.getOps<llama::WeightDeclOp>())
    if (llama::Int4Attr int4 = llama::getInt4Encoding(decl.getType()))
      int4Weights.push_back(
          b.getNamedAttr(decl.getSymName(), b.getI64IntegerAttr(int4.getGroupSize())));
  if (!int4Weights.empty())
    module->setAttr(llama::kInt4WeightsAttr, b.getDictionaryAttr(int4Weights));
}

struct ConvertLlamaToGPUPass
    : llamac::impl::ConvertLlamaToGPUBase<ConvertLlamaToGPUPass> {
  using ConvertLlamaToGPUBase::ConvertLlamaToGPUBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Type compute = llvm::StringSwitch<Type>(computeDType)
                       .Case("f32", Float32Type::get(ctx))
                       .Case("f16", Float16Type::get(ctx))
                       .Case("bf16", BFloat16Type::get(ctx))
                       .Default(Type());
    if (!compute) {
      module.emitError() << "compute-dtype must be f32, f16 or bf16, not '"
                         << computeDType << "'";
      return signalPassFailure();
    }
    std::optional<GemmTile> tile = parseTileOption(module, "gemm-tile", gemmTile, compute);
    std::optional<GemmTile> narrowTile =
        narrowGemmTile.empty()
            ? tile
            : parseTileOption(module, "narrow-gemm-tile", narrowGemmTile, compute);
    if (!tile || !narrowTile)
      return signalPassFailure();
    if (!llvm::is_contained(llamac::prefillTensorCoreChoices(), prefillTensorCores)) {
      module.emitError() << "prefill-tensor-cores must be one of "
                         << llvm::join(llamac::prefillTensorCoreChoices(), ", ")
                         << ", not '" << prefillTensorCores << "'";
      return signalPassFailure();
    }
    if (failed(checkInt4Weights(module)))
      return signalPassFailure();
    if (!llvm::is_contained({8, 16, 32}, int4Lanes)) {
      module.emitError() << "int4-lanes must be 8, 16 or 32, not " << int4Lanes;
      return signalPassFailure();
    }
    KernelOptions options;
    options.gemmTile = *tile;
    options.narrowGemmTile = *narrowTile;
    options.tensorCoreGemm = prefillTensorCores == "all" || prefillTensorCores == "gemm";
    options.tensorCoreAttention =
        prefillTensorCores == "all" || prefillTensorCores == "attention";
    options.foldDecodeNorms = foldDecodeNorms;
    options.foldPrefillRope = foldPrefillRope;
    options.matvecMinBlocks = matvecMinBlocks;
    options.int4Lanes = int4Lanes;
    auto model = module->getAttrOfType<DictionaryAttr>("llama.model");
    auto maxBatch = model ? model.getAs<IntegerAttr>("max_batch") : IntegerAttr();
    auto maxSeq = model ? model.getAs<IntegerAttr>("max_seq") : IntegerAttr();
    if (!maxBatch || !maxSeq) {
      module.emitError("expects a `llama.model` attribute with max_batch and "
                       "max_seq (the limits the scratch arena is sized for)");
      return signalPassFailure();
    }

    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto kernels = mlir::gpu::GPUModuleOp::create(b, module.getLoc(), "llama_kernels");
    module->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    GPULowering lowering(module, kernels, compute, maxBatch.getInt(),
                         maxSeq.getInt(), options);

    int64_t scratchBytes = 0;
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      if (failed(lowering.beginFunction(func)))
        return signalPassFailure();
      SmallVector<Operation *> graph;
      for (Operation &op : func.getBody().front())
        if (isa<llama::LlamaDialect, bufferization::BufferizationDialect>(
                op.getDialect()))
          graph.push_back(&op);
      for (Operation *op : graph)
        if (failed(lowerOp(op, lowering)))
          return signalPassFailure();
      for (Operation *op : llvm::reverse(graph)) {
        op->dropAllUses();
        op->erase();
      }
      scratchBytes = std::max(scratchBytes, lowering.endFunction(func));
    }
    recordInt4Weights(module);
    for (auto decl : llvm::to_vector(module.getOps<llama::WeightDeclOp>()))
      decl.erase();
    module->setAttr("llama.scratch_bytes", b.getI64IntegerAttr(scratchBytes));
  }
};

} // namespace
