//===- TensorCoreGemm.cpp - prefill's linear ops on the tensor cores ------===//
//
// Prefill multiplies all B * T rows by each weight, so it is bound by
// arithmetic, not by reading the weights: 512 rows of Llama-2-7B are 6.8
// TFLOP, which float32 FMAs on the CUDA cores need ~100 ms for. This kernel
// runs them as mma.sync.m16n8k16 (f16 or bf16 operands, float32
// accumulators), which Ampere and Hopper both have.
//
// A block computes a tile of the output, 128 x 128 with mma.sync by default
// (the pass option's; `llamac compile` picks 128x256/wgmma for f16 on
// sm_90a, defaultGemmTile) (gated: 128 x
// 64 of gate and of up, so silu(gate) * up is applied before the single
// store), with 4 warps in 2 x 2; a warp holds 64 x 64 of the tile (gated:
// 64 x 32 of each) as 4 x 8 fragments, 128 accumulators a thread (8 warps
// per multiprocessor, up to 255 registers). `gemm-tile` picks 128x128 with
// 8 warps (warps of 64 x 32, 16 warps per multiprocessor), 64x128, 64x256
// or 128x256 instead: smaller tiles fill more of the multiprocessors when
// rows are few, warps of 64 x 64 read a third fewer shared-memory bytes per
// mma, larger tiles fewer L2 bytes per multiply-add. On an H100, 512 rows
// of the Llama-2-7B shape prefilled at 21,000 tok/s with 128x128/4, 19,200
// with 64x128, 18,100 with 128x128, 17,350 with 128x256 and 16,600 with
// 64x256 (bench/RESULTS.md, v8). No tile changes the order of any sum, so
// every tile computes the same bits.
//
// K is walked in 32-wide slices through four stages of shared memory
// (dynamic shared memory: 48 to 96 KiB a block, within what the blocks of
// an A100's or an H100's multiprocessor share): cp.async copies a slice
// stages - 1 ahead of the one the warps multiply, straight from global to
// shared memory (no registers held, no stores issued), and one barrier per
// slice both publishes the next slice and frees the stage the next copy
// overwrites.
//
// The activation rows arrive in float16: their producer (a norm, prefill
// attention, swiglu) rounds them when every user is a tensor-core GEMM
// (activationType), which halves the bytes the GEMM reads; a row a producer
// keeps in float32 takes the CUDA-core kernel instead. bf16 weights are
// multiplied as float16 too: each B register is widened and rounded to f16
// after ldmatrix, exact for every weight in f16's normal range (below 2^-14
// it rounds to steps of 2^-24; the runtime refuses a bf16 weight beyond
// f16's range). bf16 rows would round every activation to 8 bits:
// stories260K's logits moved 0.06 from the CPU's on the same bf16 weights,
// 0.02 with f16 rows. The conversion's 3 instructions a register cost bf16
// prefill 18 % against f16 on an H100 (bench/NOTES.md, v9).
//
// Fragments are read with ldmatrix.x4: each lane names one 16-byte row of
// one of four 8 x 8 matrices, and lane 4 * g + t receives the 32-bit word t
// of row g of each. A staged row is 32 elements, four 16-byte chunks; chunk
// c of row r lies at position c ^ ((r / 2) % 4), so the 8 rows one ldmatrix
// phase reads, and the 8 chunks a quarter warp copies, fall in 32 distinct
// banks without padding.
//
// With the mma.m16n8k16 fragments of TensorCoreOps.h (B's "col" layout is
// a weight's rows as they lie in memory), the ldmatrix matrices of an A
// fragment are its (rows, k) quarters (0-7, 0-7), (8-15, 0-7), (0-7, 8-15),
// (8-15, 8-15), and those of two B fragments the weight rows (0-7 | 8-15) x
// (k 0-7 | 8-15) of each.
//
// The wgmma tiles (`gemm-tile` 128x128/wgmma, 128x256/wgmma; f16, sm_90a)
// keep the copies, stages and epilogue and change the multiply: each
// warpgroup's 64 rows times all the tile's weight rows is one wgmma per 16
// k (m64n128k16 or m64n256k16), the tensor cores reading both operands from
// shared memory, so no ldmatrix and no B registers; a thread's accumulators
// are the mma.sync fragments of its warp's 16 rows side by side, so the
// store is the same (gated: gate's features, then up's, in one wgmma). A
// slice is 64 wide: rows of 128 bytes, as wgmma's 128-byte swizzle wants,
// chunk c of row r at c ^ (r % 8), in 1 KiB atoms of 8 rows. 128x128/wgmma
// waits for each slice's wgmmas before the barrier (two blocks an SM: one
// multiplies while the other waits); 128x256/wgmma, one block an SM with
// four stages, leaves a slice's wgmmas running across the barrier and
// copies two slices ahead instead of three (see build). mma.sync with
// ldmatrix ran the 7B prefill's GEMMs at ~340 TFLOP/s on an H100, a third
// of the dense rate (bench/NOTES.md, v9); wgmma spends no warp's issue slots
// or registers on moving operands, and 128x256/wgmma's swiglu GEMM ran at
// ~600 TFLOP/s on an H200 (v12 outcome).
//
// With fold-prefill-rope (off by default: the epilogue cost the GEMM more
// than the launch it saves, bench/NOTES.md v12), a q/k/v projection whose
// results only a prefill attention on the tensor cores reads does that
// attention's rope_qkv work in its epilogue
// (RotaryEpilogue, storeRotated): the tile's f16 results go through the
// free stages, each thread then takes pairs (i, i + d/2) of a head (a tile's
// features are whole heads: head_dim divides them), rotates the queries'
// and keys' with the cosines and sines rope_angles computed for every
// token, and stores queries in place, keys and values at their slots of the
// cache: the bits rope_qkv stored, without its launch and its reading of
// q, k and v back.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/AttentionKernels.h"
#include "compiler/Conversion/LlamaToGPU/LinearKernels.h"
#include "compiler/Conversion/LlamaToGPU/TensorCoreOps.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::gpu {
namespace {

/// K elements per staged slice: mma.sync's rows are 64 bytes; wgmma's are
/// 128, its 128-byte swizzle's.
constexpr int64_t kSliceK = 32;
constexpr int64_t kWgmmaSliceK = 64;
/// The block's warps as 2 rows x (warps / 2) columns of its tile (wgmma:
/// one column, each warp 16 rows of its warpgroup's 64).
constexpr int64_t kWarpRows = 2;
/// Stages of K slices a block holds at most.
constexpr int64_t kMaxStages = 4;
/// The shared memory the blocks of one multiprocessor divide among them:
/// within an A100's 164 KiB (and an H100's 228 KiB) with the 1 KiB a block
/// the driver keeps; wgmma runs on Hopper only.
constexpr int64_t kSharedBytesPerMultiprocessor = 160 * 1024;
constexpr int64_t kHopperSharedBytesPerMultiprocessor = 224 * 1024;
/// Accumulators a thread holds with 16 warps per multiprocessor (128
/// registers a thread); more take 8 warps and up to 255 registers.
constexpr int64_t kAccumulatorsFor16Warps = 64;

/// How a block of the kernel splits its tile (GemmTile): the supported
/// tiles give every warp whole m16n8 fragments, and gated, an even number
/// of them per weight (ldmatrix.x4 loads two).
struct GemmLayout {
  GemmLayout(GemmTile tile, const LinearShape &shape)
      : rows(tile.rows), features(tile.features), warps(tile.warps),
        featuresPerWeight(tile.features / shape.streamedWeights()), wgmma(tile.wgmma) {}

