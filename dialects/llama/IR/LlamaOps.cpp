//===- LlamaOps.cpp - llama dialect ops -----------------------------------===//
//
// Verifiers check what the op's meaning requires of its shapes: a bad shape
// is reported at the op that has it, not as a miscompile further down.
//
//===----------------------------------------------------------------------===//
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace mlir::llama;

#include "dialects/llama/IR/LlamaEnums.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/llama/IR/LlamaOps.cpp.inc"

namespace {

/// Two sizes agree unless both are static and differ.
bool sizesAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

bool shapesAgree(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return a.size() == b.size() &&
         llvm::all_of(llvm::zip(a, b), [](auto pair) {
           return sizesAgree(std::get<0>(pair), std::get<1>(pair));
         });
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t size) {
    if (ShapedType::isDynamic(size))
      os << "?";
    else
      os << size;
  });
  os << "]";
  return text;
}

/// Checks `type` has `rank` dimensions, naming `what` in the error.
LogicalResult verifyRank(Operation *op, ShapedType type, int64_t rank,
                         StringRef what) {
  if (type.getRank() == rank)
    return success();
  return op->emitOpError() << "expects " << what << " of rank " << rank
                           << ", got " << formatShape(type.getShape());
}

/// Checks a [batch, heads, seq, head_dim] cache view against the cache
/// [layers, 2, max_batch, kv_heads, max_seq, head_dim] and the layer index.
LogicalResult verifyCacheView(Operation *op, ShapedType view,
                              MemRefType cache, int64_t layer,
                              StringRef what) {
  ArrayRef<int64_t> c = cache.getShape();
  if (!cache.hasStaticShape())
    return op->emitOpError() << "expects a static cache shape, got "
                             << formatShape(c);
  if (c[1] != 2)
    return op->emitOpError() << "expects the cache's second dimension to be 2 "
                                "(keys, values), got "
                             << c[1];
  if (layer < 0 || layer >= c[0])
    return op->emitOpError() << "layer " << layer << " is outside the cache's "
                             << c[0] << " layers";
  if (failed(verifyRank(op, view, 4, what)))
    return failure();
  ArrayRef<int64_t> v = view.getShape();
  if (!sizesAgree(v[1], c[3]) || !sizesAgree(v[3], c[5]))
    return op->emitOpError() << "expects " << what
                             << " [batch, kv_heads, seq, head_dim] to match the "
                                "cache's kv_heads and head_dim "
                             << formatShape(c) << ", got " << formatShape(v);
  if (!sizesAgree(v[0], c[2]) && !ShapedType::isDynamic(v[0]) && v[0] > c[2])
    return op->emitOpError() << "batch " << v[0] << " exceeds the cache's "
                             << c[2];
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

/// An i4 weight is a [out, in] matrix in #llama.int4 groups that divide its
/// rows; a float weight has no encoding.
static LogicalResult verifyInt4Weight(Operation *op, RankedTensorType type) {
  Int4Attr int4 = getInt4Encoding(type);
  bool codes = type.getElementType().isInteger(4);
  if (!codes && !type.getEncoding())
    return success();
  if (!codes || !int4)
    return op->emitOpError() << "expects i4 elements exactly with a "
                                "#llama.int4 encoding, got "
                             << type;
  if (type.getRank() != 2)
    return op->emitOpError() << "expects an int4 weight of rank 2, got "
                             << formatShape(type.getShape());
  if (type.getDimSize(1) % int4.getGroupSize() != 0)
    return op->emitOpError()
           << "int4 group_size " << int4.getGroupSize()
           << " does not divide the " << type.getDimSize(1)
           << " input features";
  return success();
}

LogicalResult WeightDeclOp::verify() {
  auto type = cast<RankedTensorType>(getType());
  if (!type.hasStaticShape())
    return emitOpError() << "expects a static shape, got "
                         << formatShape(type.getShape());
  return verifyInt4Weight(*this, type);
}

LogicalResult
WeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto decl = symbolTable.lookupNearestSymbolFrom<WeightDeclOp>(
      *this, getNameAttr());
  if (!decl)
    return emitOpError() << "refers to " << getNameAttr()
                         << ", which is not a llama.weight_decl";
  if (decl.getType() != getType())
    return emitOpError() << "has type " << getType() << " but " << getNameAttr()
                         << " is declared as " << decl.getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Primitive ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  auto table = getTable().getType();
  auto ids = getIds().getType();
  auto result = getResult().getType();
  if (failed(verifyRank(*this, table, 2, "a table")) ||
      failed(verifyRank(*this, ids, 2, "ids")) ||
      failed(verifyRank(*this, result, 3, "a result")))
    return failure();
  if (!shapesAgree(result.getShape(),
                   {ids.getDimSize(0), ids.getDimSize(1), table.getDimSize(1)}))
    return emitOpError() << "expects result [batch, seq, "
                         << table.getDimSize(1) << "], got "
                         << formatShape(result.getShape());
  return success();
}

