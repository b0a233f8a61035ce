//===- QuantizeInt4.cpp - linear layers' weights -> #llama.int4 -----------===//
//
// Only the declared types change: the checkpoint keeps its float tensors and
// the runtime quantizes them as it loads them, so one checkpoint serves every
// group size, and the IR of every later stage shows which weights are int4.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "llvm/ADT/StringMap.h"

namespace llamac {
#define GEN_PASS_DEF_QUANTIZEINT4
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace mlir::llama;

namespace {

/// Whether `use` is the weight operand of a linear op.
bool isLinearWeightUse(OpOperand &use) {
  Operation *owner = use.getOwner();
  if (auto matmul = dyn_cast<MatmulOp>(owner))
    return &use == &matmul.getWeightMutable();
  if (auto multi = dyn_cast<MultiMatmulOp>(owner))
    return &use != &multi.getInputMutable();
  if (auto swiglu = dyn_cast<SwiGLUOp>(owner))
    return &use != &swiglu.getInputMutable();
  return false;
}

/// The model's output head writes its result straight to the entry
/// function's output buffer.
bool isOutputHead(Operation *linear) {
  return llvm::any_of(linear->getUsers(), [](Operation *user) {
    return isa<bufferization::MaterializeInDestinationOp>(user);
  });
}

bool isQuantizableRead(WeightOp read) {
  return llvm::all_of(read->getUses(), [](OpOperand &use) {
    return isLinearWeightUse(use) && !isOutputHead(use.getOwner());
  });
}

struct QuantizeInt4Pass : llamac::impl::QuantizeInt4Base<QuantizeInt4Pass> {
  using QuantizeInt4Base::QuantizeInt4Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto encoding = Int4Attr::getChecked(
        [&] { return module.emitError() << "lmc-quantize-int4: "; },
        &getContext(), static_cast<int64_t>(groupSize));
    if (!encoding)
      return signalPassFailure();
    llvm::StringMap<SmallVector<WeightOp>> reads;
    module.walk([&](WeightOp read) { reads[read.getName()].push_back(read); });
    for (WeightDeclOp decl : module.getOps<WeightDeclOp>()) {
      auto type = cast<RankedTensorType>(decl.getType());
      SmallVector<WeightOp> &declReads = reads[decl.getSymName()];
      if (type.getRank() != 2 || !isa<FloatType>(type.getElementType()) ||
          declReads.empty() || !llvm::all_of(declReads, isQuantizableRead))
        continue;
      if (type.getDimSize(1) % groupSize != 0) {
        decl.emitError() << "int4 group size " << static_cast<int64_t>(groupSize)
                         << " does not divide the " << type.getDimSize(1)
                         << " input features of '" << decl.getSymName()
                         << "' (choose one that divides every linear layer's)";
        return signalPassFailure();
      }
      auto int4Type = RankedTensorType::get(
          type.getShape(), IntegerType::get(&getContext(), 4), encoding);
      decl.setType(int4Type);
      for (WeightOp read : declReads)
        read.getResult().setType(int4Type);
      ++numQuantized;
    }
  }
};

} // namespace
