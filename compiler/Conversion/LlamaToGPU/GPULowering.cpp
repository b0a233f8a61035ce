//===- GPULowering.cpp - State shared by the llama to GPU lowerings -------===//
#include "compiler/Conversion/DenseMemRef.h"
#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "dialects/llama/IR/LlamaOps.h"
#include "runtime/ModelABI.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;

namespace llamac::gpu {

std::string typeName(Type type) {
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  return "f32";
}

Type elementType(Value buffer) {
  return cast<MemRefType>(buffer.getType()).getElementType();
}

std::string narrowedSuffix(StringRef role, Type element) {
  if (element.isF32())
    return "";
  return ("_" + role + "_" + typeName(element)).str();
}

GPULowering::GPULowering(ModuleOp module, mlir::gpu::GPUModuleOp kernels,
                         Type computeType, int64_t maxBatch, int64_t maxSeq,
                         KernelOptions options)
    : module(module), kernels(kernels), b(module.getContext()),
      compute(computeType), kernelOptions(options), batchLimit(maxBatch), seqLimit(maxSeq) {
  for (auto decl : module.getOps<llama::WeightDeclOp>())
    weightIndex[decl.getSymName()] = weightIndex.size();
}

LogicalResult GPULowering::beginFunction(func::FuncOp func) {
  weightTable = {};
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (func.getArgAttr(i, "llama.weight_table"))
      weightTable = func.getArgument(i);
  if (!weightTable)
    return func.emitOpError("has no `llama.weight_table` argument");
  buffers.clear();
  foldedNorms.clear();
  rotatedQueryBuffers.clear();
  angleBuffers.clear();
  Location loc = func.getLoc();
  b.setInsertionPointToStart(&func.getBody().front());
  auto tokenType = mlir::gpu::AsyncTokenType::get(b.getContext());
  stream = mlir::gpu::WaitOp::create(b, loc, tokenType, ValueRange{})
               .getAsyncToken();
  // Sized by endFunction once every buffer is placed.
  arenaSize = arith::ConstantIndexOp::create(b, loc, 0);
  auto alloc = mlir::gpu::AllocOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), tokenType,
      ValueRange{stream}, ValueRange{arenaSize}, ValueRange{});
  arena = alloc.getMemref();
  stream = alloc.getAsyncToken();
  return success();
}

namespace {

/// The last top-level op of the alloc's block that uses the buffer or a
/// flattened view of it.
Operation *findLastUse(memref::AllocOp alloc) {
  Operation *last = alloc;
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value buffer = worklist.pop_back_val();
    for (Operation *user : buffer.getUsers()) {
      if (isa<memref::CollapseShapeOp, memref::CastOp>(user))
        llvm::append_range(worklist, user->getResults());
      if (last->isBeforeInBlock(user))
        last = user;
    }
  }
  return last;
}

/// Bytes of `type` at the largest batch and sequence: dynamic dimension 0 is
/// the batch, dimension 1 the tokens per row.
int64_t maxByteSize(MemRefType type, int64_t maxBatch, int64_t maxSeq) {
  int64_t elements = 1;
  for (int64_t i = 0; i < type.getRank(); ++i)
    elements *= type.isDynamicDim(i) ? (i == 0 ? maxBatch : maxSeq)
                                     : type.getDimSize(i);
  return elements * type.getElementTypeBitWidth() / 8;
}

int64_t alignTo256(int64_t bytes) { return (bytes + 255) / 256 * 256; }

} // namespace

