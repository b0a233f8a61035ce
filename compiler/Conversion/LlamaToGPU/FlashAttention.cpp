//===- FlashAttention.cpp - prefill attention on the tensor cores ---------===//
//
// Prefill attention of f16 and bf16 models (whose cache is f16) as
// mma.sync m16n8k16, the way FlashAttention-2 computes it: a block takes 64
// consecutive tokens of one head and row, its 4 warps 16 queries each, and
// walks the visible cache slots in blocks of 64 keys:
//
//  * the queries, which rope_qkv rotated in float32 and rounded to f16, are
//    copied into shared memory once and held in registers as A fragments;
//  * each key block's keys and values are copied into shared memory too
//    (cp.async; slots past the last visible one are zero-filled), as two
//    groups: the warps wait for the keys, and for the values only once the
//    scores and exponentials are computed, so the values' copy overlaps
//    them (a third barrier per block; copying a block ahead instead took
//    more registers than 2 blocks an SM have, bench/NOTES.md v11);
//  * S = Q K^T (keys are B fragments as they lie in memory), scaled and
//    masked (a query sees the slots [first_slot, its own slot]);
//  * the online softmax keeps each query row's running maximum m and the
//    lanes' partial exponential sums l; a row whose slots so far are all
//    masked uses 0 as its maximum, so exp(-inf - 0) gives 0, not NaN;
//  * O = O exp(m_old - m_new) + P V: the exponentials, rounded to f16, are
//    the A fragments as the accumulators of S hold them, and the values are
//    B fragments read with ldmatrix.trans (a value row is one key's head_dim
//    elements, B wants a column of keys per output dimension).
//
// At the end each row is divided by its sum (0 for a fully masked, left-pad
// query) and stored. Shared memory holds the 64 rows of queries, keys and
// values (48 KiB at head_dim 128), each row's 16-byte chunks XOR-swizzled
// by row so ldmatrix reads 8 rows without bank conflicts. Unlike the SIMT
// kernel it keeps no score per slot, so max_seq is not bounded by shared
// memory.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/AttentionKernels.h"
#include "compiler/Conversion/LlamaToGPU/TensorCoreOps.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;

namespace llamac::gpu {
namespace {

constexpr int64_t kWarps = kFlashThreads / kWarpSize;
/// Keys per block of the loop: 8 fragments of S per warp.
constexpr int64_t kKeys = 64;
constexpr int64_t kKeyFragments = kKeys / kMmaN;
static_assert(kFlashQueries == kWarps * kMmaM, "a warp holds 16 queries");
static_assert(kFlashQueries == kKeys, "queries, keys and values stage alike");
static_assert(3 * kKeys * 128 * 2 <= kStaticSharedBytes, "head_dim 128 fits");

/// Builds the kernel's body; see the file comment.
class FlashAttentionBuilder {
public:
  FlashAttentionBuilder(DeviceBuilder &d, const AttentionShape &shape, Type element,
                        mlir::gpu::GPUFuncOp f);

  void build();

private:
  /// Element position of chunk `chunk` of row `row` of the tile at `tile`.
  Value staged(int64_t tile, Value row, Value chunk);
  /// Starts copying the 64 rows of `tile`: `source(row)` gives a staged
  /// row's first element in `buffer` and whether it exists (else zeros).
  void copyTile(int64_t tile, Value buffer,
                llvm::function_ref<std::pair<Value, Value>(Value)> source,
                SmallVector<Value> &copies);
  /// Waits for `copies` and publishes them to the block.
  void awaitCopies(ValueRange copies);
  void stageQueries();
  /// The warp's 16 queries as A fragments, one per 16 elements of head_dim.
  SmallVector<SmallVector<Value>> loadQueryFragments();
  /// Copies the keys and values of the slots [keyStart, keyStart + kKeys)
  /// into their tiles (slots from `end` on are zero-filled) as two groups,
  /// and waits for the keys; returns the values' group.
  Value copyKeysValues(Value keyStart, Value end);
  /// S of the warp's queries and the key block, scaled and masked.
  SmallVector<Value> scores(ArrayRef<SmallVector<Value>> queries, Value keyStart);
  /// The token of accumulator `i` of the lane's fragments (rows g, g + 8),
  /// clamped to the last one.
  Value tokenOf(int64_t i) const { return rowTokens[i / 2]; }
  /// One key block: carried are each row half's maximum and partial sum,
  /// then the output accumulators (dimFragments x 4). The values (copy
  /// group `values`) are waited for after the scores.
  SmallVector<Value> attendKeyBlock(Value keyStart, ValueRange carried,
                                    ArrayRef<SmallVector<Value>> queries, Value values);
  void store(ArrayRef<Value> output, ArrayRef<Value> sums);

