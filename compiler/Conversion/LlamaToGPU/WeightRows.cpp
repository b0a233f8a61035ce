//===- WeightRows.cpp - How the linear kernels read a weight matrix -------===//
#include "compiler/Conversion/LlamaToGPU/WeightRows.h"
#include "dialects/llama/IR/LlamaDialect.h"
#include "runtime/ModelABI.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::gpu {

/// 2^23 as float32 bits: adding an integer below 2^23 to its mantissa gives
/// exactly 2^23 + that integer.
constexpr int32_t kFloatTwoTo23Bits = 0x4B000000;

WeightFormat WeightFormat::of(Value weightTensor) {
  llama::Int4Attr int4 = llama::getInt4Encoding(weightTensor.getType());
  return WeightFormat{int4 ? int4.getGroupSize() : 0};
}

FailureOr<WeightFormat> WeightFormat::common(Location loc, ValueRange weightTensors) {
  WeightFormat format = of(weightTensors.front());
  for (Value tensor : weightTensors.drop_front())
    if (of(tensor).int4GroupSize != format.int4GroupSize)
      return emitError(loc, "reads weights of different int4 group sizes in "
                            "one kernel");
  return format;
}

Type WeightFormat::argumentElement(GPULowering &l) const {
  if (isInt4())
    return l.builder().getI8Type();
  return l.computeType();
}

int64_t WeightFormat::lanes(GPULowering &l, int64_t inFeatures) const {
  if (isInt4())
    return kInt4Lanes;
  return vectorLanes(l.computeType(), inFeatures);
}

std::string WeightFormat::suffix() const {
  if (!isInt4())
    return "";
  return "_q4g" + std::to_string(int4GroupSize);
}

WeightRows::WeightRows(DeviceBuilder &d, Value buffer, Value outFeatures,
                       int64_t inFeatures, WeightFormat format)
    : buffer(buffer), groupSize(format.int4GroupSize) {
  if (!format.isInt4())
    return;
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value groups = d.mul(outFeatures, d.index(inFeatures / groupSize));
  auto groupsType = MemRefType::get({ShapedType::kDynamic}, b.getF16Type());
  auto view = [&](Value byteShift) -> Value {
    return memref::ViewOp::create(b, loc, groupsType, buffer, byteShift,
                                  ValueRange{groups});
  };
  Value codeBytes = d.mul(outFeatures, d.index(int4CodeBytes(1, inFeatures)));
  scales = view(codeBytes);
  // The minimums follow the scales, one float16 a group.
  minimums = view(d.add(codeBytes, d.mul(groups, d.index(2))));
}

WeightRows::Loaded WeightRows::load(DeviceBuilder &d, Value offset,
                                    int64_t lanes) const {
  if (!groupSize)
    return {d.loadVectorF32(buffer, offset, lanes), {}, {}};
  assert(lanes == kInt4Lanes && "an int4 vector is one 4-byte load of codes");
  OpBuilder &b = d.builder();
  Location loc = d.location();
  auto byteVector = VectorType::get({lanes / 2}, b.getI8Type());
  Value bytes = vector::LoadOp::create(b, loc, byteVector, buffer,
                                       ValueRange{d.div(offset, d.index(2))},
                                       /*nontemporal=*/false,
                                       llvm::MaybeAlign(lanes / 2));
  Value word = vector::ExtractOp::create(
      b, loc,
      vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), bytes),
      ArrayRef<int64_t>{0});
  Value group = d.div(offset, d.index(groupSize));
  auto loadHalf = [&](Value values) -> Value {
    return memref::LoadOp::create(b, loc, values, group);
  };
  return {word, loadHalf(scales), loadHalf(minimums)};
}

