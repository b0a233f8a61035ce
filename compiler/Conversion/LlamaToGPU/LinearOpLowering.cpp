//===- LinearOpLowering.cpp - matmul, multi_matmul, swiglu kernels --------===//
//
// Batch-1 decode is matrix-vector and bound by reading the weights once, so
// the kernel streams them: each warp owns one output feature n of one
// activation row m and walks the weight row with aligned 16-byte loads
// (8 f16/bf16 or 4 f32), accumulating in float32 vector registers, then
// reduces across the warp with shuffles. Decode issues kDecodeLoadsInFlight
// such weight loads per lane before their first use (8 rounds of one
// weight, 4 of swiglu's two): one load in flight per lane leaves an H100
// short of the bytes in flight its bandwidth needs (Little's law: ~3 TB/s x
// ~0.7 us is ~16 KiB per multiprocessor, and o_proj and down_proj run only
// ~4 blocks per multiprocessor). The accumulation order per lane stays that
// of the plain loop. The weights are kernel arguments marked
// llama.invariant, and each warp loads its first unrolled round of them
// before anything else: lmc-gpu-dependent-launch then waits for the
// previous kernel only after those loads, so a kernel launched early
// streams weights while the small kernels before it finish.
//
// int4 weights (#llama.int4) are read through WeightRows: 8 codes a lane
// and load (16 or 32 with --int4-lanes), decoded to float32 where they are
// multiplied, a warp a whole row. Prefill decodes them to float16 in
// scratch for the tensor cores (dequantizeToHalf).
//
// In decode the kernels whose input is an RMSNorm's result compute it
// (`_rmsnorm`, `_addrmsnorm`): after its first weight rounds each block
// normalizes its row into shared memory with the norm kernel's code, so no
// one-block norm kernel runs, and is waited for, between two wide ones.
//
// Blocks hold 8 warps (8 features). Grid x walks the activation rows, grid y
// the feature blocks: consecutive blocks then read the same weight rows,
// which prefill (rows = B * T) finds in L2. Prefill runs on the tensor
// cores (TensorCoreGemm.cpp) where the dtype allows; otherwise (float32)
// this kernel gives each warp 4 rows, so a weight load serves 4 rows.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/AttentionKernels.h"
#include "compiler/Conversion/LlamaToGPU/LinearKernels.h"
#include "compiler/Conversion/LlamaToGPU/NormKernels.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::gpu {
namespace {

constexpr int64_t kWarpsPerBlock = kBlockThreads / kWarpSize;
/// Activation rows a prefill warp computes per weight row it streams.
constexpr int64_t kPrefillRowsPerWarp = 4;
/// 16-byte weight loads a decode lane issues before their first use.
constexpr int64_t kDecodeLoadsInFlight = 8;
/// The words of int4 codes (with their vectors' scales and minimums) a
/// decode lane of a kernel that normalizes its input loads before their
/// first use, at least one vector: at 8 words of 8-code vectors, ptxas
/// spilled 128-140 bytes under the 80 registers (7B shape); at 8 words of
/// 16-code ones, 248.
constexpr int64_t kInt4NormingWordsInFlight = 4;
/// Blocks per multiprocessor a kernel that normalizes its input is built
/// for: 80 registers a thread.
constexpr int64_t kNormingBlocksPerMultiprocessor = 3;
/// The row loads per thread (and as many of the residual) that 80 registers
/// hold beside the prefetched weight rounds without spilling: hidden 4096.
/// Wider rows (13B's 5120 spilled 4-8 bytes) keep their norm kernels.
constexpr int64_t kMaxFoldedNormLoads = 4;

/// A matrix-vector kernel: the linear shape, and how its warps walk it.
struct MatvecShape : LinearShape {
  int64_t rowsPerWarp = 1;
  int64_t unroll = 1;
  /// Warps that share one feature, each a contiguous slice of its weight
  /// row (decode's split-K: more, smaller blocks).
  int64_t warpsPerFeature = 1;
  /// The kernel computes its input row as the RMSNorm of its arguments
  /// (a folded decode norm, one row per block): add_rms_norm's with
  /// `normAddsResidual`.
  bool normsInput = false;
  bool normAddsResidual = false;