  DeviceBuilder &d;
  OpBuilder &b;
  Location loc;
  const AttentionShape &shape;
  Type element;
  int64_t chunksPerRow, swizzle, dimFragments;
  Value rotated, cache, out, start, tokens, scale, shared;
  Value row, head, firstToken, lastToken, first, keyBase, valueBase;
  Value laneGroup, laneInGroup, warp;
  /// The tokens of the lane's query rows g and g + 8 (clamped), and whether
  /// they exist.
  Value rowTokens[2], rowValid[2];
};

FlashAttentionBuilder::FlashAttentionBuilder(DeviceBuilder &d,
                                             const AttentionShape &shape, Type element,
                                             mlir::gpu::GPUFuncOp f)
    : d(d), b(d.builder()), loc(d.location()), shape(shape), element(element),
      chunksPerRow(shape.headDim / kChunk),
      swizzle(std::min<int64_t>(8, shape.headDim / kChunk)),
      dimFragments(shape.headDim / kMmaN) {
  rotated = f.getArgument(0);
  Value firstSlot = f.getArgument(1);
  cache = f.getArgument(2);
  out = f.getArgument(3);
  start = f.getArgument(4);
  tokens = f.getArgument(5);
  Value layerBase = f.getArgument(6);
  scale = f.getArgument(7);
  shared = f.getWorkgroupAttributions().front();
  firstToken = d.mul(d.blockId(mlir::gpu::Dimension::x), d.index(kFlashQueries));
  head = d.blockId(mlir::gpu::Dimension::y);
  row = d.blockId(mlir::gpu::Dimension::z);
  lastToken = d.sub(tokens, d.index(1));
  first = d.loadIndex(firstSlot, row);
  Value kvHead = d.div(head, d.index(shape.numHeads / shape.numKVHeads));
  keyBase = keyBaseOf(d, shape, layerBase, row, kvHead);
  valueBase = d.add(keyBase, d.index(shape.halfLayer()));
  Value lane = d.laneId();
  laneGroup = d.div(lane, d.index(4));
  laneInGroup = arith::RemUIOp::create(b, loc, lane, d.index(4));
  warp = d.warpId();
  for (int64_t half = 0; half < 2; ++half) {
    Value token = d.add(firstToken, d.add(d.mul(warp, d.index(kMmaM)),
                                          d.add(laneGroup, d.index(8 * half))));
    rowValid[half] = d.cmp(arith::CmpIPredicate::ult, token, tokens);
    rowTokens[half] = arith::MinUIOp::create(b, loc, token, lastToken);
  }
}

Value FlashAttentionBuilder::staged(int64_t tile, Value stagedRow, Value chunk) {
  Value key = arith::RemUIOp::create(b, loc, stagedRow, d.index(swizzle));
  Value position = arith::XOrIOp::create(b, loc, chunk, key);
  return d.add(d.index(tile * kKeys * shape.headDim),
               d.add(d.mul(stagedRow, d.index(shape.headDim)),
                     d.mul(position, d.index(kChunk))));
}

void FlashAttentionBuilder::copyTile(
    int64_t tile, Value buffer, llvm::function_ref<std::pair<Value, Value>(Value)> source,
    SmallVector<Value> &copies) {
  int64_t rowsPerPass = kFlashThreads / chunksPerRow;
  Value tid = d.threadId();
  Value passRow = d.div(tid, d.index(chunksPerRow));
  Value chunk = arith::RemUIOp::create(b, loc, tid, d.index(chunksPerRow));
  for (int64_t first = 0; first < kKeys; first += rowsPerPass) {
    Value stagedRow = d.add(passRow, d.index(first));
    auto [rowStart, exists] = source(stagedRow);
    copies.push_back(copyChunkAsync(d, shared, staged(tile, stagedRow, chunk), buffer,
                                    d.add(rowStart, d.mul(chunk, d.index(kChunk))),
                                    exists));
  }
}

void FlashAttentionBuilder::awaitCopies(ValueRange copies) {
  waitForCopies(d, commitCopies(d, copies), 0);
  d.barrier();
}

/// The last tile's extra queries repeat the last token (and store nothing).
void FlashAttentionBuilder::stageQueries() {
  SmallVector<Value> copies;
  copyTile(0, rotated, [&](Value stagedRow) -> std::pair<Value, Value> {
    Value token = arith::MinUIOp::create(b, loc, d.add(firstToken, stagedRow), lastToken);
    Value tokenIndex = d.add(d.mul(row, tokens), token);
    Value rowStart = d.mul(d.add(d.mul(tokenIndex, d.index(shape.numHeads)), head),
                           d.index(shape.headDim));
    return {rowStart, d.cmp(arith::CmpIPredicate::ult, token, tokens)};
  }, copies);
  awaitCopies(copies);
}

SmallVector<SmallVector<Value>> FlashAttentionBuilder::loadQueryFragments() {
  MatrixLane lane = aFragmentLane(d);
  Value stagedRow = d.add(d.mul(warp, d.index(kMmaM)), lane.row);
  SmallVector<SmallVector<Value>> fragments;
  for (int64_t k = 0; k < shape.headDim / kMmaK; ++k) {
    Value chunk = d.add(d.index(2 * k), lane.chunk);
    fragments.push_back(loadMatrices(d, shared, staged(0, stagedRow, chunk), element));
  }
  return fragments;
}

Value FlashAttentionBuilder::copyKeysValues(Value keyStart, Value end) {
  SmallVector<Value> groups;
  for (auto [tile, base] : {std::pair{1, keyBase}, std::pair{2, valueBase}}) {
    SmallVector<Value> copies;
    copyTile(tile, cache, [&](Value stagedRow) -> std::pair<Value, Value> {
      Value slot = d.add(keyStart, stagedRow);
      Value visible = d.cmp(arith::CmpIPredicate::ult, slot, end);
      slot = arith::MinUIOp::create(b, loc, slot, d.index(shape.cacheSeq - 1));
      return {d.add(base, d.mul(slot, d.index(shape.headDim))), visible};
    }, copies);
    groups.push_back(commitCopies(d, copies));
  }
  waitForCopies(d, groups.back(), 1);
  d.barrier();
  return groups.back();
}

/// The keys are B fragments as they lie in memory, two per ldmatrix.x4.
SmallVector<Value> FlashAttentionBuilder::scores(ArrayRef<SmallVector<Value>> queries,
                                                 Value keyStart) {
  Value zero = d.f32(0);
  SmallVector<Value> acc(kKeyFragments * 4, zero);
  MatrixLane lane = bFragmentPairLane(d);
  for (auto [k, fragment] : llvm::enumerate(queries)) {
    Value chunk = d.add(d.index(2 * k), lane.chunk);
    for (int64_t f = 0; f < kKeyFragments; f += 2) {
      SmallVector<Value> keys = loadMatrices(
          d, shared, staged(1, d.add(lane.row, d.index(f * kMmaN)), chunk), element);
      for (int64_t half = 0; half < 2; ++half) {
        SmallVector<Value> sums =
            mmaSync(d, element, fragment, ArrayRef<Value>(keys).slice(2 * half, 2),
                    ArrayRef<Value>(acc).slice(4 * (f + half), 4));
        llvm::copy(sums, acc.begin() + 4 * (f + half));
      }
    }
  }
  float lowest = -std::numeric_limits<float>::infinity();
  Value column = d.mul(laneInGroup, d.index(2));
  for (int64_t f = 0; f < kKeyFragments; ++f)
    for (int64_t i = 0; i < 4; ++i) {
      Value slot = d.add(keyStart, d.add(column, d.index(f * kMmaN + i % 2)));
      Value end = d.add(d.add(start, tokenOf(i)), d.index(1));
      Value visible = d.cmp(arith::CmpIPredicate::ult, slot, end);
      Value &score = acc[4 * f + i];
      score = arith::SelectOp::create(b, loc, visible, d.fmul(score, scale),
                                      d.f32(lowest));
    }
  return acc;
}

SmallVector<Value>
FlashAttentionBuilder::attendKeyBlock(Value keyStart, ValueRange carried,
                                      ArrayRef<SmallVector<Value>> queries, Value values) {
  float lowest = -std::numeric_limits<float>::infinity();
  SmallVector<Value> s = scores(queries, keyStart);
  SmallVector<Value> next;
  Value alpha[2], reference[2];
  for (int64_t half = 0; half < 2; ++half) {
    Value blockMax = d.f32(lowest);
    for (int64_t f = 0; f < kKeyFragments; ++f)
      for (int64_t i = 2 * half; i < 2 * half + 2; ++i)
        blockMax = arith::MaximumFOp::create(b, loc, blockMax, s[4 * f + i]);
    blockMax = d.warpReduce(blockMax, Reduction::Max, /*lanes=*/4);
    Value max = arith::MaximumFOp::create(b, loc, carried[half], blockMax);
    Value seen = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, max,
                                       d.f32(lowest));
    reference[half] = arith::SelectOp::create(b, loc, seen, max, d.f32(0));
    alpha[half] = math::ExpOp::create(b, loc, d.fsub(carried[half], reference[half]));
    next.push_back(max);
  }
  SmallVector<Value> p(s.size());
  Value partial[2] = {d.f32(0), d.f32(0)};
  for (int64_t f = 0; f < kKeyFragments; ++f)
    for (int64_t i = 0; i < 4; ++i) {
      p[4 * f + i] = math::ExpOp::create(b, loc, d.fsub(s[4 * f + i], reference[i / 2]));
      partial[i / 2] = d.fadd(partial[i / 2], p[4 * f + i]);
    }
  for (int64_t half = 0; half < 2; ++half)
    next.push_back(d.fadd(d.fmul(carried[2 + half], alpha[half]), partial[half]));
  SmallVector<Value> output;
  for (auto [i, acc] : llvm::enumerate(carried.drop_front(4)))
    output.push_back(d.fmul(acc, alpha[(i % 4) / 2]));
  waitForCopies(d, values, 0);
  d.barrier();
  // Keys 16k..16k + 15 are S fragments 2k and 2k + 1, whose accumulators
  // are A's registers (g, 0-7), (g + 8, 0-7), (g, 8-15), (g + 8, 8-15).
  // The values, stored k-major (a key's head_dim elements in a row), are
  // read transposed in an A fragment's order: two B fragments.
  MatrixLane lane = aFragmentLane(d);
  for (int64_t k = 0; k < kKeys / kMmaK; ++k) {
    SmallVector<Value> a;
    for (int64_t f : {2 * k, 2 * k + 1})
      for (int64_t half = 0; half < 2; ++half)
        a.push_back(packPair(d, element, p[4 * f + 2 * half], p[4 * f + 2 * half + 1]));
    Value stagedRow = d.add(lane.row, d.index(k * kMmaK));
    for (int64_t n = 0; n < dimFragments; n += 2) {
      Value chunk = d.add(d.index(n), lane.chunk);
      SmallVector<Value> values = loadMatrices(d, shared, staged(2, stagedRow, chunk),
                                               element, /*transpose=*/true);
      for (int64_t half = 0; half < 2; ++half) {
        SmallVector<Value> sums =
            mmaSync(d, element, a, ArrayRef<Value>(values).slice(2 * half, 2),
                    ArrayRef<Value>(output).slice(4 * (n + half), 4));
        llvm::copy(sums, output.begin() + 4 * (n + half));
      }
    }
  }
  llvm::append_range(next, output);
  return next;
}

/// Each lane stores its pairs (columns 2t, 2t + 1) of rows g and g + 8 of
/// every output fragment, divided by the row's sum.
void FlashAttentionBuilder::store(ArrayRef<Value> output, ArrayRef<Value> sums) {
  auto pairType = VectorType::get({2}, b.getF32Type());
  Value column = d.mul(laneInGroup, d.index(2));
  for (int64_t half = 0; half < 2; ++half) {
    Value sum = d.warpReduce(sums[half], Reduction::Sum, /*lanes=*/4);
    Value hasKeys = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, sum, d.f32(0));
    Value inverse = arith::SelectOp::create(
        b, loc, hasKeys, arith::DivFOp::create(b, loc, d.f32(1), sum), d.f32(0));
    Value tokenIndex = d.add(d.mul(row, tokens), rowTokens[half]);
    Value base = d.mul(d.add(d.mul(tokenIndex, d.index(shape.numHeads)), head),
                       d.index(shape.headDim));
    d.ifThen(rowValid[half], [&] {
      for (int64_t n = 0; n < dimFragments; ++n) {
        Value pair = vector::FromElementsOp::create(
            b, loc, pairType,
            ValueRange{d.fmul(output[4 * n + 2 * half], inverse),
                       d.fmul(output[4 * n + 2 * half + 1], inverse)});
        d.storeVectorF32(pair, out, d.add(base, d.add(column, d.index(n * kMmaN))));
      }
    });
  }
}

