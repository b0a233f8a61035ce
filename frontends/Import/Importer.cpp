//===- Importer.cpp - A ModelSpec as llama dialect IR ---------------------===//
#include "frontends/Import/Importer.h"

#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <cmath>

using namespace mlir;

namespace llamac {
namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

Type elementTypeOf(MLIRContext *ctx, DType dtype) {
  switch (dtype) {
  case DType::F16:
    return Float16Type::get(ctx);
  case DType::BF16:
    return BFloat16Type::get(ctx);
  case DType::F32:
    break;
  }
  return Float32Type::get(ctx);
}

std::string layerName(int64_t layer, const char *suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

/// Emits one entry function. `seqSize` is the static number of tokens per
/// row, or kDynamic.
class FunctionEmitter {
public:
  FunctionEmitter(OpBuilder &builder, const ModelSpec &spec,
                  const ImportOptions &options, int64_t seqSize)
      : b(builder), loc(builder.getUnknownLoc()), spec(spec),
        config(spec.config), options(options), seqSize(seqSize) {}

  void emit(StringRef name);

private:
  RankedTensorType activation(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  /// [batch, seq, features]
  RankedTensorType rows(int64_t features) {
    return activation({kDynamic, seqSize, features});
  }
  /// [batch, heads, seq, head_dim]
  RankedTensorType heads(int64_t count) {
    return activation({kDynamic, count, seqSize, config.headDim});
  }

  Value weight(const std::string &name);
  Value constant(float value);
  Value rmsNorm(Value x, const std::string &weightName);
  Value linear(Value x, const std::string &weightName);
  Value splitHeads(Value x, int64_t count);
  Value attention(int64_t layer, Value x);
  Value mlp(int64_t layer, Value x);
  /// `x` ([batch, seq, features]) at the positions whose logits the caller
  /// reads, in prefill's last layer; `x` itself elsewhere. What the last
  /// layer computes after its attention (o_proj, the MLP, the norms, the
  /// logits) is needed there only.
  Value atOutputPositions(int64_t layer, Value x);
  Value lmHead(Value x);

  OpBuilder &b;
  Location loc;
  const ModelSpec &spec;
  const LlamaConfig &config;
  const ImportOptions &options;
  int64_t seqSize;

  // Entry arguments and values every layer shares.
  Value cache, positions, firstSlot, start, batch, seq, length, mask, eps;
  /// Prefill: the positions per row the output holds (its dimension 1).
  Value outputPositions;
};

Value FunctionEmitter::weight(const std::string &name) {
  const WeightInfo *info = spec.findWeight(name);
  SmallVector<int64_t> shape(info->shape.begin(), info->shape.end());
  auto type = RankedTensorType::get(shape, elementTypeOf(b.getContext(), info->dtype));
  return llama::WeightOp::create(b, loc, type, name);
}

Value FunctionEmitter::constant(float value) {
  return llama::ConstantOp::create(b, loc, RankedTensorType::get({}, b.getF32Type()),
                                   b.getF32FloatAttr(value));
}

/// Hugging Face LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), times the weight
/// (upcast to float32).
Value FunctionEmitter::rmsNorm(Value x, const std::string &weightName) {
  auto type = cast<RankedTensorType>(x.getType());
  auto reducedShape = SmallVector<int64_t>(type.getShape());
  reducedShape.back() = 1;
  Value squares = llama::MulOp::create(b, loc, x, x);
  Value variance = llama::MeanOp::create(b, loc, activation(reducedShape), squares);
  Value shifted = llama::AddOp::create(b, loc, variance, eps);
  Value inverse = llama::RsqrtOp::create(b, loc, shifted);
  Value normalized = llama::MulOp::create(b, loc, x, inverse);
  Value w = weight(weightName);
  auto wType = cast<RankedTensorType>(w.getType());
  if (!wType.getElementType().isF32())
    w = llama::CastOp::create(b, loc, activation(wType.getShape()), w);
  return llama::MulOp::create(b, loc, normalized, w);
}

Value FunctionEmitter::linear(Value x, const std::string &weightName) {
  Value w = weight(weightName);
  int64_t outFeatures = cast<RankedTensorType>(w.getType()).getDimSize(0);
  return llama::MatmulOp::create(b, loc, rows(outFeatures), x, w);
}

/// [batch, seq, count * head_dim] -> [batch, count, seq, head_dim]
Value FunctionEmitter::splitHeads(Value x, int64_t count) {
  Value split = llama::ReshapeOp::create(
      b, loc, activation({kDynamic, seqSize, count, config.headDim}), x);
  return llama::TransposeOp::create(b, loc, heads(count), split,
                                    ArrayRef<int64_t>{0, 2, 1, 3});
}

Value FunctionEmitter::attention(int64_t layer, Value x) {
  int64_t numHeads = config.numHeads, kvHeads = config.numKeyValueHeads;
  Value q = linear(x, layerName(layer, "self_attn.q_proj.weight"));
  Value k = linear(x, layerName(layer, "self_attn.k_proj.weight"));
  Value v = linear(x, layerName(layer, "self_attn.v_proj.weight"));
  Value qh = splitHeads(q, numHeads), kh = splitHeads(k, kvHeads),
        vh = splitHeads(v, kvHeads);
  auto theta = b.getF64FloatAttr(config.ropeTheta);
  auto scale = b.getF64FloatAttr(config.ropeLinearFactor);
  Value qr = llama::RopeOp::create(b, loc, qh.getType(), qh, positions, theta, scale);
  Value kr = llama::RopeOp::create(b, loc, kh.getType(), kh, positions, theta, scale);
  llama::CacheWriteOp::create(b, loc, kr, vh, cache, start, layer);
  auto cachedType = activation({kDynamic, kvHeads, kDynamic, config.headDim});
  Value keys = llama::CacheReadOp::create(b, loc, cachedType, cache, batch, length,
                                          layer, llama::KVKind::Key);
  Value values = llama::CacheReadOp::create(b, loc, cachedType, cache, batch, length,
                                            layer, llama::KVKind::Value);
  int64_t repeats = numHeads / kvHeads;
  if (repeats > 1) {
    auto repeatedType = activation({kDynamic, numHeads, kDynamic, config.headDim});
    keys = llama::RepeatKVOp::create(b, loc, repeatedType, keys, repeats);
    values = llama::RepeatKVOp::create(b, loc, repeatedType, values, repeats);
  }
  auto scoresType = activation({kDynamic, numHeads, seqSize, kDynamic});
  Value scores = llama::BatchMatmulOp::create(b, loc, scoresType, qr, keys,
                                              /*transpose_rhs=*/true);
  float scaling = 1.0f / std::sqrt(static_cast<float>(config.headDim));
  scores = llama::MulOp::create(b, loc, scores, constant(scaling));
  scores = llama::AddOp::create(b, loc, scores, mask);
  Value probabilities = llama::SoftmaxOp::create(b, loc, scores);
  Value context = llama::BatchMatmulOp::create(b, loc, heads(numHeads),
                                               probabilities, values, false);
  Value merged = llama::TransposeOp::create(
      b, loc, activation({kDynamic, seqSize, numHeads, config.headDim}), context,
      ArrayRef<int64_t>{0, 2, 1, 3});
  Value flat = llama::ReshapeOp::create(b, loc, rows(numHeads * config.headDim),
                                        merged);
  return linear(atOutputPositions(layer, flat),
                layerName(layer, "self_attn.o_proj.weight"));
}

Value FunctionEmitter::mlp(int64_t layer, Value x) {
  Value gate = linear(x, layerName(layer, "mlp.gate_proj.weight"));
  Value activated = llama::SiluOp::create(b, loc, gate);
  Value up = linear(x, layerName(layer, "mlp.up_proj.weight"));
  Value product = llama::MulOp::create(b, loc, activated, up);
  return linear(product, layerName(layer, "mlp.down_proj.weight"));
}

Value FunctionEmitter::atOutputPositions(int64_t layer, Value x) {
  if (!outputPositions || layer != config.numLayers - 1)
    return x;
  int64_t features = cast<RankedTensorType>(x.getType()).getDimSize(2);
  return llama::LastPositionsOp::create(b, loc, rows(features), x, outputPositions);
}

Value FunctionEmitter::lmHead(Value x) {
  if (config.architecture == Architecture::SequenceClassification)
    return linear(x, "score.weight");
  return linear(x, config.tieWordEmbeddings ? "model.embed_tokens.weight"
                                            : "lm_head.weight");
}

void FunctionEmitter::emit(StringRef name) {
  MLIRContext *ctx = b.getContext();
  auto i32 = b.getI32Type();
  int64_t outputSize = config.architecture == Architecture::SequenceClassification
                           ? config.numLabels
                           : config.vocabSize;
  auto cacheType = MemRefType::get({config.numLayers, 2, options.maxBatch,
                                    config.numKeyValueHeads, options.maxSeq,
                                    config.headDim},
                                   b.getF32Type());
  auto tokensType = MemRefType::get({kDynamic, seqSize}, i32);
  auto firstSlotType = MemRefType::get({kDynamic}, i32);
  auto outputType = MemRefType::get({kDynamic, seqSize, outputSize}, b.getF32Type());
  SmallVector<Type> argTypes = {LLVM::LLVMPointerType::get(ctx), cacheType,
                                tokensType, tokensType, firstSlotType,
                                b.getIndexType(), outputType};
  auto func = func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
  func.setArgAttr(0, "llama.weight_table", b.getUnitAttr());
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(func.addEntryBlock());

  auto toTensor = [&](Value buffer) -> Value {
    auto type = cast<MemRefType>(buffer.getType());
    auto tensorType = RankedTensorType::get(type.getShape(), type.getElementType());
    return bufferization::ToTensorOp::create(b, loc, tensorType, buffer,
                                             /*restrict=*/true);
  };
  cache = func.getArgument(1);
  Value tokens = toTensor(func.getArgument(2));
  positions = toTensor(func.getArgument(3));
  firstSlot = toTensor(func.getArgument(4));
  start = func.getArgument(5);
  batch = tensor::DimOp::create(b, loc, tokens, 0);
  seq = tensor::DimOp::create(b, loc, tokens, 1);
  length = arith::AddIOp::create(b, loc, start, seq);
  mask = llama::AttentionMaskOp::create(
      b, loc, activation({kDynamic, 1, seqSize, kDynamic}), firstSlot, start, seq,
      length);
  eps = constant(static_cast<float>(config.rmsNormEps));
  if (ShapedType::isDynamic(seqSize))
    outputPositions = memref::DimOp::create(b, loc, func.getArgument(6), 1);

  Value hidden = llama::EmbeddingOp::create(
      b, loc, rows(config.hiddenSize), weight("model.embed_tokens.weight"), tokens);
  Location modelLoc = loc;
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    // Every op of a layer carries the layer's name: diagnostics point at it
    // and `llamac compile --stats` counts ops per layer by it.
    loc = NameLoc::get(b.getStringAttr("model.layers." + std::to_string(layer)),
                       modelLoc);
    Value normed = rmsNorm(hidden, layerName(layer, "input_layernorm.weight"));
    hidden = llama::AddOp::create(b, loc, atOutputPositions(layer, hidden),
                                  attention(layer, normed));
    normed = rmsNorm(hidden, layerName(layer, "post_attention_layernorm.weight"));
    hidden = llama::AddOp::create(b, loc, hidden, mlp(layer, normed));
  }
  loc = modelLoc;
  Value logits = lmHead(rmsNorm(hidden, "model.norm.weight"));
  bufferization::MaterializeInDestinationOp::create(b, loc, TypeRange{}, logits,
                                                    func.getArgument(6))
      .setWritable(true);
  func::ReturnOp::create(b, loc);
}

DictionaryAttr describeModel(Builder &b, const ModelSpec &spec,
                             const ImportOptions &options) {
  const LlamaConfig &c = spec.config;
  return b.getDictionaryAttr({
      b.getNamedAttr("architecture",
                     b.getStringAttr(c.architecture == Architecture::CausalLM
                                         ? "LlamaForCausalLM"
                                         : "LlamaForSequenceClassification")),
      b.getNamedAttr("hidden_size", b.getI64IntegerAttr(c.hiddenSize)),
      b.getNamedAttr("intermediate_size", b.getI64IntegerAttr(c.intermediateSize)),
      b.getNamedAttr("num_layers", b.getI64IntegerAttr(c.numLayers)),
      b.getNamedAttr("num_heads", b.getI64IntegerAttr(c.numHeads)),
      b.getNamedAttr("num_kv_heads", b.getI64IntegerAttr(c.numKeyValueHeads)),
      b.getNamedAttr("head_dim", b.getI64IntegerAttr(c.headDim)),
      b.getNamedAttr("vocab_size", b.getI64IntegerAttr(c.vocabSize)),
      b.getNamedAttr("max_batch", b.getI64IntegerAttr(options.maxBatch)),
      b.getNamedAttr("max_seq", b.getI64IntegerAttr(options.maxSeq)),
  });
}

} // namespace

ImportOptions resolveImportOptions(const ModelSpec &spec, ImportOptions options) {
  if (options.maxSeq == 0)
    options.maxSeq = std::min<int64_t>(spec.config.maxPositionEmbeddings, 2048);
  return options;
}

OwningOpRef<ModuleOp> importModel(MLIRContext &context, const ModelSpec &spec,
                                  const ImportOptions &requested) {
  context.loadDialect<llama::LlamaDialect, func::FuncDialect,
                      arith::ArithDialect, tensor::TensorDialect,
                      bufferization::BufferizationDialect, LLVM::LLVMDialect,
                      memref::MemRefDialect>();
  ImportOptions options = resolveImportOptions(spec, requested);
  OpBuilder b(&context);
  Location loc = b.getUnknownLoc();
  if (options.maxBatch < 1 || options.maxSeq < 1) {
    emitError(loc) << "--max-batch and --max-seq must be positive";
    return nullptr;
  }
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr("llama.model", describeModel(b, spec, options));
  b.setInsertionPointToEnd(module->getBody());
  for (const WeightInfo &info : spec.weights) {
    SmallVector<int64_t> shape(info.shape.begin(), info.shape.end());
    auto type = RankedTensorType::get(shape, elementTypeOf(&context, info.dtype));
    llama::WeightDeclOp::create(b, loc, info.name, type);
  }
  FunctionEmitter(b, spec, options, kDynamic).emit("prefill");
  FunctionEmitter(b, spec, options, 1).emit("decode");
  return module;
}

} // namespace llamac