  int64_t featuresPerBlock() const { return kWarpsPerBlock / warpsPerFeature; }
  int64_t sliceLength() const { return inFeatures / warpsPerFeature; }
  SmallVector<int64_t> blocksPerGroup() const {
    return llvm::map_to_vector(outFeatures, [&](int64_t features) {
      return (features + featuresPerBlock() - 1) / featuresPerBlock();
    });
  }
  int64_t totalBlocks() const { return llvm::sum_of(blocksPerGroup()); }

  std::string name(Type compute, int64_t lanes) const {
    std::string name = std::string(gated ? "swiglu_" : "matvec_") +
                       typeName(compute) + "_k" + std::to_string(inFeatures) +
                       featuresSuffix() + "_v" + std::to_string(lanes);
    if (rowsPerWarp > 1)
      name += "_r" + std::to_string(rowsPerWarp);
    name += weightFormat.suffix();
    if (warpsPerFeature > 1)
      name += "_s" + std::to_string(warpsPerFeature);
    if (unroll > 1)
      name += "_u" + std::to_string(unroll);
    if (normsInput)
      name += normAddsResidual ? "_addrmsnorm" : "_rmsnorm";
    return name;
  }
};

/// Warps per feature of a decode kernel: doubled (up to a block's 8) while
/// the kernel has fewer than `matvec-min-blocks` blocks and each warp's
/// slice stays a whole number of vectors. A kernel of a few blocks per
/// multiprocessor ends in a partial wave that leaves most of them idle
/// (bench/NOTES.md v14); the 7B and 13B shapes' o_proj and down_proj rows
/// are long enough to share (a slice of 2048 or more). int4 kernels keep
/// whole rows: at a quarter of the bytes a row, splitting the 7B shape's
/// o_proj and down_proj cost 0.12 ms a token on an H100 (NOTES v18).
int64_t decodeWarpsPerFeature(GPULowering &l, MatvecShape shape) {
  if (shape.weightFormat.isInt4())
    return shape.warpsPerFeature;
  int64_t lanes = shape.weightFormat.lanes(l, shape.inFeatures);
  auto splits = [&](int64_t warps) { return shape.inFeatures % (warps * lanes) == 0; };
  while (shape.warpsPerFeature < kWarpsPerBlock &&
         shape.totalBlocks() < l.options().matvecMinBlocks &&
         splits(2 * shape.warpsPerFeature))
    shape.warpsPerFeature *= 2;
  return shape.warpsPerFeature;
}

/// Rounds a decode lane loads before using them: kDecodeLoadsInFlight
/// weight loads (int4: as many words, kInt4NormingWordsInFlight where the
/// kernel normalizes its input; at least one vector), halved while the
/// warp's slice of the row is shorter than that many rounds (the rest of a
/// slice takes fewer, then the plain loop).
int64_t decodeUnroll(GPULowering &l, const MatvecShape &shape) {
  int64_t streamed = shape.streamedWeights();
  int64_t lanes = shape.weightFormat.lanes(l, shape.inFeatures);
  int64_t round = kWarpSize * lanes;
  int64_t loads = kDecodeLoadsInFlight;
  // An int4 lane keeps as many words in flight, whatever its vectors' width.
  if (shape.weightFormat.isInt4())
    loads = (shape.normsInput ? kInt4NormingWordsInFlight : kDecodeLoadsInFlight) /
            (lanes / kInt4Lanes);
  int64_t unroll = std::max<int64_t>(1, loads / streamed);
  while (unroll > 1 && shape.sliceLength() < round * unroll)
    unroll /= 2;
  return unroll;
}

/// The weight vectors of `unroll` consecutive 32-lane rounds of the row
/// starting at `k`, as loaded: [round][weight].
using WeightRounds = SmallVector<SmallVector<WeightRows::Loaded>>;

WeightRounds loadWeightRounds(DeviceBuilder &d, ArrayRef<WeightRows> weights,
                              Value wRow, Value k, int64_t lanes, int64_t unroll) {
  int64_t round = kWarpSize * lanes;
  WeightRounds rounds;
  SmallVector<WeightRows::Start> starts = llvm::map_to_vector(
      weights, [&](const WeightRows &weight) { return weight.start(d, d.add(wRow, k)); });
  for (int64_t u = 0; u < unroll; ++u) {
    SmallVector<WeightRows::Loaded> &w = rounds.emplace_back();
    for (auto [weight, start] : llvm::zip(weights, starts))
      w.push_back(weight.load(d, start, u * round, lanes));
  }
  return rounds;
}

/// Accumulates the loaded weight rounds of `weights` at `k` into `acc`
/// (rowsPerWarp x weights vectors of `decodedLanes`, each vector of `lanes`
/// folded into one a piece at a time), in the order of the plain loop.
/// Where a vector is one piece, every round's activations are loaded
/// first; a round of wider int4 vectors loads its own just before its
/// FMAs, as all of them would hold 32 registers a round.
SmallVector<Value> accumulateLoadedRounds(DeviceBuilder &d, Value x,
                                          ArrayRef<Value> xRows,
                                          ArrayRef<WeightRows> weights,
                                          const WeightRounds &rounds, Value k,
                                          int64_t lanes, int64_t decodedLanes,
                                          ValueRange acc) {
  int64_t round = kWarpSize * lanes;
  // Round u's activations: [row][piece].
  auto loadActivations = [&](int64_t u) {
    Value ku = d.add(k, d.index(u * round));
    SmallVector<SmallVector<Value>> xs;
    for (Value xRow : xRows) {
      Value at = d.add(xRow, ku);
      SmallVector<Value> &pieces = xs.emplace_back();
      for (int64_t piece = 0; piece < lanes; piece += decodedLanes)
        pieces.push_back(d.loadVectorF32(
            x, piece ? d.add(at, d.index(piece)) : at, decodedLanes));
    }
    return xs;
  };
  SmallVector<SmallVector<SmallVector<Value>>> activations;
  if (lanes == decodedLanes)
    for (int64_t u = 0, e = rounds.size(); u < e; ++u)
      activations.push_back(loadActivations(u));
  SmallVector<Value> next(acc.begin(), acc.end());
  for (auto [u, loaded] : llvm::enumerate(rounds)) {
    SmallVector<SmallVector<Value>> weightVectors;
    for (auto [weight, vector] : llvm::zip(weights, loaded))
      weightVectors.push_back(weight.decode(d, vector, lanes));
    SmallVector<SmallVector<Value>> xs =
        activations.empty() ? loadActivations(u) : activations[u];
    for (auto [r, xPieces] : llvm::enumerate(xs))
      for (auto [i, wPieces] : llvm::enumerate(weightVectors)) {
        Value &sum = next[r * weightVectors.size() + i];
        for (auto [xv, w] : llvm::zip_equal(xPieces, wPieces))
          sum = vector::FMAOp::create(d.builder(), d.location(), xv, w, sum);
      }
  }
  return next;
}

/// Normalizes the block's input row `row` into the kernel's shared row (all
/// its threads take part) and returns that buffer. The blocks of feature
/// block 0 store add_rms_norm's sum.
Value normInputRow(DeviceBuilder &d, mlir::gpu::GPUFuncOp kernel,
                   const MatvecShape &shape, Value row) {
  unsigned next = 0;
  RowNorm norm = rowNormFromArguments(kernel, next, shape.inFeatures,
                                      shape.normAddsResidual);
  Value normed = kernel.getWorkgroupAttributions()[0];
  Value scratch = kernel.getWorkgroupAttributions()[1];
  Value storesSum = d.cmp(arith::CmpIPredicate::eq,
                          d.blockId(mlir::gpu::Dimension::y), d.index(0));
  rowNorm(d, norm, row, storesSum, scratch, /*stash=*/normed,
          [&](Value vector, Value column) {
    d.storeVectorF32(vector, normed, column);
  });
  // Every warp reads the whole row.
  d.barrier();
  return normed;
}

/// The kernel arguments that give the input rows: x, or those of the norm
/// that computes them.
SmallVector<Type> inputArgumentTypes(GPULowering &l, const MatvecShape &shape) {
  // Decode's rows are float32 throughout.
  if (shape.normsInput)
    return rowNormArgumentTypes(l, shape.normAddsResidual, l.builder().getF32Type());
  return {l.flatType(l.builder().getF32Type())};
}

/// The kernel's shared memory: for one that normalizes its input row, the
/// row and the norm's reduction scratch; for a split-K one, each warp's
/// dot products.
SmallVector<Type> workgroupTypes(GPULowering &l, const MatvecShape &shape) {
  Type f32 = l.builder().getF32Type();
  SmallVector<Type> types;
  if (shape.normsInput)
    types = {l.sharedType(f32, shape.inFeatures), rowNormScratchType(l)};
  if (shape.warpsPerFeature > 1)
    types.push_back(l.sharedType(
        f32, kWarpsPerBlock * shape.rowsPerWarp * shape.streamedWeights()));
  return types;
}

/// Where a warp works: its feature n, whether that exists, and which slice
/// of the weight row it takes and where that starts (0 without split-K).
struct WarpWork {
  Value n, inRange, slice, sliceStart;
};

WarpWork warpWorkOf(DeviceBuilder &d, const MatvecShape &shape,
                    const OutputGroup &group, Value block) {
  Value warp = d.warpId();
  Value featureInBlock = warp, slice = d.index(0), sliceStart = d.index(0);
  if (shape.warpsPerFeature > 1) {
    featureInBlock = d.div(warp, d.index(shape.warpsPerFeature));
    slice = arith::RemUIOp::create(d.builder(), d.location(), warp,
                                   d.index(shape.warpsPerFeature));
    sliceStart = d.mul(slice, d.index(shape.sliceLength()));
  }
  Value n = d.add(d.mul(d.sub(block, group.firstBlock), d.index(shape.featuresPerBlock())),
                  featureInBlock);
  return {n, d.cmp(arith::CmpIPredicate::ult, n, group.outFeatures), slice, sliceStart};
}

/// Split-K: lane 0 of each warp whose feature exists leaves its dot
/// products (rows x streamed weights) in `partials` (`leave`, inside the
/// warps' branch); after the block's barrier, outside it since the barrier
/// needs every warp, the feature's first warp sums them in slice order and
/// passes the totals to `store` (`sum`).
struct SliceSums {
  const MatvecShape &shape;
  Value partials;

