//===- GPUToCPUEmulation.cpp - GPU kernels as host code for an emulator ---===//
//
// The kernels keep their bodies; only what touches the GPU programming model
// changes (see the pass description in Passes.td). A kernel's arguments
// travel as 64-bit words so that one C signature, void(void *), fits every
// kernel and the emulator can start any of them on its threads.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/DenseMemRef.h"
#include "compiler/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace llamac {
#define GEN_PASS_DEF_CONVERTGPUTOCPUEMULATION
#include "compiler/Conversion/Passes.h.inc"
} // namespace llamac

using namespace mlir;

namespace {

/// Large enough for any buffer; the kernels index flat buffers and never ask
/// for their size.
constexpr int64_t kUnboundedElements = int64_t(1) << 40;

/// Declares `name` as an external function of `type` unless it exists.
func::FuncOp declareRuntime(ModuleOp module, StringRef name, FunctionType type) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto function = func::FuncOp::create(b, module.getLoc(), name, type);
  function.setPrivate();
  return function;
}

Value call(OpBuilder &b, Location loc, ModuleOp module, StringRef name,
           TypeRange results, ValueRange operands) {
  auto type = b.getFunctionType(operands.getTypes(), results);
  func::FuncOp callee = declareRuntime(module, name, type);
  auto op = func::CallOp::create(b, loc, callee, operands);
  return results.empty() ? Value() : op.getResult(0);
}

Value i32Constant(OpBuilder &b, Location loc, int32_t value) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(value));
}

/// Kernel argument `index` of the word array `words`, as `type`.
Value readArgument(OpBuilder &b, Location loc, Value words, int64_t index, Type type) {
  auto i64 = b.getI64Type();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value slot = LLVM::GEPOp::create(b, loc, ptr, i64, words,
                                   ArrayRef<LLVM::GEPArg>{int32_t(index)});
  Value word = LLVM::LoadOp::create(b, loc, i64, slot);
  if (auto memref = dyn_cast<MemRefType>(type))
    return llamac::denseMemRefAt(b, loc, LLVM::IntToPtrOp::create(b, loc, ptr, word),
                                 memref, {kUnboundedElements});
  if (type.isIndex())
    return arith::IndexCastOp::create(b, loc, type, word);
  unsigned width = type.getIntOrFloatBitWidth();
  Value bits = width == 64 ? word
                           : Value(arith::TruncIOp::create(b, loc, b.getIntegerType(width), word));
  return type.isInteger() ? bits : Value(arith::BitcastOp::create(b, loc, type, bits));
}

/// The 64-bit word that carries `value` (a flat buffer's address, an index,
/// an integer or a float's bits) to a kernel.
Value toWord(OpBuilder &b, Location loc, Value value) {
  auto i64 = b.getI64Type();
  Type type = value.getType();
  if (auto memref = dyn_cast<MemRefType>(type)) {
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, value);
    Value aligned = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, value);
    int64_t bytes = memref.getElementTypeBitWidth() / 8;
    Value offset = arith::MulIOp::create(
        b, loc, metadata.getOffset(), arith::ConstantIndexOp::create(b, loc, bytes));
    return arith::IndexCastOp::create(b, loc, i64,
                                      arith::AddIOp::create(b, loc, aligned, offset));
  }
  if (type.isIndex())
    return arith::IndexCastOp::create(b, loc, i64, value);
  if (!type.isInteger())
    value = arith::BitcastOp::create(
        b, loc, b.getIntegerType(type.getIntOrFloatBitWidth()), value);
  return type.getIntOrFloatBitWidth() == 64 ? value : arith::ExtUIOp::create(b, loc, i64, value);
}

/// griddepcontrol as lmc-gpu-dependent-launch writes it (the NVVM op, or
/// inline assembly: the wait), and memory barriers between blocks: one grid,
/// and one block of it, runs at a time here.
bool isGridOrdering(Operation *op) {
  if (isa<NVVM::GriddepcontrolOp, NVVM::MembarOp>(op))
    return true;
  auto assembly = dyn_cast<LLVM::InlineAsmOp>(op);
  return assembly && assembly.getAsmString().starts_with("griddepcontrol.");
}