int64_t GPULowering::endFunction(func::FuncOp func) {
  // First-fit placement in program order: a buffer may reuse the bytes of
  // any buffer whose last use came before its allocation. Launches run in
  // program order on the one stream, so reuse needs no other ordering.
  struct Placed {
    int64_t offset, size;
    Operation *lastUse;
  };
  SmallVector<Placed> placed;
  int64_t total = 0;
  SmallVector<memref::AllocOp> allocs(func.getBody().getOps<memref::AllocOp>());
  for (memref::AllocOp alloc : allocs) {
    int64_t size = alignTo256(maxByteSize(alloc.getType(), batchLimit, seqLimit));
    SmallVector<std::pair<int64_t, int64_t>> busy;
    for (const Placed &other : placed)
      if (!other.lastUse->isBeforeInBlock(alloc))
        busy.push_back({other.offset, other.offset + other.size});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + size <= begin)
        break;
      offset = std::max(offset, end);
    }
    placed.push_back({offset, size, findLastUse(alloc)});
    total = std::max(total, offset + size);

    b.setInsertionPoint(alloc);
    Value view = memref::ViewOp::create(b, alloc.getLoc(), alloc.getType(), arena,
                                        index(alloc.getLoc(), offset),
                                        alloc.getDynamicSizes());
    alloc.replaceAllUsesWith(view);
    alloc.erase();
  }
  arenaSize.setValueAttr(b.getIndexAttr(total));

  Operation *terminator = func.getBody().front().getTerminator();
  b.setInsertionPoint(terminator);
  Location loc = terminator->getLoc();
  auto tokenType = mlir::gpu::AsyncTokenType::get(b.getContext());
  stream = mlir::gpu::DeallocOp::create(b, loc, tokenType, ValueRange{stream}, arena)
               .getAsyncToken();
  mlir::gpu::WaitOp::create(b, loc, Type(), ValueRange{stream});
  return total;
}

Value GPULowering::bufferOf(Value tensor) const {
  return buffers.lookup(tensor);
}

Value GPULowering::index(Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value GPULowering::dim(Location loc, Value buffer, int64_t index) {
  return memref::DimOp::create(b, loc, buffer, index);
}

Value GPULowering::ceilDiv(Location loc, Value value, int64_t divisor) {
  return arith::CeilDivUIOp::create(b, loc, value, index(loc, divisor));
}

Value GPULowering::rowCount(Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  Value rows = index(loc, 1);
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    rows = arith::MulIOp::create(b, loc, rows, dim(loc, buffer, i));
  return rows;
}

Value GPULowering::allocate(Location loc, Value result, Value like, Type element) {
  for (Operation *user : result.getUsers())
    if (auto materialize =
            dyn_cast<bufferization::MaterializeInDestinationOp>(user))
      return materialize.getDest();
  auto tensorType = cast<RankedTensorType>(result.getType());
  auto type = MemRefType::get(tensorType.getShape(),
                              element ? element : tensorType.getElementType());
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(dim(loc, like, i));
  return allocateScratch(loc, type, sizes);
}

Value GPULowering::allocateScratch(Location loc, MemRefType type,
                                   ValueRange sizes) {
  return memref::AllocOp::create(b, loc, type, sizes);
}

Value GPULowering::flatten(Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 1 && type.isDynamicDim(0))
    return buffer;
  if (type.getRank() == 1)
    return memref::CastOp::create(b, loc, flatType(type.getElementType()), buffer);
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  Value flat = memref::CollapseShapeOp::create(b, loc, buffer,
                                               ArrayRef<ReassociationIndices>{all});
  if (cast<MemRefType>(flat.getType()).isDynamicDim(0))
    return flat;
  return memref::CastOp::create(b, loc, flatType(type.getElementType()), flat);
}

MemRefType GPULowering::flatType(Type element) const {
  return MemRefType::get({ShapedType::kDynamic}, element);
}

MemRefType GPULowering::sharedType(Type element, int64_t size) const {
  auto workgroup = mlir::gpu::AddressSpaceAttr::get(
      b.getContext(), mlir::gpu::GPUDialect::getWorkgroupAddressSpace());
  return MemRefType::get({size}, element, MemRefLayoutAttrInterface{}, workgroup);
}

FailureOr<Value> GPULowering::weight(Location loc, Value tensor) {
  auto weightOp = tensor.getDefiningOp<llama::WeightOp>();
  if (!weightOp)
    return emitError(loc, "expects a weight operand produced by llama.weight");
  auto found = weightIndex.find(weightOp.getName());
  if (found == weightIndex.end())
    return weightOp.emitOpError("refers to an undeclared weight");
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value slot = LLVM::GEPOp::create(
      b, loc, ptrType, ptrType, weightTable,
      ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(found->second)});
  Value pointer = LLVM::LoadOp::create(b, loc, ptrType, slot);
  auto type = cast<RankedTensorType>(tensor.getType());
  if (llama::Int4Attr int4 = llama::getInt4Encoding(type))
    return denseMemRefAt(b, loc, pointer, flatType(b.getI8Type()),
                         {int4BufferBytes(type.getDimSize(0), type.getDimSize(1),
                                          int4.getGroupSize())});
  return denseMemRefAt(b, loc, pointer, flatType(compute), {type.getNumElements()});
}

