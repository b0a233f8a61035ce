//===- AttentionOpLowering.cpp - rotary embedding, KV cache, attention ----===//
//
// In prefill llama.attention becomes a rope_kv kernel and then the
// attention proper; in decode, one split attention kernel:
//
//  * rope_kv: one block per (token, kv heads, row), as many kv heads as 256
//    threads hold (4 for d = 128); thread j rotates the pair (i, i + d/2),
//    i = j % (d/2), of kv head j / (d/2) and stores key and value into the
//    cache slot.
//    A separate launch, because every query block of the next kernel reads
//    the slots of all earlier tokens. Before the tensor-core attention
//    (FlashAttention.cpp: f16 and bf16 models) it is rope_qkv, which also
//    rotates the queries of the kv head's group into a scratch buffer in
//    the cache's dtype; with fold-prefill-rope (off by default: slower on
//    Hopper), where the q/k/v projection's tensor-core GEMM is their only
//    producer, that GEMM does this in its epilogue instead
//    (attentionRotatedByProjection, TensorCoreGemm.cpp), reading the
//    angles' cosines and sines that one rope_angles launch per prefill
//    computes for every layer, and no rope_qkv runs.
//  * SIMT prefill attention (float32, and head_dims the tensor-core kernel
//    does not take): one block per (up to 4 consecutive tokens, head,
//    row), so each key and value row the block reads serves all its
//    queries. The rotated queries sit in shared memory; the threads stride
//    over the visible slots [first_slot[b], slot(t)] computing each query's
//    scaled scores into shared memory, block-reduce each query's maximum
//    and exponential sum, and then each thread owns output dimensions and
//    sums probability-weighted values. Every query's arithmetic is in the
//    order of a block of its own; it ignores the slots past its token.
//    Fully masked (left-pad) queries produce zeros.
//  * decode attention is split along the cache (flash-decoding): one token
//    per row gives only heads x rows blocks, too few to read a long cache at
//    the memory's speed. attention_split runs one block per (chunk of
//    slots, head, row) and writes the chunk's maximum score m, exponential
//    sum l and unnormalized output o; the block that finishes a (head, row)
//    last, counted by an atomic in a zeroed device global, rescales each
//    chunk by exp(m - max m) and divides by the total sum (a combine
//    kernel cost a launch and a grid dependency a layer). Chunk c holds the
//    slots c, c + S, c + 2S, ... of S chunks: interleaved, every chunk has
//    work at any context length, so a short context costs each block one
//    round of loads instead of leaving all but the first chunks idle.
//    Within a chunk, groups of lanes read one key or value row each with
//    16-byte loads; the first passes' rows before the grid dependency wait.
//    The new token's slot is read by its own chunk only, so that chunk's
//    block rotates and writes its key and value first: no rope_kv launch in
//    decode.
//
// A token's cache slot is start + t in prefill. In decode (one token per
// row, static shape) it is first_slot[b] + positions[b] instead, the
// invariant of the runtime's left-padded batches: the step then reads no
// scalar that changes per token, so a CUDA graph of it can be replayed (the
// chunks past the visible slots find nothing to do).
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/AttentionKernels.h"
#include "compiler/Conversion/LlamaToGPU/LinearKernels.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace llamac::gpu {

std::string AttentionShape::suffix(GPULowering &l) const {
  return typeName(l.computeType()) + "_h" + std::to_string(numHeads) + "_kv" +
         std::to_string(numKVHeads) + "_d" + std::to_string(headDim) + "_s" +
         std::to_string(cacheSeq) + "_b" + std::to_string(cacheBatch) +
         (decode ? "_decode" : "_prefill");
}

/// The cosine and sine of the angle of pair i at `position`.
static std::pair<Value, Value> cosSinAt(DeviceBuilder &d, Value table, Value position,
                                        Value i) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value position32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), position);
  Value angle = d.fmul(arith::SIToFPOp::create(b, loc, b.getF32Type(), position32),
                       memref::LoadOp::create(b, loc, table, i));
  return {math::CosOp::create(b, loc, angle), math::SinOp::create(b, loc, angle)};
}

std::pair<Value, Value> rotateBy(DeviceBuilder &d, Value cos, Value sin, Value x1,
                                 Value x2) {
  return {d.fsub(d.fmul(x1, cos), d.fmul(x2, sin)),
          d.fadd(d.fmul(x2, cos), d.fmul(x1, sin))};
}

std::pair<Value, Value> rotate(DeviceBuilder &d, Value table, Value position,
                               Value i, Value x1, Value x2) {
  auto [cos, sin] = cosSinAt(d, table, position, i);
  return rotateBy(d, cos, sin, x1, x2);
}

Value keyBaseOf(DeviceBuilder &d, const AttentionShape &shape, Value layerBase,
                Value row, Value kvHead) {
  Value headInCache = d.add(d.mul(row, d.index(shape.numKVHeads)), kvHead);
  return d.add(layerBase,
               d.mul(headInCache, d.index(shape.cacheSeq * shape.headDim)));
}

namespace {

constexpr int64_t kAttentionThreads = 128;
/// Threads a rope_kv block has at most.
constexpr int64_t kRopeThreads = 256;
/// Queries a prefill attention block computes at most.
constexpr int64_t kMaxQueriesPerBlock = 4;

/// Hugging Face's float32 inverse frequencies 1 / theta^(2i / d), divided by
/// the linear scaling factor (the CPU backend uses the same table).
SmallVector<float> inverseFrequencies(int64_t headDim, double theta, double scale) {
  SmallVector<float> values;
  for (int64_t i = 0; i < headDim / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(headDim);
    values.push_back(1.0f / std::pow(static_cast<float>(theta), exponent) /
                     static_cast<float>(scale));
  }
  return values;
}

/// The query of `head` at `queryBase`, rotated for `position`, into the
/// shared buffer `rotated` from `rotatedBase` on (threads split the pairs);
/// ends with a barrier.
void rotateQueryToShared(DeviceBuilder &d, const AttentionShape &shape,
                         memref::GlobalOp table, Value query, Value queryBase,
                         Value position, Value rotated, Value rotatedBase) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  int64_t half = shape.headDim / 2;
  Value tableRef =
      memref::GetGlobalOp::create(b, loc, table.getType(), table.getSymName());
  d.forLoop(d.threadId(), d.index(half), d.index(kAttentionThreads), [&](Value i) {
    Value x1 = d.loadF32(query, d.add(queryBase, i));
    Value x2 = d.loadF32(query, d.add(queryBase, d.add(i, d.index(half))));
    auto [y1, y2] = rotate(d, tableRef, position, i, x1, x2);
    memref::StoreOp::create(b, loc, y1, rotated, d.add(rotatedBase, i));
    memref::StoreOp::create(b, loc, y2, rotated,
                            d.add(rotatedBase, d.add(i, d.index(half))));
  });
  d.barrier();
}

