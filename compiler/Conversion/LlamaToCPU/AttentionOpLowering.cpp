//===- AttentionOpLowering.cpp - rope, KV cache, attention ----------------===//
//
// The primitive ops (rope, cache_read/write, batch_matmul, attention_mask)
// lower to plain loops: they are the unfused reference. The fused
// llama.attention lowers to two parallel loops: one writes the rotated keys
// and the values of the new tokens into the cache, the other computes each
// query's output with a single pass over its visible cache slots (online
// softmax, the head held in vector registers), reading no masked slot.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToCPU/Patterns.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;

namespace llamac::cpu {
namespace {

Value indexToF32(OpBuilder &b, Location loc, Value i32Value) {
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), i32Value);
}

Value i32ToIndex(OpBuilder &b, Location loc, Value value) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
}

/// cos and sin of position * inverse frequency i (scalars).
std::pair<Value, Value> rotaryAngle(OpBuilder &b, Location loc,
                                    Value inverseFrequencies, Value position,
                                    Value i) {
  Value frequency = memref::LoadOp::create(b, loc, inverseFrequencies, i);
  Value angle = arith::MulFOp::create(b, loc, position, frequency);
  return {math::CosOp::create(b, loc, angle), math::SinOp::create(b, loc, angle)};
}

/// Hugging Face's rotate-half: (x1, x2) -> (x1 c - x2 s, x2 c + x1 s),
/// computed as x * cos + rotate_half(x) * sin.
std::pair<Value, Value> rotate(OpBuilder &b, Location loc, Value x1, Value x2,
                               Value cos, Value sin) {
  Value negX2 = arith::NegFOp::create(b, loc, x2);
  Value first = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, x1, cos),
                                      arith::MulFOp::create(b, loc, negX2, sin));
  Value second = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, x2, cos),
                                       arith::MulFOp::create(b, loc, x1, sin));
  return {first, second};
}

struct RopeOpLowering : LlamaLoweringPattern<llama::RopeOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::RopeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Value positions = adaptor.getPositions();
    int64_t headDim = op.getType().getDimSize(3);
    Value inverseFrequencies = getRopeInverseFrequencies(
        rewriter, loc, op, headDim, op.getTheta().convertToDouble(),
        op.getScale().convertToDouble());
    Value result = allocBufferLike(rewriter, loc, op.getType(), input);
    SmallVector<Value> sizes = getSizes(rewriter, loc, input);
    Value half = indexConstant(rewriter, loc, headDim / 2);
    buildParallelLoops(
        rewriter, loc, {sizes[0], sizes[1], sizes[2], half},
        [&](OpBuilder &b, Location l, ValueRange ivs) {
          Value bi = ivs[0], h = ivs[1], t = ivs[2], i = ivs[3];
          Value position = indexToF32(
              b, l, memref::LoadOp::create(b, l, positions, ValueRange{bi, t}));
          auto [cos, sin] = rotaryAngle(b, l, inverseFrequencies, position, i);
          Value j = arith::AddIOp::create(b, l, i, half);
          Value x1 = memref::LoadOp::create(b, l, input, ValueRange{bi, h, t, i});
          Value x2 = memref::LoadOp::create(b, l, input, ValueRange{bi, h, t, j});
          auto [y1, y2] = rotate(b, l, x1, x2, cos, sin);
          memref::StoreOp::create(b, l, y1, result, ValueRange{bi, h, t, i});
          memref::StoreOp::create(b, l, y2, result, ValueRange{bi, h, t, j});
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Stores a float32 value into the cache, narrowing to its element type.
void storeToCache(OpBuilder &b, Location loc, Value value, Value cache,
                  ValueRange indices) {
  Type elementType = cast<MemRefType>(cache.getType()).getElementType();
  if (elementType != value.getType())
    value = arith::TruncFOp::create(b, loc, elementType, value);
  memref::StoreOp::create(b, loc, value, cache, indices);
}

struct CacheWriteOpLowering : LlamaLoweringPattern<llama::CacheWriteOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::CacheWriteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value cache = adaptor.getCache();
    Value layer = indexConstant(rewriter, loc, op.getLayer());
    SmallVector<Value> sizes = getSizes(rewriter, loc, adaptor.getKey());
    buildParallelLoops(
        rewriter, loc, sizes, [&](OpBuilder &b, Location l, ValueRange ivs) {
          Value slot = arith::AddIOp::create(b, l, adaptor.getStart(), ivs[2]);
          SmallVector<Value, 2> sources = {adaptor.getKey(), adaptor.getValue()};
          for (auto [kind, source] : llvm::enumerate(sources)) {
            Value x = memref::LoadOp::create(b, l, source, ivs);
            storeToCache(b, l, x, cache,
                         {layer, indexConstant(b, l, kind), ivs[0], ivs[1], slot,
                          ivs[3]});
          }
        });
    rewriter.eraseOp(op);
    return success();
  }
};