  int64_t threads() const { return warps * kWarpSize; }
  int64_t sliceK() const { return wgmma ? kWgmmaSliceK : kSliceK; }
  int64_t chunksPerRow() const { return sliceK() / kChunk; }
  int64_t warpRows() const { return wgmma ? warps : kWarpRows; }
  int64_t warpColumns() const { return warps / warpRows(); }
  /// Rows the block copies per pass, one 16-byte chunk per thread.
  int64_t rowsPerPass() const { return threads() / chunksPerRow(); }
  int64_t rowsPerWarp() const { return rows / warpRows(); }
  int64_t rowFragments() const { return rowsPerWarp() / kMmaM; }
  int64_t featuresPerWarp() const { return featuresPerWeight / warpColumns(); }
  int64_t featureFragments() const { return featuresPerWarp() / kMmaN; }
  /// A stage holds the slice's activation rows, then its weight rows.
  int64_t operandElements() const { return rows * sliceK(); }
  int64_t stageElements() const { return (rows + features) * sliceK(); }
  /// As many stages of 16-bit elements as the block's share of the
  /// multiprocessor's shared memory holds.
  int64_t stages() const {
    int64_t shared =
        wgmma ? kHopperSharedBytesPerMultiprocessor : kSharedBytesPerMultiprocessor;
    return std::min(kMaxStages,
                    shared / blocksPerMultiprocessor() / (2 * stageElements()));
  }
  int64_t sharedElements() const { return stages() * stageElements(); }
  /// wgmma groups a warpgroup leaves running while its block waits for the
  /// next slice: one where four stages leave a slice to spare for it (the
  /// 128x256 tile, one block a multiprocessor, whose barriers no other
  /// block's multiplies hide).
  int64_t wgmmaGroupsInFlight() const { return wgmma && stages() >= 4 ? 1 : 0; }
  /// Slices the copies run ahead of the multiply.
  int64_t slicesAhead() const { return stages() - 1 - wgmmaGroupsInFlight(); }
  int64_t accumulators() const { return rows * features / threads(); }
  int64_t blocksPerMultiprocessor() const {
    int64_t residentWarps = accumulators() <= kAccumulatorsFor16Warps ? 16 : 8;
    return residentWarps / warps;
  }
  /// "_t128x256", and "w4" for a tile of 4 warps, as `gemm-tile` names
  /// tiles ("/4"), "wg" for wgmma.
  std::string suffix() const {
    std::string kind = wgmma                             ? "wg"
                       : warps == kGemmTileUnnamedWarps ? ""
                                                         : "w" + std::to_string(warps);
    return "_t" + std::to_string(rows) + "x" + std::to_string(features) + kind;
  }

