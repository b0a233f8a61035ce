//===- WeightRows.cpp - How the linear kernels read a weight matrix -------===//
#include "compiler/Conversion/LlamaToGPU/WeightRows.h"
#include "dialects/llama/IR/LlamaDialect.h"
#include "runtime/ModelABI.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;

namespace llamac::gpu {

/// 2^23 as float32 bits: ORing an integer below 2^23 into its mantissa gives
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
  if (!isInt4())
    return vectorLanes(l.computeType(), inFeatures);
  // The group is a multiple of 8 and divides the row.
  int64_t lanes = l.options().int4Lanes;
  while (lanes > kInt4Lanes && int4GroupSize % lanes != 0)
    lanes /= 2;
  return lanes;
}

int64_t WeightFormat::decodedLanes(int64_t lanes) const {
  return isInt4() ? kInt4Lanes : lanes;
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

WeightRows::Start WeightRows::start(DeviceBuilder &d, Value offset) const {
  if (!groupSize)
    return {offset, {}, {}};
  return {offset, d.div(offset, d.index(2)), d.div(offset, d.index(groupSize))};
}

WeightRows::Loaded WeightRows::load(DeviceBuilder &d, const Start &start, int64_t step,
                                    int64_t lanes) const {
  auto plus = [&](Value value, int64_t constant) {
    return constant ? d.add(value, d.index(constant)) : value;
  };
  if (!groupSize)
    return {d.loadVectorF32(buffer, plus(start.offset, step), lanes), {}, {}};
  assert(lanes % kInt4Lanes == 0 && groupSize % lanes == 0 &&
         "an int4 vector is whole words of codes inside one group");
  OpBuilder &b = d.builder();
  Location loc = d.location();
  auto byteVector = VectorType::get({lanes / 2}, b.getI8Type());
  Value bytes = vector::LoadOp::create(b, loc, byteVector, buffer,
                                       ValueRange{plus(start.codeByte, step / 2)},
                                       /*nontemporal=*/false,
                                       llvm::MaybeAlign(lanes / 2));
  Value words = vector::BitCastOp::create(
      b, loc, VectorType::get({lanes / kInt4Lanes}, b.getI32Type()), bytes);
  // A step of whole groups moves the group index by a constant; any other
  // divides again.
  Value group = step % groupSize == 0
                    ? plus(start.group, step / groupSize)
                    : d.div(plus(start.offset, step), d.index(groupSize));
  auto loadHalf = [&](Value values) -> Value {
    return memref::LoadOp::create(b, loc, values, group);
  };
  return {words, loadHalf(scales), loadHalf(minimums)};
}

namespace {
/// Where code j of a word of 8 sits when it is made float32: codes 0-4 at
/// bits 4j of the word, codes 5-7 at bits 4j - 12 of the word shifted right
/// by 12, so that every one lies below bit 20, inside a float32 mantissa.
struct CodePlace {
  int32_t wordShift, bit;
};
} // namespace

static CodePlace codePlace(int64_t j) {
  int32_t wordShift = j < 5 ? 0 : 12;
  return {wordShift, int32_t(4 * j) - wordShift};
}

SmallVector<Value> WeightRows::decode(DeviceBuilder &d, const Loaded &loaded,
                                      int64_t lanes) const {
  if (!groupSize)
    return {loaded.elements};
  OpBuilder &b = d.builder();
  Location loc = d.location();
  auto wordsType = VectorType::get({kInt4Lanes}, b.getI32Type());
  auto floatsType = VectorType::get({kInt4Lanes}, b.getF32Type());
  SmallVector<int32_t> wordShifts, masks;
  SmallVector<float> unitScales, unitBiases;
  for (int64_t j = 0; j < kInt4Lanes; ++j) {
    CodePlace place = codePlace(j);
    wordShifts.push_back(place.wordShift);
    masks.push_back(int32_t(0xF) << place.bit);
    unitScales.push_back(std::ldexp(1.0f, -place.bit));
    unitBiases.push_back(-std::ldexp(1.0f, 23 - place.bit));
  }
  auto constant = [&](DenseElementsAttr value) -> Value {
    return arith::ConstantOp::create(b, loc, value);
  };
  auto words = [&](auto values) {
    return constant(DenseElementsAttr::get(wordsType, ArrayRef(values)));
  };
  auto floats = [&](auto values) {
    return constant(DenseElementsAttr::get(floatsType, ArrayRef(values)));
  };
  // Little-endian: code j is bits [4j, 4j + 4) of the word. Masked in place
  // and ORed into the bits of 2^23, code c at bit p reads as 2^23 + c * 2^p
  // exactly, and one FMA by 2^-p and -2^(23-p) gives c: a LOP3 and an FMA a
  // code, with one shift for the word's top three (no bit-field extracts,
  // which cost ptxas two instructions each, and no cvt.rn.f32.u32 on the
  // narrower conversion unit).
  auto broadcast = [&](Value half) -> Value {
    Value value = arith::ExtFOp::create(b, loc, b.getF32Type(), half);
    return vector::BroadcastOp::create(b, loc, floatsType, value);
  };
  Value scale = broadcast(loaded.scale), minimum = broadcast(loaded.minimum);
  SmallVector<Value> decoded;
  for (int64_t w = 0; w < lanes / kInt4Lanes; ++w) {
    Value word = vector::ExtractOp::create(b, loc, loaded.elements, ArrayRef<int64_t>{w});
    Value placed = arith::AndIOp::create(
        b, loc,
        arith::ShRUIOp::create(b, loc, vector::BroadcastOp::create(b, loc, wordsType, word),
                               words(wordShifts)),
        words(masks));
    Value biased = arith::BitcastOp::create(
        b, loc, floatsType,
        arith::OrIOp::create(b, loc, placed,
                             constant(DenseElementsAttr::get(wordsType, kFloatTwoTo23Bits))));
    Value codes =
        vector::FMAOp::create(b, loc, biased, floats(unitScales), floats(unitBiases));
    decoded.push_back(vector::FMAOp::create(b, loc, codes, scale, minimum));
  }
  return decoded;
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
          d.storeVectorF32(rows.decode(d, loaded, kInt4Lanes).front(), f.getArgument(1),
                           offset);
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
