//===- LinearOpLowering.cpp - matmul, multi_matmul, swiglu kernels --------===//
//
// Batch-1 decode is matrix-vector and bound by reading the weights once, so
// the kernel streams them: each warp owns one output feature n of one
// activation row m and walks the weight row with aligned 16-byte loads
// (8 f16/bf16 or 4 f32), accumulating in float32 vector registers, then
// reduces across the warp with shuffles. Blocks hold 8 warps (8 features);
// the grid's y dimension walks the activation rows. Prefill (rows = B * T)
// gives each warp 4 rows, so a weight load serves 4 rows: a SIMT stopgap, a
// tiled tensor-core GEMM for prefill is future work.
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
/// Activation rows a prefill warp computes per weight row it streams.
constexpr int64_t kPrefillRowsPerWarp = 4;

/// out[m, n] = epilogue(sum_k x[m, k] * w_i[n, k] for each weight i), each
/// warp computing rows [R * block.y, R * block.y + R) of feature n, so one
/// weight load serves R rows (R = `rowsPerWarp`). Arguments: x, the weights,
/// out, N, M. With two weights the epilogue is silu(first) * second
/// (swiglu), with one the identity.
mlir::gpu::GPUFuncOp getMatvecKernel(GPULowering &l, int64_t inFeatures,
                                     int64_t numWeights, int64_t rowsPerWarp) {
  OpBuilder &b = l.builder();
  Type f32 = b.getF32Type();
  int64_t lanes = vectorLanes(l.computeType(), inFeatures);
  SmallVector<Type> args = {l.flatType(f32)};
  args.append(numWeights, l.flatType(l.computeType()));
  args.append({l.flatType(f32), b.getIndexType(), b.getIndexType()});
  std::string name = std::string(numWeights == 2 ? "swiglu_" : "matvec_") +
                     typeName(l.computeType()) + "_k" +
                     std::to_string(inFeatures) + "_v" + std::to_string(lanes) +
                     (rowsPerWarp > 1 ? "_r" + std::to_string(rowsPerWarp) : "");
  return l.getOrCreateKernel(
      name, args, {}, [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        OpBuilder &kb = d.builder();
        Location loc = d.location();
        Value x = f.getArgument(0);
        Value out = f.getArgument(1 + numWeights);
        Value outFeatures = f.getArgument(2 + numWeights);
        Value rows = f.getArgument(3 + numWeights);
        Value n = d.add(d.mul(d.blockId(mlir::gpu::Dimension::x),
                              d.index(kWarpsPerBlock)),
                        d.warpId());
        Value firstRow =
            d.mul(d.blockId(mlir::gpu::Dimension::y), d.index(rowsPerWarp));
        // Rows past the end read the last row instead (no branch in the
        // loop); their results are not stored.
        Value lastRow = d.sub(rows, d.index(1));
        SmallVector<Value> xRows;
        for (int64_t r = 0; r < rowsPerWarp; ++r) {
          Value row = arith::MinUIOp::create(kb, loc, d.add(firstRow, d.index(r)),
                                             lastRow);
          xRows.push_back(d.mul(row, d.index(inFeatures)));
        }
        // Warp-uniform: every lane of a warp takes the same side, so the
        // shuffles inside see all 32 lanes.
        d.ifThen(d.cmp(arith::CmpIPredicate::ult, n, outFeatures), [&] {
          auto accType = VectorType::get({lanes}, f32);
          Value zero = arith::ConstantOp::create(
              kb, loc, DenseElementsAttr::get(accType, kb.getF32FloatAttr(0)));
          SmallVector<Value> init(rowsPerWarp * numWeights, zero);
          Value wRow = d.mul(n, d.index(inFeatures));
          ValueRange sums = d.forLoop(
              d.mul(d.laneId(), d.index(lanes)), d.index(inFeatures),
              d.index(kWarpSize * lanes), init,
              [&](Value k, ValueRange acc) -> SmallVector<Value> {
                SmallVector<Value> weights;
                for (int64_t i = 0; i < numWeights; ++i)
                  weights.push_back(d.loadVectorF32(f.getArgument(1 + i),
                                                    d.add(wRow, k), lanes));
                SmallVector<Value> next;
                for (int64_t r = 0; r < rowsPerWarp; ++r) {
                  Value xv = d.loadVectorF32(x, d.add(xRows[r], k), lanes);
                  for (int64_t i = 0; i < numWeights; ++i)
                    next.push_back(vector::FMAOp::create(
                        kb, loc, xv, weights[i], acc[r * numWeights + i]));
                }
                return next;
              });
          for (int64_t r = 0; r < rowsPerWarp; ++r) {
            SmallVector<Value> dots;
            for (int64_t i = 0; i < numWeights; ++i) {
              Value lanesSum = vector::ReductionOp::create(
                  kb, loc, vector::CombiningKind::ADD, sums[r * numWeights + i]);
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
            Value row = d.add(firstRow, d.index(r));
            Value store = arith::AndIOp::create(
                kb, loc, d.cmp(arith::CmpIPredicate::eq, d.laneId(), d.index(0)),
                d.cmp(arith::CmpIPredicate::ult, row, rows));
            d.ifThen(store, [&] {
              d.storeF32(result, out, d.add(d.mul(row, outFeatures), n));
            });
          }
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
  Value rows = l.rowCount(loc, input);
  args.push_back(l.flatten(loc, result));
  args.push_back(l.index(loc, outFeatures));
  args.push_back(rows);
  // Decode (one token per row) streams the weights once per row; prefill
  // shares each weight load among kPrefillRowsPerWarp rows.
  auto inputType = cast<MemRefType>(input.getType());
  bool decode = inputType.getRank() == 3 && inputType.getDimSize(1) == 1;
  int64_t rowsPerWarp = decode ? 1 : kPrefillRowsPerWarp;
  auto kernel = getMatvecKernel(l, inFeatures, weightTensors.size(), rowsPerWarp);
  Value blocks = l.index(loc, (outFeatures + kWarpsPerBlock - 1) / kWarpsPerBlock);
  l.launch(loc, kernel, {blocks, l.ceilDiv(loc, rows, rowsPerWarp), l.index(loc, 1)},
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