  int64_t rows, features, warps, featuresPerWeight;
  bool wgmma;
};

SmallVector<int64_t> blocksPerGroup(const LinearShape &shape, const GemmLayout &layout) {
  return llvm::map_to_vector(shape.outFeatures, [&](int64_t n) {
    return (n + layout.featuresPerWeight - 1) / layout.featuresPerWeight;
  });
}

std::string gemmName(GPULowering &l, const LinearShape &shape, const GemmLayout &layout,
                     Type outElement, const RotaryEpilogue *rotary) {
  return std::string(shape.gated ? "swiglu_gemm_" : "gemm_") + typeName(l.computeType()) +
         "_k" + std::to_string(shape.inFeatures) + shape.featuresSuffix() +
         layout.suffix() + (shape.weightFormat.isInt4() ? "_dequantized" : "") +
         narrowedSuffix("out", outElement) +
         (rotary ? "_rope_" + rotary->shape.suffix(l) : "");
}

/// Builds the kernel's body; see the file comment for the tiling.
class GemmKernelBuilder {
public:
  GemmKernelBuilder(DeviceBuilder &d, const LinearShape &shape,
                    const GemmLayout &layout, const RotaryEpilogue *rotary,
                    mlir::gpu::GPUFuncOp f, Value rowStages, Value weightStages)
      : d(d), b(d.builder()), loc(d.location()), shape(shape), layout(layout),
        rotary(rotary), f16(b.getF16Type()),
        featureFragments(layout.featureFragments()), rowStages(rowStages),
        weightStages(weightStages) {
    bindArguments(f);
  }

  void build();

private:
  void bindArguments(mlir::gpu::GPUFuncOp f);
  /// Starts the copies of slice `slice`'s weight rows (resp. activation
  /// rows) into stage `stageIndex`; rows past the end copy the last one (no
  /// branch; their results are not stored), K past the end is zero-filled.
  SmallVector<Value> copyWeights(Value slice, Value stageIndex);
  SmallVector<Value> copyRows(Value slice, Value stageIndex);
  /// Copies the 16-byte chunk of `buffer` ([*, K]) at row `row` and the
  /// thread's column of the slice into the thread's chunk of row
  /// `stagedRow` of the operand at `operandBase` of `stages`.
  Value copyChunk(Value stages, Value buffer, Value row, Value slice,
                  Value operandBase, Value stagedRow);
  /// Position in shared memory of chunk `chunkIndex` of staged row `row`.
  Value stagedChunk(Value operandBase, Value row, Value chunkIndex);
  /// ldmatrix.x4 of `stages` at the lane's row of `row` and chunk
  /// `chunkIndex`.
  SmallVector<Value> loadStaged(Value stages, Value operandBase, Value row,
                                Value chunkIndex) {
    return loadMatrices(d, stages, stagedChunk(operandBase, row, chunkIndex),
                        elementType(stages));
  }
  /// Two B fragments of the weight rows at `row`, as float16 pairs.
  SmallVector<Value> loadWeights(Value operandBase, Value row, Value chunkIndex);
  SmallVector<Value> multiplySlice(Value stageIndex, ValueRange acc);
  SmallVector<Value> multiplySliceByWarps(Value stageIndex, ValueRange acc);
  SmallVector<Value> multiplySliceByWarpgroups(Value stageIndex, ValueRange acc);
  /// Hands each of the thread's result pairs, with its row and feature (of
  /// its weight) in the tile, to `store`; gated, silu(gate) * up.
  void forEachResultPair(ValueRange acc,
                         function_ref<void(Value pair, Value row, Value feature)> store);
  /// The output row and feature of the tile's (tileRow, tileFeature), and
  /// whether the output has them.
  std::tuple<Value, Value, Value> outputPosition(Value tileRow, Value tileFeature);
  void storeResults(ValueRange acc);
  /// rope_qkv's work on the tile (RotaryEpilogue): the results, rounded to
  /// the cache's dtype as storeResults would, go through shared memory so
  /// that each thread holds the pairs (i, i + d/2) of a head; the queries'
  /// and keys' are rotated at their token's position, the queries stored
  /// where storeResults would store them, keys and values in the cache.
  void storeRotated(ValueRange acc);
  /// Index of accumulator `i` of fragment (weight, row, feature).
  int64_t accIndex(int64_t weight, int64_t row, int64_t feature, int64_t i) const {
    return ((weight * layout.rowFragments() + row) * featureFragments + feature) * 4 + i;
  }