/// `gpu.shuffle xor` of an f32 as a call of lmcEmuShuffleXor.
LogicalResult replaceShuffle(gpu::ShuffleOp shuffle, ModuleOp module) {
  if (shuffle.getMode() != gpu::ShuffleMode::XOR ||
      !shuffle.getValue().getType().isF32())
    return shuffle.emitOpError("the emulator shuffles f32 values with xor only");
  OpBuilder b(shuffle);
  Location loc = shuffle.getLoc();
  Value result = call(b, loc, module, "lmcEmuShuffleXor", b.getF32Type(),
                      {shuffle.getValue(), shuffle.getOffset()});
  Value valid = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
  shuffle.getShuffleResult().replaceAllUsesWith(result);
  shuffle.getValid().replaceAllUsesWith(valid);
  shuffle.erase();
  return success();
}

/// A buffer of `count` `element`s allocated at `function`'s entry, where
/// the emulator returns a collective's per-lane results.
Value resultBuffer(func::FuncOp function, Location loc, Type element, int32_t count = 4) {
  OpBuilder atEntry = OpBuilder::atBlockBegin(&function.front());
  auto ptr = LLVM::LLVMPointerType::get(atEntry.getContext());
  Value size = LLVM::ConstantOp::create(atEntry, loc, atEntry.getI32Type(),
                                        atEntry.getI32IntegerAttr(count));
  return LLVM::AllocaOp::create(atEntry, loc, ptr, element, size, /*alignment=*/16);
}

/// Whether the emulator runs `mma`: m16n8k16, f16 or bf16 operands, float32
/// accumulators (what the CUDA lowering's GEMM issues).
bool isEmulatedMma(NVVM::MmaOp mma) {
  NVVM::MMAShapeAttr shape = mma.getShapeAttr();
  std::optional<NVVM::MMATypes> types = mma.getMultiplicandAPtxType();
  return shape.getM() == 16 && shape.getN() == 8 && shape.getK() == 16 &&
         types && (*types == NVVM::MMATypes::f16 || *types == NVVM::MMATypes::bf16) &&
         mma.getOperandC().size() == 4 &&
         llvm::all_of(mma.getOperandC().getTypes(), [](Type t) { return t.isF32(); });
}

/// `nvvm.mma.sync` as `lmcEmuMma(bf16, a0, a1, a2, a3, b0, b1, c0, c1, c2,
/// c3, d)`: each 32-bit operand register as an i32, the four results
/// written to `d`, a buffer allocated at the function's entry. The
/// emulator gathers the warp's fragments.
LogicalResult replaceMma(NVVM::MmaOp mma, func::FuncOp function, ModuleOp module) {
  if (!isEmulatedMma(mma))
    return mma.emitOpError("the emulator runs mma.sync m16n8k16 with f16 or "
                           "bf16 operands and float32 accumulators only");
  OpBuilder b(mma);
  Location loc = mma.getLoc();
  auto i32 = b.getI32Type();
  auto f32 = b.getF32Type();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value results = resultBuffer(function, loc, f32);
  bool bf16 = *mma.getMultiplicandAPtxType() == NVVM::MMATypes::bf16;
  SmallVector<Value> operands = {i32Constant(b, loc, bf16)};
  for (Value word : llvm::concat<Value>(mma.getOperandA(), mma.getOperandB()))
    operands.push_back(word.getType() == i32
                           ? word
                           : Value(LLVM::BitcastOp::create(b, loc, i32, word)));
  llvm::append_range(operands, mma.getOperandC());
  operands.push_back(results);
  call(b, loc, module, "lmcEmuMma", {}, operands);
  Value result = LLVM::PoisonOp::create(b, loc, mma.getType());
  for (int64_t i = 0; i < 4; ++i) {
    Value slot = LLVM::GEPOp::create(b, loc, ptr, f32, results,
                                     ArrayRef<LLVM::GEPArg>{int32_t(i)});
    result = LLVM::InsertValueOp::create(b, loc, result,
                                         LLVM::LoadOp::create(b, loc, f32, slot), i);
  }
  mma.getResult().replaceAllUsesWith(result);
  mma.erase();
  return success();
}