/// Replaces the `count` scores from `base` on in the shared buffer `scores`
/// by exp(score - max) and returns their sum over the block, whose barriers
/// also publish the probabilities to every thread.
Value exponentiateScores(DeviceBuilder &d, Value scores, Value base, Value count,
                         Value max, Value scratch) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value localSum = d.forLoop(
      d.threadId(), count, d.index(kAttentionThreads), {d.f32(0)},
      [&](Value offset, ValueRange acc) -> SmallVector<Value> {
        Value position = d.add(base, offset);
        Value score = memref::LoadOp::create(b, loc, scores, position);
        Value p = math::ExpOp::create(b, loc, d.fsub(score, max));
        memref::StoreOp::create(b, loc, p, scores, position);
        return {d.fadd(acc[0], p)};
      })[0];
  return d.blockReduce(localSum, Reduction::Sum, scratch, kAttentionThreads);
}

/// A token's key (at `source` in `key`) rotated for `position`, and its
/// value, into the cache row at `rowStart`; the thread rotates the pairs
/// (i, i + d/2) from i = `lane` on in steps of `stride`. With `copy` (a
/// float32 buffer of 2 x head_dim), also the key and then the value there,
/// as a read of the cache gives them (rounded to its dtype).
void writeNewKeyValue(DeviceBuilder &d, const AttentionShape &shape,
                      memref::GlobalOp table, Value key, Value value,
                      Value source, Value position, Value cache, Value rowStart,
                      Value lane, int64_t stride, Value copy = {}) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  int64_t half = shape.headDim / 2;
  Value tableRef =
      memref::GetGlobalOp::create(b, loc, table.getType(), table.getSymName());
  Value valueStart = d.add(rowStart, d.index(shape.halfLayer()));
  Type cacheType = cast<MemRefType>(cache.getType()).getElementType();
  // `column` within the row from `start`; the copy's value follows its key.
  auto store = [&](Value x, Value start, Value column, int64_t copyOffset) {
    d.storeF32(x, cache, d.add(start, column));
    if (!copy)
      return;
    if (!cacheType.isF32())
      x = arith::ExtFOp::create(
          b, loc, b.getF32Type(),
          arith::TruncFOp::create(b, loc, cacheType, x).getResult());
    memref::StoreOp::create(b, loc, x, copy, d.add(d.index(copyOffset), column));
  };
  d.forLoop(lane, d.index(half), d.index(stride), [&](Value i) {
    Value first = d.add(source, i);
    Value second = d.add(first, d.index(half));
    Value pairedColumn = d.add(i, d.index(half));
    auto [k1, k2] = rotate(d, tableRef, position, i, d.loadF32(key, first),
                           d.loadF32(key, second));
    store(k1, rowStart, i, 0);
    store(k2, rowStart, pairedColumn, 0);
    store(d.loadF32(value, first), valueStart, i, shape.headDim);
    store(d.loadF32(value, second), valueStart, pairedColumn, shape.headDim);
  });
}

/// Kv heads a rope_kv block rotates, a pair (i, i + d/2) a thread: as many
/// as kRopeThreads threads hold, dividing the kv heads. A block per head
/// (64 threads for the 7B shape, 16,384 blocks for 512 tokens) spent its
/// time being scheduled: ~22 us a layer for ~12 us of bytes (v9's profile).
int64_t ropeHeadsPerBlock(const AttentionShape &shape) {
  int64_t heads = std::max<int64_t>(1, kRopeThreads / (shape.headDim / 2));
  while (shape.numKVHeads % heads != 0)
    --heads;
  return heads;
}

/// Args: key, value, positions, cache, start, tokens, layer base, and with
/// `rotateQueries` (for the tensor-core attention) query and rotated
/// queries; query, key and value hold `rowElement` (float16 before the
/// tensor-core attention: the q/k/v GEMM rounds them as Hugging Face's f16
/// linear layers do, see rotatedBeforeFlashAttention). Prefill only:
/// decode's split attention writes its token's key and value itself. A
/// block is (token, ropeHeadsPerBlock kv heads, row). With `rotateQueries`
/// each thread also rotates its pair of the queries of its kv head's group
/// and stores them in the cache's dtype.
mlir::gpu::GPUFuncOp getRopeKVKernel(GPULowering &l, const AttentionShape &shape,
                                     memref::GlobalOp table, bool rotateQueries,
                                     Type rowElement) {
  OpBuilder &b = l.builder();
  Type rowBuffer = l.flatType(rowElement);
  Type i32Buffer = l.flatType(b.getI32Type());
  Type index = b.getIndexType();
  SmallVector<Type> args = {rowBuffer, rowBuffer, i32Buffer, l.flatType(l.cacheType()),
                            index, index, index};
  if (rotateQueries)
    args.append({rowBuffer, l.flatType(l.cacheType())});
  return l.getOrCreateKernel(
      (rotateQueries ? "rope_qkv_" : "rope_kv_") + shape.suffix(l) +
          narrowedSuffix("in", rowElement),
      args, {},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        Value key = f.getArgument(0), value = f.getArgument(1),
              positions = f.getArgument(2), cache = f.getArgument(3),
              start = f.getArgument(4), tokens = f.getArgument(5),
              layerBase = f.getArgument(6);
        int64_t half = shape.headDim / 2;
        Value token = d.blockId(mlir::gpu::Dimension::x);
        Value head = d.add(d.mul(d.blockId(mlir::gpu::Dimension::y),
                                 d.index(ropeHeadsPerBlock(shape))),
                           d.div(d.threadId(), d.index(half)));
        Value i = arith::RemUIOp::create(d.builder(), d.location(), d.threadId(),
                                         d.index(half));
        Value row = d.blockId(mlir::gpu::Dimension::z);
        Value tokenIndex = d.add(d.mul(row, tokens), token);
        Value position = d.loadIndex(positions, tokenIndex);
        Value slot = d.add(start, token);
        Value source = d.mul(d.add(d.mul(tokenIndex, d.index(shape.numKVHeads)), head),
                             d.index(shape.headDim));
        Value headInCache = d.add(d.mul(row, d.index(shape.numKVHeads)), head);
        Value target = d.add(
            layerBase,
            d.mul(d.add(d.mul(headInCache, d.index(shape.cacheSeq)), slot),
                  d.index(shape.headDim)));
        writeNewKeyValue(d, shape, table, key, value, source, position, cache,
                         target, i, half);
        if (!rotateQueries)
          return;
        Value query = f.getArgument(7), rotated = f.getArgument(8);
        Value tableRef = memref::GetGlobalOp::create(d.builder(), d.location(),
                                                     table.getType(), table.getSymName());
        int64_t group = shape.numHeads / shape.numKVHeads;
        for (int64_t q = 0; q < group; ++q) {
          Value queryHead = d.add(d.mul(head, d.index(group)), d.index(q));
          Value base = d.mul(d.add(d.mul(tokenIndex, d.index(shape.numHeads)), queryHead),
                             d.index(shape.headDim));
          Value first = d.add(base, i);
          Value second = d.add(first, d.index(half));
          auto [y1, y2] = rotate(d, tableRef, position, i, d.loadF32(query, first),
                                 d.loadF32(query, second));
          d.storeF32(y1, rotated, first);
          d.storeF32(y2, rotated, second);
        }
      });
}