  DeviceBuilder &d;
  OpBuilder &b;
  Location loc;
  const LinearShape &shape;
  const GemmLayout &layout;
  const RotaryEpilogue *rotary;
  Type f16;
  int64_t featureFragments;
  /// The stages, in dynamic shared memory, as the activation rows' float16
  /// and as the weights' dtype.
  Value rowStages, weightStages;
  Value x, rows;
  /// The rotary epilogue's arguments.
  Value angles, start, tokens, layerBase;
  OutputGroup group;
  /// The tile's first row and first feature (of each weight).
  Value firstRow, firstFeature;
  /// The lane's fragment coordinates g and t, its warp's place in the tile.
  Value laneGroup, laneInGroup, warpRow, warpColumn;
  /// The thread's copy coordinates: a row of each pass, a chunk of it.
  Value passRow, chunk;
};

void GemmKernelBuilder::bindArguments(mlir::gpu::GPUFuncOp f) {
  x = f.getArgument(0);
  int64_t numWeights = shape.numWeights();
  ValueRange weights = f.getArguments().slice(1, numWeights);
  ValueRange outs = f.getArguments().slice(1 + numWeights, shape.numOutputs());
  rows = f.getArgument(f.getFunctionType().getNumInputs() - 1);
  if (rotary) {
    unsigned next = 1 + numWeights + shape.numOutputs();
    angles = f.getArgument(next);
    start = f.getArgument(next + 1);
    tokens = f.getArgument(next + 2);
    layerBase = f.getArgument(next + 3);
  }
  // Decoded int4 weights are scratch the kernel before wrote.
  if (!shape.weightFormat.isInt4())
    for (int64_t i = 1; i <= numWeights; ++i)
      f.setArgAttr(i, llama::kInvariantArgAttr, b.getUnitAttr());
  group = selectOutputGroup(d, shape.outFeatures, blocksPerGroup(shape, layout),
                            shape.gated, weights, outs,
                            d.blockId(mlir::gpu::Dimension::y));
  firstRow = d.mul(d.blockId(mlir::gpu::Dimension::x), d.index(layout.rows));
  firstFeature = d.mul(d.sub(d.blockId(mlir::gpu::Dimension::y), group.firstBlock),
                       d.index(layout.featuresPerWeight));
  Value lane = d.laneId();
  laneGroup = d.div(lane, d.index(4));
  laneInGroup = arith::RemUIOp::create(b, loc, lane, d.index(4));
  Value warp = d.warpId();
  warpRow = d.div(warp, d.index(layout.warpColumns()));
  warpColumn = arith::RemUIOp::create(b, loc, warp, d.index(layout.warpColumns()));
  Value thread = d.threadId();
  passRow = d.div(thread, d.index(layout.chunksPerRow()));
  chunk = arith::RemUIOp::create(b, loc, thread, d.index(layout.chunksPerRow()));
}

Value GemmKernelBuilder::stagedChunk(Value operandBase, Value row, Value chunkIndex) {
  // Four chunks a row: two rows share a 128-byte line of banks. Eight: the
  // line is the row, and wgmma's 128-byte swizzle permutes by row % 8.
  int64_t chunks = layout.chunksPerRow();
  Value line = chunks == 4 ? d.div(row, d.index(2)) : row;
  Value position = arith::XOrIOp::create(
      b, loc, chunkIndex, arith::RemUIOp::create(b, loc, line, d.index(chunks)));
  return d.add(operandBase, d.add(d.mul(row, d.index(layout.sliceK())),
                                  d.mul(position, d.index(kChunk))));
}

Value GemmKernelBuilder::copyChunk(Value stages, Value buffer, Value row, Value slice,
                                   Value operandBase, Value stagedRow) {
  int64_t inFeatures = shape.inFeatures;
  Value k = d.add(d.mul(slice, d.index(layout.sliceK())), d.mul(chunk, d.index(kChunk)));
  // A partial last slice copies no bytes for its chunks past K: cp.async
  // zero-fills them, and the source address stays inside the row.
  Value inK;
  if (inFeatures % layout.sliceK() != 0) {
    inK = d.cmp(arith::CmpIPredicate::ult, k, d.index(inFeatures));
    k = arith::MinUIOp::create(b, loc, k, d.index(inFeatures - kChunk));
  }
  return copyChunkAsync(d, stages, stagedChunk(operandBase, stagedRow, chunk), buffer,
                        d.add(d.mul(row, d.index(inFeatures)), k), inK);
}

/// The staged weight rows are each weight's features of the tile in turn
/// (gated: gate's, then up's), rowsPerPass rows per pass.
SmallVector<Value> GemmKernelBuilder::copyWeights(Value slice, Value stageIndex) {
  Value base = d.add(d.mul(stageIndex, d.index(layout.stageElements())),
                     d.index(layout.operandElements()));
  Value lastFeature = d.sub(group.outFeatures, d.index(1));
  SmallVector<Value> copies;
  for (int64_t first = 0; first < layout.features; first += layout.rowsPerPass()) {
    Value weight = group.weights[first / layout.featuresPerWeight];
    Value feature = d.add(firstFeature,
                          d.add(passRow, d.index(first % layout.featuresPerWeight)));
    feature = arith::MinUIOp::create(b, loc, feature, lastFeature);
    copies.push_back(
        copyChunk(weightStages, weight, feature, slice, base,
                  d.add(passRow, d.index(first))));
  }
  return copies;
}

SmallVector<Value> GemmKernelBuilder::copyRows(Value slice, Value stageIndex) {
  Value base = d.mul(stageIndex, d.index(layout.stageElements()));
  Value lastRow = d.sub(rows, d.index(1));
  SmallVector<Value> copies;
  for (int64_t first = 0; first < layout.rows; first += layout.rowsPerPass()) {
    Value stagedRow = d.add(passRow, d.index(first));
    Value row = arith::MinUIOp::create(b, loc, d.add(firstRow, stagedRow), lastRow);
    copies.push_back(copyChunk(rowStages, x, row, slice, base, stagedRow));
  }
  return copies;
}

SmallVector<Value> GemmKernelBuilder::loadWeights(Value operandBase, Value row,
                                                  Value chunkIndex) {
  SmallVector<Value> pairs = loadStaged(weightStages, operandBase, row, chunkIndex);
  if (elementType(weightStages) == f16)
    return pairs;
  auto f32Pair = VectorType::get({2}, b.getF32Type());
  auto f16Pair = VectorType::get({2}, f16);
  for (Value &pair : pairs)
    pair = arith::TruncFOp::create(b, loc, f16Pair,
                                   arith::ExtFOp::create(b, loc, f32Pair, pair));
  return pairs;
}

SmallVector<Value> GemmKernelBuilder::multiplySlice(Value stageIndex, ValueRange acc) {
  return layout.wgmma ? multiplySliceByWarpgroups(stageIndex, acc)
                      : multiplySliceByWarps(stageIndex, acc);
}

/// The warpgroup's 64 rows of the stage times all its weight rows, a
/// wgmma per 16 k: the descriptors step 32 bytes into the swizzled rows.
SmallVector<Value> GemmKernelBuilder::multiplySliceByWarpgroups(Value stageIndex,
                                                                ValueRange acc) {
  int64_t elementBytes = 2;
  Value stageBase = d.mul(stageIndex, d.index(layout.stageElements()));
  Value warpgroup = d.div(d.warpId(), d.index(kWgmmaM / kWgmmaRowsPerWarp));
  Value rowsBase = d.add(stageBase, d.mul(warpgroup, d.index(kWgmmaM * layout.sliceK())));
  Value weightsBase = d.add(stageBase, d.index(layout.operandElements()));
  Value start = sharedAddress(d, rowStages);
  auto addressOf = [&](Value element, int64_t step) {
    Value bytes = d.mul(d.add(element, d.index(step * kMmaK)), d.index(elementBytes));
    return d.add(start, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), bytes));
  };
  SmallVector<Value> next(acc.begin(), acc.end());
  fenceWarpgroupOperands(d);
  for (int64_t step = 0; step < layout.sliceK() / kMmaK; ++step)
    next = warpgroupMma(d, swizzledMatrixDescriptor(d, addressOf(rowsBase, step)),
                        swizzledMatrixDescriptor(d, addressOf(weightsBase, step)), next);
  waitForWarpgroupMma(d, layout.wgmmaGroupsInFlight());
  return next;
}

