//===- AttentionOpLowering.cpp - rotary embedding, KV cache, attention ----===//
//
// llama.attention becomes two kernels on the stream:
//
//  * rope_kv: one block per (token, kv head, row); thread i rotates the pair
//    (i, i + d/2) of the key and stores key and value into the cache slot.
//    A separate launch, because every query block of the next kernel reads
//    the slots of all earlier tokens.
//  * attention: one block per (token, head, row). The rotated query sits in
//    shared memory; the threads stride over the visible slots
//    [first_slot[b], slot(t)] computing scaled scores into shared memory,
//    block-reduce the maximum and the exponential sum, and then each thread
//    owns output dimensions and sums probability-weighted values. Fully
//    masked (left-pad) queries produce zeros.
//
// A token's cache slot is start + t in prefill. In decode (one token per
// row, static shape) it is first_slot[b] + positions[b] instead, the
// invariant of the runtime's left-padded batches: the step then reads no
// scalar that changes per token, so a CUDA graph of it can be replayed.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace llamac::gpu {
namespace {

constexpr int64_t kAttentionThreads = 128;

/// What both kernels need to know about the cache and the heads.
struct AttentionShape {
  int64_t numHeads, numKVHeads, headDim;
  int64_t cacheBatch, cacheSeq; ///< max_batch, max_seq of the cache.
  bool decode;                  ///< Slots from positions (see above).

  std::string suffix(GPULowering &l) const {
    return typeName(l.computeType()) + "_h" + std::to_string(numHeads) + "_kv" +
           std::to_string(numKVHeads) + "_d" + std::to_string(headDim) + "_s" +
           std::to_string(cacheSeq) + "_b" + std::to_string(cacheBatch) +
           (decode ? "_decode" : "_prefill");
  }
  /// Elements of one half (keys or values) of one layer of the cache.
  int64_t halfLayer() const { return cacheBatch * numKVHeads * cacheSeq * headDim; }
};

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

/// The cache slot token `t` of row `b` writes and the last slot its query
/// sees.
Value tokenSlot(DeviceBuilder &d, const AttentionShape &shape, Value positions,
                Value firstSlot, Value start, Value row, Value token,
                Value tokens) {
  if (shape.decode)
    return d.add(d.loadIndex(firstSlot, row),
                 d.loadIndex(positions, d.add(d.mul(row, tokens), token)));
  return d.add(start, token);
}

/// (x1 cos - x2 sin, x2 cos + x1 sin) for the pair (i, i + d/2) at
/// `position`.
std::pair<Value, Value> rotate(DeviceBuilder &d, Value table, Value position,
                               Value i, Value x1, Value x2) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value position32 = arith::IndexCastOp::create(b, loc, b.getI32Type(), position);
  Value angle = d.fmul(arith::SIToFPOp::create(b, loc, b.getF32Type(), position32),
                       memref::LoadOp::create(b, loc, table, i));
  Value cos = math::CosOp::create(b, loc, angle);
  Value sin = math::SinOp::create(b, loc, angle);
  return {d.fsub(d.fmul(x1, cos), d.fmul(x2, sin)),
          d.fadd(d.fmul(x2, cos), d.fmul(x1, sin))};
}

/// Args: key, value, positions, first_slot, cache, start, tokens, layer base.
mlir::gpu::GPUFuncOp getRopeKVKernel(GPULowering &l, const AttentionShape &shape,
                                     memref::GlobalOp table) {
  OpBuilder &b = l.builder();
  Type f32Buffer = l.flatType(b.getF32Type());
  Type i32Buffer = l.flatType(b.getI32Type());
  Type index = b.getIndexType();
  return l.getOrCreateKernel(
      "rope_kv_" + shape.suffix(l),
      {f32Buffer, f32Buffer, i32Buffer, i32Buffer, l.flatType(l.cacheType()),
       index, index, index},
      {}, [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        Value key = f.getArgument(0), value = f.getArgument(1),
              positions = f.getArgument(2), firstSlot = f.getArgument(3),
              cache = f.getArgument(4), start = f.getArgument(5),
              tokens = f.getArgument(6), layerBase = f.getArgument(7);
        int64_t half = shape.headDim / 2;
        Value token = d.blockId(mlir::gpu::Dimension::x);
        Value head = d.blockId(mlir::gpu::Dimension::y);
        Value row = d.blockId(mlir::gpu::Dimension::z);
        Value i = d.threadId();
        Value tokenIndex = d.add(d.mul(row, tokens), token);
        Value position = d.loadIndex(positions, tokenIndex);
        Value slot =
            tokenSlot(d, shape, positions, firstSlot, start, row, token, tokens);
        Value source = d.mul(d.add(d.mul(tokenIndex, d.index(shape.numKVHeads)), head),
                             d.index(shape.headDim));
        Value headInCache = d.add(d.mul(row, d.index(shape.numKVHeads)), head);
        Value target = d.add(
            layerBase,
            d.mul(d.add(d.mul(headInCache, d.index(shape.cacheSeq)), slot),
                  d.index(shape.headDim)));
        Value valueTarget = d.add(target, d.index(shape.halfLayer()));
        Value first = d.add(source, i);
        Value second = d.add(first, d.index(half));
        Value tableRef = memref::GetGlobalOp::create(
            d.builder(), d.location(), table.getType(), table.getSymName());
        auto [k1, k2] = rotate(d, tableRef, position, i, d.loadF32(key, first),
                               d.loadF32(key, second));
        d.storeF32(k1, cache, d.add(target, i));
        d.storeF32(k2, cache, d.add(target, d.add(i, d.index(half))));
        d.storeF32(d.loadF32(value, first), cache, d.add(valueTarget, i));
        d.storeF32(d.loadF32(value, second), cache,
                   d.add(valueTarget, d.add(i, d.index(half))));
      });
}