/// Shared by matmul and multi_matmul: input [..., K] x weight [N, K].
static LogicalResult verifyLinear(Operation *op, RankedTensorType input,
                                  RankedTensorType weight,
                                  RankedTensorType result) {
  if (input.getRank() < 1)
    return op->emitOpError() << "expects an input of rank >= 1";
  if (failed(verifyRank(op, weight, 2, "a weight")))
    return failure();
  if (!weight.hasStaticShape())
    return op->emitOpError() << "expects a static weight shape";
  int64_t inFeatures = weight.getDimSize(1);
  if (!sizesAgree(input.getShape().back(), inFeatures))
    return op->emitOpError() << "input features " << input.getShape().back()
                             << " do not match the weight's " << inFeatures
                             << " (weight " << formatShape(weight.getShape())
                             << " is [out, in])";
  SmallVector<int64_t> expected(input.getShape());
  expected.back() = weight.getDimSize(0);
  if (!shapesAgree(result.getShape(), expected))
    return op->emitOpError() << "expects result " << formatShape(expected)
                             << ", got " << formatShape(result.getShape());
  return success();
}

LogicalResult MatmulOp::verify() {
  return verifyLinear(*this, getInput().getType(), getWeight().getType(),
                      getResult().getType());
}

LogicalResult MultiMatmulOp::verify() {
  if (getWeights().empty() || getWeights().size() != getResults().size())
    return emitOpError() << "expects one result per weight and at least one "
                            "weight";
  for (auto [weight, result] : llvm::zip(getWeights(), getResults()))
    if (failed(verifyLinear(*this, getInput().getType(),
                            cast<RankedTensorType>(weight.getType()),
                            cast<RankedTensorType>(result.getType()))))
      return failure();
  return success();
}

/// rhs broadcasts against lhs: aligned to the trailing dims, each 1 or equal.
static LogicalResult verifyTrailingBroadcast(Operation *op, ShapedType lhs,
                                             ShapedType rhs) {
  if (rhs.getRank() > lhs.getRank())
    return op->emitOpError() << "cannot broadcast " << formatShape(rhs.getShape())
                             << " to " << formatShape(lhs.getShape());
  int64_t offset = lhs.getRank() - rhs.getRank();
  for (int64_t i = 0; i < rhs.getRank(); ++i) {
    int64_t r = rhs.getDimSize(i);
    if (r != 1 && !sizesAgree(r, lhs.getDimSize(offset + i)))
      return op->emitOpError()
             << "cannot broadcast " << formatShape(rhs.getShape()) << " to "
             << formatShape(lhs.getShape()) << " (dimension " << i << ")";
  }
  return success();
}

LogicalResult AddOp::verify() {
  return verifyTrailingBroadcast(*this, getLhs().getType(), getRhs().getType());
}

LogicalResult MulOp::verify() {
  return verifyTrailingBroadcast(*this, getLhs().getType(), getRhs().getType());
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValueAttr(); }

LogicalResult MeanOp::verify() {
  auto input = getInput().getType();
  auto result = getResult().getType();
  SmallVector<int64_t> expected(input.getShape());
  if (expected.empty())
    return emitOpError() << "expects an input of rank >= 1";
  expected.back() = 1;
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError() << "expects result " << formatShape(expected)
                         << ", got " << formatShape(result.getShape());
  return success();
}

LogicalResult CastOp::verify() {
  if (!shapesAgree(getInput().getType().getShape(),
                   getResult().getType().getShape()))
    return emitOpError() << "changes the shape "
                         << formatShape(getInput().getType().getShape())
                         << " to "
                         << formatShape(getResult().getType().getShape());
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto input = getInput().getType();
  auto result = getResult().getType();
  auto countDynamic = [](ShapedType type) {
    return llvm::count_if(type.getShape(), ShapedType::isDynamic);
  };
  auto staticProduct = [](ShapedType type) {
    int64_t product = 1;
    for (int64_t size : type.getShape())
      if (!ShapedType::isDynamic(size))
        product *= size;
    return product;
  };
  if (countDynamic(input) != countDynamic(result) ||
      staticProduct(input) != staticProduct(result))
    return emitOpError() << "cannot reshape " << formatShape(input.getShape())
                         << " to " << formatShape(result.getShape())
                         << ": the static sizes must have equal products and "
                            "the dynamic sizes must correspond";
  return success();
}