  int64_t perWarp() const { return shape.rowsPerWarp * shape.streamedWeights(); }
  Value at(DeviceBuilder &d, Value warp, int64_t i) const {
    return d.add(d.mul(warp, d.index(perWarp())), d.index(i));
  }
  void leave(DeviceBuilder &d, ArrayRef<Value> dots) const {
    d.ifThen(d.cmp(arith::CmpIPredicate::eq, d.laneId(), d.index(0)), [&] {
      for (auto [i, dot] : llvm::enumerate(dots))
        memref::StoreOp::create(d.builder(), d.location(), dot, partials,
                                at(d, d.warpId(), i));
    });
  }
  void sum(DeviceBuilder &d, const WarpWork &work,
           llvm::function_ref<void(ArrayRef<Value>)> store) const {
    OpBuilder &kb = d.builder();
    Location loc = d.location();
    d.barrier();
    Value warp = d.warpId();
    Value firstSlice = d.cmp(arith::CmpIPredicate::eq, work.slice, d.index(0));
    d.ifThen(arith::AndIOp::create(kb, loc, work.inRange, firstSlice), [&] {
      SmallVector<Value> totals;
      for (int64_t i = 0; i < perWarp(); ++i) {
        Value total = memref::LoadOp::create(kb, loc, partials, at(d, warp, i));
        for (int64_t w = 1; w < shape.warpsPerFeature; ++w)
          total = d.fadd(total, memref::LoadOp::create(
                                    kb, loc, partials, at(d, d.add(warp, d.index(w)), i)));
        totals.push_back(total);
      }
      store(totals);
    });
  }
};

/// out[m, n] = epilogue(sum_k x[m, k] * w_i[n, k] for each weight i), each
/// warp computing rows [R * block.x, R * block.x + R) of feature n, so one
/// weight load serves R rows (R = rowsPerWarp), over its slice of k (all
/// of it, or 1/warpsPerFeature with split-K). Arguments: the input (see
/// inputArgumentTypes), the weights, the outputs, M. Gated, the epilogue is
/// silu(first) * second (swiglu), else the identity. A kernel that
/// normalizes its input row first stores it in shared memory, and its
/// blocks of feature block 0 store add_rms_norm's sum.
mlir::gpu::GPUFuncOp getMatvecKernel(GPULowering &l, const MatvecShape &shape) {
  OpBuilder &b = l.builder();
  Type f32 = b.getF32Type();
  int64_t lanes = shape.weightFormat.lanes(l, shape.inFeatures);
  int64_t numWeights = shape.numWeights();
  SmallVector<Type> args = inputArgumentTypes(l, shape);
  unsigned inputArgs = args.size();
  args.append(numWeights, l.flatType(shape.weightFormat.argumentElement(l)));
  args.append(shape.numOutputs(), l.flatType(f32));
  args.push_back(b.getIndexType());
  return l.getOrCreateKernel(
      shape.name(l.computeType(), lanes), args, workgroupTypes(l, shape),
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        OpBuilder &kb = d.builder();
        Location loc = d.location();
        int64_t inFeatures = shape.inFeatures;
        ValueRange weights = f.getArguments().slice(inputArgs, numWeights);
        ValueRange outs =
            f.getArguments().slice(inputArgs + numWeights, shape.numOutputs());
        Value rows = f.getArgument(f.getNumArguments() - 1);
        for (unsigned i = inputArgs; i < inputArgs + numWeights; ++i)
          f.setArgAttr(i, llama::kInvariantArgAttr, kb.getUnitAttr());
        if (shape.normsInput) {
          // The norm's loads, in flight beside the prefetched weights, would
          // take ptxas past 80 registers (86 at hidden 4096): two blocks per
          // multiprocessor instead of three.
          f->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                     kb.getDenseI32ArrayAttr({int32_t(kBlockThreads), 1, 1}));
          f->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                     kb.getI32IntegerAttr(kNormingBlocksPerMultiprocessor));
        }
        Value block = d.blockId(mlir::gpu::Dimension::y);
        OutputGroup group =
            selectOutputGroup(d, shape.outFeatures, shape.blocksPerGroup(),
                              shape.gated, weights, outs, block);
        WarpWork work = warpWorkOf(d, shape, group, block);
        SmallVector<WeightRows> weightRows =
            llvm::map_to_vector(group.weights, [&](Value weight) {
              return WeightRows(d, weight, group.outFeatures, inFeatures,
                                shape.weightFormat);
            });
        Value firstRow = d.mul(d.blockId(mlir::gpu::Dimension::x),
                               d.index(shape.rowsPerWarp));
        // Rows past the end read the last row instead (no branch in the
        // loop); their results are not stored.
        Value lastRow = d.sub(rows, d.index(1));
        SmallVector<Value> xRows;
        for (int64_t r = 0; r < shape.rowsPerWarp; ++r) {
          Value row = arith::MinUIOp::create(kb, loc, d.add(firstRow, d.index(r)),
                                             lastRow);
          xRows.push_back(d.mul(row, d.index(inFeatures)));
        }
        // The first unrolled round of weights is loaded before anything
        // else: weights are never written, so lmc-gpu-dependent-launch puts
        // the wait for the previous kernel after these loads, and a kernel
        // launched early streams weights while its predecessor finishes.
        // Warps past the last feature load the last row and discard it.
        Value wRow = d.mul(arith::SelectOp::create(
                               kb, loc, work.inRange, work.n,
                               d.sub(group.outFeatures, d.index(1))),
                           d.index(inFeatures));
        Value laneStart = d.add(work.sliceStart, d.mul(d.laneId(), d.index(lanes)));
        int64_t length = shape.sliceLength();
        int64_t round = kWarpSize * lanes;
        int64_t unrolledEnd = length / (round * shape.unroll) * (round * shape.unroll);
        WeightRounds prefetched;
        if (unrolledEnd > 0)
          prefetched = loadWeightRounds(d, weightRows, wRow, laneStart,
                                        lanes, shape.unroll);
        Value x = f.getArgument(0);
        if (shape.normsInput) {
          x = normInputRow(d, f, shape, firstRow);
          xRows.assign(1, d.index(0));
        }
        int64_t streamed = shape.streamedWeights();
        auto storeResults = [&](ArrayRef<Value> dots) {
          for (int64_t r = 0; r < shape.rowsPerWarp; ++r) {
            Value result = dots[r * streamed];
            if (shape.gated)
              result = siluTimes(d, dots[r * streamed], dots[r * streamed + 1]);
            Value row = d.add(firstRow, d.index(r));
            Value store = arith::AndIOp::create(
                kb, loc, d.cmp(arith::CmpIPredicate::eq, d.laneId(), d.index(0)),
                d.cmp(arith::CmpIPredicate::ult, row, rows));
            d.ifThen(store, [&] {
              d.storeF32(result, group.out, d.add(d.mul(row, group.outFeatures), work.n));
            });
          }
        };
        std::optional<SliceSums> slices;
        if (shape.warpsPerFeature > 1)
          slices.emplace(SliceSums{shape, f.getWorkgroupAttributions().back()});
        // Warp-uniform: every lane of a warp takes the same side, so the
        // shuffles inside see all 32 lanes.
        d.ifThen(work.inRange, [&] {
          int64_t decodedLanes = shape.weightFormat.decodedLanes(lanes);
          auto accType = VectorType::get({decodedLanes}, f32);
          Value zero = arith::ConstantOp::create(
              kb, loc, DenseElementsAttr::get(accType, kb.getF32FloatAttr(0)));
          SmallVector<Value> sums(shape.rowsPerWarp * streamed, zero);
          if (!prefetched.empty())
            sums = accumulateLoadedRounds(d, x, xRows, weightRows, prefetched,
                                          laneStart, lanes, decodedLanes, sums);
          // Offsets [begin, end) into the slice, `unroll` rounds at a time.
          auto accumulate = [&](int64_t unroll, int64_t begin, int64_t end) {
            if (begin >= end)
              return;
            ValueRange result = d.forLoop(
                d.add(laneStart, d.index(begin)), d.add(work.sliceStart, d.index(end)),
                d.index(round * unroll), sums,
                [&](Value k, ValueRange acc) {
                  return accumulateLoadedRounds(
                      d, x, xRows, weightRows,
                      loadWeightRounds(d, weightRows, wRow, k, lanes, unroll),
                      k, lanes, decodedLanes, acc);
                });
            sums.assign(result.begin(), result.end());
          };
          int64_t prefetchedEnd = prefetched.size() * round;
          accumulate(shape.unroll, prefetchedEnd, unrolledEnd);
          // The rounds left take halved unrolls, each at most once, before
          // the plain loop's partial round.
          int64_t begin = unrolledEnd;
          for (int64_t unroll = shape.unroll / 2; unroll > 1; unroll /= 2) {
            int64_t end = begin + (length - begin) / (round * unroll) * (round * unroll);
            accumulate(unroll, begin, end);
            begin = end;
          }
          accumulate(1, begin, length);
          SmallVector<Value> dots;
          for (Value sum : sums) {
            Value lanesSum = vector::ReductionOp::create(
                kb, loc, vector::CombiningKind::ADD, sum);
            dots.push_back(d.warpReduce(lanesSum, Reduction::Sum));
          }
          if (slices)
            slices->leave(d, dots);
          else
            storeResults(dots);
        });
        if (slices)
          slices->sum(d, work, storeResults);
      });
}

