//===- NormOpLowering.cpp - rms_norm and add_rms_norm kernels -------------===//
//
// One block per row. Each thread loads its part of the row (and of the
// residual) with all its vector loads in flight at once and keeps it in
// registers, so the kernel costs one memory latency to read and one to
// write instead of a dependent load per loop iteration: in decode these
// kernels run on one row, where latency is all there is. x^2 is summed in
// float32, reduced across the block (warp shuffles, then one shared float
// per warp), and the row is scaled from the registers. add_rms_norm also
// writes the residual sum in the same pass, so the sum never makes a
// separate round trip. The same code (rowNorm) normalizes the input row of
// decode's matrix-vector kernels where they fold the norm
// (linearOpsComputeNorm); prefill, and decode otherwise, launch it here.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/LinearKernels.h"
#include "compiler/Conversion/LlamaToGPU/NormKernels.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::gpu {
namespace {

/// Vector loads per thread the row may take: 16 x 4 floats x 256 threads
/// is a 16384-wide row, more than any Llama's hidden size.
constexpr int64_t kMaxLoadsPerThread = 16;

/// How the block's threads cover a row: load v of thread t reads `lanes`
/// floats at (v * threads + t) * lanes, so each load of the block reads
/// consecutive memory.
struct NormLayout {
  int64_t lanes, loadsPerThread;
  explicit NormLayout(Type f32, int64_t hidden)
      : lanes(vectorLanes(f32, hidden)),
        loadsPerThread((hidden + lanes * kBlockThreads - 1) /
                       (lanes * kBlockThreads)) {}
};

} // namespace

SmallVector<Type> rowNormArgumentTypes(GPULowering &l, bool withResidual,
                                       Type residualElement) {
  Type f32 = l.builder().getF32Type();
  SmallVector<Type> types = {l.flatType(f32)};
  if (withResidual)
    types.push_back(l.flatType(residualElement));
  types.push_back(l.flatType(l.computeType()));
  if (withResidual)
    types.push_back(l.flatType(f32));
  types.push_back(f32);
  return types;
}

SmallVector<Value> rowNormArguments(GPULowering &l, Location loc, const RowNorm &norm) {
  SmallVector<Value> args = {l.flatten(loc, norm.input)};
  if (norm.residual)
    args.push_back(l.flatten(loc, norm.residual));
  args.push_back(norm.weight);
  if (norm.sum)
    args.push_back(l.flatten(loc, norm.sum));
  args.push_back(norm.epsilon);
  return args;
}

RowNorm rowNormFromArguments(mlir::gpu::GPUFuncOp kernel, unsigned &next,
                             int64_t hidden, bool withResidual) {
  RowNorm norm;
  norm.hidden = hidden;
  norm.input = kernel.getArgument(next++);
  norm.residual = withResidual ? kernel.getArgument(next++) : Value();
  // Weights are never written (see lmc-gpu-dependent-launch).
  kernel.setArgAttr(next, llama::kInvariantArgAttr,
                    UnitAttr::get(kernel.getContext()));
  norm.weight = kernel.getArgument(next++);
  norm.sum = withResidual ? kernel.getArgument(next++) : Value();
  norm.epsilon = kernel.getArgument(next++);
  return norm;
}

int64_t rowNormLoadsPerThread(MLIRContext *context, int64_t hidden) {
  return NormLayout(Float32Type::get(context), hidden).loadsPerThread;
}

MemRefType rowNormScratchType(GPULowering &l) {
  return l.sharedType(l.builder().getF32Type(), kBlockThreads / kWarpSize);
}