LogicalResult TransposeOp::verify() {
  auto input = getInput().getType();
  auto result = getResult().getType();
  ArrayRef<int64_t> permutation = getPermutation();
  if (static_cast<int64_t>(permutation.size()) != input.getRank())
    return emitOpError() << "expects a permutation of " << input.getRank()
                         << " dimensions";
  llvm::SmallBitVector seen(input.getRank());
  for (int64_t dim : permutation) {
    if (dim < 0 || dim >= input.getRank() || seen.test(dim))
      return emitOpError() << "expects a permutation of [0, "
                           << input.getRank() << ")";
    seen.set(dim);
  }
  SmallVector<int64_t> expected;
  for (int64_t dim : permutation)
    expected.push_back(input.getDimSize(dim));
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError() << "expects result " << formatShape(expected)
                         << ", got " << formatShape(result.getShape());
  return success();
}

LogicalResult RopeOp::verify() {
  auto input = getInput().getType();
  auto positions = getPositions().getType();
  if (failed(verifyRank(*this, input, 4, "an input [batch, heads, seq, "
                                          "head_dim]")) ||
      failed(verifyRank(*this, positions, 2, "positions [batch, seq]")))
    return failure();
  int64_t headDim = input.getDimSize(3);
  if (ShapedType::isDynamic(headDim) || headDim % 2 != 0)
    return emitOpError() << "expects a static, even head_dim, got "
                         << formatShape(input.getShape());
  if (!sizesAgree(positions.getDimSize(0), input.getDimSize(0)) ||
      !sizesAgree(positions.getDimSize(1), input.getDimSize(2)))
    return emitOpError() << "positions " << formatShape(positions.getShape())
                         << " do not match input "
                         << formatShape(input.getShape());
  if (getTheta().convertToDouble() <= 0 || getScale().convertToDouble() <= 0)
    return emitOpError() << "expects positive theta and scale";
  return success();
}

LogicalResult CacheWriteOp::verify() {
  return verifyCacheView(*this, getKey().getType(), getCache().getType(),
                         getLayer(), "keys");
}

LogicalResult CacheReadOp::verify() {
  return verifyCacheView(*this, getResult().getType(), getCache().getType(),
                         getLayer(), "a result");
}

LogicalResult RepeatKVOp::verify() {
  auto input = getInput().getType();
  auto result = getResult().getType();
  if (getRepeats() < 1)
    return emitOpError() << "expects repeats >= 1";
  if (failed(verifyRank(*this, input, 4, "an input")))
    return failure();
  SmallVector<int64_t> expected(input.getShape());
  if (!ShapedType::isDynamic(expected[1]))
    expected[1] *= getRepeats();
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError() << "expects result " << formatShape(expected)
                         << ", got " << formatShape(result.getShape());
  return success();
}

LogicalResult BatchMatmulOp::verify() {
  auto lhs = getLhs().getType();
  auto rhs = getRhs().getType();
  auto result = getResult().getType();
  if (failed(verifyRank(*this, lhs, 4, "lhs")) ||
      failed(verifyRank(*this, rhs, 4, "rhs")))
    return failure();
  int64_t contraction = getTransposeRhs() ? rhs.getDimSize(3) : rhs.getDimSize(2);
  int64_t columns = getTransposeRhs() ? rhs.getDimSize(2) : rhs.getDimSize(3);
  if (!sizesAgree(lhs.getDimSize(0), rhs.getDimSize(0)) ||
      !sizesAgree(lhs.getDimSize(1), rhs.getDimSize(1)) ||
      !sizesAgree(lhs.getDimSize(3), contraction))
    return emitOpError() << "cannot multiply " << formatShape(lhs.getShape())
                         << " by " << formatShape(rhs.getShape())
                         << (getTransposeRhs() ? " transposed" : "");
  SmallVector<int64_t> expected = {lhs.getDimSize(0), lhs.getDimSize(1),
                                   lhs.getDimSize(2), columns};
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError() << "expects result " << formatShape(expected)
                         << ", got " << formatShape(result.getShape());
  return success();
}

LogicalResult AttentionMaskOp::verify() {
  auto firstSlot = getFirstSlot().getType();
  auto result = getResult().getType();
  if (failed(verifyRank(*this, firstSlot, 1, "first_slot [batch]")) ||
      failed(verifyRank(*this, result, 4, "a result [batch, 1, queries, keys]")))
    return failure();
  if (!sizesAgree(result.getDimSize(0), firstSlot.getDimSize(0)) ||
      result.getDimSize(1) != 1)
    return emitOpError() << "expects result [batch, 1, queries, keys], got "
                         << formatShape(result.getShape());
  return success();
}