/// Shared memory of a prefill attention block of `queries` queries: each
/// query's rotated copy and scores, and the reduction scratch.
int64_t prefillSharedBytes(const AttentionShape &shape, int64_t queries) {
  return 4 * (queries * (shape.headDim + shape.cacheSeq) +
              kAttentionThreads / kWarpSize);
}

/// Queries of consecutive tokens one prefill attention block computes: they
/// share every key and value row the block reads (a block per query read
/// each row from L2 once per query), as many as the static shared memory
/// holds the scores of, up to kMaxQueriesPerBlock.
int64_t queriesPerBlock(const AttentionShape &shape) {
  int64_t queries = kMaxQueriesPerBlock;
  while (queries > 1 && prefillSharedBytes(shape, queries) > kStaticSharedBytes)
    --queries;
  return queries;
}

/// One query of a prefill attention block: whether its token exists (the
/// last tile's extra queries repeat the last token and store nothing), the
/// end of its visible slots and where its row starts.
struct PrefillQuery {
  Value valid, end, base;
};

/// Args: query, positions, first_slot, cache, out (of `outElement`, see
/// activationType), start, tokens, layer base, scale.
mlir::gpu::GPUFuncOp getAttentionKernel(GPULowering &l,
                                        const AttentionShape &shape,
                                        memref::GlobalOp table, Type outElement) {
  OpBuilder &b = l.builder();
  Type f32 = b.getF32Type();
  Type f32Buffer = l.flatType(f32);
  Type i32Buffer = l.flatType(b.getI32Type());
  Type index = b.getIndexType();
  int64_t queries = queriesPerBlock(shape);
  return l.getOrCreateKernel(
      "attention_" + shape.suffix(l) + "_q" + std::to_string(queries) +
          narrowedSuffix("out", outElement),
      {f32Buffer, i32Buffer, i32Buffer, l.flatType(l.cacheType()),
       l.flatType(outElement), index, index, index, f32},
      {l.sharedType(f32, queries * shape.headDim),
       l.sharedType(f32, queries * shape.cacheSeq),
       l.sharedType(f32, kAttentionThreads / kWarpSize)},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        OpBuilder &kb = d.builder();
        Location loc = d.location();
        Value query = f.getArgument(0), positions = f.getArgument(1),
              firstSlot = f.getArgument(2), cache = f.getArgument(3),
              out = f.getArgument(4), start = f.getArgument(5),
              tokens = f.getArgument(6), layerBase = f.getArgument(7),
              scale = f.getArgument(8);
        Value rotated = f.getWorkgroupAttributions()[0];
        Value scores = f.getWorkgroupAttributions()[1];
        Value scratch = f.getWorkgroupAttributions()[2];
        Value firstToken =
            d.mul(d.blockId(mlir::gpu::Dimension::x), d.index(queries));
        Value head = d.blockId(mlir::gpu::Dimension::y);
        Value row = d.blockId(mlir::gpu::Dimension::z);
        Value kvHead = d.div(head, d.index(shape.numHeads / shape.numKVHeads));
        Value first = d.loadIndex(firstSlot, row);
        Value lastToken = d.sub(tokens, d.index(1));
        SmallVector<PrefillQuery> tile;
        for (int64_t q = 0; q < queries; ++q) {
          Value token = d.add(firstToken, d.index(q));
          Value valid = d.cmp(arith::CmpIPredicate::ult, token, tokens);
          token = arith::MinUIOp::create(kb, loc, token, lastToken);
          Value tokenIndex = d.add(d.mul(row, tokens), token);
          Value base = d.mul(d.add(d.mul(tokenIndex, d.index(shape.numHeads)), head),
                             d.index(shape.headDim));
          tile.push_back({valid, d.add(d.add(start, token), d.index(1)), base});
          rotateQueryToShared(d, shape, table, query, base,
                              d.loadIndex(positions, tokenIndex), rotated,
                              d.index(q * shape.headDim));
        }
        // The last query sees the most slots; each query ignores the slots
        // past its own end.
        Value end = tile.back().end;
        auto visible = [&](int64_t q, Value slot) {
          return d.cmp(arith::CmpIPredicate::ult, slot, tile[q].end);
        };
        Value tid = d.threadId();
        Value threads = d.index(kAttentionThreads);
        Value keyBase = keyBaseOf(d, shape, layerBase, row, kvHead);
        Value valueBase = d.add(keyBase, d.index(shape.halfLayer()));
        float lowest = -std::numeric_limits<float>::infinity();
        ValueRange localMax = d.forLoop(
            d.add(first, tid), end, threads,
            SmallVector<Value>(queries, d.f32(lowest)),
            [&](Value slot, ValueRange acc) -> SmallVector<Value> {
              Value keyRow = d.add(keyBase, d.mul(slot, d.index(shape.headDim)));
              ValueRange dots = d.forLoop(
                  d.index(0), d.index(shape.headDim), d.index(1),
                  SmallVector<Value>(queries, d.f32(0)),
                  [&](Value j, ValueRange sums) -> SmallVector<Value> {
                    Value k = d.loadF32(cache, d.add(keyRow, j));
                    SmallVector<Value> next;
                    for (int64_t q = 0; q < queries; ++q) {
                      Value qj = memref::LoadOp::create(
                          kb, loc, rotated, d.add(d.index(q * shape.headDim), j));
                      next.push_back(math::FmaOp::create(kb, loc, qj, k, sums[q]));
                    }
                    return next;
                  });
              SmallVector<Value> next;
              for (int64_t q = 0; q < queries; ++q) {
                Value score = d.fmul(dots[q], scale);
                memref::StoreOp::create(
                    kb, loc, score, scores,
                    d.add(d.index(q * shape.cacheSeq), d.sub(slot, first)));
                next.push_back(arith::SelectOp::create(
                    kb, loc, visible(q, slot),
                    arith::MaximumFOp::create(kb, loc, acc[q], score), acc[q]));
              }
              return next;
            });
        SmallVector<Value> inverses;
        for (int64_t q = 0; q < queries; ++q) {
          Value max = d.blockReduce(localMax[q], Reduction::Max, scratch,
                                    kAttentionThreads);
          // A fully masked query's count is negative: no iterations.
          Value sum = exponentiateScores(d, scores, d.index(q * shape.cacheSeq),
                                         d.sub(tile[q].end, first), max, scratch);
          Value hasKeys = arith::CmpFOp::create(kb, loc, arith::CmpFPredicate::OGT,
                                                sum, d.f32(0));
          inverses.push_back(arith::SelectOp::create(
              kb, loc, hasKeys, arith::DivFOp::create(kb, loc, d.f32(1), sum),
              d.f32(0)));
        }
        d.forLoop(tid, d.index(shape.headDim), threads, [&](Value j) {
          ValueRange acc = d.forLoop(
              first, end, d.index(1), SmallVector<Value>(queries, d.f32(0)),
              [&](Value slot, ValueRange acc) -> SmallVector<Value> {
                Value v = d.loadF32(
                    cache, d.add(valueBase,
                                 d.add(d.mul(slot, d.index(shape.headDim)), j)));
                SmallVector<Value> next;
                for (int64_t q = 0; q < queries; ++q) {
                  Value p = memref::LoadOp::create(
                      kb, loc, scores,
                      d.add(d.index(q * shape.cacheSeq), d.sub(slot, first)));
                  next.push_back(arith::SelectOp::create(
                      kb, loc, visible(q, slot),
                      math::FmaOp::create(kb, loc, p, v, acc[q]), acc[q]));
                }
                return next;
              });
          for (int64_t q = 0; q < queries; ++q)
            d.ifThen(tile[q].valid, [&] {
              d.storeF32(d.fmul(acc[q], inverses[q]), out, d.add(tile[q].base, j));
            });
        });
      });
}