/// Whether the emulator runs `mma`: m64nNk16 with f16 operands read through
/// descriptors, float32 accumulators added to, nothing negated or
/// transposed (what the CUDA lowering's wgmma GEMM issues).
bool isEmulatedWgmma(NVVM::WgmmaMmaAsyncOp mma) {
  NVVM::MMAShapeAttr shape = mma.getShape();
  return shape.getM() == 64 && shape.getK() == 16 &&
         mma.getTypeA() == NVVM::WGMMATypes::f16 &&
         mma.getTypeB() == NVVM::WGMMATypes::f16 &&
         mma.getTypeD() == NVVM::WGMMATypes::f32 &&
         mma.getScaleD() == NVVM::WGMMAScaleOut::one &&
         mma.getScaleA() == NVVM::WGMMAScaleIn::one &&
         mma.getScaleB() == NVVM::WGMMAScaleIn::one &&
         mma.getLayoutA() == NVVM::MMALayout::row && mma.getLayoutB() == NVVM::MMALayout::col;
}

/// `nvvm.wgmma.mma_async` as `lmcEmuWgmma(descA, descB, shared, bytes, n,
/// acc)`: the accumulators go in and come back through `acc`, a buffer
/// allocated at the function's entry; `shared` and `bytes` are the block's
/// emulated dynamic shared memory, into which the descriptors point. The
/// emulator runs each wgmma to completion where it is issued, so the
/// fences, commits and waits around it have nothing to order and go.
LogicalResult replaceWgmma(NVVM::WgmmaMmaAsyncOp mma, func::FuncOp function,
                           ModuleOp module, Value dynamicShared) {
  if (!isEmulatedWgmma(mma))
    return mma.emitOpError("the emulator runs wgmma m64nNk16 with f16 operands "
                           "and float32 accumulators only");
  if (!dynamicShared)
    return mma.emitOpError("is emulated only in a kernel with dynamic shared memory");
  OpBuilder b(mma);
  Location loc = mma.getLoc();
  auto f32 = b.getF32Type();
  auto i64 = b.getI64Type();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  int32_t count = mma.getShape().getN() / 2;
  Value acc = resultBuffer(function, loc, f32, count);
  auto slot = [&](int32_t i) {
    return LLVM::GEPOp::create(b, loc, ptr, f32, acc, ArrayRef<LLVM::GEPArg>{i});
  };
  for (int32_t i = 0; i < count; ++i)
    LLVM::StoreOp::create(b, loc, LLVM::ExtractValueOp::create(b, loc, mma.getInouts(), i),
                          slot(i));
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, dynamicShared);
  Value shared = LLVM::IntToPtrOp::create(
      b, loc, ptr, arith::IndexCastOp::create(b, loc, i64, base).getResult());
  int64_t bytes = cast<MemRefType>(dynamicShared.getType()).getNumElements();
  call(b, loc, module, "lmcEmuWgmma", {},
       {mma.getDescriptorA(), mma.getDescriptorB(), shared,
        arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(bytes)),
        i32Constant(b, loc, 2 * count), acc});
  Value result = LLVM::PoisonOp::create(b, loc, mma.getType());
  for (int32_t i = 0; i < count; ++i)
    result = LLVM::InsertValueOp::create(b, loc, result,
                                         LLVM::LoadOp::create(b, loc, f32, slot(i)), i);
  mma.getResult().replaceAllUsesWith(result);
  mma.erase();
  return success();
}

/// The ordering ops of wgmma: fences, commits, waits.
bool isWgmmaOrdering(Operation *op) {
  return isa<NVVM::WgmmaFenceAlignedOp, NVVM::WgmmaGroupSyncAlignedOp,
             NVVM::WgmmaWaitGroupSyncOp, NVVM::FenceProxyOp>(op);
}

