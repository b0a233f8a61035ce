//===- LinearOpLowering.cpp - matmul, multi_matmul, swiglu kernels --------===//
//
// Batch-1 decode is matrix-vector and bound by reading the weights once, so
// the kernel streams them: each warp owns one output feature n of one
// activation row m and walks the weight row with aligned 16-byte loads
// (8 f16/bf16 or 4 f32), accumulating in float32 vector registers, then
// reduces across the warp with shuffles. Blocks hold 8 warps (8 features);
// the grid's y dimension is the activation row, so prefill (rows = B * T)
// runs the same kernel once per row: correct, and fast enough for prompts;
// a tiled tensor-core GEMM for prefill is future work.
//
// swiglu reads its gate and up rows in the same pass and applies
// silu(gate) * up before the single store.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::gpu {
namespace {

constexpr int64_t kWarpsPerBlock = kBlockThreads / kWarpSize;

/// out[m, n] = epilogue(sum_k x[m, k] * w_i[n, k] for each weight i).
/// Arguments: x, the weights, out, N. With two weights the epilogue is
/// silu(first) * second (swiglu), with one the identity.
mlir::gpu::GPUFuncOp getMatvecKernel(GPULowering &l, int64_t inFeatures,
                                     int64_t numWeights) {
  OpBuilder &b = l.builder();
  Type f32 = b.getF32Type();
  int64_t lanes = vectorLanes(l.computeType(), inFeatures);
  SmallVector<Type> args = {l.flatType(f32)};
  args.append(numWeights, l.flatType(l.computeType()));
  args.append({l.flatType(f32), b.getIndexType()});
  std::string name = std::string(numWeights == 2 ? "swiglu_" : "matvec_") +
                     typeName(l.computeType()) + "_k" +
                     std::to_string(inFeatures) + "_v" + std::to_string(lanes);
  return l.getOrCreateKernel(
      name, args, {}, [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        OpBuilder &kb = d.builder();
        Location loc = d.location();
        Value x = f.getArgument(0);
        Value out = f.getArgument(1 + numWeights);
        Value outFeatures = f.getArgument(2 + numWeights);
        Value n = d.add(d.mul(d.blockId(mlir::gpu::Dimension::x),
                              d.index(kWarpsPerBlock)),
                        d.warpId());
        Value m = d.blockId(mlir::gpu::Dimension::y);
        // Warp-uniform: every lane of a warp takes the same side, so the
        // shuffles inside see all 32 lanes.
        d.ifThen(d.cmp(arith::CmpIPredicate::ult, n, outFeatures), [&] {
          auto accType = VectorType::get({lanes}, f32);
          Value zero = arith::ConstantOp::create(
              kb, loc, DenseElementsAttr::get(accType, kb.getF32FloatAttr(0)));
          SmallVector<Value> init(numWeights, zero);
          Value xRow = d.mul(m, d.index(inFeatures));
          Value wRow = d.mul(n, d.index(inFeatures));
          ValueRange sums = d.forLoop(
              d.mul(d.laneId(), d.index(lanes)), d.index(inFeatures),
              d.index(kWarpSize * lanes), init,
              [&](Value k, ValueRange acc) -> SmallVector<Value> {
                Value xv = d.loadVectorF32(x, d.add(xRow, k), lanes);
                SmallVector<Value> next;
                for (int64_t i = 0; i < numWeights; ++i) {
                  Value wv = d.loadVectorF32(f.getArgument(1 + i),
                                             d.add(wRow, k), lanes);
                  next.push_back(vector::FMAOp::create(kb, loc, xv, wv, acc[i]));
                }
                return next;
              });
          SmallVector<Value> dots;
          for (Value sum : sums) {
            Value lanesSum = vector::ReductionOp::create(
                kb, loc, vector::CombiningKind::ADD, sum);
            dots.push_back(d.warpReduce(lanesSum, Reduction::Sum));
          }
          Value result = dots[0];
          if (numWeights == 2) {
            // silu(g) = g / (1 + exp(-g)), as torch computes it in float32.
            Value negated = arith::NegFOp::create(kb, loc, dots[0]);
            Value denominator =
                d.fadd(d.f32(1), math::ExpOp::create(kb, loc, negated));
            Value silu = arith::DivFOp::create(kb, loc, dots[0], denominator);
            result = d.fmul(silu, dots[1]);
          }
          d.ifThen(d.cmp(arith::CmpIPredicate::eq, d.laneId(), d.index(0)), [&] {
            d.storeF32(result, out, d.add(d.mul(m, outFeatures), n));
          });
        });
      });
}

/// Launches the matvec kernel for `weights` (all [N, K]) into `result`.
LogicalResult launchMatvec(GPULowering &l, Location loc, Value input,
                           ValueRange weightTensors, Value result) {
  auto weightType = cast<RankedTensorType>(weightTensors.front().getType());
  int64_t outFeatures = weightType.getDimSize(0);
  int64_t inFeatures = weightType.getDimSize(1);
  SmallVector<Value> args = {l.flatten(loc, input)};
  for (Value tensor : weightTensors) {
    FailureOr<Value> weight = l.weight(loc, tensor);
    if (failed(weight))
      return failure();
    args.push_back(*weight);
  }
  args.push_back(l.flatten(loc, result));
  args.push_back(l.index(loc, outFeatures));
  auto kernel = getMatvecKernel(l, inFeatures, weightTensors.size());
  Value blocks = l.index(loc, (outFeatures + kWarpsPerBlock - 1) / kWarpsPerBlock);
  l.launch(loc, kernel, {blocks, l.rowCount(loc, input), l.index(loc, 1)},
           kBlockThreads, args);
  return success();
}

} // namespace

LogicalResult lowerMatmul(llama::MatmulOp op, GPULowering &l) {
  Location loc = op.getLoc();
  Value input = l.bufferOf(op.getInput());
  Value result = l.allocate(loc, op.getResult(), input);
  if (failed(launchMatvec(l, loc, input, op.getWeight(), result)))
    return failure();
  l.setBuffer(op.getResult(), result);
  return success();
}

LogicalResult lowerMultiMatmul(llama::MultiMatmulOp op, GPULowering &l) {
  Location loc = op.getLoc();
  Value input = l.bufferOf(op.getInput());
  for (auto [weight, output] : llvm::zip(op.getWeights(), op.getResults())) {
    Value result = l.allocate(loc, output, input);
    if (failed(launchMatvec(l, loc, input, weight, result)))
      return failure();
    l.setBuffer(output, result);
  }
  return success();
}

LogicalResult lowerSwiGLU(llama::SwiGLUOp op, GPULowering &l) {
  Location loc = op.getLoc();
  Value input = l.bufferOf(op.getInput());
  Value result = l.allocate(loc, op.getResult(), input);
  if (failed(launchMatvec(l, loc, input, {op.getGate(), op.getUp()}, result)))
    return failure();
  l.setBuffer(op.getResult(), result);
  return success();
}

} // namespace llamac::gpu