SmallVector<Value> GemmKernelBuilder::multiplySliceByWarps(Value stageIndex,
                                                           ValueRange acc) {
  SmallVector<Value> next(acc.begin(), acc.end());
  Value rowBase = d.mul(stageIndex, d.index(layout.stageElements()));
  Value featureBase = d.add(rowBase, d.index(layout.operandElements()));
  MatrixLane aLane = aFragmentLane(d), bLane = bFragmentPairLane(d);
  Value aRow = d.add(d.mul(warpRow, d.index(layout.rowsPerWarp())), aLane.row);
  Value bRow = d.add(d.mul(warpColumn, d.index(layout.featuresPerWarp())), bLane.row);
  for (int64_t step = 0; step < kSliceK / kMmaK; ++step) {
    Value firstChunk = d.index(step * kMmaK / kChunk);
    Value aChunk = d.add(firstChunk, aLane.chunk);
    Value bChunk = d.add(firstChunk, bLane.chunk);
    SmallVector<SmallVector<Value>> a;
    for (int64_t r = 0; r < layout.rowFragments(); ++r)
      a.push_back(loadStaged(rowStages, rowBase, d.add(aRow, d.index(r * kMmaM)), aChunk));
    for (int64_t w = 0; w < shape.streamedWeights(); ++w)
      for (int64_t f = 0; f < featureFragments; f += 2) {
        Value row = d.add(bRow, d.index(w * layout.featuresPerWeight + f * kMmaN));
        SmallVector<Value> pair = loadWeights(featureBase, row, bChunk);
        for (int64_t half = 0; half < 2; ++half)
          for (int64_t r = 0; r < layout.rowFragments(); ++r) {
            int64_t first = accIndex(w, r, f + half, 0);
            SmallVector<Value> result =
                mmaSync(d, f16, a[r], ArrayRef<Value>(pair).slice(2 * half, 2),
                        ArrayRef<Value>(next).slice(first, 4));
            llvm::copy(result, next.begin() + first);
          }
      }
  }
  return next;
}