void rowNorm(DeviceBuilder &d, const RowNorm &norm, Value row, Value storesSum,
             Value scratch, Value stash,
             function_ref<void(Value normed, Value column)> use) {
  OpBuilder &kb = d.builder();
  Location loc = d.location();
  Type f32 = kb.getF32Type();
  NormLayout layout(f32, norm.hidden);
  Value base = d.mul(row, d.index(norm.hidden));
  auto vectorType = VectorType::get({layout.lanes}, f32);
  Value squares = arith::ConstantOp::create(
      kb, loc, DenseElementsAttr::get(vectorType, kb.getF32FloatAttr(0)));
  // Past the row's end a thread reads its start instead (no branch around
  // the loads) and discards what it read.
  SmallVector<Value> valid, columns, rows, scales;
  for (int64_t v = 0; v < layout.loadsPerThread; ++v) {
    Value column = d.mul(d.add(d.index(v * kBlockThreads), d.threadId()),
                         d.index(layout.lanes));
    valid.push_back(d.cmp(arith::CmpIPredicate::ult, column, d.index(norm.hidden)));
    columns.push_back(arith::SelectOp::create(kb, loc, valid.back(), column,
                                              d.index(0)));
    // The weight first: it is never written, so a kernel launched early
    // loads it before waiting for the kernel that writes the row. With a
    // stash it is loaded after the reduction (below), when the registers
    // hold less.
    if (!stash)
      scales.push_back(d.loadVectorF32(norm.weight, columns.back(), layout.lanes));
  }
  for (Value column : columns) {
    Value x = d.loadVectorF32(norm.input, d.add(base, column), layout.lanes);
    if (norm.residual)
      x = arith::AddFOp::create(
          kb, loc, x, d.loadVectorF32(norm.residual, d.add(base, column), layout.lanes));
    rows.push_back(x);
  }
  for (auto [x, inRow] : llvm::zip(rows, valid)) {
    Value squared = vector::FMAOp::create(kb, loc, x, x, squares);
    squares = arith::SelectOp::create(kb, loc, inRow, squared, squares);
  }
  if (norm.sum)
    for (auto [x, column, inRow] : llvm::zip(rows, columns, valid)) {
      Value stores =
          storesSum ? arith::AndIOp::create(kb, loc, inRow, storesSum) : inRow;
      d.ifThen(stores, [&] { d.storeVectorF32(x, norm.sum, d.add(base, column)); });
    }
  // Each thread reads back only what it stored: no barrier.
  if (stash)
    for (auto [x, column] : llvm::zip(rows, columns))
      d.storeVectorF32(x, stash, column);
  Value total = d.blockReduce(
      vector::ReductionOp::create(kb, loc, vector::CombiningKind::ADD, squares),
      Reduction::Sum, scratch, kBlockThreads);
  Value mean =
      arith::DivFOp::create(kb, loc, total, d.f32(static_cast<float>(norm.hidden)));
  Value inverse = vector::BroadcastOp::create(
      kb, loc, vectorType, math::RsqrtOp::create(kb, loc, d.fadd(mean, norm.epsilon)));
  // All in flight at once, not one latency per vector below.
  if (stash)
    for (Value column : columns)
      scales.push_back(d.loadVectorF32(norm.weight, column, layout.lanes));
  // Hugging Face order: (x * rsqrt(mean + eps)) * weight.
  for (auto [v, x, column, inRow] : llvm::enumerate(rows, columns, valid))
    d.ifThen(inRow, [&] {
      Value value = stash ? d.loadVectorF32(stash, column, layout.lanes) : x;
      Value normed = arith::MulFOp::create(kb, loc, value, inverse);
      use(arith::MulFOp::create(kb, loc, normed, scales[v]), column);
    });
}