/// Passes over a chunk whose loads a decode attention lane has in flight.
constexpr int64_t kPassesInFlight = 4;

/// One pass of a decode attention block over a chunk: whether this lane's
/// slot is in the chunk, its offset there (0 when not) and where its cache
/// row starts.
struct Pass {
  Value valid, offset, rowStart;
};

/// How decode attention splits the cache and how a block's lanes read a
/// cache row (head_dim elements) with vector loads.
struct DecodeLayout {
  int64_t chunk;        ///< Most slots a block holds.
  int64_t splits;       ///< Chunks, interleaved over the cache.
  int64_t vectorLanes;  ///< Elements per load (16 bytes where they divide).
  int64_t rowLanes;     ///< Lanes sharing one row: a power of two, <= 32.
  int64_t loadsPerLane; ///< Vector loads each of them does per row.
  int64_t slotsPerPass() const { return kAttentionThreads / rowLanes; }

  DecodeLayout(const AttentionShape &shape, Type cacheType) {
    // About kDecodeSplits chunks of at least 32 slots: a 7B layer's 32 heads
    // then make 512 blocks at max_seq 2048, enough to fill an H100 at long
    // contexts, while short caches still split (and exercise the combine).
    constexpr int64_t kDecodeSplits = 16;
    int64_t perSplit = (shape.cacheSeq + kDecodeSplits - 1) / kDecodeSplits;
    chunk = std::max<int64_t>(32, (perSplit + 31) / 32 * 32);
    splits = (shape.cacheSeq + chunk - 1) / chunk;
    vectorLanes = gpu::vectorLanes(cacheType, shape.headDim);
    int64_t loadsPerRow = shape.headDim / vectorLanes;
    rowLanes = 1;
    while (rowLanes < 32 && loadsPerRow % (2 * rowLanes) == 0)
      rowLanes *= 2;
    loadsPerLane = loadsPerRow / rowLanes;
  }
};

/// out = sum_s w_s o_s / sum_s w_s l_s with w_s = exp(m_s - max m), over
/// the chunks of (head, row) `headIndex` that saw a slot (l_s > 0); a row
/// that saw none gets zeros. The block's threads share the head's columns.
void combineChunks(DeviceBuilder &d, const AttentionShape &shape,
                   const DecodeLayout &layout, Value partialOut, Value partialStats,
                   Value out, Value headIndex) {
  OpBuilder &kb = d.builder();
  Location loc = d.location();
  Value firstChunk = d.mul(headIndex, d.index(layout.splits));
  // Straight-line over the chunks (at most about kDecodeSplits) and the
  // thread's columns: every load, stats and outputs alike, is issued at
  // once, one memory latency, where loops re-read the stats of one chunk
  // after another. The sums run in chunk order, as a loop's would.
  struct Chunk {
    Value m, sum, seen, weight;
  };
  SmallVector<Chunk> chunks;
  for (int64_t split = 0; split < layout.splits; ++split) {
    Value at = d.mul(d.add(firstChunk, d.index(split)), d.index(2));
    Chunk chunk;
    chunk.m = memref::LoadOp::create(kb, loc, partialStats, at);
    chunk.sum = memref::LoadOp::create(kb, loc, partialStats, d.add(at, d.index(1)));
    chunks.push_back(chunk);
  }
  // Threads past the last column read column 0 and store nothing.
  struct Column {
    Value j, inRange;
    SmallVector<Value> parts;
  };
  SmallVector<Column> columns;
  for (int64_t c = 0; c * kAttentionThreads < shape.headDim; ++c) {
    Column &column = columns.emplace_back();
    column.j = d.add(d.threadId(), d.index(c * kAttentionThreads));
    column.inRange = d.cmp(arith::CmpIPredicate::ult, column.j, d.index(shape.headDim));
    Value read = arith::SelectOp::create(kb, loc, column.inRange, column.j, d.index(0));
    for (int64_t split = 0; split < layout.splits; ++split)
      column.parts.push_back(memref::LoadOp::create(
          kb, loc, partialOut,
          d.add(d.mul(d.add(firstChunk, d.index(split)), d.index(shape.headDim)), read)));
  }
  float lowest = -std::numeric_limits<float>::infinity();
  Value max = d.f32(lowest);
  for (Chunk &chunk : chunks) {
    chunk.seen = arith::CmpFOp::create(kb, loc, arith::CmpFPredicate::OGT, chunk.sum,
                                       d.f32(0));
    max = arith::SelectOp::create(kb, loc, chunk.seen,
                                  arith::MaximumFOp::create(kb, loc, max, chunk.m), max);
  }
  // exp(-inf - -inf) is NaN: chunks that saw nothing weigh 0 by select.
  Value total = d.f32(0);
  for (Chunk &chunk : chunks) {
    chunk.weight = arith::SelectOp::create(
        kb, loc, chunk.seen, math::ExpOp::create(kb, loc, d.fsub(chunk.m, max)),
        d.f32(0));
    total = arith::SelectOp::create(kb, loc, chunk.seen,
                                    d.fadd(total, d.fmul(chunk.weight, chunk.sum)), total);
  }
  Value hasKeys =
      arith::CmpFOp::create(kb, loc, arith::CmpFPredicate::OGT, total, d.f32(0));
  Value inverse = arith::SelectOp::create(
      kb, loc, hasKeys, arith::DivFOp::create(kb, loc, d.f32(1), total), d.f32(0));
  Value outBase = d.mul(headIndex, d.index(shape.headDim));
  for (const Column &column : columns) {
    Value acc = d.f32(0);
    for (auto [chunk, part] : llvm::zip(chunks, column.parts))
      acc = arith::SelectOp::create(kb, loc, chunk.seen,
                                    d.fadd(acc, d.fmul(chunk.weight, part)), acc);
    auto store = [&] { d.storeF32(d.fmul(acc, inverse), out, d.add(outBase, column.j)); };
    // Under a branch, LLVM sinks the loads of the parts into it, after the
    // exponentials: a second memory latency.
    if (shape.headDim % kAttentionThreads == 0)
      store();
    else
      d.ifThen(column.inRange, store);
  }
}