/// Each lane holds its accumulator pairs (columns 2t, 2t + 1) of rows g and
/// g + 8 of every fragment; gated, silu(gate) * up of the two weights' pairs.
void GemmKernelBuilder::forEachResultPair(
    ValueRange acc, function_ref<void(Value pair, Value row, Value feature)> store) {
  auto pairType = VectorType::get({2}, b.getF32Type());
  Value warpFirstRow = d.mul(warpRow, d.index(layout.rowsPerWarp()));
  Value warpFirstFeature = d.mul(warpColumn, d.index(layout.featuresPerWarp()));
  Value laneColumn = d.mul(laneInGroup, d.index(2));
  for (int64_t r = 0; r < layout.rowFragments(); ++r)
    for (int64_t f = 0; f < featureFragments; ++f)
      for (int64_t half = 0; half < 2; ++half) {
        auto pairOf = [&](int64_t weight) -> Value {
          int64_t first = accIndex(weight, r, f, 2 * half);
          return vector::FromElementsOp::create(
              b, loc, pairType, ValueRange{acc[first], acc[first + 1]});
        };
        Value pair = shape.gated ? siluTimes(d, pairOf(0), pairOf(1)) : pairOf(0);
        Value row = d.add(warpFirstRow, d.add(laneGroup, d.index(r * kMmaM + 8 * half)));
        Value feature = d.add(warpFirstFeature, d.add(laneColumn, d.index(f * kMmaN)));
        store(pair, row, feature);
      }
}

std::tuple<Value, Value, Value> GemmKernelBuilder::outputPosition(Value tileRow,
                                                                 Value tileFeature) {
  Value row = d.add(firstRow, tileRow);
  Value feature = d.add(firstFeature, tileFeature);
  Value inside = arith::AndIOp::create(
      b, loc, d.cmp(arith::CmpIPredicate::ult, row, rows),
      d.cmp(arith::CmpIPredicate::ult, feature, group.outFeatures));
  return {row, feature, inside};
}

void GemmKernelBuilder::storeResults(ValueRange acc) {
  forEachResultPair(acc, [&](Value pair, Value tileRow, Value tileFeature) {
    Value row, feature, inside;
    std::tie(row, feature, inside) = outputPosition(tileRow, tileFeature);
    d.ifThen(inside, [&] {
      d.storeVectorF32(pair, group.out, d.add(d.mul(row, group.outFeatures), feature));
    });
  });
}