namespace {

/// The kernel of rms_norm and add_rms_norm (`withResidual`, its residual of
/// `residualElement`), one block per row: the row norm's arguments, then
/// `out`, which holds `outElement` (see activationType).
mlir::gpu::GPUFuncOp getNormKernel(GPULowering &l, int64_t hidden, bool withResidual,
                                   Type residualElement, Type outElement) {
  SmallVector<Type> args = rowNormArgumentTypes(l, withResidual, residualElement);
  args.push_back(l.flatType(outElement));
  std::string name = std::string(withResidual ? "add_rms_norm_" : "rms_norm_") +
                     typeName(l.computeType()) + "_h" + std::to_string(hidden) +
                     narrowedSuffix("in", residualElement) +
                     narrowedSuffix("out", outElement);
  return l.getOrCreateKernel(
      name, args, {rowNormScratchType(l)},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        unsigned next = 0;
        RowNorm norm = rowNormFromArguments(f, next, hidden, withResidual);
        Value out = f.getArgument(next);
        Value row = d.blockId(mlir::gpu::Dimension::x);
        Value base = d.mul(row, d.index(hidden));
        rowNorm(d, norm, row, /*storesSum=*/Value(),
                f.getWorkgroupAttributions().front(), /*stash=*/Value(),
                [&](Value normed, Value column) {
                  d.storeVectorF32(normed, out, d.add(base, column));
                });
      });
}

Value epsilonConstant(GPULowering &l, Location loc, APFloat epsilon) {
  return arith::ConstantOp::create(
      l.builder(), loc, l.builder().getF32FloatAttr(epsilon.convertToFloat()));
}

/// Rows wider than the kernel keeps in registers are refused.
LogicalResult checkHidden(Operation *op, int64_t hidden) {
  NormLayout layout(Float32Type::get(op->getContext()), hidden);
  if (layout.loadsPerThread <= kMaxLoadsPerThread)
    return success();
  return op->emitOpError() << "hidden size " << hidden
                           << " is wider than the CUDA norm kernel's "
                           << kMaxLoadsPerThread * layout.lanes * kBlockThreads
                           << " elements";
}

/// Launches the norm kernel for `resultTensor` = rms_norm(input
/// (+ residual, into `sumTensor`)), or leaves it to the decode linear ops
/// that read it (linearOpsComputeNorm).
LogicalResult lowerNorm(GPULowering &l, Operation *op, Value inputTensor,
                        Value residualTensor, Value weightTensor, APFloat epsilon,
                        Value sumTensor, Value resultTensor) {
  Location loc = op->getLoc();
  int64_t hidden = cast<ShapedType>(inputTensor.getType()).getShape().back();
  if (failed(checkHidden(op, hidden)))
    return failure();
  FailureOr<Value> weight = l.weight(loc, weightTensor);
  if (failed(weight))
    return failure();
  RowNorm norm;
  norm.hidden = hidden;
  norm.input = l.bufferOf(inputTensor);
  norm.weight = *weight;
  norm.epsilon = epsilonConstant(l, loc, epsilon);
  if (residualTensor) {
    norm.residual = l.bufferOf(residualTensor);
    norm.sum = l.allocate(loc, sumTensor, norm.input);
    l.setBuffer(sumTensor, norm.sum);
  }
  if (linearOpsComputeNorm(l, resultTensor)) {
    l.foldNorm(resultTensor, norm);
    return success();
  }
  Value result = l.allocate(loc, resultTensor, norm.input,
                            activationType(l, resultTensor));
  l.setBuffer(resultTensor, result);
  SmallVector<Value> args = rowNormArguments(l, loc, norm);
  args.push_back(l.flatten(loc, result));
  Value one = l.index(loc, 1);
  Type residualElement =
      norm.residual ? elementType(norm.residual) : l.builder().getF32Type();
  l.launch(loc,
           getNormKernel(l, hidden, bool(norm.residual), residualElement,
                         elementType(result)),
           {l.rowCount(loc, norm.input), one, one}, kBlockThreads, args);
  return success();
}

} // namespace

LogicalResult lowerRMSNorm(llama::RMSNormOp op, GPULowering &l) {
  return lowerNorm(l, op, op.getInput(), /*residualTensor=*/Value(), op.getWeight(),
                   op.getEpsilon(), /*sumTensor=*/Value(), op.getResult());
}

LogicalResult lowerAddRMSNorm(llama::AddRMSNormOp op, GPULowering &l) {
  return lowerNorm(l, op, op.getInput(), op.getResidual(), op.getWeight(),
                   op.getEpsilon(), op.getSum(), op.getResult());
}

} // namespace llamac::gpu