/// `nvgpu.ldmatrix` (x4, b16) as `lmcEmuLdMatrix(row, transpose, words)`:
/// `row` is the address of the 16-byte row this lane names, the four
/// 32-bit words it receives come back in `words`, a buffer allocated at the
/// function's entry. The emulator gathers the warp's rows.
LogicalResult replaceLdMatrix(nvgpu::LdMatrixOp load, func::FuncOp function,
                              ModuleOp module) {
  auto type = cast<VectorType>(load.getRes().getType());
  auto source = cast<MemRefType>(load.getSrcMemref().getType());
  if (load.getNumTiles() != 4 || source.getRank() != 1 ||
      type.getShape() != ArrayRef<int64_t>{4, 2} || type.getElementTypeBitWidth() != 16)
    return load.emitOpError("the emulator runs ldmatrix of four 8 x 8 matrices of "
                            "16-bit elements from a flat buffer only");
  OpBuilder b(load);
  Location loc = load.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(b.getContext());
  Value words = resultBuffer(function, loc, b.getI32Type());
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, load.getSrcMemref());
  Value element = arith::AddIOp::create(b, loc, metadata.getOffset(),
                                        load.getIndices().front());
  Value bytes = arith::MulIOp::create(b, loc, element,
                                      arith::ConstantIndexOp::create(b, loc, 2));
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, load.getSrcMemref());
  Value address = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                             arith::AddIOp::create(b, loc, base, bytes));
  Value row = LLVM::IntToPtrOp::create(b, loc, ptr, address);
  call(b, loc, module, "lmcEmuLdMatrix", {},
       {row, i32Constant(b, loc, load.getTranspose()), words});
  auto flat = VectorType::get({8}, type.getElementType());
  Value loaded = LLVM::LoadOp::create(b, loc, flat, words);
  load.getRes().replaceAllUsesWith(vector::ShapeCastOp::create(b, loc, type, loaded));
  load.erase();
  return success();
}

/// Every `nvgpu.device_async_copy` of `function` done at once, with its
/// zero fill past `srcElements`; their groups and waits then have nothing
/// to order and go.
void replaceAsyncCopies(func::FuncOp function) {
  SmallVector<Operation *> waits, groups, copies;
  function.walk([&](Operation *op) {
    if (isa<nvgpu::DeviceAsyncWaitOp>(op))
      waits.push_back(op);
    else if (isa<nvgpu::DeviceAsyncCreateGroupOp>(op))
      groups.push_back(op);
    else if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op)) {
      copies.push_back(op);
      OpBuilder b(copy);
      Location loc = copy.getLoc();
      int64_t count = copy.getDstElements().getZExtValue();
      auto type = VectorType::get({count}, copy.getDst().getType().getElementType());
      Value available = copy.getSrcElements();
      if (!available)
        available = arith::ConstantIndexOp::create(b, loc, count);
      Value mask = vector::CreateMaskOp::create(
          b, loc, VectorType::get({count}, b.getI1Type()), available);
      Value zeros = arith::ConstantOp::create(b, loc, b.getZeroAttr(type));
      Value values = vector::MaskedLoadOp::create(b, loc, type, copy.getSrc(),
                                                  copy.getSrcIndices(), mask, zeros);
      vector::StoreOp::create(b, loc, values, copy.getDst(), copy.getDstIndices());
    }
  });
  for (Operation *op : llvm::concat<Operation *>(waits, groups, copies)) {
    op->dropAllUses();
    op->erase();
  }
}

/// Replaces the GPU programming model ops in `function` by runtime calls;
/// fails on one the emulator cannot run. `dynamicShared` is the emulated
/// dynamic shared memory, if the kernel has some.
LogicalResult replaceThreadModel(func::FuncOp function, ModuleOp module,
                                 Value dynamicShared) {
  replaceAsyncCopies(function);
  auto index = IndexType::get(module.getContext());
  WalkResult walked = function.walk([&](Operation *op) -> WalkResult {
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value replacement;
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      replacement = call(b, loc, module, "lmcEmuThreadId", index,
                         i32Constant(b, loc, int32_t(id.getDimension())));
    else if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      replacement = call(b, loc, module, "lmcEmuBlockId", index,
                         i32Constant(b, loc, int32_t(id.getDimension())));
    else if (isa<gpu::BarrierOp>(op))
      call(b, loc, module, "lmcEmuBarrier", {}, {});
    else if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op))
      return WalkResult(replaceShuffle(shuffle, module));
    else if (auto mma = dyn_cast<NVVM::MmaOp>(op))
      return WalkResult(replaceMma(mma, function, module));
    else if (auto load = dyn_cast<nvgpu::LdMatrixOp>(op))
      return WalkResult(replaceLdMatrix(load, function, module));
    else if (auto wgmma = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op))
      return WalkResult(replaceWgmma(wgmma, function, module, dynamicShared));
    else if (isGridOrdering(op) || isWgmmaOrdering(op)) {
      op->erase();
      return WalkResult::advance();
    } else {
      return WalkResult::advance();
    }
    if (replacement)
      op->getResult(0).replaceAllUsesWith(replacement);
    op->erase();
    return WalkResult::advance();
  });
  return failure(walked.wasInterrupted());
}

