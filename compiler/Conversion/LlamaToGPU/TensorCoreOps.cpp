//===- TensorCoreOps.cpp - mma.sync and ldmatrix for the kernels ----------===//
#include "compiler/Conversion/LlamaToGPU/TensorCoreOps.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::gpu {

SmallVector<Value> mmaSync(DeviceBuilder &d, Type element, ArrayRef<Value> a,
                           ArrayRef<Value> b, ArrayRef<Value> c) {
  OpBuilder &builder = d.builder();
  Location loc = d.location();
  bool bf16 = element.isBF16();
  // f16 operands are vector<2xf16>, bf16 ones i32 (see nvvm.mma.sync).
  auto operands = [&](ArrayRef<Value> pairs) {
    if (!bf16)
      return SmallVector<Value>(pairs);
    return llvm::map_to_vector(pairs, [&](Value pair) -> Value {
      return LLVM::BitcastOp::create(builder, loc, builder.getI32Type(), pair);
    });
  };
  Type f32 = builder.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(builder.getContext(),
                                                     SmallVector<Type>(4, f32));
  NVVM::MMATypes types = bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value result = NVVM::MmaOp::create(
      builder, loc, resultType, operands(a), operands(b), c,
      ArrayRef<int64_t>{kMmaM, kMmaN, kMmaK}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{types, types},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  SmallVector<Value> sums;
  for (int64_t i = 0; i < 4; ++i)
    sums.push_back(LLVM::ExtractValueOp::create(builder, loc, result, i));
  return sums;
}

SmallVector<Value> loadMatrices(DeviceBuilder &d, Value shared, Value position,
                                Type element, bool transpose) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  auto matrices = nvgpu::LdMatrixOp::create(b, loc, VectorType::get({4, 2}, element),
                                            shared, ValueRange{position}, transpose,
                                            /*numTiles=*/4);
  SmallVector<Value> registers;
  for (int64_t i = 0; i < 4; ++i)
    registers.push_back(vector::ExtractOp::create(b, loc, matrices, i));
  return registers;
}

Value copyChunkAsync(DeviceBuilder &d, Value shared, Value sharedPosition, Value buffer,
                     Value position, Value exists) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value elements;
  if (exists)
    elements = arith::SelectOp::create(b, loc, exists, d.index(kChunk), d.index(0));
  return nvgpu::DeviceAsyncCopyOp::create(
      b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), shared,
      ValueRange{sharedPosition}, buffer, ValueRange{position}, b.getIndexAttr(kChunk),
      elements, /*bypassL1=*/b.getUnitAttr());
}

Value commitCopies(DeviceBuilder &d, ValueRange copies) {
  OpBuilder &b = d.builder();
  return nvgpu::DeviceAsyncCreateGroupOp::create(
      b, d.location(), nvgpu::DeviceAsyncTokenType::get(b.getContext()), copies);
}

void waitForCopies(DeviceBuilder &d, Value group, int32_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(d.builder(), d.location(), group,
                                   d.builder().getI32IntegerAttr(pending));
}

Value sharedAddress(DeviceBuilder &d, Value shared) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value pointer = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, shared);
  return arith::IndexCastUIOp::create(b, loc, b.getI64Type(), pointer);
}

Value swizzledMatrixDescriptor(DeviceBuilder &d, Value address) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  auto constant = [&](uint64_t value) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(int64_t(value)));
  };
  // Fields in 16-byte units: the start address's 14 bits [0, 14), the
  // leading byte offset [16, 30) (unused by a K-major swizzled operand;
  // 16 bytes by convention), the stride byte offset between 8-row atoms
  // [32, 46), the swizzle at [62, 64) (1: 128 bytes).
  constexpr uint64_t kLeadingBytes = 16, kAtomBytes = 1024, kSwizzle128 = 1;
  uint64_t fields = (kLeadingBytes >> 4) << 16 | (kAtomBytes >> 4) << 32 |
                    kSwizzle128 << 62;
  Value start = arith::ShRUIOp::create(
      b, loc, arith::AndIOp::create(b, loc, address, constant(0x3FFFF)), constant(4));
  return arith::OrIOp::create(b, loc, start, constant(fields));
}

SmallVector<Value> warpgroupMma(DeviceBuilder &d, Value descriptorA, Value descriptorB,
                                ArrayRef<Value> acc) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  auto accType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(acc.size(), b.getF32Type()));
  Value packed = LLVM::PoisonOp::create(b, loc, accType);
  for (auto [i, value] : llvm::enumerate(acc))
    packed = LLVM::InsertValueOp::create(b, loc, packed, value, int64_t(i));
  auto shape = NVVM::MMAShapeAttr::get(b.getContext(), kWgmmaM,
                                       int32_t(2 * acc.size()), kMmaK);
  Value result = NVVM::WgmmaMmaAsyncOp::create(
      b, loc, accType, packed, descriptorA, descriptorB, shape, NVVM::WGMMATypes::f16,
      NVVM::WGMMATypes::f16, NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
      NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
      NVVM::MMALayout::col, /*satfinite=*/nullptr);
  SmallVector<Value> sums;
  for (int64_t i = 0; i < int64_t(acc.size()); ++i)
    sums.push_back(LLVM::ExtractValueOp::create(b, loc, result, i));
  return sums;
}

void fenceWarpgroupOperands(DeviceBuilder &d) {
  NVVM::WgmmaFenceAlignedOp::create(d.builder(), d.location());
}

void waitForWarpgroupMma(DeviceBuilder &d, int64_t pending) {
  NVVM::WgmmaGroupSyncAlignedOp::create(d.builder(), d.location());
  NVVM::WgmmaWaitGroupSyncOp::create(d.builder(), d.location(), pending);
}

void fenceSharedForAsyncProxy(DeviceBuilder &d) {
  MLIRContext *context = d.builder().getContext();
  NVVM::FenceProxyOp::create(
      d.builder(), d.location(),
      NVVM::ProxyKindAttr::get(context, NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(context, NVVM::SharedSpace::shared_cta));
}

/// Lane 8i + j names row j of matrix i; `rowsFromLowBit` says whether bit 0
/// of i selects rows 8-15 (and bit 1 the second chunk) or the reverse.
static MatrixLane matrixLane(DeviceBuilder &d, bool rowsFromLowBit) {
  OpBuilder &b = d.builder();
  Location loc = d.location();
  Value lane = d.laneId();
  Value matrix = d.div(lane, d.index(8));
  Value low = arith::RemUIOp::create(b, loc, matrix, d.index(2));
  Value high = d.div(matrix, d.index(2));
  Value inMatrix = arith::RemUIOp::create(b, loc, lane, d.index(8));
  Value lowerRows = rowsFromLowBit ? low : high;
  return {d.add(inMatrix, d.mul(lowerRows, d.index(8))), rowsFromLowBit ? high : low};
}

MatrixLane aFragmentLane(DeviceBuilder &d) { return matrixLane(d, true); }

MatrixLane bFragmentPairLane(DeviceBuilder &d) { return matrixLane(d, false); }

Value packPair(DeviceBuilder &d, Type element, Value a, Value b) {
  OpBuilder &builder = d.builder();
  Location loc = d.location();
  Value pair = vector::FromElementsOp::create(
      builder, loc, VectorType::get({2}, builder.getF32Type()), ValueRange{a, b});
  return arith::TruncFOp::create(builder, loc, VectorType::get({2}, element), pair);
}

} // namespace llamac::gpu