Value WeightRows::decode(DeviceBuilder &d, const Loaded &loaded, int64_t lanes) const {
  if (!groupSize)
    return loaded.elements;
  OpBuilder &b = d.builder();
  Location loc = d.location();
  // Little-endian: element j is bits [4j, 4j + 4) of the word.
  auto wordsType = VectorType::get({lanes}, b.getI32Type());
  SmallVector<int32_t> shifts;
  for (int64_t j = 0; j < lanes; ++j)
    shifts.push_back(int32_t(4 * j));
  auto constant = [&](DenseElementsAttr value) -> Value {
    return arith::ConstantOp::create(b, loc, value);
  };
  Value codes = arith::AndIOp::create(
      b, loc,
      arith::ShRUIOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, wordsType, loaded.elements),
          constant(DenseElementsAttr::get(wordsType, ArrayRef<int32_t>(shifts)))),
      constant(DenseElementsAttr::get(wordsType, int32_t(0xF))));
  // The code as float32, exactly: the bits of 2^23 + code, minus 2^23, an
  // OR and a subtraction on the integer and FMA pipes instead of a
  // cvt.rn.f32.u32 on the narrower conversion unit, at 8 codes a 4-byte
  // load (the int4 kernels of FasterTransformer and Marlin do the same in
  // f16).
  auto floatsType = VectorType::get({lanes}, b.getF32Type());
  Value biased = arith::BitcastOp::create(
      b, loc, floatsType,
      arith::OrIOp::create(b, loc, codes,
                           constant(DenseElementsAttr::get(wordsType, kFloatTwoTo23Bits))));
  Value values = arith::SubFOp::create(
      b, loc, biased, constant(DenseElementsAttr::get(floatsType, float(1 << 23))));
  auto broadcast = [&](Value half) -> Value {
    Value value = arith::ExtFOp::create(b, loc, b.getF32Type(), half);
    return vector::BroadcastOp::create(b, loc, floatsType, value);
  };
  return vector::FMAOp::create(b, loc, values, broadcast(loaded.scale),
                               broadcast(loaded.minimum));
}

Value dequantizeToHalf(GPULowering &l, Location loc, Value weight, int64_t outFeatures,
                       int64_t inFeatures, WeightFormat format) {
  OpBuilder &b = l.builder();
  int64_t elements = outFeatures * inFeatures;
  auto halfType = b.getF16Type();
  std::string name = "dequantize" + format.suffix() + "_n" + std::to_string(outFeatures) +
                     "_k" + std::to_string(inFeatures);
  mlir::gpu::GPUFuncOp kernel = l.getOrCreateKernel(
      name, {l.flatType(b.getI8Type()), l.flatType(halfType)}, /*workgroup=*/{},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        f.setArgAttr(0, llama::kInvariantArgAttr, d.builder().getUnitAttr());
        // Thread t decodes elements [8t, 8t + 8): one load of codes, one
        // 16-byte store. Threads past the end load the last vector, so the
        // loads come before the grid dependency wait, and store nothing.
        Value offset = d.mul(d.add(d.mul(d.blockId(mlir::gpu::Dimension::x),
                                         d.index(kBlockThreads)),
                                   d.threadId()),
                             d.index(kInt4Lanes));
        Value inRange = d.cmp(arith::CmpIPredicate::ult, offset, d.index(elements));
        Value clamped = arith::SelectOp::create(d.builder(), d.location(), inRange, offset,
                                                d.index(elements - kInt4Lanes));
        WeightRows rows(d, f.getArgument(0), d.index(outFeatures), inFeatures, format);
        WeightRows::Loaded loaded = rows.load(d, clamped, kInt4Lanes);
        d.ifThen(inRange, [&] {
          d.storeVectorF32(rows.decode(d, loaded, kInt4Lanes), f.getArgument(1), offset);
        });
      });
  Value decoded =
      l.allocateScratch(loc, MemRefType::get({elements}, halfType), ValueRange{});
  Value flat = l.flatten(loc, decoded);
  int64_t blocks = (elements / kInt4Lanes + kBlockThreads - 1) / kBlockThreads;
  l.launch(loc, kernel, {l.index(loc, blocks), l.index(loc, 1), l.index(loc, 1)},
           kBlockThreads, {weight, flat});
  return flat;
}

} // namespace llamac::gpu