/// A host global named `name` that stands for the shared buffer of `type`
/// (blocks run one at a time), read at `b`'s insertion point.
Value emulatedShared(OpBuilder &b, ModuleOp module, Location loc, MemRefType type,
                     StringRef name) {
  auto hostType = MemRefType::get(type.getShape(), type.getElementType());
  OpBuilder atEnd = OpBuilder::atBlockEnd(module.getBody());
  memref::GlobalOp::create(atEnd, loc, name, atEnd.getStringAttr("private"), hostType,
                           /*initial_value=*/Attribute(), /*constant=*/false,
                           /*alignment=*/atEnd.getI64IntegerAttr(64));
  return memref::GetGlobalOp::create(b, loc, hostType, name);
}

/// The views through which the kernel reads its dynamic shared memory
/// `dynamic`, if each starts at its start (the views alias), the one form
/// the emulator gives a buffer.
std::optional<SmallVector<memref::ViewOp>> viewsFromStart(gpu::DynamicSharedMemoryOp dynamic) {
  SmallVector<memref::ViewOp> views;
  for (Operation *user : dynamic->getUsers()) {
    auto view = dyn_cast<memref::ViewOp>(user);
    if (!view || !matchPattern(view.getByteShift(), m_Zero()) ||
        !view.getType().hasStaticShape())
      return std::nullopt;
    views.push_back(view);
  }
  return views;
}

/// A host byte buffer for the dynamic shared memory read through `views`,
/// as large as the largest.
Value emulatedDynamicShared(OpBuilder &b, ModuleOp module, Location loc,
                            ArrayRef<memref::ViewOp> views, StringRef name) {
  int64_t bytes = 1;
  for (memref::ViewOp view : views) {
    MemRefType type = view.getType();
    bytes = std::max(bytes, type.getNumElements() *
                                type.getElementType().getIntOrFloatBitWidth() / 8);
  }
  return emulatedShared(b, module, loc, MemRefType::get({bytes}, b.getI8Type()), name);
}

/// `kernel` as `func.func @lmc_emu_kernel_<name>(%words: !llvm.ptr)`.
LogicalResult emulateKernel(gpu::GPUFuncOp kernel, ModuleOp module) {
  Location loc = kernel.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(module.getContext());
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto function = func::FuncOp::create(
      b, loc, ("lmc_emu_kernel_" + kernel.getName()).str(), b.getFunctionType({ptr}, {}));
  Block *entry = function.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping mapping;
  // The entry block's arguments end with the workgroup buffers.
  ValueRange arguments =
      kernel.getArguments().take_front(kernel.getFunctionType().getNumInputs());
  for (auto [i, argument] : llvm::enumerate(arguments))
    mapping.map(argument, readArgument(b, loc, entry->getArgument(0), i, argument.getType()));
  std::string sharedName = ("lmc_emu_shared_" + kernel.getName() + "_").str();
  Value dynamicShared;
  for (auto [i, buffer] : llvm::enumerate(kernel.getWorkgroupAttributions()))
    mapping.map(buffer, emulatedShared(b, module, loc, cast<MemRefType>(buffer.getType()),
                                       sharedName + std::to_string(i)));
  for (Operation &op : kernel.getBody().front()) {
    auto view = dyn_cast<memref::ViewOp>(op);
    auto dynamic = dyn_cast<gpu::DynamicSharedMemoryOp>(op);
    if (isa<gpu::ReturnOp>(op)) {
      func::ReturnOp::create(b, op.getLoc());
    } else if (dynamic) {
      std::optional<SmallVector<memref::ViewOp>> views = viewsFromStart(dynamic);
      if (!views)
        return dynamic.emitOpError("is emulated only when read through memref.views "
                                   "of static shape from its start");
      dynamicShared =
          emulatedDynamicShared(b, module, loc, *views, sharedName + "dynamic");
      mapping.map(dynamic.getResult(), dynamicShared);
    } else if (view && view.getSource().getDefiningOp<gpu::DynamicSharedMemoryOp>()) {
      auto hostType =
          MemRefType::get(view.getType().getShape(), view.getType().getElementType());
      mapping.map(view.getResult(),
                  memref::ViewOp::create(b, view.getLoc(), hostType,
                                         mapping.lookup(view.getSource()),
                                         mapping.lookup(view.getByteShift()), ValueRange{}));
    } else {
      b.clone(op, mapping);
    }
  }
  return replaceThreadModel(function, module, dynamicShared);
}

