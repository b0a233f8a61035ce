//===- FuseAttention.cpp - RoPE + KV cache + SDPA -> llama.attention ------===//
//
// The importer writes attention the way Hugging Face computes it: split the
// projections into heads, rotate queries and keys, store keys and values in
// the cache, read the layer's history back, and take
// softmax(Q K^T * scale + mask) V. llama.attention does all of that and owns
// the cache update, so the match must prove that the fused op computes the
// same thing: the reads see exactly what the write stored (same cache and
// layer, nothing else touching that layer in between), they cover slots
// [0, start + seq) of the query's rows, and the mask is the causal and
// padding mask of those slots.
//
//===----------------------------------------------------------------------===//
#include "compiler/Transforms/FusionMatchers.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

namespace llamac {
#define GEN_PASS_DEF_FUSEATTENTION
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace mlir::llama;
using namespace llamac;

//===----------------------------------------------------------------------===//
// Heads
//===----------------------------------------------------------------------===//

/// Whether `heads` is `flat` [B, T, N * D] with the last dim split into a
/// static [N, D], the shape change of a reshape between the two.
static bool isHeadSplit(RankedTensorType flat, RankedTensorType heads) {
  if (flat.getRank() != 3 || heads.getRank() != 4 ||
      flat.getShape().take_front(2) != heads.getShape().take_front(2) ||
      flat.isDynamicDim(2) || heads.isDynamicDim(2) || heads.isDynamicDim(3))
    return false;
  return heads.getDimSize(2) * heads.getDimSize(3) == flat.getDimSize(2);
}

/// Whether `transpose` swaps the seq and heads dims of [B, ., ., D].
static bool swapsSeqAndHeads(TransposeOp transpose) {
  return transpose.getPermutation() == ArrayRef<int64_t>{0, 2, 1, 3};
}

/// A projection [B, T, N * D] split into heads [B, N, T, D].
struct HeadSplit {
  Value projection;
  int64_t numHeads;
  int64_t headDim;
};

/// Matches `transpose(reshape(projection), [0, 2, 1, 3])`.
static std::optional<HeadSplit> matchSplitHeads(Value heads) {
  auto transpose = heads.getDefiningOp<TransposeOp>();
  if (!transpose || !swapsSeqAndHeads(transpose))
    return std::nullopt;
  auto reshape = transpose.getInput().getDefiningOp<ReshapeOp>();
  if (!reshape || !isHeadSplit(reshape.getInput().getType(), reshape.getType()))
    return std::nullopt;
  return HeadSplit{reshape.getInput(), reshape.getType().getDimSize(2),
                   reshape.getType().getDimSize(3)};
}

//===----------------------------------------------------------------------===//
// Sizes
//===----------------------------------------------------------------------===//

/// Follows `activation` back through ops whose result keeps an operand's
/// leading [batch, seq] dims, to the value those dims come from: for the
/// decoder stack, the buffer of the token ids.
static Value traceBatchAndSeq(Value activation) {
  while (Operation *producer = activation.getDefiningOp()) {
    Value operand =
        TypeSwitch<Operation *, Value>(producer)
            .Case<MatmulOp, MultiMatmulOp, SwiGLUOp>([](auto op) -> Value {
              // A matmul replaces the last dim: [T, K] inputs keep no seq.
              return op.getInput().getType().getRank() >= 3 ? op.getInput()
                                                            : Value();
            })
            .Case<RMSNormOp, AddRMSNormOp>(
                [](auto op) -> Value { return op.getInput(); })
            .Case<AddOp, MulOp>([](auto op) -> Value { return op.getLhs(); })
            .Case([](EmbeddingOp op) -> Value { return op.getIds(); })
            .Case([](AttentionOp op) -> Value { return op.getQuery(); })
            .Case([](bufferization::ToTensorOp op) -> Value {
              return op.getBuffer();
            })
            .Default([](Operation *) { return Value(); });
    if (!operand)
      break;
    activation = operand;
  }
  return activation;
}

/// The shaped value and dim index that `size` measures, when it is a
/// `tensor.dim`, or a `memref.dim` as canonicalization rewrites the dim of a
/// `bufferization.to_tensor`.
static std::optional<std::pair<Value, int64_t>> matchDimOf(Value size) {
  auto measure = [](auto dimOp) -> std::optional<std::pair<Value, int64_t>> {
    std::optional<int64_t> index = dimOp.getConstantIndex();
    if (!index)
      return std::nullopt;
    return std::make_pair(dimOp.getSource(), *index);
  };
  if (auto dimOp = size.getDefiningOp<tensor::DimOp>())
    return measure(dimOp);
  if (auto dimOp = size.getDefiningOp<memref::DimOp>())
    return measure(dimOp);
  return std::nullopt;
}

/// Whether the index `size` is dim `dim` (0: batch, 1: seq) of the query
/// projection [B, T, F]: a constant equal to its static size, or the dim of
/// a value sharing its leading dims, either through the decoder stack or as
/// the rotary positions [B, T], which rope requires to match the queries.
static bool isQueryDim(Value size, int64_t dim, Value query, Value positions) {
  auto queryType = cast<RankedTensorType>(query.getType());
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return !queryType.isDynamicDim(dim) &&
           *constant == queryType.getDimSize(dim);
  std::optional<std::pair<Value, int64_t>> measured = matchDimOf(size);
  if (!measured || measured->second != dim)
    return false;
  Value origin = traceBatchAndSeq(measured->first);
  return origin == traceBatchAndSeq(query) ||
         origin == traceBatchAndSeq(positions);
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

/// One half of the cache read for the scores: a `llama.cache_read`, shared
/// among the query heads by an optional `llama.repeat_kv`.
struct CacheHistory {
  CacheReadOp read;
  int64_t repeats;
  /// The repeat (if any) and the read, users first.
  SmallVector<Operation *, 2> ops;
};

static std::optional<CacheHistory> matchCacheHistory(Value heads, KVKind kind) {
  CacheHistory history{nullptr, 1, {}};
  Value kvHeads = heads;
  if (auto repeat = getAbsorbableDefiningOp<RepeatKVOp>(heads)) {
    history.repeats = repeat.getRepeats();
    history.ops.push_back(repeat);
    kvHeads = repeat.getInput();
  }
  history.read = getAbsorbableDefiningOp<CacheReadOp>(kvHeads);
  if (!history.read || history.read.getKind() != kind)
    return std::nullopt;
  history.ops.push_back(history.read);
  return history;
}

/// Whether `op` may read or write layer `layer` of `cache`. Cache ops say
/// which layer of which cache they touch; another cache value may alias this
/// one, and any other op with memory effects might touch it.
static bool mayAccessLayer(Operation *op, Value cache, uint64_t layer) {
  return TypeSwitch<Operation *, bool>(op)
      .Case<CacheWriteOp, CacheReadOp, AttentionOp>([&](auto cacheOp) {
        return cacheOp.getCache() != cache || cacheOp.getLayer() == layer;
      })
      .Default([](Operation *other) { return !isMemoryEffectFree(other); });
}

/// The cache_write whose slots the two reads see, which the fused op at
/// `root` may replace along with them: the last op before `root`, other than
/// the reads, that may touch their layer. Null unless it is a cache_write of
/// that layer preceding both reads in `root`'s block.
static CacheWriteOp findVisibleWrite(Operation *root, CacheReadOp keyRead,
                                     CacheReadOp valueRead) {
  Block *block = root->getBlock();
  if (keyRead->getBlock() != block || valueRead->getBlock() != block)
    return nullptr;
  for (Operation *op = root->getPrevNode(); op; op = op->getPrevNode()) {
    if (op == keyRead || op == valueRead ||
        !mayAccessLayer(op, keyRead.getCache(), keyRead.getLayer()))
      continue;
    auto write = dyn_cast<CacheWriteOp>(op);
    if (!write || write.getCache() != keyRead.getCache() ||
        !write->isBeforeInBlock(keyRead) || !write->isBeforeInBlock(valueRead))
      return nullptr;
    return write;
  }
  return nullptr;
}

//===----------------------------------------------------------------------===//
// The attention block
//===----------------------------------------------------------------------===//

/// What llama.attention needs from a matched block.
struct AttentionMatch {
  HeadSplit query, key, value;
  RopeOp queryRope;
  AttentionMaskOp mask;
  CacheWriteOp write;
  FloatAttr scale;
  /// The ops the fused op replaces besides the root that stay alive by
  /// themselves (they touch the cache or depend on what does), users first.
  SmallVector<Operation *> absorbed;
};

/// Matches the block ending in `root`, the reshape merging the heads of
/// softmax(Q K^T * scale + mask) V back into [B, T, N * D].
static std::optional<AttentionMatch> matchAttentionBlock(ReshapeOp root) {
  AttentionMatch match;

  // softmax(scores * scale + mask) V, heads merged.
  auto merged = getAbsorbableDefiningOp<TransposeOp>(root.getInput());
  if (!merged || !swapsSeqAndHeads(merged) ||
      !isHeadSplit(root.getType(), merged.getType()))
    return std::nullopt;
  auto weighted = getAbsorbableDefiningOp<BatchMatmulOp>(merged.getInput());
  auto probs = weighted && !weighted.getTransposeRhs()
                   ? getAbsorbableDefiningOp<SoftmaxOp>(weighted.getLhs())
                   : nullptr;
  auto masked =
      probs ? getAbsorbableDefiningOp<AddOp>(probs.getInput()) : nullptr;
  MulOp scaled;
  if (!masked || !matchEitherOrder(masked, [&](Value scores, Value mask) {
        scaled = getAbsorbableDefiningOp<MulOp>(scores);
        match.mask = mask.getDefiningOp<AttentionMaskOp>();
        return scaled && match.mask;
      }))
    return std::nullopt;
  BatchMatmulOp scores;
  bool scaledByConstant =
      matchEitherOrder(scaled, [&](Value product, Value scale) {
        scores = getAbsorbableDefiningOp<BatchMatmulOp>(product);
        match.scale = matchScalarConstant(scale);
        return scores && match.scale;
      });
  if (!scaledByConstant || !scores.getTransposeRhs())
    return std::nullopt;
  match.absorbed = {merged, weighted, probs, masked, scaled, scores};

  // Rotated query heads against the cached keys, weights over cached values.
  match.queryRope = scores.getLhs().getDefiningOp<RopeOp>();
  std::optional<HeadSplit> query =
      match.queryRope ? matchSplitHeads(match.queryRope.getInput())
                      : std::nullopt;
  std::optional<CacheHistory> keys =
      matchCacheHistory(scores.getRhs(), KVKind::Key);
  std::optional<CacheHistory> values =
      matchCacheHistory(weighted.getRhs(), KVKind::Value);
  if (!query || !keys || !values)
    return std::nullopt;
  CacheReadOp keyRead = keys->read, valueRead = values->read;
  if (valueRead.getCache() != keyRead.getCache() ||
      valueRead.getLayer() != keyRead.getLayer() ||
      valueRead.getBatch() != keyRead.getBatch() ||
      valueRead.getLength() != keyRead.getLength())
    return std::nullopt;
  match.absorbed.append(keys->ops);
  match.absorbed.append(values->ops);

  // The write the reads see: rotated key heads and value heads.
  match.write = findVisibleWrite(root, keyRead, valueRead);
  auto keyRope =
      match.write ? match.write.getKey().getDefiningOp<RopeOp>() : nullptr;
  std::optional<HeadSplit> key =
      keyRope ? matchSplitHeads(keyRope.getInput()) : std::nullopt;
  std::optional<HeadSplit> value =
      match.write ? matchSplitHeads(match.write.getValue()) : std::nullopt;
  if (!key || !value)
    return std::nullopt;
  match.absorbed.push_back(match.write);
  match.query = *query;
  match.key = *key;
  match.value = *value;

  // llama.attention applies one rotation to queries and keys.
  RopeOp queryRope = match.queryRope;
  if (keyRope.getPositions() != queryRope.getPositions() ||
      keyRope.getTheta() != queryRope.getTheta() ||
      keyRope.getScale() != queryRope.getScale())
    return std::nullopt;

  // Head geometry: query head h reads kv head h / (heads / kv_heads).
  int64_t numHeads = query->numHeads, numKvHeads = key->numHeads,
          headDim = query->headDim;
  if (key->headDim != headDim ||
      key->projection.getType() != value->projection.getType() ||
      value->numHeads != numKvHeads || value->headDim != headDim ||
      numHeads % numKvHeads != 0 || keys->repeats != numHeads / numKvHeads ||
      values->repeats != numHeads / numKvHeads ||
      merged.getType().getDimSize(2) != numHeads ||
      merged.getType().getDimSize(3) != headDim ||
      root.getType() != query->projection.getType())
    return std::nullopt;

  // The reads cover slots [0, start + seq) of the query's rows, and the mask
  // is the causal and padding mask of exactly those slots.
  auto isDim = [&](Value size, int64_t dim) {
    return isQueryDim(size, dim, query->projection, queryRope.getPositions());
  };
  Value start = match.write.getStart();
  Value length = keyRead.getLength();
  auto sum = length.getDefiningOp<arith::AddIOp>();
  if (!isDim(keyRead.getBatch(), 0) || !sum ||
      !matchEitherOrder(sum, [&](Value lhs, Value rhs) {
        return lhs == start && isDim(rhs, 1);
      }))
    return std::nullopt;
  if (match.mask.getStart() != start || match.mask.getKeys() != length ||
      !isDim(match.mask.getQueries(), 1))
    return std::nullopt;
  return match;
}

namespace {

/// Rooted at the reshape that merges the output heads, the block's last op.
struct AttentionPattern : OpRewritePattern<ReshapeOp> {
  AttentionPattern(MLIRContext *context, Pass::Statistic &numFused)
      : OpRewritePattern(context), numFused(numFused) {}

  LogicalResult matchAndRewrite(ReshapeOp root,
                                PatternRewriter &rewriter) const override {
    std::optional<AttentionMatch> match = matchAttentionBlock(root);
    if (!match)
      return rewriter.notifyMatchFailure(root, "not an attention block");

    CacheWriteOp write = match->write;
    RopeOp rope = match->queryRope;
    auto attention = AttentionOp::create(
        rewriter, root.getLoc(), root.getType(), match->query.projection,
        match->key.projection, match->value.projection, rope.getPositions(),
        match->mask.getFirstSlot(), write.getCache(), write.getStart(),
        rewriter.getI64IntegerAttr(write.getLayer()),
        rewriter.getI64IntegerAttr(match->query.numHeads),
        rewriter.getI64IntegerAttr(match->key.numHeads),
        rewriter.getI64IntegerAttr(match->query.headDim), rope.getThetaAttr(),
        rewriter.getF64FloatAttr(rope.getScale().convertToDouble()),
        match->scale);
    rewriter.replaceOp(root, attention);
    for (Operation *op : match->absorbed)
      rewriter.eraseOp(op);
    ++numFused;
    return success();
  }

  Pass::Statistic &numFused;
};

struct FuseAttentionPass : llamac::impl::FuseAttentionBase<FuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AttentionPattern>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