/// Args: query, positions, first_slot, cache, out, start, tokens, layer base,
/// scale.
mlir::gpu::GPUFuncOp getAttentionKernel(GPULowering &l,
                                        const AttentionShape &shape,
                                        memref::GlobalOp table) {
  OpBuilder &b = l.builder();
  Type f32 = b.getF32Type();
  Type f32Buffer = l.flatType(f32);
  Type i32Buffer = l.flatType(b.getI32Type());
  Type index = b.getIndexType();
  return l.getOrCreateKernel(
      "attention_" + shape.suffix(l),
      {f32Buffer, i32Buffer, i32Buffer, l.flatType(l.cacheType()), f32Buffer,
       index, index, index, f32},
      {l.sharedType(f32, shape.headDim), l.sharedType(f32, shape.cacheSeq),
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
        int64_t half = shape.headDim / 2;
        Value token = d.blockId(mlir::gpu::Dimension::x);
        Value head = d.blockId(mlir::gpu::Dimension::y);
        Value row = d.blockId(mlir::gpu::Dimension::z);
        Value kvHead = d.div(head, d.index(shape.numHeads / shape.numKVHeads));
        Value tokenIndex = d.add(d.mul(row, tokens), token);
        Value position = d.loadIndex(positions, tokenIndex);
        Value first = d.loadIndex(firstSlot, row);
        Value last =
            tokenSlot(d, shape, positions, firstSlot, start, row, token, tokens);
        Value end = d.add(last, d.index(1));
        Value queryBase =
            d.mul(d.add(d.mul(tokenIndex, d.index(shape.numHeads)), head),
                  d.index(shape.headDim));
        Value tid = d.threadId();
        Value threads = d.index(kAttentionThreads);

        Value tableRef = memref::GetGlobalOp::create(kb, loc, table.getType(),
                                                     table.getSymName());
        d.forLoop(tid, d.index(half), threads, [&](Value i) {
          Value x1 = d.loadF32(query, d.add(queryBase, i));
          Value x2 = d.loadF32(query, d.add(queryBase, d.add(i, d.index(half))));
          auto [y1, y2] = rotate(d, tableRef, position, i, x1, x2);
          memref::StoreOp::create(kb, loc, y1, rotated, i);
          memref::StoreOp::create(kb, loc, y2, rotated, d.add(i, d.index(half)));
        });
        d.barrier();

        Value headInCache = d.add(d.mul(row, d.index(shape.numKVHeads)), kvHead);
        Value keyBase = d.add(layerBase, d.mul(headInCache,
                                               d.index(shape.cacheSeq * shape.headDim)));
        Value valueBase = d.add(keyBase, d.index(shape.halfLayer()));
        float lowest = -std::numeric_limits<float>::infinity();
        Value localMax = d.forLoop(
            d.add(first, tid), end, threads, {d.f32(lowest)},
            [&](Value slot, ValueRange acc) -> SmallVector<Value> {
              Value keyRow = d.add(keyBase, d.mul(slot, d.index(shape.headDim)));
              Value dot = d.forLoop(
                  d.index(0), d.index(shape.headDim), d.index(1), {d.f32(0)},
                  [&](Value j, ValueRange sum) -> SmallVector<Value> {
                    Value q = memref::LoadOp::create(kb, loc, rotated, j);
                    Value k = d.loadF32(cache, d.add(keyRow, j));
                    return {math::FmaOp::create(kb, loc, q, k, sum[0])};
                  })[0];
              Value score = d.fmul(dot, scale);
              memref::StoreOp::create(kb, loc, score, scores, d.sub(slot, first));
              return {arith::MaximumFOp::create(kb, loc, acc[0], score)};
            })[0];
        Value max = d.blockReduce(localMax, Reduction::Max, scratch,
                                  kAttentionThreads);
        Value localSum = d.forLoop(
            d.add(first, tid), end, threads, {d.f32(0)},
            [&](Value slot, ValueRange acc) -> SmallVector<Value> {
              Value offset = d.sub(slot, first);
              Value score = memref::LoadOp::create(kb, loc, scores, offset);
              Value p = math::ExpOp::create(kb, loc, d.fsub(score, max));
              memref::StoreOp::create(kb, loc, p, scores, offset);
              return {d.fadd(acc[0], p)};
            })[0];
        // Its barriers also publish the probabilities to every thread.
        Value sum = d.blockReduce(localSum, Reduction::Sum, scratch,
                                  kAttentionThreads);
        Value hasKeys = arith::CmpFOp::create(kb, loc, arith::CmpFPredicate::OGT,
                                              sum, d.f32(0));
        Value inverse = arith::SelectOp::create(
            kb, loc, hasKeys, arith::DivFOp::create(kb, loc, d.f32(1), sum),
            d.f32(0));
        d.forLoop(tid, d.index(shape.headDim), threads, [&](Value j) {
          Value acc = d.forLoop(
              first, end, d.index(1), {d.f32(0)},
              [&](Value slot, ValueRange acc) -> SmallVector<Value> {
                Value p = memref::LoadOp::create(kb, loc, scores, d.sub(slot, first));
                Value v = d.loadF32(
                    cache, d.add(valueBase,
                                 d.add(d.mul(slot, d.index(shape.headDim)), j)));
                return {math::FmaOp::create(kb, loc, p, v, acc[0])};
              })[0];
          d.storeF32(d.fmul(acc, inverse), out, d.add(queryBase, j));
        });
      });
}

} // namespace