/// Whether this block is the last of (head, row) `headIndex`'s chunks to
/// finish, as CUDA's threadFenceReduction sample decides it: every thread
/// fences its partial stores, thread 0 counts the block's arrival in
/// `arrivals` after the barrier, and the last block returns the count to
/// zero for the next launch. That block must fence again before it reads
/// the other chunks' partials (no stale copies).
Value arrivesLast(DeviceBuilder &d, const DecodeLayout &layout, Value arrivals,
                  Value headIndex, Value flag) {
  OpBuilder &kb = d.builder();
  Location loc = d.location();
  d.gridFence();
  d.barrier();
  d.ifThen(d.cmp(arith::CmpIPredicate::eq, d.threadId(), d.index(0)), [&] {
    Value before = memref::AtomicRMWOp::create(kb, loc, arith::AtomicRMWKind::addi,
                                               d.i32(1), arrivals, headIndex);
    Value last = arith::CmpIOp::create(kb, loc, arith::CmpIPredicate::eq, before,
                                       d.i32(int32_t(layout.splits - 1)));
    memref::StoreOp::create(kb, loc, arith::ExtUIOp::create(kb, loc, kb.getI32Type(), last),
                            flag, d.index(0));
    d.ifThen(last, [&] {
      memref::StoreOp::create(kb, loc, d.i32(0), arrivals, headIndex);
    });
  });
  d.barrier();
  return arith::CmpIOp::create(kb, loc, arith::CmpIPredicate::ne,
                               memref::LoadOp::create(kb, loc, flag, d.index(0)),
                               d.i32(0));
}

