//===- KernelBuilder.cpp - Building gpu.func kernel bodies ----------------===//
#include "compiler/Conversion/LlamaToGPU/KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;

namespace llamac::gpu {

Value DeviceBuilder::index(int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value DeviceBuilder::f32(float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value DeviceBuilder::i32(int32_t value) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(value));
}

Value DeviceBuilder::threadId() {
  return mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x);
}

Value DeviceBuilder::blockId(mlir::gpu::Dimension dimension) {
  return mlir::gpu::BlockIdOp::create(b, loc, dimension);
}

Value DeviceBuilder::laneId() {
  return arith::RemUIOp::create(b, loc, threadId(), index(32));
}

Value DeviceBuilder::warpId() {
  return arith::DivUIOp::create(b, loc, threadId(), index(32));
}

Value DeviceBuilder::add(Value lhs, Value rhs) {
  return arith::AddIOp::create(b, loc, lhs, rhs);
}
Value DeviceBuilder::mul(Value lhs, Value rhs) {
  return arith::MulIOp::create(b, loc, lhs, rhs);
}
Value DeviceBuilder::div(Value lhs, Value rhs) {
  return arith::DivUIOp::create(b, loc, lhs, rhs);
}
Value DeviceBuilder::sub(Value lhs, Value rhs) {
  return arith::SubIOp::create(b, loc, lhs, rhs);
}
Value DeviceBuilder::fadd(Value lhs, Value rhs) {
  return arith::AddFOp::create(b, loc, lhs, rhs);
}
Value DeviceBuilder::fmul(Value lhs, Value rhs) {
  return arith::MulFOp::create(b, loc, lhs, rhs);
}
Value DeviceBuilder::fsub(Value lhs, Value rhs) {
  return arith::SubFOp::create(b, loc, lhs, rhs);
}
Value DeviceBuilder::cmp(arith::CmpIPredicate predicate, Value lhs, Value rhs) {
  return arith::CmpIOp::create(b, loc, predicate, lhs, rhs);
}

Value DeviceBuilder::loadIndex(Value buffer, Value position) {
  Value value = memref::LoadOp::create(b, loc, buffer, position);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), value);
}

Value DeviceBuilder::loadF32(Value buffer, Value position) {
  Value value = memref::LoadOp::create(b, loc, buffer, position);
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

void DeviceBuilder::storeF32(Value value, Value buffer, Value position) {
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  if (!element.isF32())
    value = arith::TruncFOp::create(b, loc, element, value);
  memref::StoreOp::create(b, loc, value, buffer, position);
}

/// The alignment of `lanes` consecutive elements of `buffer` at a position
/// that is a multiple of `lanes`. Without it vector accesses are only
/// element-aligned and NVPTX splits them into scalar ones.
static llvm::MaybeAlign vectorAlignment(Value buffer, int64_t lanes) {
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  return llvm::MaybeAlign(lanes * element.getIntOrFloatBitWidth() / 8);
}

Value DeviceBuilder::loadVectorF32(Value buffer, Value position, int64_t lanes) {
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  auto type = VectorType::get({lanes}, element);
  Value vector = vector::LoadOp::create(b, loc, type, buffer, ValueRange{position},
                                        /*nontemporal=*/false,
                                        vectorAlignment(buffer, lanes));
  if (element.isF32())
    return vector;
  return arith::ExtFOp::create(b, loc, VectorType::get({lanes}, b.getF32Type()),
                               vector);
}

void DeviceBuilder::storeVectorF32(Value vector, Value buffer, Value position) {
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  auto type = cast<VectorType>(vector.getType());
  if (!element.isF32())
    vector = arith::TruncFOp::create(b, loc, type.clone(element), vector);
  vector::StoreOp::create(b, loc, vector, buffer, ValueRange{position},
                          /*nontemporal=*/false,
                          vectorAlignment(buffer, type.getNumElements()));
}

void DeviceBuilder::forLoop(Value lb, Value ub, Value step,
                            llvm::function_ref<void(Value)> body) {
  scf::ForOp::create(b, loc, lb, ub, step, ValueRange{},
                     [&](OpBuilder &nested, Location, Value iv, ValueRange) {
                       OpBuilder::InsertionGuard guard(b);
                       b.setInsertionPoint(nested.getInsertionBlock(),
                                           nested.getInsertionPoint());
                       body(iv);
                       scf::YieldOp::create(b, loc);
                     });
}

ValueRange DeviceBuilder::forLoop(
    Value lb, Value ub, Value step, ValueRange init,
    llvm::function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, step, init,
      [&](OpBuilder &nested, Location, Value iv, ValueRange carried) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(), nested.getInsertionPoint());
        SmallVector<Value> next = body(iv, carried);
        scf::YieldOp::create(b, loc, next);
      });
  return loop.getResults();
}

void DeviceBuilder::ifThen(Value condition, llvm::function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, loc, condition, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}

Value DeviceBuilder::combine(Value lhs, Value rhs, Reduction kind) {
  if (kind == Reduction::Sum)
    return fadd(lhs, rhs);
  return arith::MaximumFOp::create(b, loc, lhs, rhs);
}

Value DeviceBuilder::warpReduce(Value value, Reduction kind, int32_t lanes) {
  Value width = i32(32);
  for (int32_t offset = lanes / 2; offset >= 1; offset /= 2) {
    auto shuffle = mlir::gpu::ShuffleOp::create(b, loc, value, i32(offset), width,
                                                mlir::gpu::ShuffleMode::XOR);
    value = combine(value, shuffle.getShuffleResult(), kind);
  }
  return value;
}

void DeviceBuilder::barrier() { mlir::gpu::BarrierOp::create(b, loc); }

void DeviceBuilder::gridFence() { NVVM::MembarOp::create(b, loc, NVVM::MemScopeKind::GPU); }

SmallVector<Value> DeviceBuilder::dynamicShared(ArrayRef<MemRefType> types) {
  auto bytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                               MemRefLayoutAttrInterface{}, types.front().getMemorySpace());
  Value dynamic = mlir::gpu::DynamicSharedMemoryOp::create(b, loc, bytes);
  return llvm::map_to_vector(types, [&](MemRefType type) -> Value {
    return memref::ViewOp::create(b, loc, type, dynamic, index(0), ValueRange{});
  });
}

Value DeviceBuilder::blockReduce(Value value, Reduction kind, Value scratch,
                                 int64_t threads) {
  value = warpReduce(value, kind);
  Value lane = laneId();
  Value warp = warpId();
  ifThen(cmp(arith::CmpIPredicate::eq, lane, index(0)),
         [&] { memref::StoreOp::create(b, loc, value, scratch, warp); });
  barrier();
  Value result = memref::LoadOp::create(b, loc, scratch, index(0));
  for (int64_t w = 1; w < threads / 32; ++w)
    result = combine(result, memref::LoadOp::create(b, loc, scratch, index(w)),
                     kind);
  // The next reduction may overwrite `scratch` only after all have read it.
  barrier();
  return result;
}

int64_t vectorLanes(Type type, int64_t rowLength) {
  int64_t lanes = 128 / type.getIntOrFloatBitWidth();
  while (rowLength % lanes != 0)
    lanes /= 2;
  return lanes;
}

} // namespace llamac::gpu