LogicalResult lowerAttention(llama::AttentionOp op, GPULowering &l) {
  OpBuilder &b = l.builder();
  Location loc = op.getLoc();
  auto cacheType = cast<MemRefType>(op.getCache().getType());
  auto positionsType = op.getPositions().getType();
  AttentionShape shape{static_cast<int64_t>(op.getNumHeads()),
                       static_cast<int64_t>(op.getNumKvHeads()),
                       static_cast<int64_t>(op.getHeadDim()),
                       cacheType.getDimSize(2),
                       cacheType.getDimSize(4),
                       positionsType.getDimSize(1) == 1};
  int64_t sharedBytes =
      4 * (shape.headDim + shape.cacheSeq + kAttentionThreads / kWarpSize);
  if (sharedBytes > 48 * 1024)
    return op.emitOpError() << "max_seq " << shape.cacheSeq
                            << " needs more than the 48 KiB of shared memory "
                               "the CUDA attention kernel can use";
  if (shape.headDim % 2 != 0 || shape.headDim / 2 > 1024)
    return op.emitOpError("head_dim must be even and at most 2048 on CUDA");

  SmallVector<float> frequencies =
      inverseFrequencies(shape.headDim, op.getRopeTheta().convertToDouble(),
                         op.getRopeScale().convertToDouble());
  // Named by the exact bits of theta and scale: distinct tables never share
  // a name.
  std::string tableName = llvm::formatv(
      "rope_inv_freq_d{0}_{1:x16}_{2:x16}", shape.headDim,
      llvm::bit_cast<uint64_t>(op.getRopeTheta().convertToDouble()),
      llvm::bit_cast<uint64_t>(op.getRopeScale().convertToDouble()));
  memref::GlobalOp table = l.getOrCreateDeviceTable(tableName, frequencies);

  Value query = l.bufferOf(op.getQuery());
  Value key = l.bufferOf(op.getKey());
  Value value = l.bufferOf(op.getValue());
  Value positions = l.bufferOf(op.getPositions());
  Value firstSlot = l.bufferOf(op.getFirstSlot());
  Value cache = l.cache(loc, op.getCache());
  Value result = l.allocate(loc, op.getResult(), query);

  Value rows = l.dim(loc, positions, 0);
  Value tokens = l.dim(loc, positions, 1);
  Value layerBase = l.index(loc, 2 * static_cast<int64_t>(op.getLayer()) *
                                     shape.halfLayer());
  Value start = op.getStart();
  Value flatPositions = l.flatten(loc, positions);
  Value flatFirstSlot = l.flatten(loc, firstSlot);

  l.launch(loc, getRopeKVKernel(l, shape, table),
           {tokens, l.index(loc, shape.numKVHeads), rows}, shape.headDim / 2,
           {l.flatten(loc, key), l.flatten(loc, value), flatPositions,
            flatFirstSlot, cache, start, tokens, layerBase});
  Value scale = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(op.getScale().convertToFloat()));
  l.launch(loc, getAttentionKernel(l, shape, table),
           {tokens, l.index(loc, shape.numHeads), rows}, kAttentionThreads,
           {l.flatten(loc, query), flatPositions, flatFirstSlot, cache,
            l.flatten(loc, result), start, tokens, layerBase, scale});
  l.setBuffer(op.getResult(), result);
  return success();
}

} // namespace llamac::gpu