/// Args: query, key, value (the new token's), positions, first_slot, cache,
/// partial outputs [B, H, S, d], partial stats [B, H, S, 2] (m, l), out,
/// layer base, scale. The block that finishes a (head, row)'s chunks last
/// combines them into out.
mlir::gpu::GPUFuncOp getDecodeSplitKernel(GPULowering &l,
                                          const AttentionShape &shape,
                                          const DecodeLayout &layout,
                                          memref::GlobalOp table) {
  OpBuilder &b = l.builder();
  Type f32 = b.getF32Type();
  Type f32Buffer = l.flatType(f32);
  Type i32Buffer = l.flatType(b.getI32Type());
  // One count per (row, head) of the cache's batch, shared by the layers:
  // they run one after another, and each leaves the counts at zero.
  memref::GlobalOp arrivalCounts = l.getOrCreateDeviceCounters(
      "attention_arrivals_h" + std::to_string(shape.numHeads) + "_b" +
          std::to_string(shape.cacheBatch),
      shape.cacheBatch * shape.numHeads);
  return l.getOrCreateKernel(
      "attention_split_" + shape.suffix(l) + "_c" + std::to_string(layout.chunk),
      {f32Buffer, f32Buffer, f32Buffer, i32Buffer, i32Buffer,
       l.flatType(l.cacheType()), f32Buffer, f32Buffer, f32Buffer, b.getIndexType(),
       f32},
      {l.sharedType(f32, shape.headDim), l.sharedType(f32, layout.chunk),
       l.sharedType(f32, layout.slotsPerPass() * shape.headDim),
       l.sharedType(f32, kAttentionThreads / kWarpSize),
       l.sharedType(b.getI32Type(), 1), l.sharedType(f32, 2 * shape.headDim)},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        OpBuilder &kb = d.builder();
        Location loc = d.location();
        Value query = f.getArgument(0), key = f.getArgument(1),
              value = f.getArgument(2), positions = f.getArgument(3),
              firstSlot = f.getArgument(4), cache = f.getArgument(5),
              partialOut = f.getArgument(6), partialStats = f.getArgument(7),
              out = f.getArgument(8), layerBase = f.getArgument(9),
              scale = f.getArgument(10);
        Value rotated = f.getWorkgroupAttributions()[0];
        Value scores = f.getWorkgroupAttributions()[1];
        Value partialShared = f.getWorkgroupAttributions()[2];
        Value scratch = f.getWorkgroupAttributions()[3];
        Value lastFlag = f.getWorkgroupAttributions()[4];
        Value newRow = f.getWorkgroupAttributions()[5];
        // Host-written for the call, and the cache's slots but the new one
        // (see the first passes' loads): read before the wait.
        for (Value invariant : {positions, firstSlot, cache})
          f.setArgAttr(cast<BlockArgument>(invariant).getArgNumber(),
                       llama::kInvariantArgAttr, kb.getUnitAttr());
        int64_t headDim = shape.headDim;
        Value split = d.blockId(mlir::gpu::Dimension::x);
        Value head = d.blockId(mlir::gpu::Dimension::y);
        Value row = d.blockId(mlir::gpu::Dimension::z);
        Value kvHead = d.div(head, d.index(shape.numHeads / shape.numKVHeads));
        Value position = d.loadIndex(positions, row);
        Value first = d.loadIndex(firstSlot, row);
        Value end = d.add(d.add(first, position), d.index(1));
        // The chunk's visible slots: chunkBegin + i * splits for i < count.
        Value splits = d.index(layout.splits);
        Value chunkBegin = d.add(first, split);
        Value count = arith::SelectOp::create(
            kb, loc, d.cmp(arith::CmpIPredicate::ult, chunkBegin, end),
            d.div(d.add(d.sub(end, chunkBegin), d.index(layout.splits - 1)), splits),
            d.index(0));
        Value queryBase = d.mul(d.add(d.mul(row, d.index(shape.numHeads)), head),
                                d.index(headDim));
        Value keyBase = keyBaseOf(d, shape, layerBase, row, kvHead);
        Value valueBase = d.add(keyBase, d.index(shape.halfLayer()));
        Value tid = d.threadId();
        Value rowLane = arith::RemUIOp::create(kb, loc, tid, d.index(layout.rowLanes));
        Value slotOffset = d.div(tid, d.index(layout.rowLanes));
        // The row elements this lane reads: load c covers `lanes` elements
        // from columns[c].
        int64_t lanes = layout.vectorLanes;
        SmallVector<Value> columns;
        for (int64_t c = 0; c < layout.loadsPerLane; ++c)
          columns.push_back(d.mul(d.add(rowLane, d.index(c * layout.rowLanes)),
                                  d.index(lanes)));
        auto vectorType = VectorType::get({lanes}, f32);
        Value slotsPerPass = d.index(layout.slotsPerPass());
        // Every lane runs every pass (the shuffles need all of them); lanes
        // past the chunk read the row's first visible slot and discard it.
        auto slotOfPass = [&](Value base) {
          Value offset = d.add(base, slotOffset);
          Value valid = d.cmp(arith::CmpIPredicate::ult, offset, count);
          Value clamped = arith::SelectOp::create(kb, loc, valid, offset, d.index(0));
          Value slot = arith::SelectOp::create(
              kb, loc, valid, d.add(chunkBegin, d.mul(offset, splits)), first);
          return Pass{valid, clamped, d.mul(slot, d.index(headDim))};
        };
        Value zeroVector = arith::ConstantOp::create(
            kb, loc, DenseElementsAttr::get(vectorType, kb.getF32FloatAttr(0)));

        // Each iteration runs kPassesInFlight passes and issues all their
        // loads before the first use: one cache row per pass is a dependent
        // memory latency, and a 128-slot chunk is 16 passes. Passes past the
        // chunk read a row and discard it, like lanes past it; each slot's
        // score and each lane's sum come out as in one pass at a time.
        Value passes = d.index(layout.slotsPerPass() * kPassesInFlight);
        auto passesAt = [&](Value base) {
          SmallVector<Pass> found;
          for (int64_t pass = 0; pass < kPassesInFlight; ++pass)
            found.push_back(slotOfPass(
                d.add(base, d.index(pass * layout.slotsPerPass()))));
          return found;
        };
        // Every pass's `columns` of the rows at `base` (keys or values).
        auto loadRows = [&](Value base, ArrayRef<Pass> found) {
          SmallVector<SmallVector<Value>> rows;
          for (const Pass &pass : found) {
            SmallVector<Value> &parts = rows.emplace_back();
            for (Value column : columns)
              parts.push_back(d.loadVectorF32(
                  cache, d.add(base, d.add(pass.rowStart, column)), lanes));
          }
          return rows;
        };
        // The first passes' keys and values, before anything that reads
        // what the kernels before this one write: lmc-gpu-dependent-launch
        // waits for the q/k/v projection after these loads, so they are in
        // flight while it finishes. No kernel of a decode call writes this
        // layer's cache but this one, and it writes only the new slot,
        // whose row the block that writes it takes from shared memory.
        SmallVector<Pass> firstPasses = passesAt(d.index(0));
        auto firstKeys = loadRows(keyBase, firstPasses);
        auto firstValues = loadRows(valueBase, firstPasses);

        // The chunk that holds the new slot (first + position) writes its
        // key and value, no separate launch before: no other chunk reads
        // that slot. Under GQA the chunk of every query head of the group
        // writes the same row. The query's barrier publishes the writes.
        Value owner = d.cmp(arith::CmpIPredicate::eq,
                            arith::RemUIOp::create(kb, loc, position, splits), split);
        d.ifThen(owner, [&] {
          Value source = d.mul(d.add(d.mul(row, d.index(shape.numKVHeads)), kvHead),
                               d.index(headDim));
          Value rowStart = d.add(keyBase, d.mul(d.sub(end, d.index(1)),
                                                d.index(headDim)));
          writeNewKeyValue(d, shape, table, key, value, source, position, cache,
                           rowStart, tid, kAttentionThreads, newRow);
        });
        rotateQueryToShared(d, shape, table, query, queryBase, position, rotated,
                            d.index(0));
        SmallVector<Value> queryParts;
        for (Value column : columns)
          queryParts.push_back(vector::LoadOp::create(kb, loc, vectorType,
                                                      rotated, column));
        // The first passes' rows with the new slot's from shared memory: the
        // prefetched copy was loaded before the owner wrote it. `copyStart`:
        // the key's or the value's place in the copy.
        Value newest = d.sub(count, d.index(1));
        SmallVector<Value> isNewSlot;
        for (const Pass &pass : firstPasses)
          isNewSlot.push_back(arith::AndIOp::create(
              kb, loc, owner,
              arith::AndIOp::create(
                  kb, loc, pass.valid,
                  d.cmp(arith::CmpIPredicate::eq, pass.offset, newest))));
        auto withNewSlot = [&](SmallVector<SmallVector<Value>> rows, int64_t copyStart) {
          SmallVector<Value> written;
          for (Value column : columns)
            written.push_back(vector::LoadOp::create(
                kb, loc, vectorType, newRow, ValueRange{d.add(d.index(copyStart), column)}));
          for (auto [isNew, parts] : llvm::zip(isNewSlot, rows))
            for (auto [part, fresh] : llvm::zip(parts, written))
              part = arith::SelectOp::create(kb, loc, isNew, fresh, part);
          return rows;
        };
        firstKeys = withNewSlot(firstKeys, 0);
        firstValues = withNewSlot(firstValues, headDim);

        // The scores of the passes' keys into shared memory; returns the
        // running maximum.
        auto scoreKeys = [&](ArrayRef<Pass> found,
                             ArrayRef<SmallVector<Value>> keys, Value runningMax) {
          for (auto [pass, keyParts] : llvm::zip(found, keys)) {
            Value products = zeroVector;
            for (auto [part, key] : llvm::zip(queryParts, keyParts))
              products = vector::FMAOp::create(kb, loc, part, key, products);
            Value partial = vector::ReductionOp::create(
                kb, loc, vector::CombiningKind::ADD, products);
            Value score = d.fmul(
                d.warpReduce(partial, Reduction::Sum, layout.rowLanes), scale);
            Value writer = arith::AndIOp::create(
                kb, loc, pass.valid,
                d.cmp(arith::CmpIPredicate::eq, rowLane, d.index(0)));
            d.ifThen(writer, [&] {
              memref::StoreOp::create(kb, loc, score, scores, pass.offset);
            });
            Value larger = arith::MaximumFOp::create(kb, loc, runningMax, score);
            runningMax =
                arith::SelectOp::create(kb, loc, pass.valid, larger, runningMax);
          }
          return runningMax;
        };
        float lowest = -std::numeric_limits<float>::infinity();
        Value localMax = d.forLoop(
            passes, count, passes,
            {scoreKeys(firstPasses, firstKeys, d.f32(lowest))},
            [&](Value base, ValueRange acc) -> SmallVector<Value> {
              auto found = passesAt(base);
              return {scoreKeys(found, loadRows(keyBase, found), acc[0])};
            })[0];
        // Its barriers also publish the scores.
        Value max = d.blockReduce(localMax, Reduction::Max, scratch,
                                  kAttentionThreads);
        Value sum = exponentiateScores(d, scores, d.index(0), count, max, scratch);

        // The passes' probability-weighted values added to `sums`.
        auto weighValues = [&](ArrayRef<Pass> found,
                               ArrayRef<SmallVector<Value>> values, ValueRange acc) {
          SmallVector<Value> sums(acc.begin(), acc.end());
          for (auto [pass, valueParts] : llvm::zip(found, values)) {
            Value p = arith::SelectOp::create(
                kb, loc, pass.valid,
                memref::LoadOp::create(kb, loc, scores, pass.offset), d.f32(0));
            Value pVector = vector::BroadcastOp::create(kb, loc, vectorType, p);
            for (auto [sumSoFar, value] : llvm::zip(sums, valueParts))
              sumSoFar = vector::FMAOp::create(kb, loc, pVector, value, sumSoFar);
          }
          return sums;
        };
        SmallVector<Value> init(layout.loadsPerLane, zeroVector);
        ValueRange weighted = d.forLoop(
            passes, count, passes, weighValues(firstPasses, firstValues, init),
            [&](Value base, ValueRange acc) -> SmallVector<Value> {
              auto found = passesAt(base);
              return weighValues(found, loadRows(valueBase, found), acc);
            });
        // Lanes of one slot offset own disjoint columns; the slot offsets
        // are summed in a fixed order through shared memory.
        Value sharedRow = d.mul(slotOffset, d.index(headDim));
        for (auto [part, column] : llvm::zip(weighted, columns))
          vector::StoreOp::create(kb, loc, part, partialShared,
                                  ValueRange{d.add(sharedRow, column)});
        d.barrier();
        Value headIndex = d.add(d.mul(row, d.index(shape.numHeads)), head);
        Value chunkIndex = d.add(d.mul(headIndex, d.index(layout.splits)), split);
        d.forLoop(tid, d.index(headDim), d.index(kAttentionThreads), [&](Value j) {
          Value total = d.forLoop(
              d.index(0), slotsPerPass, d.index(1), {d.f32(0)},
              [&](Value g, ValueRange acc) -> SmallVector<Value> {
                Value part = memref::LoadOp::create(
                    kb, loc, partialShared, d.add(d.mul(g, d.index(headDim)), j));
                return {d.fadd(acc[0], part)};
              })[0];
          memref::StoreOp::create(
              kb, loc, total, partialOut,
              d.add(d.mul(chunkIndex, d.index(headDim)), j));
        });
        d.ifThen(d.cmp(arith::CmpIPredicate::eq, tid, d.index(0)), [&] {
          Value statsAt = d.mul(chunkIndex, d.index(2));
          memref::StoreOp::create(kb, loc, max, partialStats, statsAt);
          memref::StoreOp::create(kb, loc, sum, partialStats,
                                  d.add(statsAt, d.index(1)));
        });
        Value arrivals = memref::GetGlobalOp::create(
            kb, loc, arrivalCounts.getType(), arrivalCounts.getSymName());
        d.ifThen(arrivesLast(d, layout, arrivals, headIndex, lastFlag), [&] {
          d.gridFence();
          combineChunks(d, shape, layout, partialOut, partialStats, out, headIndex);
        });
      });
}