/// The shape of the linear op computing from `weightTensors` ([N_i, K]).
MatvecShape shapeOf(ValueRange weightTensors, bool gated) {
  MatvecShape shape;
  shape.gated = gated;
  shape.weightFormat = WeightFormat::of(weightTensors.front());
  for (Value tensor : weightTensors) {
    auto weightType = cast<RankedTensorType>(tensor.getType());
    shape.inFeatures = weightType.getDimSize(1);
    if (!gated || shape.outFeatures.empty())
      shape.outFeatures.push_back(weightType.getDimSize(0));
  }
  return shape;
}

/// Decode rows hold one token each ([B, 1, H]).
bool isDecode(Value activation) {
  auto type = cast<ShapedType>(activation.getType());
  return type.getRank() == 3 && type.getDimSize(1) == 1;
}

/// A linear op: its input, weights and whether it is swiglu.
struct LinearOp {
  Value input;
  ValueRange weights;
  bool gated;
};

std::optional<LinearOp> asLinearOp(Operation *op) {
  if (auto matmul = dyn_cast<llama::MatmulOp>(op))
    return LinearOp{matmul.getInput(), matmul->getOperands().drop_front(), false};
  if (auto multi = dyn_cast<llama::MultiMatmulOp>(op))
    return LinearOp{multi.getInput(), multi.getWeights(), false};
  if (auto swiglu = dyn_cast<llama::SwiGLUOp>(op))
    return LinearOp{swiglu.getInput(), swiglu->getOperands().drop_front(), true};
  return std::nullopt;
}