/// Replaces the launches, allocations and waits of a host function.
void emulateHost(func::FuncOp host, ModuleOp module,
                 const llvm::StringMap<int64_t> &kernelNumbers) {
  auto i64 = IntegerType::get(module.getContext(), 64);
  auto ptr = LLVM::LLVMPointerType::get(module.getContext());
  SmallVector<Operation *> replaced;
  host.walk([&](Operation *op) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
      ValueRange arguments = launch.getKernelOperands();
      Value count = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(
                                                             std::max<int64_t>(1, arguments.size())));
      Value words = LLVM::AllocaOp::create(b, loc, ptr, i64, count);
      for (auto [i, argument] : llvm::enumerate(arguments)) {
        Value slot = LLVM::GEPOp::create(b, loc, ptr, i64, words,
                                         ArrayRef<LLVM::GEPArg>{int32_t(i)});
        LLVM::StoreOp::create(b, loc, toWord(b, loc, argument), slot);
      }
      Value number = arith::ConstantOp::create(
          b, loc, b.getI64IntegerAttr(kernelNumbers.lookup(launch.getKernelName())));
      call(b, loc, module, "lmcEmuLaunch", {},
           {number, words, launch.getGridSizeX(), launch.getGridSizeY(),
            launch.getGridSizeZ(), launch.getBlockSizeX()});
    } else if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
      auto hostAlloc = memref::AllocOp::create(b, loc, alloc.getMemref().getType(),
                                               alloc.getDynamicSizes(), alloc.getSymbolOperands(),
                                               b.getI64IntegerAttr(64));
      alloc.getMemref().replaceAllUsesWith(hostAlloc.getResult());
    } else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op)) {
      memref::DeallocOp::create(b, loc, dealloc.getMemref());
    } else if (!isa<gpu::WaitOp>(op)) {
      return;
    }
    replaced.push_back(op);
  });
  // Later ops consume the earlier ones' async tokens.
  for (Operation *op : llvm::reverse(replaced)) {
    for (Value result : op->getResults())
      if (isa<gpu::AsyncTokenType>(result.getType()))
        result.dropAllUses();
    op->erase();
  }
}

struct ConvertGPUToCPUEmulationPass
    : llamac::impl::ConvertGPUToCPUEmulationBase<ConvertGPUToCPUEmulationPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::StringMap<int64_t> kernelNumbers;
    SmallVector<Attribute> kernelNames;
    SmallVector<gpu::GPUModuleOp> kernelModules(module.getOps<gpu::GPUModuleOp>());
    // The kernels' globals (rotary frequencies, arrival counts) move to the host.
    OpBuilder atEnd = OpBuilder::atBlockEnd(module.getBody());
    for (gpu::GPUModuleOp kernels : kernelModules)
      for (auto global : kernels.getOps<memref::GlobalOp>())
        atEnd.clone(*global);
    for (gpu::GPUModuleOp kernels : kernelModules)
      for (auto kernel : kernels.getOps<gpu::GPUFuncOp>()) {
        int64_t number = kernelNames.size();
        kernelNumbers[kernel.getName()] = number;
        kernelNames.push_back(StringAttr::get(module.getContext(),
                                              "lmc_emu_kernel_" + kernel.getName()));
        if (failed(emulateKernel(kernel, module)))
          return signalPassFailure();
      }
    module->setAttr("lmc.emulated_kernels", ArrayAttr::get(module.getContext(), kernelNames));
    for (auto host : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (!host.isDeclaration() && !host.getName().starts_with("lmc_emu_"))
        emulateHost(host, module, kernelNumbers);
    for (gpu::GPUModuleOp kernels : kernelModules)
      kernels.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
