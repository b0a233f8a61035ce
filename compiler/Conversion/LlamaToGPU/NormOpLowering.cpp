//===- NormOpLowering.cpp - rms_norm and add_rms_norm kernels -------------===//
//
// One block per row: the threads stride over the row accumulating x^2 in
// float32, reduce it across the block (warp shuffles, then one shared float
// per warp), and scale the row. add_rms_norm also writes the residual sum
// in the same pass, so the sum never makes a separate round trip.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace llamac::gpu {
namespace {

/// The kernel of rms_norm (`withResidual` false: input, weight, out, eps) and
/// add_rms_norm (input, residual, weight, sum, out, eps).
mlir::gpu::GPUFuncOp getNormKernel(GPULowering &l, int64_t hidden,
                                   bool withResidual) {
  OpBuilder &b = l.builder();
  Type f32Buffer = l.flatType(b.getF32Type());
  Type weightBuffer = l.flatType(l.computeType());
  SmallVector<Type> args = {f32Buffer};
  if (withResidual)
    args.push_back(f32Buffer);
  args.push_back(weightBuffer);
  if (withResidual)
    args.push_back(f32Buffer);
  args.append({f32Buffer, b.getF32Type()});
  std::string name = std::string(withResidual ? "add_rms_norm_" : "rms_norm_") +
                     typeName(l.computeType()) + "_h" + std::to_string(hidden);
  return l.getOrCreateKernel(
      name, args, {l.sharedType(b.getF32Type(), kBlockThreads / kWarpSize)},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        unsigned next = 0;
        Value input = f.getArgument(next++);
        Value residual = withResidual ? f.getArgument(next++) : Value();
        Value weight = f.getArgument(next++);
        Value sum = withResidual ? f.getArgument(next++) : Value();
        Value out = f.getArgument(next++);
        Value epsilon = f.getArgument(next++);
        Value scratch = f.getWorkgroupAttributions().front();

        Value base = d.mul(d.blockId(mlir::gpu::Dimension::x), d.index(hidden));
        Value start = d.threadId(), end = d.index(hidden),
              step = d.index(kBlockThreads);
        auto element = [&](Value j) {
          Value x = d.loadF32(input, d.add(base, j));
          if (withResidual)
            x = d.fadd(x, d.loadF32(residual, d.add(base, j)));
          return x;
        };
        Value squares =
            d.forLoop(start, end, step, {d.f32(0)},
                      [&](Value j, ValueRange acc) -> SmallVector<Value> {
                        Value x = element(j);
                        if (withResidual)
                          d.storeF32(x, sum, d.add(base, j));
                        return {d.fadd(acc[0], d.fmul(x, x))};
                      })[0];
        Value total = d.blockReduce(squares, Reduction::Sum, scratch, kBlockThreads);
        Value mean = arith::DivFOp::create(d.builder(), d.location(), total,
                                           d.f32(static_cast<float>(hidden)));
        Value inverse = math::RsqrtOp::create(d.builder(), d.location(),
                                              d.fadd(mean, epsilon));
        // Hugging Face order: (x * rsqrt(mean + eps)) * weight.
        d.forLoop(start, end, step, [&](Value j) {
          Value normed = d.fmul(element(j), inverse);
          d.storeF32(d.fmul(normed, d.loadF32(weight, j)), out, d.add(base, j));
        });
      });
}

Value epsilonConstant(GPULowering &l, Location loc, APFloat epsilon) {
  return arith::ConstantOp::create(
      l.builder(), loc, l.builder().getF32FloatAttr(epsilon.convertToFloat()));
}

} // namespace

LogicalResult lowerRMSNorm(llama::RMSNormOp op, GPULowering &l) {
  Location loc = op.getLoc();
  int64_t hidden = op.getInput().getType().getShape().back();
  Value input = l.bufferOf(op.getInput());
  FailureOr<Value> weight = l.weight(loc, op.getWeight());
  if (failed(weight))
    return failure();
  Value result = l.allocate(loc, op.getResult(), input);
  Value one = l.index(loc, 1);
  l.launch(loc, getNormKernel(l, hidden, /*withResidual=*/false),
           {l.rowCount(loc, input), one, one}, kBlockThreads,
           {l.flatten(loc, input), *weight, l.flatten(loc, result),
            epsilonConstant(l, loc, op.getEpsilon())});
  l.setBuffer(op.getResult(), result);
  return success();
}

LogicalResult lowerAddRMSNorm(llama::AddRMSNormOp op, GPULowering &l) {
  Location loc = op.getLoc();
  int64_t hidden = op.getInput().getType().getShape().back();
  Value input = l.bufferOf(op.getInput());
  Value residual = l.bufferOf(op.getResidual());
  FailureOr<Value> weight = l.weight(loc, op.getWeight());
  if (failed(weight))
    return failure();
  Value sum = l.allocate(loc, op.getSum(), input);
  Value result = l.allocate(loc, op.getResult(), input);
  Value one = l.index(loc, 1);
  l.launch(loc, getNormKernel(l, hidden, /*withResidual=*/true),
           {l.rowCount(loc, input), one, one}, kBlockThreads,
           {l.flatten(loc, input), l.flatten(loc, residual), *weight,
            l.flatten(loc, sum), l.flatten(loc, result),
            epsilonConstant(l, loc, op.getEpsilon())});
  l.setBuffer(op.getSum(), sum);
  l.setBuffer(op.getResult(), result);
  return success();
}

} // namespace llamac::gpu