/// Whether `op` runs on the tensor cores if its rows come in the compute
/// dtype.
bool suitsTensorCores(GPULowering &l, const LinearOp &op) {
  return !isDecode(op.input) && tensorCoresApply(l, shapeOf(op.weights, op.gated));
}

/// `weights`, int4 weights of a linear op of `shape`, decoded to float16
/// for the tensor cores.
SmallVector<Value> decodedWeights(GPULowering &l, Location loc, const MatvecShape &shape,
                                  ArrayRef<Value> weights) {
  SmallVector<Value> decoded;
  for (auto [i, weight] : llvm::enumerate(weights))
    decoded.push_back(dequantizeToHalf(l, loc, weight,
                                       shape.outFeatures[shape.gated ? 0 : i],
                                       shape.inFeatures, shape.weightFormat));
  return decoded;
}

/// Allocates the results of `op` and launches the kernel computing them:
/// one result per weight, or (gated) silu(x w0^T) * (x w1^T) into the
/// single result.
LogicalResult lowerLinear(GPULowering &l, Operation *op, ValueRange resultTensors) {
  Location loc = op->getLoc();
  LinearOp linear = *asLinearOp(op);
  if (failed(WeightFormat::common(loc, linear.weights)))
    return failure();
  MatvecShape shape = shapeOf(linear.weights, linear.gated);
  SmallVector<Value> weights;
  for (Value tensor : linear.weights) {
    FailureOr<Value> weight = l.weight(loc, tensor);
    if (failed(weight))
      return failure();
    weights.push_back(*weight);
  }
  // A folded norm's rows come from its input, which has their shape.
  const RowNorm *norm = l.foldedNorm(linear.input);
  Value input = norm ? norm->input : l.bufferOf(linear.input);
  bool tensorCores =
      suitsTensorCores(l, linear) && elementType(input) == l.tensorCoreType();
  // One kernel writes all results, so they share one element type.
  Type outElement = l.builder().getF32Type();
  if (tensorCores && llvm::all_of(resultTensors, [&](Value result) {
        return activationType(l, result) == l.tensorCoreType();
      }))
    outElement = l.tensorCoreType();
  Value rows = l.rowCount(loc, input);
  Operation *attention = tensorCores && outElement == l.cacheType()
                             ? attentionRotatedByProjection(l, resultTensors)
                             : nullptr;
  if (attention) {
    // Only the rotated queries get a buffer; keys and values go to the cache.
    Value queries = l.allocate(loc, resultTensors[0], input, outElement);
    l.setBuffer(resultTensors[0], queries);
    l.setRotatedQueries(attention, queries);
    RotaryEpilogue rotary = rotaryEpilogueOf(l, loc, attention);
    if (shape.weightFormat.isInt4())
      weights = decodedWeights(l, loc, shape, weights);
    launchTensorCoreGemm(l, loc, shape, l.flatten(loc, input), weights,
                         {l.flatten(loc, queries), rotary.cache, rotary.cache}, rows,
                         &rotary);
    return success();
  }
  SmallVector<Value> results, outs;
  for (Value tensor : resultTensors) {
    results.push_back(l.allocate(loc, tensor, input, outElement));
    outs.push_back(l.flatten(loc, results.back()));
    l.setBuffer(tensor, results.back());
  }
  // Decode (one token per row) streams the weights once per row; prefill
  // multiplies many rows by each weight tile.
  if (tensorCores) {
    if (shape.weightFormat.isInt4())
      weights = decodedWeights(l, loc, shape, weights);
    launchTensorCoreGemm(l, loc, shape, l.flatten(loc, input), weights, outs, rows);
    return success();
  }
  bool decode = isDecode(input);
  shape.rowsPerWarp = decode ? 1 : kPrefillRowsPerWarp;
  shape.warpsPerFeature = decode ? decodeWarpsPerFeature(l, shape) : 1;
  shape.normsInput = norm != nullptr;
  shape.normAddsResidual = norm && norm->residual;
  shape.unroll = decode ? decodeUnroll(l, shape) : 1;
  SmallVector<Value> args =
      norm ? rowNormArguments(l, loc, *norm) : SmallVector<Value>{l.flatten(loc, input)};
  llvm::append_range(args, weights);
  llvm::append_range(args, outs);
  args.push_back(rows);
  l.launch(loc, getMatvecKernel(l, shape),
           {l.ceilDiv(loc, rows, shape.rowsPerWarp),
            l.index(loc, shape.totalBlocks()), l.index(loc, 1)},
           kBlockThreads, args);
  return success();
}

} // namespace