/// The key blocks run from first_slot to the block's last visible slot.
void FlashAttentionBuilder::build() {
  stageQueries();
  SmallVector<SmallVector<Value>> queries = loadQueryFragments();
  Value lastVisible =
      arith::MinUIOp::create(b, loc, d.add(firstToken, d.index(kFlashQueries - 1)), lastToken);
  Value end = d.add(d.add(start, lastVisible), d.index(1));
  float lowest = -std::numeric_limits<float>::infinity();
  SmallVector<Value> init = {d.f32(lowest), d.f32(lowest), d.f32(0), d.f32(0)};
  init.append(dimFragments * 4, d.f32(0));
  ValueRange result = d.forLoop(
      first, end, d.index(kKeys), init,
      [&](Value keyStart, ValueRange carried) -> SmallVector<Value> {
        // Every warp is done with the previous block's keys and values.
        d.barrier();
        Value values = copyKeysValues(keyStart, end);
        return attendKeyBlock(keyStart, carried, queries, values);
      });
  SmallVector<Value> output(result.drop_front(4));
  store(output, {result[2], result[3]});
}

} // namespace

bool flashAttentionApplies(GPULowering &l, const AttentionShape &shape) {
  Type compute = l.computeType();
  return l.options().tensorCoreAttention && (compute.isF16() || compute.isBF16()) &&
         llvm::is_contained({16, 32, 64, 128}, shape.headDim);
}

mlir::gpu::GPUFuncOp getFlashAttentionKernel(GPULowering &l, const AttentionShape &shape,
                                             Type outElement) {
  OpBuilder &b = l.builder();
  Type index = b.getIndexType();
  Type element = l.cacheType();
  return l.getOrCreateKernel(
      "attention_" + shape.suffix(l) + "_mma" + narrowedSuffix("out", outElement),
      {l.flatType(element), l.flatType(b.getI32Type()), l.flatType(element),
       l.flatType(outElement), index, index, index, b.getF32Type()},
      {l.sharedType(element, 3 * kKeys * shape.headDim)},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        // Two blocks per multiprocessor: at head_dim 128 a thread holds ~220
        // registers and a block 48 KiB of shared memory.
        f->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                   b.getDenseI32ArrayAttr({kFlashThreads, 1, 1}));
        f->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(), b.getI32IntegerAttr(2));
        FlashAttentionBuilder(d, shape, element, f).build();
      });
}

} // namespace llamac::gpu