AttentionShape shapeOf(llama::AttentionOp op) {
  auto cacheType = cast<MemRefType>(op.getCache().getType());
  return AttentionShape{static_cast<int64_t>(op.getNumHeads()),
                        static_cast<int64_t>(op.getNumKvHeads()),
                        static_cast<int64_t>(op.getHeadDim()),
                        cacheType.getDimSize(2),
                        cacheType.getDimSize(4),
                        op.getPositions().getType().getDimSize(1) == 1};
}

/// The rotary inverse frequencies of `op` as a device table, named by the
/// exact bits of theta and scale: distinct tables never share a name.
memref::GlobalOp ropeTable(GPULowering &l, llama::AttentionOp op) {
  int64_t headDim = op.getHeadDim();
  double theta = op.getRopeTheta().convertToDouble();
  double scale = op.getRopeScale().convertToDouble();
  std::string name =
      llvm::formatv("rope_inv_freq_d{0}_{1:x16}_{2:x16}", headDim,
                    llvm::bit_cast<uint64_t>(theta), llvm::bit_cast<uint64_t>(scale));
  return l.getOrCreateDeviceTable(name, inverseFrequencies(headDim, theta, scale));
}

/// Where layer `op.getLayer()` starts in the flat cache.
Value layerBaseOf(GPULowering &l, Location loc, llama::AttentionOp op) {
  return l.index(loc, 2 * static_cast<int64_t>(op.getLayer()) * shapeOf(op).halfLayer());
}

} // namespace

Operation *attentionRotatedByProjection(GPULowering &l, ValueRange projections) {
  if (!l.options().foldPrefillRope || projections.size() != 3 ||
      !llvm::all_of(projections, [](Value v) { return v.hasOneUse(); }))
    return nullptr;
  auto op = dyn_cast<llama::AttentionOp>(*projections[0].getUsers().begin());
  if (!op || op.getQuery() != projections[0] || op.getKey() != projections[1] ||
      op.getValue() != projections[2])
    return nullptr;
  AttentionShape shape = shapeOf(op);
  return !shape.decode && flashAttentionApplies(l, shape) ? op : nullptr;
}