OutputGroup selectOutputGroup(DeviceBuilder &d, ArrayRef<int64_t> outFeatures,
                              ArrayRef<int64_t> blocksPerGroup, bool gated,
                              ValueRange weights, ValueRange outs, Value block) {
  auto groupAt = [&](int64_t g, int64_t firstBlock) {
    OutputGroup group;
    if (gated)
      group.weights.assign(weights.begin(), weights.end());
    else
      group.weights.push_back(weights[g]);
    group.out = outs[g];
    group.outFeatures = d.index(outFeatures[g]);
    group.firstBlock = d.index(firstBlock);
    group.index = d.index(g);
    return group;
  };
  SmallVector<int64_t> firstBlocks = {0};
  for (int64_t blocks : blocksPerGroup)
    firstBlocks.push_back(firstBlocks.back() + blocks);
  // Walks back from the last group, so the first whose end lies past
  // `block` wins.
  int64_t last = outFeatures.size() - 1;
  OutputGroup chosen = groupAt(last, firstBlocks[last]);
  for (int64_t g = last - 1; g >= 0; --g) {
    OutputGroup candidate = groupAt(g, firstBlocks[g]);
    Value inGroup = d.cmp(arith::CmpIPredicate::ult, block,
                          d.index(firstBlocks[g + 1]));
    auto select = [&](Value ifIn, Value otherwise) -> Value {
      return arith::SelectOp::create(d.builder(), d.location(), inGroup, ifIn,
                                     otherwise);
    };
    for (auto [mine, other] : llvm::zip(candidate.weights, chosen.weights))
      other = select(mine, other);
    chosen.out = select(candidate.out, chosen.out);
    chosen.outFeatures = select(candidate.outFeatures, chosen.outFeatures);
    chosen.firstBlock = select(candidate.firstBlock, chosen.firstBlock);
    chosen.index = select(candidate.index, chosen.index);
  }
  return chosen;
}