struct CacheReadOpLowering : LlamaLoweringPattern<llama::CacheReadOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::CacheReadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value cache = adaptor.getCache();
    auto cacheType = cast<MemRefType>(cache.getType());
    auto type = op.getType();
    SmallVector<Value> sizes = {adaptor.getBatch(),
                                indexConstant(rewriter, loc, cacheType.getDimSize(3)),
                                adaptor.getLength(),
                                indexConstant(rewriter, loc, cacheType.getDimSize(5))};
    Value result = allocBufferOfSizes(rewriter, loc, type, sizes);
    Value layer = indexConstant(rewriter, loc, op.getLayer());
    Value kind = indexConstant(rewriter, loc, static_cast<int64_t>(op.getKind()));
    buildParallelLoops(rewriter, loc, sizes,
                       [&](OpBuilder &b, Location l, ValueRange ivs) {
                         Value x = loadAsF32(b, l, cache,
                                             {layer, kind, ivs[0], ivs[1], ivs[2],
                                              ivs[3]});
                         memref::StoreOp::create(b, l, x, result, ivs);
                       });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct BatchMatmulOpLowering : LlamaLoweringPattern<llama::BatchMatmulOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::BatchMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    bool transposed = op.getTransposeRhs();
    SmallVector<Value> lhsSizes = getSizes(rewriter, loc, lhs);
    SmallVector<Value> rhsSizes = getSizes(rewriter, loc, rhs);
    SmallVector<Value> sizes = {lhsSizes[0], lhsSizes[1], lhsSizes[2],
                                transposed ? rhsSizes[2] : rhsSizes[3]};
    auto type = op.getType();
    Value result = allocBufferOfSizes(rewriter, loc, type, sizes);
    buildParallelLoops(
        rewriter, loc, sizes, [&](OpBuilder &b, Location l, ValueRange ivs) {
          Value sum = buildSerialSum(
              b, l, lhsSizes[3], [&](OpBuilder &nb, Location nl, Value k) -> Value {
                Value x = memref::LoadOp::create(
                    nb, nl, lhs, ValueRange{ivs[0], ivs[1], ivs[2], k});
                SmallVector<Value> at = {ivs[0], ivs[1], transposed ? ivs[3] : k,
                                         transposed ? k : ivs[3]};
                Value y = memref::LoadOp::create(nb, nl, rhs, at);
                return arith::MulFOp::create(nb, nl, x, y);
              });
          memref::StoreOp::create(b, l, sum, result, ivs);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// first_slot[b] <= slot <= start + t.
Value isVisible(OpBuilder &b, Location loc, Value firstSlot, Value start,
                Value t, Value slot) {
  Value last = arith::AddIOp::create(b, loc, start, t);
  Value afterPadding =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, slot, firstSlot);
  Value causal =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, slot, last);
  return arith::AndIOp::create(b, loc, afterPadding, causal);
}