LogicalResult LastPositionsOp::verify() {
  auto input = getInput().getType();
  auto result = getResult().getType();
  if (failed(verifyRank(*this, input, 3, "an input [batch, seq, features]")) ||
      failed(verifyRank(*this, result, 3, "a result [batch, count, features]")))
    return failure();
  if (!sizesAgree(result.getDimSize(0), input.getDimSize(0)) ||
      result.getDimSize(2) != input.getDimSize(2))
    return emitOpError() << "expects result [batch, count, "
                         << input.getDimSize(2) << "], got "
                         << formatShape(result.getShape());
  // A static count keeps no more positions than there are.
  if (!result.isDynamicDim(1) && !input.isDynamicDim(1) &&
      result.getDimSize(1) > input.getDimSize(1))
    return emitOpError() << "keeps " << result.getDimSize(1) << " of "
                         << input.getDimSize(1) << " positions";
  return success();
}

//===----------------------------------------------------------------------===//
// Fused ops
//===----------------------------------------------------------------------===//

static LogicalResult verifyNormWeight(Operation *op, RankedTensorType input,
                                      RankedTensorType weight, float epsilon) {
  if (failed(verifyRank(op, weight, 1, "a weight")))
    return failure();
  if (input.getRank() < 1 ||
      !sizesAgree(input.getShape().back(), weight.getDimSize(0)))
    return op->emitOpError() << "weight " << formatShape(weight.getShape())
                             << " does not match the input's last dimension "
                             << formatShape(input.getShape());
  if (!(epsilon > 0))
    return op->emitOpError() << "expects a positive epsilon";
  return success();
}

LogicalResult RMSNormOp::verify() {
  return verifyNormWeight(*this, getInput().getType(), getWeight().getType(),
                          getEpsilon().convertToFloat());
}

LogicalResult AddRMSNormOp::verify() {
  return verifyNormWeight(*this, getInput().getType(), getWeight().getType(),
                          getEpsilon().convertToFloat());
}

LogicalResult SwiGLUOp::verify() {
  return verifyLinear(*this, getInput().getType(), getGate().getType(),
                      getResult().getType());
}

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads(),
          headDim = getHeadDim();
  if (heads <= 0 || kvHeads <= 0 || headDim <= 0 || headDim % 2 != 0)
    return emitOpError() << "expects positive heads and kv heads and a "
                            "positive, even head_dim";
  if (heads % kvHeads != 0)
    return emitOpError() << "num_kv_heads " << kvHeads
                         << " does not divide num_heads " << heads;
  auto query = getQuery().getType();
  auto key = getKey().getType();
  if (failed(verifyRank(*this, query, 3, "a query [batch, seq, features]")) ||
      failed(verifyRank(*this, key, 3, "a key [batch, seq, features]")))
    return failure();
  if (!sizesAgree(query.getDimSize(2), heads * headDim))
    return emitOpError() << "query features " << query.getDimSize(2)
                         << " != num_heads * head_dim = " << heads * headDim;
  if (!sizesAgree(key.getDimSize(2), kvHeads * headDim))
    return emitOpError() << "key features " << key.getDimSize(2)
                         << " != num_kv_heads * head_dim = "
                         << kvHeads * headDim;
  if (!sizesAgree(query.getDimSize(0), key.getDimSize(0)) ||
      !sizesAgree(query.getDimSize(1), key.getDimSize(1)))
    return emitOpError() << "query " << formatShape(query.getShape())
                         << " and key " << formatShape(key.getShape())
                         << " disagree on batch or seq";
  if (getResult().getType() != query)
    return emitOpError() << "expects a result of the query's type";
  auto positions = getPositions().getType();
  auto firstSlot = getFirstSlot().getType();
  if (failed(verifyRank(*this, positions, 2, "positions [batch, seq]")) ||
      failed(verifyRank(*this, firstSlot, 1, "first_slot [batch]")))
    return failure();
  if (!sizesAgree(positions.getDimSize(0), query.getDimSize(0)) ||
      !sizesAgree(positions.getDimSize(1), query.getDimSize(1)) ||
      !sizesAgree(firstSlot.getDimSize(0), query.getDimSize(0)))
    return emitOpError() << "positions " << formatShape(positions.getShape())
                         << " and first_slot " << formatShape(firstSlot.getShape())
                         << " do not match query " << formatShape(query.getShape());
  if (getRopeTheta().convertToDouble() <= 0 ||
      getRopeScale().convertToDouble() <= 0)
    return emitOpError() << "expects positive rope_theta and rope_scale";
  auto view = RankedTensorType::get(
      {key.getDimSize(0), kvHeads, key.getDimSize(1), headDim},
      key.getElementType());
  return verifyCacheView(*this, view, getCache().getType(), getLayer(),
                         "keys");
}