Value siluTimes(DeviceBuilder &d, Value gate, Value up) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value one = arith::ConstantOp::create(b, loc, b.getOneAttr(gate.getType()));
  Value negated = arith::NegFOp::create(b, loc, gate);
  Value denominator = d.fadd(one, math::ExpOp::create(b, loc, negated));
  return d.fmul(arith::DivFOp::create(b, loc, gate, denominator), up);
}

std::string LinearShape::featuresSuffix() const {
  std::string suffix = "_n";
  for (int64_t features : outFeatures)
    suffix += (suffix.back() == 'n' ? "" : "x") + std::to_string(features);
  return suffix;
}

bool linearOpsComputeNorm(GPULowering &l, Value normResult) {
  int64_t hidden = cast<ShapedType>(normResult.getType()).getShape().back();
  auto isDecodeInput = [](OpOperand &use) {
    std::optional<LinearOp> linear = asLinearOp(use.getOwner());
    return linear && linear->input == use.get() && isDecode(linear->input);
  };
  return l.options().foldDecodeNorms &&
         rowNormLoadsPerThread(normResult.getContext(), hidden) <= kMaxFoldedNormLoads &&
         !normResult.use_empty() && llvm::all_of(normResult.getUses(), isDecodeInput);
}

Type activationType(GPULowering &l, Value tensor) {
  auto readsFloat16 = [&](OpOperand &use) {
    std::optional<LinearOp> linear = asLinearOp(use.getOwner());
    if (linear)
      return linear->input == use.get() && suitsTensorCores(l, *linear);
    // A prefill linear op's contribution to the residual stream (o_proj,
    // down_proj), added to it in float32 by the norm kernel.
    if (auto norm = dyn_cast<llama::AddRMSNormOp>(use.getOwner()))
      return use.get() == norm.getResidual() && !isDecode(use.get());
    // The rows a kept position copies, in the dtype they are read in.
    if (auto kept = dyn_cast<llama::LastPositionsOp>(use.getOwner()))
      return activationType(l, kept.getResult()) == l.tensorCoreType();
    return rotatedBeforeFlashAttention(l, use);
  };
  if (!tensor.use_empty() && llvm::all_of(tensor.getUses(), readsFloat16))
    return l.tensorCoreType();
  return Float32Type::get(tensor.getContext());
}

LogicalResult lowerMatmul(llama::MatmulOp op, GPULowering &l) {
  return lowerLinear(l, op, op.getResult());
}

LogicalResult lowerMultiMatmul(llama::MultiMatmulOp op, GPULowering &l) {
  return lowerLinear(l, op, op.getResults());
}

LogicalResult lowerSwiGLU(llama::SwiGLUOp op, GPULowering &l) {
  return lowerLinear(l, op, op.getResult());
}

} // namespace llamac::gpu
