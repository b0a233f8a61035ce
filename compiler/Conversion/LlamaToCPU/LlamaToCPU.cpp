//===- LlamaToCPU.cpp - llama dialect to loops over memrefs ---------------===//
//
// A full dialect conversion: every tensor value becomes a row-major buffer
// (memref with the identity layout), every llama op the loops that fill its
// result buffer. Buffers are freed right after their last use, so a deep
// model's peak scratch is a layer's working set, not the sum of all layers.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToCPU/Patterns.h"
#include "compiler/Conversion/Passes.h"
#include "dialects/llama/IR/LlamaOps.h"
#include "runtime/ModelABI.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace llamac {
#define GEN_PASS_DEF_CONVERTLLAMATOCPU
#include "compiler/Conversion/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac::cpu;

namespace {

/// bufferization.to_tensor of an entry argument: the argument itself.
struct ToTensorLowering : OpConversionPattern<bufferization::ToTensorOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(bufferization::ToTensorOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getBuffer());
    return success();
  }
};

/// Writing the final tensor into the caller's output buffer: a copy.
struct MaterializeInDestinationLowering
    : OpConversionPattern<bufferization::MaterializeInDestinationOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(bufferization::MaterializeInDestinationOp op,
                  OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<MemRefType>(adaptor.getDest().getType()))
      return rewriter.notifyMatchFailure(op, "expects a buffer destination");
    rewriter.replaceOpWithNewOp<memref::CopyOp>(op, adaptor.getSource(),
                                                adaptor.getDest());
    return success();
  }
};

struct TensorDimLowering : OpConversionPattern<tensor::DimOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(tensor::DimOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<memref::DimOp>(op, adaptor.getSource(),
                                               adaptor.getIndex());
    return success();
  }
};

/// The top-level op of `block` that contains `op`.
Operation *ancestorInBlock(Block *block, Operation *op) {
  while (op && op->getBlock() != block)
    op = op->getParentOp();
  return op;
}

/// The last top-level op of the alloc's block that uses the buffer or a view
/// of it.
Operation *findLastUse(memref::AllocOp alloc) {
  Block *block = alloc->getBlock();
  Operation *last = alloc;
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value buffer = worklist.pop_back_val();
    for (Operation *user : buffer.getUsers()) {
      if (isa<ViewLikeOpInterface, memref::ReshapeOp, memref::CollapseShapeOp,
              memref::ExpandShapeOp>(user))
        llvm::append_range(worklist, user->getResults());
      Operation *top = ancestorInBlock(block, user);
      if (top && last->isBeforeInBlock(top))
        last = top;
    }
  }
  return last;
}

void insertDeallocations(func::FuncOp func) {
  SmallVector<memref::AllocOp> allocs;
  for (auto alloc : func.getBody().getOps<memref::AllocOp>())
    allocs.push_back(alloc);
  OpBuilder builder(func.getContext());
  for (memref::AllocOp alloc : allocs) {
    Operation *lastUse = findLastUse(alloc);
    if (lastUse->hasTrait<OpTrait::IsTerminator>())
      builder.setInsertionPoint(lastUse);
    else
      builder.setInsertionPointAfter(lastUse);
    memref::DeallocOp::create(builder, alloc.getLoc(), alloc);
  }
}

/// Real models use 64 to 256.
constexpr int64_t kMaxAttentionHeadDim = 1024;

struct ConvertLlamaToCPUPass
    : llamac::impl::ConvertLlamaToCPUBase<ConvertLlamaToCPUPass> {
  using ConvertLlamaToCPUBase::ConvertLlamaToCPUBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // 0 divides by zero in the loop bounds, a negative width never ends, and
    // thousands of lanes would swamp LLVM's code generator.
    const int64_t width = vectorWidth;
    if (width < 1 || width > 64) {
      module.emitError() << "vector-width " << width
                         << " must be between 1 and 64";
      return signalPassFailure();
    }
    // The fused attention kernel holds a head in one vector<head_dim x f32>:
    // a config with an absurd head_dim would make LLVM run out of memory.
    WalkResult tooWide = module.walk([](llama::AttentionOp op) {
      if (op.getHeadDim() <= kMaxAttentionHeadDim)
        return WalkResult::advance();
      op.emitOpError() << "head_dim " << op.getHeadDim() << " is more than the "
                       << kMaxAttentionHeadDim
                       << " lanes the CPU attention kernel holds a head in";
      return WalkResult::interrupt();
    });
    if (tooWide.wasInterrupted())
      return signalPassFailure();
    // A vector of the linear kernels must read whole int4 groups or lie
    // inside one.
    WalkResult misaligned = module.walk([&](llama::WeightDeclOp decl) {
      llama::Int4Attr int4 = llama::getInt4Encoding(decl.getType());
      if (!int4 || int4.getGroupSize() % width == 0 ||
          width % int4.getGroupSize() == 0)
        return WalkResult::advance();
      decl.emitOpError() << "int4 group_size " << int4.getGroupSize()
                         << " and vector-width " << width
                         << ": one must divide the other";
      return WalkResult::interrupt();
    });
    if (misaligned.wasInterrupted())
      return signalPassFailure();
    LoweringContext context;
    context.options.vectorWidth = vectorWidth;
    for (auto decl : module.getOps<llama::WeightDeclOp>())
      context.weightIndex[decl.getSymName()] = context.weightIndex.size();

    TypeConverter converter;
    converter.addConversion([](Type type) { return type; });
    converter.addConversion([](RankedTensorType type) -> Type {
      // An int4 weight is one buffer of codes, scales and minimums, which
      // LinearWeight views.
      if (llama::Int4Attr int4 = llama::getInt4Encoding(type))
        return MemRefType::get({llamac::int4BufferBytes(type.getDimSize(0),
                                                type.getDimSize(1),
                                                int4.getGroupSize())},
                               IntegerType::get(type.getContext(), 8));
      return MemRefType::get(type.getShape(), type.getElementType());
    });

    ConversionTarget target(getContext());
    target.addLegalDialect<arith::ArithDialect, math::MathDialect,
                           memref::MemRefDialect, scf::SCFDialect,
                           vector::VectorDialect, LLVM::LLVMDialect,
                           func::FuncDialect>();
    target.addIllegalDialect<llama::LlamaDialect, tensor::TensorDialect,
                             bufferization::BufferizationDialect>();
    target.addLegalOp<ModuleOp, UnrealizedConversionCastOp>();

    RewritePatternSet patterns(&getContext());
    patterns.add<ToTensorLowering, MaterializeInDestinationLowering,
                 TensorDimLowering>(converter, &getContext());
    populateWeightOpLoweringPatterns(patterns, converter, context);
    populateElementwiseOpLoweringPatterns(patterns, converter, context);
    populateReductionOpLoweringPatterns(patterns, converter, context);
    populateLinearOpLoweringPatterns(patterns, converter, context);
    populateShapeOpLoweringPatterns(patterns, converter, context);
    populateAttentionOpLoweringPatterns(patterns, converter, context);

    if (failed(applyFullConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>())
      insertDeallocations(func);
  }
};

} // namespace
