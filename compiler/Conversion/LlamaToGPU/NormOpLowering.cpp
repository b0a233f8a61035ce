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
// separate round trip.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/LinearKernels.h"
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

/// The kernel of rms_norm (`withResidual` false: input, weight, out, eps) and
/// add_rms_norm (input, residual, weight, sum, out, eps); `out` holds
/// `outElement` (see activationType), the rest float32.
mlir::gpu::GPUFuncOp getNormKernel(GPULowering &l, int64_t hidden,
                                   bool withResidual, Type outElement) {
  OpBuilder &b = l.builder();
  Type f32 = b.getF32Type();
  Type f32Buffer = l.flatType(f32);
  Type weightBuffer = l.flatType(l.computeType());
  SmallVector<Type> args = {f32Buffer};
  if (withResidual)
    args.push_back(f32Buffer);
  args.push_back(weightBuffer);
  if (withResidual)
    args.push_back(f32Buffer);
  args.append({l.flatType(outElement), f32});
  std::string name = std::string(withResidual ? "add_rms_norm_" : "rms_norm_") +
                     typeName(l.computeType()) + "_h" + std::to_string(hidden) +
                     narrowedSuffix("out", outElement);
  NormLayout layout(f32, hidden);
  return l.getOrCreateKernel(
      name, args, {l.sharedType(f32, kBlockThreads / kWarpSize)},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        OpBuilder &kb = d.builder();
        Location loc = d.location();
        unsigned next = 0;
        Value input = f.getArgument(next++);
        Value residual = withResidual ? f.getArgument(next++) : Value();
        Value weight = f.getArgument(next++);
        Value sum = withResidual ? f.getArgument(next++) : Value();
        Value out = f.getArgument(next++);
        Value epsilon = f.getArgument(next++);
        Value scratch = f.getWorkgroupAttributions().front();

        Value base = d.mul(d.blockId(mlir::gpu::Dimension::x), d.index(hidden));
        auto vectorType = VectorType::get({layout.lanes}, f32);
        Value squares = arith::ConstantOp::create(
            kb, loc, DenseElementsAttr::get(vectorType, kb.getF32FloatAttr(0)));
        // Past the row's end a thread reads its start instead (no branch
        // around the loads) and discards what it read.
        SmallVector<Value> valid, columns, rows, scales;
        for (int64_t v = 0; v < layout.loadsPerThread; ++v) {
          Value column = d.mul(d.add(d.index(v * kBlockThreads), d.threadId()),
                               d.index(layout.lanes));
          valid.push_back(d.cmp(arith::CmpIPredicate::ult, column, d.index(hidden)));
          columns.push_back(arith::SelectOp::create(kb, loc, valid.back(), column,
                                                    d.index(0)));
          Value x = d.loadVectorF32(input, d.add(base, columns.back()), layout.lanes);
          if (withResidual)
            x = arith::AddFOp::create(
                kb, loc, x,
                d.loadVectorF32(residual, d.add(base, columns.back()), layout.lanes));
          rows.push_back(x);
          // Loaded with the row, so its latency hides behind the reduction.
          scales.push_back(d.loadVectorF32(weight, columns.back(), layout.lanes));
          Value squared = vector::FMAOp::create(kb, loc, x, x, squares);
          squares = arith::SelectOp::create(kb, loc, valid.back(), squared, squares);
        }
        if (withResidual)
          for (auto [x, column, inRow] : llvm::zip(rows, columns, valid))
            d.ifThen(inRow, [&] { d.storeVectorF32(x, sum, d.add(base, column)); });
        Value total = d.blockReduce(
            vector::ReductionOp::create(kb, loc, vector::CombiningKind::ADD, squares),
            Reduction::Sum, scratch, kBlockThreads);
        Value mean = arith::DivFOp::create(kb, loc, total,
                                           d.f32(static_cast<float>(hidden)));
        Value inverse = vector::BroadcastOp::create(
            kb, loc, vectorType,
            math::RsqrtOp::create(kb, loc, d.fadd(mean, epsilon)));
        // Hugging Face order: (x * rsqrt(mean + eps)) * weight.
        for (auto [x, scale, column, inRow] : llvm::zip(rows, scales, columns, valid))
          d.ifThen(inRow, [&] {
            Value normed = arith::MulFOp::create(kb, loc, x, inverse);
            Value scaled = arith::MulFOp::create(kb, loc, normed, scale);
            d.storeVectorF32(scaled, out, d.add(base, column));
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

} // namespace

LogicalResult lowerRMSNorm(llama::RMSNormOp op, GPULowering &l) {
  Location loc = op.getLoc();
  int64_t hidden = op.getInput().getType().getShape().back();
  if (failed(checkHidden(op, hidden)))
    return failure();
  Value input = l.bufferOf(op.getInput());
  FailureOr<Value> weight = l.weight(loc, op.getWeight());
  if (failed(weight))
    return failure();
  Value result = l.allocate(loc, op.getResult(), input,
                            activationType(l, op.getResult()));
  Value one = l.index(loc, 1);
  l.launch(loc, getNormKernel(l, hidden, /*withResidual=*/false, elementType(result)),
           {l.rowCount(loc, input), one, one}, kBlockThreads,
           {l.flatten(loc, input), *weight, l.flatten(loc, result),
            epsilonConstant(l, loc, op.getEpsilon())});
  l.setBuffer(op.getResult(), result);
  return success();
}

LogicalResult lowerAddRMSNorm(llama::AddRMSNormOp op, GPULowering &l) {
  Location loc = op.getLoc();
  int64_t hidden = op.getInput().getType().getShape().back();
  if (failed(checkHidden(op, hidden)))
    return failure();
  Value input = l.bufferOf(op.getInput());
  Value residual = l.bufferOf(op.getResidual());
  FailureOr<Value> weight = l.weight(loc, op.getWeight());
  if (failed(weight))
    return failure();
  Value sum = l.allocate(loc, op.getSum(), input);
  Value result = l.allocate(loc, op.getResult(), input,
                            activationType(l, op.getResult()));
  Value one = l.index(loc, 1);
  l.launch(loc, getNormKernel(l, hidden, /*withResidual=*/true, elementType(result)),
           {l.rowCount(loc, input), one, one}, kBlockThreads,
           {l.flatten(loc, input), l.flatten(loc, residual), *weight,
            l.flatten(loc, sum), l.flatten(loc, result),
            epsilonConstant(l, loc, op.getEpsilon())});
  l.setBuffer(op.getSum(), sum);
  l.setBuffer(op.getResult(), result);
  return success();
}

} // namespace llamac::gpu