Type GPULowering::tensorCoreType() const {
  if (compute.isBF16())
    return Float16Type::get(compute.getContext());
  return compute;
}

Value GPULowering::cache(Location loc, Value cacheBuffer) {
  auto type = cast<MemRefType>(cacheBuffer.getType());
  Value address =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, cacheBuffer);
  Value address64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  Value pointer = LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), address64);
  return denseMemRefAt(b, loc, pointer, flatType(cacheType()), {type.getNumElements()});
}

void GPULowering::launch(Location loc, mlir::gpu::GPUFuncOp kernel,
                         std::array<Value, 3> grid, int64_t blockThreads,
                         ValueRange args, int64_t dynamicSharedBytes) {
  Value one = index(loc, 1);
  Value sharedBytes;
  if (dynamicSharedBytes)
    sharedBytes = arith::ConstantOp::create(
        b, loc, b.getI32IntegerAttr(static_cast<int32_t>(dynamicSharedBytes)));
  auto launchOp = mlir::gpu::LaunchFuncOp::create(
      b, loc, kernel, mlir::gpu::KernelDim3{grid[0], grid[1], grid[2]},
      mlir::gpu::KernelDim3{index(loc, blockThreads), one, one}, sharedBytes, args,
      mlir::gpu::AsyncTokenType::get(b.getContext()), ValueRange{stream});
  stream = launchOp.getAsyncToken();
}

mlir::gpu::GPUFuncOp GPULowering::getOrCreateKernel(
    StringRef name, TypeRange args, TypeRange workgroup,
    llvm::function_ref<void(DeviceBuilder &, mlir::gpu::GPUFuncOp)> body) {
  if (auto existing = kernels.lookupSymbol<mlir::gpu::GPUFuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(kernels.getBody());
  Location loc = kernels.getLoc();
  auto kernel = mlir::gpu::GPUFuncOp::create(
      b, loc, name, b.getFunctionType(args, {}), workgroup, TypeRange{});
  kernel->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                  b.getUnitAttr());
  // Kernels read shared buffers with 16-byte vector loads, which need the
  // alignment (the default is the element's).
  for (unsigned i = 0; i < workgroup.size(); ++i)
    kernel.setWorkgroupAttributionAttr(
        i, b.getStringAttr(LLVM::LLVMDialect::getAlignAttrName()),
        b.getI64IntegerAttr(16));
  b.setInsertionPointToStart(&kernel.getBody().front());
  DeviceBuilder device(b, loc);
  body(device, kernel);
  mlir::gpu::ReturnOp::create(b, loc);
  return kernel;
}

memref::GlobalOp GPULowering::getOrCreateGlobal(StringRef name,
                                               DenseElementsAttr initial,
                                               bool constant) {
  if (auto existing = kernels.lookupSymbol<memref::GlobalOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(kernels.getBody());
  auto type = MemRefType::get(initial.getType().getShape(), initial.getElementType());
  return memref::GlobalOp::create(b, kernels.getLoc(), b.getStringAttr(name),
                                  b.getStringAttr("private"), TypeAttr::get(type),
                                  initial, constant ? b.getUnitAttr() : UnitAttr(),
                                  b.getI64IntegerAttr(16));
}

memref::GlobalOp GPULowering::getOrCreateDeviceTable(StringRef name,
                                                     ArrayRef<float> values) {
  auto type =
      RankedTensorType::get({static_cast<int64_t>(values.size())}, b.getF32Type());
  return getOrCreateGlobal(name, DenseElementsAttr::get(type, values), /*constant=*/true);
}

memref::GlobalOp GPULowering::getOrCreateDeviceCounters(StringRef name, int64_t count) {
  auto type = RankedTensorType::get({count}, b.getI32Type());
  return getOrCreateGlobal(name, DenseElementsAttr::get(type, int32_t(0)),
                           /*constant=*/false);
}

} // namespace llamac::gpu