void GemmKernelBuilder::storeRotated(ValueRange acc) {
  const AttentionShape &heads = rotary->shape;
  int64_t width = layout.featuresPerWeight, half = heads.headDim / 2;
  assert(width % heads.headDim == 0 && layout.rows * width <= layout.sharedElements() &&
         "a tile is whole heads, and the stages hold it");
  // The stages are the tile's once every warp is done multiplying.
  d.barrier();
  forEachResultPair(acc, [&](Value pair, Value tileRow, Value tileFeature) {
    d.storeVectorF32(pair, rowStages, d.add(d.mul(tileRow, d.index(width)), tileFeature));
  });
  d.barrier();
  Value isValue = d.cmp(arith::CmpIPredicate::eq, group.index, d.index(2));
  Value isQuery = d.cmp(arith::CmpIPredicate::eq, group.index, d.index(0));
  int64_t pairsPerRow = width / 2;
  d.forLoop(d.threadId(), d.index(layout.rows * pairsPerRow), d.index(layout.threads()),
            [&](Value item) {
    Value tileRow = d.div(item, d.index(pairsPerRow));
    Value pairInRow = arith::RemUIOp::create(b, loc, item, d.index(pairsPerRow));
    Value i = arith::RemUIOp::create(b, loc, pairInRow, d.index(half));
    Value tileFeature = d.add(d.mul(d.div(pairInRow, d.index(half)),
                                    d.index(heads.headDim)), i);
    Value row, feature, inside;
    std::tie(row, feature, inside) = outputPosition(tileRow, tileFeature);
    d.ifThen(inside, [&] {
      Value staged = d.add(d.mul(tileRow, d.index(width)), tileFeature);
      Value x1 = d.loadF32(rowStages, staged);
      Value x2 = d.loadF32(rowStages, d.add(staged, d.index(half)));
      Value angle = d.mul(d.add(d.mul(row, d.index(half)), i), d.index(2));
      Value cosSin = d.loadVectorF32(angles, angle, 2);
      auto [y1, y2] = rotateBy(d, vector::ExtractOp::create(b, loc, cosSin, 0),
                               vector::ExtractOp::create(b, loc, cosSin, 1), x1, x2);
      // Values are not rotated.
      Value first = arith::SelectOp::create(b, loc, isValue, x1, y1);
      Value second = arith::SelectOp::create(b, loc, isValue, x2, y2);
      // Queries where storeResults puts them; keys and values at their
      // token's slot of the cache, values half a layer after the keys.
      Value batchRow = d.div(row, tokens);
      Value slot = d.add(start, arith::RemUIOp::create(b, loc, row, tokens));
      Value kvHead = d.div(feature, d.index(heads.headDim));
      Value inHead = arith::RemUIOp::create(b, loc, feature, d.index(heads.headDim));
      Value cached = d.add(
          d.add(keyBaseOf(d, heads, layerBase, batchRow, kvHead),
                d.mul(slot, d.index(heads.headDim))),
          inHead);
      cached = arith::SelectOp::create(b, loc, isValue,
                                       d.add(cached, d.index(heads.halfLayer())), cached);
      Value target = arith::SelectOp::create(
          b, loc, isQuery, d.add(d.mul(row, group.outFeatures), feature), cached);
      d.storeF32(first, group.out, target);
      d.storeF32(second, group.out, d.add(target, d.index(half)));
    });
  });
}

/// Fully unrolled (LLVM does so for a few slices), the slice loop would
/// hoist every slice's copies and address arithmetic to the top and exceed
/// the 128 registers of two blocks per multiprocessor; it is pipelined by
/// hand already.
void disableUnrolling(Operation *loop) {
  MLIRContext *context = loop->getContext();
  auto disable = BoolAttr::get(context, true);
  auto unroll = LLVM::LoopUnrollAttr::get(context, disable, {}, {}, {}, {}, {}, {});
  auto annotation = LLVM::LoopAnnotationAttr::get(
      context, {}, {}, {}, unroll, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});
  loop->setAttr("llvm.loop_annotation", annotation);
}