struct AttentionMaskOpLowering : LlamaLoweringPattern<llama::AttentionMaskOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::AttentionMaskOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value firstSlots = adaptor.getFirstSlot();
    Value one = indexConstant(rewriter, loc, 1);
    SmallVector<Value> sizes = {getSizes(rewriter, loc, firstSlots)[0], one,
                                adaptor.getQueries(), adaptor.getKeys()};
    auto type = op.getType();
    Value result = allocBufferOfSizes(rewriter, loc, type, sizes);
    buildParallelLoops(
        rewriter, loc, sizes, [&](OpBuilder &b, Location l, ValueRange ivs) {
          Value firstSlot = i32ToIndex(
              b, l, memref::LoadOp::create(b, l, firstSlots, ValueRange{ivs[0]}));
          Value visible =
              isVisible(b, l, firstSlot, adaptor.getStart(), ivs[2], ivs[3]);
          Value value = arith::SelectOp::create(
              b, l, visible, f32Constant(b, l, 0.0f),
              f32Constant(b, l, std::numeric_limits<float>::lowest()));
          memref::StoreOp::create(b, l, value, result, ivs);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Fused attention
//===----------------------------------------------------------------------===//

/// The vector helpers of the fused kernel: a head is one vector<head_dim>.
struct HeadVectors {
  OpBuilder &b;
  Location loc;
  int64_t headDim;

  VectorType type() const { return VectorType::get({headDim}, b.getF32Type()); }
  VectorType halfType() const {
    return VectorType::get({headDim / 2}, b.getF32Type());
  }

  Value splat(Value scalar, VectorType vectorType) const {
    return vector::BroadcastOp::create(b, loc, vectorType, scalar);
  }

  /// The row `row` of a [rows, features] buffer, features [offset, +headDim).
  Value load(Value rows, Value row, Value offset) const {
    return loadVectorAsF32(b, loc, rows, {row, offset}, headDim);
  }

  Value half(Value head, int64_t which) const {
    return vector::ExtractStridedSliceOp::create(
        b, loc, head, ArrayRef<int64_t>{which * headDim / 2},
        ArrayRef<int64_t>{headDim / 2}, ArrayRef<int64_t>{1});
  }

  Value concat(Value first, Value second) const {
    SmallVector<int64_t> mask;
    for (int64_t i = 0; i < headDim; ++i)
      mask.push_back(i);
    return vector::ShuffleOp::create(b, loc, first, second, mask);
  }

  /// Applies the rotary embedding at `position` (float32 scalar).
  Value rotate(Value head, Value inverseFrequencies, Value position) const {
    Value frequencies = vector::LoadOp::create(
        b, loc, halfType(), inverseFrequencies, ValueRange{indexConstant(b, loc, 0)});
    Value angles =
        arith::MulFOp::create(b, loc, splat(position, halfType()), frequencies);
    Value cos = math::CosOp::create(b, loc, angles);
    Value sin = math::SinOp::create(b, loc, angles);
    auto [first, second] =
        llamac::cpu::rotate(b, loc, half(head, 0), half(head, 1), cos, sin);
    return concat(first, second);
  }
};

/// One head of one token of a [batch, seq, heads * head_dim] projection.
struct TokenHead {
  Value batch, token, head;
  Value row;      ///< The token's row in the [batch * seq, features] view.
  Value offset;   ///< The head's first feature.
  Value position; ///< The token's rotary position, float32.
};

/// Calls `body` for every (batch, token, head) of `projection`, in parallel.
void forEachTokenHead(OpBuilder &b, Location loc, Value projection,
                      Value positions, int64_t heads, int64_t headDim,
                      function_ref<void(OpBuilder &, Location, const TokenHead &)> body) {
  SmallVector<Value> sizes = getSizes(b, loc, projection);
  buildParallelLoops(
      b, loc, {sizes[0], sizes[1], indexConstant(b, loc, heads)},
      [&](OpBuilder &nb, Location l, ValueRange ivs) {
        TokenHead at;
        at.batch = ivs[0];
        at.token = ivs[1];
        at.head = ivs[2];
        at.row = arith::AddIOp::create(
            nb, l, arith::MulIOp::create(nb, l, at.batch, sizes[1]), at.token);
        at.offset = arith::MulIOp::create(nb, l, at.head, indexConstant(nb, l, headDim));
        at.position = indexToF32(
            nb, l, memref::LoadOp::create(nb, l, positions, ValueRange{at.batch, at.token}));
        body(nb, l, at);
      });
}

/// The cache row cache[layer][kind][batch][kvHead][slot] as a vector.
SmallVector<Value> cacheRowIndices(OpBuilder &b, Location loc, int64_t layer,
                                   int64_t kind, Value batch, Value kvHead,
                                   Value slot) {
  return {indexConstant(b, loc, layer), indexConstant(b, loc, kind), batch, kvHead,
          slot, indexConstant(b, loc, 0)};
}

struct AttentionOpLowering : LlamaLoweringPattern<llama::AttentionOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t headDim = op.getHeadDim();
    Value inverseFrequencies = getRopeInverseFrequencies(
        rewriter, loc, op, headDim, op.getRopeTheta().convertToDouble(),
        op.getRopeScale().convertToDouble());
    writeCache(rewriter, loc, op, adaptor, inverseFrequencies);
    Value result =
        allocBufferLike(rewriter, loc, op.getType(), adaptor.getQuery());
    attend(rewriter, loc, op, adaptor, inverseFrequencies, result);
    rewriter.replaceOp(op, result);
    return success();
  }

private:
  /// cache[layer][0][b][g][start + t] = rope(key[b, t, g]), [1] = value.
  void writeCache(OpBuilder &rewriter, Location loc, llama::AttentionOp op,
                  OpAdaptor adaptor, Value inverseFrequencies) const {
    int64_t headDim = op.getHeadDim();
    Value keys = collapseToRows(rewriter, loc, adaptor.getKey());
    Value values = collapseToRows(rewriter, loc, adaptor.getValue());
    Value cache = adaptor.getCache();
    Type elementType = cast<MemRefType>(cache.getType()).getElementType();
    forEachTokenHead(
        rewriter, loc, adaptor.getKey(), adaptor.getPositions(),
        op.getNumKvHeads(), headDim,
        [&](OpBuilder &b, Location l, const TokenHead &at) {
          HeadVectors heads{b, l, headDim};
          Value key = heads.rotate(heads.load(keys, at.row, at.offset),
                                   inverseFrequencies, at.position);
          Value value = heads.load(values, at.row, at.offset);
          Value slot = arith::AddIOp::create(b, l, adaptor.getStart(), at.token);
          SmallVector<Value, 2> rows = {key, value};
          for (auto [kind, head] : llvm::enumerate(rows)) {
            if (!elementType.isF32())
              head = arith::TruncFOp::create(
                  b, l, VectorType::get({headDim}, elementType), head);
            vector::StoreOp::create(b, l, head, cache,
                                    cacheRowIndices(b, l, op.getLayer(), kind,
                                                    at.batch, at.head, slot));
          }
        });
  }

  /// result[b, t, h] = sum_j softmax_j(q.k_j * scale) v_j over the visible
  /// slots j of row b, in one pass with a running maximum.
  void attend(OpBuilder &rewriter, Location loc, llama::AttentionOp op,
              OpAdaptor adaptor, Value inverseFrequencies, Value result) const {
    int64_t headDim = op.getHeadDim();
    int64_t group = op.getNumHeads() / op.getNumKvHeads();
    Value queries = collapseToRows(rewriter, loc, adaptor.getQuery());
    Value outputs = collapseToRows(rewriter, loc, result);
    Value cache = adaptor.getCache();
    forEachTokenHead(
        rewriter, loc, adaptor.getQuery(), adaptor.getPositions(),
        op.getNumHeads(), headDim,
        [&](OpBuilder &b, Location l, const TokenHead &at) {
          Value bi = at.batch, t = at.token, h = at.head;
          Value row = at.row, offset = at.offset;
          HeadVectors vectors{b, l, headDim};
          Value query = vectors.rotate(vectors.load(queries, row, offset),
                                       inverseFrequencies, at.position);
          Value kvHead = arith::DivUIOp::create(b, l, h, indexConstant(b, l, group));
          Value firstSlot = i32ToIndex(
              b, l, memref::LoadOp::create(b, l, adaptor.getFirstSlot(), ValueRange{bi}));
          Value end = arith::AddIOp::create(
              b, l, arith::AddIOp::create(b, l, adaptor.getStart(), t),
              indexConstant(b, l, 1));
          Value scale = f32Constant(b, l, op.getScale().convertToFloat());
          Value zeroVector = arith::ConstantOp::create(
              b, l, vectors.type(), DenseElementsAttr::get(vectors.type(), 0.0f));
          Value negativeInfinity =
              f32Constant(b, l, -std::numeric_limits<float>::infinity());
          auto loop = scf::ForOp::create(
              b, l, firstSlot, end, indexConstant(b, l, 1),
              ValueRange{negativeInfinity, f32Constant(b, l, 0.0f), zeroVector},
              [&](OpBuilder &nb, Location nl, Value slot, ValueRange state) {
                HeadVectors inner{nb, nl, headDim};
                auto cacheRow = [&](int64_t kind) {
                  Value head = vector::LoadOp::create(
                      nb, nl,
                      VectorType::get({headDim}, cast<MemRefType>(cache.getType())
                                                     .getElementType()),
                      cache,
                      cacheRowIndices(nb, nl, op.getLayer(), kind, bi, kvHead, slot));
                  if (!cast<VectorType>(head.getType()).getElementType().isF32())
                    head = arith::ExtFOp::create(nb, nl, inner.type(), head);
                  return head;
                };
                Value product = arith::MulFOp::create(nb, nl, query, cacheRow(0));
                Value score = arith::MulFOp::create(
                    nb, nl,
                    vector::ReductionOp::create(nb, nl, vector::CombiningKind::ADD,
                                                product),
                    scale);
                Value runningMax = arith::MaximumFOp::create(nb, nl, state[0], score);
                Value correction = math::ExpOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, state[0], runningMax));
                Value weight = math::ExpOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, score, runningMax));
                Value total = arith::AddFOp::create(
                    nb, nl, arith::MulFOp::create(nb, nl, state[1], correction),
                    weight);
                Value accumulated = vector::FMAOp::create(
                    nb, nl, inner.splat(weight, inner.type()), cacheRow(1),
                    arith::MulFOp::create(nb, nl, state[2],
                                          inner.splat(correction, inner.type())));
                scf::YieldOp::create(nb, nl,
                                     ValueRange{runningMax, total, accumulated});
              });
          // A query with no visible slot (left padding) outputs zeros.
          Value total = loop.getResult(1);
          Value hasSlots = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                                 total, f32Constant(b, l, 0.0f));
          Value safeTotal = arith::SelectOp::create(b, l, hasSlots, total,
                                                    f32Constant(b, l, 1.0f));
          Value output = arith::DivFOp::create(
              b, l, loop.getResult(2), vectors.splat(safeTotal, vectors.type()));
          vector::StoreOp::create(b, l, output, outputs, ValueRange{row, offset});
        });
  }
};

} // namespace

void populateAttentionOpLoweringPatterns(RewritePatternSet &patterns,
                                         const TypeConverter &converter,
                                         const LoweringContext &context) {
  addLoweringPatterns<RopeOpLowering, CacheWriteOpLowering, CacheReadOpLowering,
                      BatchMatmulOpLowering, AttentionMaskOpLowering,
                      AttentionOpLowering>(patterns, converter, context);
}

} // namespace llamac::cpu