RotaryEpilogue rotaryEpilogueOf(GPULowering &l, Location loc, Operation *attention) {
  auto op = cast<llama::AttentionOp>(attention);
  AttentionShape shape = shapeOf(op);
  Value positions = l.bufferOf(op.getPositions());
  Value rows = l.dim(loc, positions, 0), tokens = l.dim(loc, positions, 1);
  memref::GlobalOp table = ropeTable(l, op);
  // Every layer rotates at the same positions with the same frequencies:
  // the first computes the angles' cosines and sines for all of them, at the
  // function's location (the work is the prefill's, not a layer's).
  Value &angles = l.rotaryAngles(table.getSymName());
  if (!angles) {
    Location functionLoc = l.builder().getInsertionBlock()->getParentOp()->getLoc();
    int64_t half = shape.headDim / 2;
    auto anglesType = MemRefType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic, half, 2}, l.builder().getF32Type());
    angles = l.flatten(functionLoc,
                       l.allocateScratch(functionLoc, anglesType, {rows, tokens}));
    auto kernel = l.getOrCreateKernel(
        ("rope_angles_d" + std::to_string(shape.headDim) + "_" + table.getSymName()).str(),
        {l.flatType(l.builder().getI32Type()), angles.getType()}, {},
        [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
          Value tableRef = memref::GetGlobalOp::create(d.builder(), d.location(),
                                                       table.getType(), table.getSymName());
          Value token = d.blockId(mlir::gpu::Dimension::x);
          Value i = d.threadId();
          auto [cos, sin] =
              cosSinAt(d, tableRef, d.loadIndex(f.getArgument(0), token), i);
          Value at = d.mul(d.add(d.mul(token, d.index(half)), i), d.index(2));
          d.storeF32(cos, f.getArgument(1), at);
          d.storeF32(sin, f.getArgument(1), d.add(at, d.index(1)));
        });
    Value one = l.index(functionLoc, 1);
    Value rowsTokens = arith::MulIOp::create(l.builder(), functionLoc, rows, tokens);
    l.launch(functionLoc, kernel, {rowsTokens, one, one}, half,
             {l.flatten(functionLoc, positions), angles});
  }
  return RotaryEpilogue{shape, angles, l.cache(loc, op.getCache()), op.getStart(),
                        tokens, layerBaseOf(l, loc, op)};
}

bool rotatedBeforeFlashAttention(GPULowering &l, OpOperand &use) {
  auto op = dyn_cast<llama::AttentionOp>(use.getOwner());
  if (!op || (use.get() != op.getQuery() && use.get() != op.getKey() &&
              use.get() != op.getValue()))
    return false;
  AttentionShape shape = shapeOf(op);
  return !shape.decode && flashAttentionApplies(l, shape);
}

LogicalResult lowerAttention(llama::AttentionOp op, GPULowering &l) {
  OpBuilder &b = l.builder();
  Location loc = op.getLoc();
  AttentionShape shape = shapeOf(op);
  // The SIMT prefill kernel keeps a score per slot in shared memory.
  bool flash = !shape.decode && flashAttentionApplies(l, shape);
  if (!shape.decode && !flash && prefillSharedBytes(shape, 1) > kStaticSharedBytes)
    return op.emitOpError() << "max_seq " << shape.cacheSeq
                            << " needs more than the 48 KiB of shared memory "
                               "the CUDA attention kernel can use";
  if (shape.headDim % 2 != 0 || shape.headDim / 2 > 1024)
    return op.emitOpError("head_dim must be even and at most 2048 on CUDA");

  memref::GlobalOp table = ropeTable(l, op);

  Value query = l.bufferOf(op.getQuery());
  Value key = l.bufferOf(op.getKey());
  Value value = l.bufferOf(op.getValue());
  Value positions = l.bufferOf(op.getPositions());
  Value firstSlot = l.bufferOf(op.getFirstSlot());
  Value cache = l.cache(loc, op.getCache());
  // Decode's combine writes float32 (its result feeds a matrix-vector
  // kernel, so activationType is float32 there).
  Value result = l.allocate(loc, op.getResult(), query,
                            activationType(l, op.getResult()));

  Value rows = l.dim(loc, positions, 0);
  Value tokens = l.dim(loc, positions, 1);
  Value layerBase = layerBaseOf(l, loc, op);
  Value start = op.getStart();
  Value flatPositions = l.flatten(loc, positions);
  Value flatFirstSlot = l.flatten(loc, firstSlot);

  Value scale = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(op.getScale().convertToFloat()));
  Value heads = l.index(loc, shape.numHeads);
  if (!shape.decode) {
    // rope_kv, or rope_qkv with `queryArgs` (the queries, their rotated copy).
    auto launchRope = [&](bool rotateQueries, ArrayRef<Value> queryArgs) {
      SmallVector<Value> args = {l.flatten(loc, key), l.flatten(loc, value), flatPositions,
                                 cache, start, tokens, layerBase};
      llvm::append_range(args, queryArgs);
      int64_t ropeHeads = ropeHeadsPerBlock(shape);
      l.launch(loc, getRopeKVKernel(l, shape, table, rotateQueries, elementType(key)),
               {tokens, l.index(loc, shape.numKVHeads / ropeHeads), rows},
               ropeHeads * shape.headDim / 2, args);
    };
    if (flash) {
      // The tensor-core attention reads its queries rotated and rounded:
      // by the q/k/v GEMM's epilogue, or else by rope_qkv.
      Value rotated = l.rotatedQueries(op);
      if (rotated) {
        rotated = l.flatten(loc, rotated);
      } else {
        auto rotatedType = MemRefType::get(
            {ShapedType::kDynamic, ShapedType::kDynamic, shape.numHeads, shape.headDim},
            l.cacheType());
        rotated = l.flatten(loc, l.allocateScratch(loc, rotatedType, {rows, tokens}));
        launchRope(/*rotateQueries=*/true, {l.flatten(loc, query), rotated});
      }
      l.launch(loc, getFlashAttentionKernel(l, shape, elementType(result)),
               {l.ceilDiv(loc, tokens, kFlashQueries), heads, rows}, kFlashThreads,
               {rotated, flatFirstSlot, cache, l.flatten(loc, result), start, tokens,
                layerBase, scale});
    } else {
      launchRope(/*rotateQueries=*/false, {});
      l.launch(loc, getAttentionKernel(l, shape, table, elementType(result)),
               {l.ceilDiv(loc, tokens, queriesPerBlock(shape)), heads, rows},
               kAttentionThreads,
               {l.flatten(loc, query), flatPositions, flatFirstSlot, cache,
                l.flatten(loc, result), start, tokens, layerBase, scale});
    }
    l.setBuffer(op.getResult(), result);
    return success();
  }
  DecodeLayout layout(shape, l.cacheType());
  auto scratchType = [&](int64_t inner) {
    return MemRefType::get(
        {ShapedType::kDynamic, shape.numHeads, layout.splits, inner},
        b.getF32Type());
  };
  Value partialOut = l.allocateScratch(loc, scratchType(shape.headDim), rows);
  Value partialStats = l.allocateScratch(loc, scratchType(2), rows);
  Value flatPartialOut = l.flatten(loc, partialOut);
  Value flatPartialStats = l.flatten(loc, partialStats);
  l.launch(loc, getDecodeSplitKernel(l, shape, layout, table),
           {l.index(loc, layout.splits), heads, rows}, kAttentionThreads,
           {l.flatten(loc, query), l.flatten(loc, key), l.flatten(loc, value),
            flatPositions, flatFirstSlot, cache, flatPartialOut, flatPartialStats,
            l.flatten(loc, result), layerBase, scale});
  l.setBuffer(op.getResult(), result);
  return success();
}

} // namespace llamac::gpu