/// The first `ahead` = slicesAhead() slices are in flight before the loop.
/// Iteration s copies slice s + ahead into the stage slice s + ahead -
/// stages was multiplied from, multiplies slice s, then waits until slice s
/// + 1 has landed and the barrier publishes it. Without wgmma groups in
/// flight, ahead is stages - 1: slice s - 1's multiply ended before the
/// last barrier. With one (wgmma, four stages), ahead is stages - 2: the
/// warpgroups wait for slice s - 1's wgmmas, not s's, before the barrier,
/// so s - 2's stage is the one free. Slices past the last copy the last one
/// again into a stage nobody reads any more, so every iteration commits one
/// group and the wait's count stays right.
void GemmKernelBuilder::build() {
  int64_t slices = (shape.inFeatures + layout.sliceK() - 1) / layout.sliceK();
  int64_t stages = layout.stages();
  int64_t ahead = layout.slicesAhead();
  auto clamped = [&](Value slice) -> Value {
    return arith::MinUIOp::create(b, loc, slice, d.index(slices - 1));
  };
  auto waitForNextSlice = [&](Value lastGroup) {
    waitForCopies(d, lastGroup, ahead - 1);
    if (layout.wgmma)
      fenceSharedForAsyncProxy(d);
    d.barrier();
  };
  // The weights first: lmc-gpu-dependent-launch waits for the previous
  // kernel before the first copy of activation rows.
  SmallVector<SmallVector<Value>> prologue;
  for (int64_t s = 0; s < ahead; ++s)
    prologue.push_back(copyWeights(clamped(d.index(s)), d.index(s)));
  Value lastGroup;
  for (int64_t s = 0; s < ahead; ++s) {
    llvm::append_range(prologue[s], copyRows(clamped(d.index(s)), d.index(s)));
    lastGroup = commitCopies(d, prologue[s]);
  }
  waitForNextSlice(lastGroup);
  Value zero = d.f32(0);
  SmallVector<Value> acc(
      layout.rowFragments() * featureFragments * shape.streamedWeights() * 4, zero);
  ValueRange result = d.forLoop(
      d.index(0), d.index(slices), d.index(1), acc,
      [&](Value slice, ValueRange carried) {
        Value next = d.add(slice, d.index(ahead));
        Value nextStage = arith::RemUIOp::create(b, loc, next, d.index(stages));
        SmallVector<Value> copies = copyWeights(clamped(next), nextStage);
        llvm::append_range(copies, copyRows(clamped(next), nextStage));
        Value group = commitCopies(d, copies);
        Value current = arith::RemUIOp::create(b, loc, slice, d.index(stages));
        SmallVector<Value> sums = multiplySlice(current, carried);
        waitForNextSlice(group);
        return sums;
      });
  disableUnrolling(result.front().getDefiningOp());
  if (layout.wgmmaGroupsInFlight() > 0)
    waitForWarpgroupMma(d, 0);
  // The last slices' copies into stages nobody reads may still be in
  // flight: the block drains them (an empty group, then wait for all)
  // rather than exit with shared-memory writes pending.
  waitForCopies(d, commitCopies(d, {}), 0);
  if (rotary)
    storeRotated(result);
  else
    storeResults(result);
}

} // namespace

bool tensorCoresApply(GPULowering &l, const LinearShape &shape) {
  Type compute = l.computeType();
  if (!l.options().tensorCoreGemm || (!compute.isF16() && !compute.isBF16()))
    return false;
  return shape.inFeatures % kChunk == 0 &&
         llvm::all_of(shape.outFeatures, [](int64_t n) { return n % 2 == 0; });
}

void launchTensorCoreGemm(GPULowering &l, Location loc, const LinearShape &shape,
                          Value input, ValueRange weights, ValueRange outs,
                          Value rows, const RotaryEpilogue *rotary) {
  OpBuilder &b = l.builder();
  // The compute dtype, or float16 for int4 weights (dequantizeToHalf).
  Type weightElement = elementType(weights.front());
  Type outElement = elementType(outs.front());
  SmallVector<Type> argTypes = {l.flatType(l.tensorCoreType())};
  argTypes.append(shape.numWeights(), l.flatType(weightElement));
  argTypes.append(shape.numOutputs(), l.flatType(outElement));
  if (rotary)
    argTypes.append({l.flatType(b.getF32Type()), b.getIndexType(), b.getIndexType(),
                     b.getIndexType()});
  argTypes.push_back(b.getIndexType());
  const KernelOptions &options = l.options();
  GemmLayout layout(shape.narrow() ? options.narrowGemmTile : options.gemmTile, shape);
  MemRefType stagesType = l.sharedType(l.tensorCoreType(), layout.sharedElements());
  MemRefType weightStagesType = l.sharedType(weightElement, layout.sharedElements());
  mlir::gpu::GPUFuncOp kernel = l.getOrCreateKernel(
      gemmName(l, shape, layout, outElement, rotary), argTypes, /*workgroup=*/{},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        // Two blocks per multiprocessor where the accumulators fit 128
        // registers a thread, so one block's multiply overlaps the other's
        // barrier; larger tiles take one block and up to 255 registers.
        f->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                   b.getDenseI32ArrayAttr({int32_t(layout.threads()), 1, 1}));
        f->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                   b.getI32IntegerAttr(layout.blocksPerMultiprocessor()));
        SmallVector<Value> stages = d.dynamicShared({stagesType, weightStagesType});
        GemmKernelBuilder(d, shape, layout, rotary, f, stages[0], stages[1]).build();
      });
  SmallVector<Value> args = {input};
  llvm::append_range(args, weights);
  llvm::append_range(args, outs);
  if (rotary)
    args.append({rotary->angles, rotary->start, rotary->tokens, rotary->layerBase});
  args.push_back(rows);
  l.launch(loc, kernel,
           {l.ceilDiv(loc, rows, layout.rows),
            l.index(loc, llvm::sum_of(blocksPerGroup(shape, layout))), l.index(loc, 1)},
           layout.threads(), args, stagesType.getNumElements() * 2);
}

} // namespace llamac::gpu
