//===- TensorCoreGemm.cpp - prefill's linear ops on the tensor cores ------===//
//
// Prefill multiplies all B * T rows by each weight, so it is bound by
// arithmetic, not by reading the weights: 512 rows of Llama-2-7B are 6.8
// TFLOP, which float32 FMAs on the CUDA cores need ~100 ms for. This kernel
// runs them as mma.sync.m16n8k16 (f16 or bf16 operands, float32
// accumulators), which Ampere and Hopper both have.
//
// A block computes a 128 x 128 tile of the output (gated: 128 x 64 of gate
// and of up, so silu(gate) * up is applied before the single store) with 8
// warps in 2 x 4; a warp holds 64 x 32 of the tile (gated: 64 x 16 of each)
// as 4 x 4 fragments. K is walked in 32-wide slices staged in shared memory
// in two stages: each thread loads its share of the next slice into
// registers, the warps multiply the current one, then the loads go to the
// other stage; one barrier per slice orders both.
//
// The activation rows arrive in the weights' dtype, as Hugging Face computes
// them: their producer (a norm, prefill attention, swiglu) rounds them when
// every user is a tensor-core GEMM (activationType), which halves the bytes
// the GEMM reads; a row a producer keeps in float32 takes the CUDA-core
// kernel instead. A staged row is 32 elements plus 8 of padding (80 bytes),
// so the 8 rows x 4 words of a fragment load fall in 32 distinct banks.
//
// Fragments follow the PTX ISA's mma.m16n8k16 layout: lane 4 * g + t holds
// A (16 x 16, row-major) at rows g and g + 8, columns 2t, 2t + 1 and
// 2t + 8, 2t + 9, two elements per 32-bit register; B (16 x 8, "col" layout,
// which is a weight's rows as they lie in memory) at column g, rows 2t,
// 2t + 1 and 2t + 8, 2t + 9; C at rows g and g + 8, columns 2t, 2t + 1.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToGPU/LinearKernels.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::gpu {
namespace {

/// Output rows and features (all weights together) of a block's tile.
constexpr int64_t kTileRows = 128;
constexpr int64_t kTileFeatures = 128;
/// K elements per staged slice.
constexpr int64_t kSliceK = 32;
/// The block's 8 warps as 2 rows x 4 columns of its tile.
constexpr int64_t kWarpRows = 2;
constexpr int64_t kWarpColumns = 4;
/// One mma.sync: m16n8k16.
constexpr int64_t kMmaM = 16;
constexpr int64_t kMmaN = 8;
constexpr int64_t kMmaK = 16;
constexpr int64_t kRowFragments = kTileRows / kWarpRows / kMmaM;
/// Elements of one 16-byte global load (activations and weights).
constexpr int64_t kChunk = 8;
constexpr int64_t kChunksPerRow = kSliceK / kChunk;
/// 32-bit words (element pairs) of a staged row: kSliceK and 8 padding.
constexpr int64_t kRowWords = (kSliceK + 8) / 2;
constexpr int64_t kOperandWords = kTileRows * kRowWords;
/// A stage holds the activation rows, then the weight rows.
constexpr int64_t kStageWords = 2 * kOperandWords;
constexpr int64_t kStages = 2;
/// Rows the block stages per pass, one 16-byte chunk per thread.
constexpr int64_t kRowsPerPass = kBlockThreads / kChunksPerRow;
constexpr int64_t kPasses = kTileRows / kRowsPerPass;
static_assert(kTileRows == kTileFeatures, "both operands stage as many rows");
static_assert(kWarpRows * kWarpColumns * kWarpSize == kBlockThreads);
/// Blocks resident per multiprocessor: 128 registers a thread.
constexpr int64_t kBlocksPerMultiprocessor = 2;

/// Features of each weight in a block's tile.
int64_t featuresPerWeight(const LinearShape &shape) {
  return kTileFeatures / shape.streamedWeights();
}

SmallVector<int64_t> blocksPerGroup(const LinearShape &shape) {
  int64_t features = featuresPerWeight(shape);
  return llvm::map_to_vector(shape.outFeatures, [&](int64_t n) {
    return (n + features - 1) / features;
  });
}

std::string gemmName(const LinearShape &shape, Type compute, Type outElement) {
  return std::string(shape.gated ? "swiglu_gemm_" : "gemm_") + typeName(compute) +
         "_k" + std::to_string(shape.inFeatures) + shape.featuresSuffix() +
         narrowedSuffix("out", outElement);
}

/// Builds the kernel's body; see the file comment for the tiling.
class GemmKernelBuilder {
public:
  GemmKernelBuilder(DeviceBuilder &d, const LinearShape &shape, Type element,
                    mlir::gpu::GPUFuncOp f)
      : d(d), b(d.builder()), loc(d.location()), shape(shape), element(element),
        warpFeatures(featuresPerWeight(shape) / kWarpColumns),
        featureFragments(warpFeatures / kMmaN) {
    bindArguments(f);
  }

  void build();

private:
  /// One thread's global loads for a slice: the activation rows and the
  /// weight rows, one 16-byte chunk per pass.
  struct SliceLoads {
    SmallVector<Value> rows, features;
    Value inK; ///< Null unless K has a partial last slice.
  };

  void bindArguments(mlir::gpu::GPUFuncOp f);
  SliceLoads loadSlice(Value k0);
  /// The 16-byte chunk at column `k` of row `row` of `buffer` ([*, K]).
  Value loadChunk(Value buffer, Value row, Value k);
  void stage(Value stageIndex, const SliceLoads &loads);
  SmallVector<Value> multiplySlice(Value stageIndex, ValueRange acc);
  void storeResults(ValueRange acc);
  /// The shared word `word` of staged row `row` of an operand at `base`.
  Value sharedWord(Value base, Value row, int64_t word);
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bFragment,
                         ArrayRef<Value> c);
  Value chunkWords(Value chunk);
  /// Index of accumulator `i` of fragment (weight, row, feature).
  int64_t accIndex(int64_t weight, int64_t row, int64_t feature, int64_t i) const {
    return ((weight * kRowFragments + row) * featureFragments + feature) * 4 + i;
  }

  DeviceBuilder &d;
  OpBuilder &b;
  Location loc;
  const LinearShape &shape;
  Type element;
  int64_t warpFeatures, featureFragments;
  Value x, rows, shared;
  OutputGroup group;
  /// The tile's first row and first feature (of each weight).
  Value firstRow, firstFeature;
  /// The lane's fragment coordinates g and t, its warp's place in the tile.
  Value laneGroup, laneInGroup, warpRow, warpColumn;
  /// The thread's staging coordinates: a row of each pass, a chunk of it.
  Value passRow, chunk;
};

void GemmKernelBuilder::bindArguments(mlir::gpu::GPUFuncOp f) {
  x = f.getArgument(0);
  int64_t numWeights = shape.numWeights();
  ValueRange weights = f.getArguments().slice(1, numWeights);
  ValueRange outs = f.getArguments().slice(1 + numWeights, shape.numOutputs());
  // The entry block's arguments end with the workgroup buffers.
  rows = f.getArgument(f.getFunctionType().getNumInputs() - 1);
  shared = f.getWorkgroupAttributions().front();
  for (int64_t i = 1; i <= numWeights; ++i)
    f.setArgAttr(i, llama::kInvariantArgAttr, b.getUnitAttr());
  group = selectOutputGroup(d, shape.outFeatures, blocksPerGroup(shape),
                            shape.gated, weights, outs,
                            d.blockId(mlir::gpu::Dimension::y));
  firstRow = d.mul(d.blockId(mlir::gpu::Dimension::x), d.index(kTileRows));
  firstFeature = d.mul(d.sub(d.blockId(mlir::gpu::Dimension::y), group.firstBlock),
                       d.index(featuresPerWeight(shape)));
  Value lane = d.laneId();
  laneGroup = d.div(lane, d.index(4));
  laneInGroup = arith::RemUIOp::create(b, loc, lane, d.index(4));
  Value warp = d.warpId();
  warpRow = d.div(warp, d.index(kWarpColumns));
  warpColumn = arith::RemUIOp::create(b, loc, warp, d.index(kWarpColumns));
  Value thread = d.threadId();
  passRow = d.div(thread, d.index(kChunksPerRow));
  chunk = arith::RemUIOp::create(b, loc, thread, d.index(kChunksPerRow));
}

/// Loads the weight chunks first: they are never written, so
/// lmc-gpu-dependent-launch waits for the previous kernel after the first
/// slice's weight loads. Rows and features past the end read the last one
/// (no branch); their results are not stored.
GemmKernelBuilder::SliceLoads GemmKernelBuilder::loadSlice(Value k0) {
  int64_t inFeatures = shape.inFeatures;
  Value k = d.add(k0, d.mul(chunk, d.index(kChunk)));
  SliceLoads loads;
  if (inFeatures % kSliceK != 0) {
    loads.inK = d.cmp(arith::CmpIPredicate::ult, k, d.index(inFeatures));
    k = arith::MinUIOp::create(b, loc, k, d.index(inFeatures - kChunk));
  }
  Value lastFeature = d.sub(group.outFeatures, d.index(1));
  for (int64_t pass = 0; pass < kPasses; ++pass) {
    // Gated, pass p stages weight p's features; else the passes stage
    // consecutive features of the one weight.
    Value weight = group.weights[shape.gated ? pass : 0];
    Value feature = d.add(firstFeature, passRow);
    if (!shape.gated)
      feature = d.add(feature, d.index(pass * kRowsPerPass));
    feature = arith::MinUIOp::create(b, loc, feature, lastFeature);
    loads.features.push_back(loadChunk(weight, feature, k));
  }
  Value lastRow = d.sub(rows, d.index(1));
  for (int64_t pass = 0; pass < kPasses; ++pass) {
    Value row = arith::MinUIOp::create(
        b, loc, d.add(firstRow, d.add(passRow, d.index(pass * kRowsPerPass))),
        lastRow);
    loads.rows.push_back(loadChunk(x, row, k));
  }
  return loads;
}

Value GemmKernelBuilder::loadChunk(Value buffer, Value row, Value k) {
  return vector::LoadOp::create(
      b, loc, VectorType::get({kChunk}, element), buffer,
      ValueRange{d.add(d.mul(row, d.index(shape.inFeatures)), k)},
      /*nontemporal=*/false, llvm::MaybeAlign(16));
}

/// A chunk of weight-dtype elements as the 32-bit words it is staged as.
Value GemmKernelBuilder::chunkWords(Value chunkElements) {
  return vector::BitCastOp::create(
      b, loc, VectorType::get({kChunk / 2}, b.getI32Type()), chunkElements);
}

/// Stores a slice's loads to stage `stageIndex`, zero past K. Called after
/// the multiply, which then does not wait for the loads.
void GemmKernelBuilder::stage(Value stageIndex, const SliceLoads &loads) {
  auto wordsType = VectorType::get({kChunk / 2}, b.getI32Type());
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(wordsType, b.getI32IntegerAttr(0)));
  Value stageBase = d.mul(stageIndex, d.index(kStageWords));
  auto store = [&](Value words, Value operandBase, int64_t pass) {
    if (loads.inK)
      words = arith::SelectOp::create(b, loc, loads.inK, words, zero);
    Value row = d.add(passRow, d.index(pass * kRowsPerPass));
    Value word = d.add(d.add(operandBase, d.mul(row, d.index(kRowWords))),
                       d.mul(chunk, d.index(kChunk / 2)));
    vector::StoreOp::create(b, loc, words, shared, ValueRange{word},
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  };
  for (auto [pass, rowChunk] : llvm::enumerate(loads.rows))
    store(chunkWords(rowChunk), stageBase, pass);
  Value featureBase = d.add(stageBase, d.index(kOperandWords));
  for (auto [pass, featureChunk] : llvm::enumerate(loads.features))
    store(chunkWords(featureChunk), featureBase, pass);
}

Value GemmKernelBuilder::sharedWord(Value base, Value row, int64_t word) {
  Value position = d.add(d.add(base, d.mul(row, d.index(kRowWords))),
                         d.add(laneInGroup, d.index(word)));
  return memref::LoadOp::create(b, loc, shared, position);
}

SmallVector<Value> GemmKernelBuilder::mma(ArrayRef<Value> a,
                                          ArrayRef<Value> bFragment,
                                          ArrayRef<Value> c) {
  bool bf16 = element.isBF16();
  // f16 operands are vector<2xf16>, bf16 ones i32 (see nvvm.mma.sync).
  auto operands = [&](ArrayRef<Value> words) {
    if (bf16)
      return SmallVector<Value>(words);
    auto pair = VectorType::get({2}, element);
    return llvm::map_to_vector(words, [&](Value word) -> Value {
      return LLVM::BitcastOp::create(b, loc, pair, word);
    });
  };
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), SmallVector<Type>(4, f32));
  NVVM::MMATypes types = bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value result = NVVM::MmaOp::create(
      b, loc, resultType, operands(a), operands(bFragment), c,
      ArrayRef<int64_t>{kMmaM, kMmaN, kMmaK}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{types, types},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  SmallVector<Value> d4;
  for (int64_t i = 0; i < 4; ++i)
    d4.push_back(LLVM::ExtractValueOp::create(b, loc, result, i));
  return d4;
}

SmallVector<Value> GemmKernelBuilder::multiplySlice(Value stageIndex,
                                                    ValueRange acc) {
  SmallVector<Value> next(acc.begin(), acc.end());
  Value rowBase = d.mul(stageIndex, d.index(kStageWords));
  Value featureBase = d.add(rowBase, d.index(kOperandWords));
  Value warpFirstRow = d.mul(warpRow, d.index(kTileRows / kWarpRows));
  Value warpFirstFeature = d.mul(warpColumn, d.index(warpFeatures));
  for (int64_t step = 0; step < kSliceK / kMmaK; ++step) {
    // Column 8 of a fragment is 4 words on.
    int64_t word = step * kMmaK / 2;
    SmallVector<SmallVector<Value>> a;
    for (int64_t r = 0; r < kRowFragments; ++r) {
      Value top = d.add(warpFirstRow, d.add(laneGroup, d.index(r * kMmaM)));
      Value bottom = d.add(top, d.index(8));
      a.push_back({sharedWord(rowBase, top, word), sharedWord(rowBase, bottom, word),
                   sharedWord(rowBase, top, word + 4),
                   sharedWord(rowBase, bottom, word + 4)});
    }
    for (int64_t w = 0; w < shape.streamedWeights(); ++w)
      for (int64_t f = 0; f < featureFragments; ++f) {
        Value feature = d.add(
            d.add(warpFirstFeature, d.index(w * featuresPerWeight(shape) + f * kMmaN)),
            laneGroup);
        SmallVector<Value> bFragment = {sharedWord(featureBase, feature, word),
                                        sharedWord(featureBase, feature, word + 4)};
        for (int64_t r = 0; r < kRowFragments; ++r) {
          int64_t first = accIndex(w, r, f, 0);
          SmallVector<Value> result =
              mma(a[r], bFragment, ArrayRef<Value>(next).slice(first, 4));
          llvm::copy(result, next.begin() + first);
        }
      }
  }
  return next;
}

/// Each lane stores its accumulator pairs (columns 2t, 2t + 1) of rows g and
/// g + 8 of every fragment; gated, silu(gate) * up of the two weights' pairs.
void GemmKernelBuilder::storeResults(ValueRange acc) {
  auto pairType = VectorType::get({2}, b.getF32Type());
  Value warpFirstRow = d.add(firstRow, d.mul(warpRow, d.index(kTileRows / kWarpRows)));
  Value warpFirstFeature = d.add(firstFeature, d.mul(warpColumn, d.index(warpFeatures)));
  Value laneColumn = d.mul(laneInGroup, d.index(2));
  for (int64_t r = 0; r < kRowFragments; ++r)
    for (int64_t f = 0; f < featureFragments; ++f)
      for (int64_t half = 0; half < 2; ++half) {
        auto pairOf = [&](int64_t weight) -> Value {
          int64_t first = accIndex(weight, r, f, 2 * half);
          return vector::FromElementsOp::create(
              b, loc, pairType, ValueRange{acc[first], acc[first + 1]});
        };
        Value pair = shape.gated ? siluTimes(d, pairOf(0), pairOf(1)) : pairOf(0);
        Value row = d.add(warpFirstRow, d.add(laneGroup, d.index(r * kMmaM + 8 * half)));
        Value feature = d.add(warpFirstFeature, d.add(laneColumn, d.index(f * kMmaN)));
        Value inside = arith::AndIOp::create(
            b, loc, d.cmp(arith::CmpIPredicate::ult, row, rows),
            d.cmp(arith::CmpIPredicate::ult, feature, group.outFeatures));
        d.ifThen(inside, [&] {
          d.storeVectorF32(pair, group.out,
                           d.add(d.mul(row, group.outFeatures), feature));
        });
      }
}

/// Fully unrolled (LLVM does so for a few slices), the slice loop would
/// hoist every slice's loads to the top and exceed the 128 registers of two
/// blocks per multiprocessor; it is pipelined by hand already.
void disableUnrolling(Operation *loop) {
  MLIRContext *context = loop->getContext();
  auto disable = BoolAttr::get(context, true);
  auto unroll = LLVM::LoopUnrollAttr::get(context, disable, {}, {}, {}, {}, {}, {});
  auto annotation = LLVM::LoopAnnotationAttr::get(
      context, {}, {}, {}, unroll, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});
  loop->setAttr("llvm.loop_annotation", annotation);
}

void GemmKernelBuilder::build() {
  SliceLoads first = loadSlice(d.index(0));
  stage(d.index(0), first);
  d.barrier();
  int64_t slices = (shape.inFeatures + kSliceK - 1) / kSliceK;
  Value zero = d.f32(0);
  SmallVector<Value> acc(
      kRowFragments * featureFragments * shape.streamedWeights() * 4, zero);
  ValueRange result = d.forLoop(
      d.index(0), d.index(slices), d.index(1), acc,
      [&](Value slice, ValueRange carried) {
        // The last slice reloads itself into the stage nobody reads again.
        Value nextSlice = arith::MinUIOp::create(b, loc, d.add(slice, d.index(1)),
                                                 d.index(slices - 1));
        SliceLoads loads = loadSlice(d.mul(nextSlice, d.index(kSliceK)));
        Value current = arith::RemUIOp::create(b, loc, slice, d.index(kStages));
        SmallVector<Value> next = multiplySlice(current, carried);
        stage(d.sub(d.index(1), current), loads);
        d.barrier();
        return next;
      });
  disableUnrolling(result.front().getDefiningOp());
  storeResults(result);
}

} // namespace

bool tensorCoresApply(GPULowering &l, const LinearShape &shape) {
  Type compute = l.computeType();
  if (!compute.isF16() && !compute.isBF16())
    return false;
  return shape.inFeatures % kChunk == 0 &&
         llvm::all_of(shape.outFeatures, [](int64_t n) { return n % 2 == 0; });
}

void launchTensorCoreGemm(GPULowering &l, Location loc, const LinearShape &shape,
                          Value input, ValueRange weights, ValueRange outs,
                          Value rows) {
  OpBuilder &b = l.builder();
  Type compute = l.computeType();
  Type outElement = elementType(outs.front());
  SmallVector<Type> argTypes = {l.flatType(compute)};
  argTypes.append(shape.numWeights(), l.flatType(compute));
  argTypes.append(shape.numOutputs(), l.flatType(outElement));
  argTypes.push_back(b.getIndexType());
  mlir::gpu::GPUFuncOp kernel = l.getOrCreateKernel(
      gemmName(shape, compute, outElement), argTypes,
      {l.sharedType(b.getI32Type(), kStages * kStageWords)},
      [&](DeviceBuilder &d, mlir::gpu::GPUFuncOp f) {
        // Two blocks per multiprocessor (128 registers a thread), so one
        // block's multiply overlaps the other's barrier and loads.
        f->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                   b.getDenseI32ArrayAttr({kBlockThreads, 1, 1}));
        f->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                   b.getI32IntegerAttr(kBlocksPerMultiprocessor));
        GemmKernelBuilder(d, shape, compute, f).build();
      });
  SmallVector<Value> args = {input};
  llvm::append_range(args, weights);
  llvm::append_range(args, outs);
  args.push_back(rows);
  l.launch(loc, kernel,
           {l.ceilDiv(loc, rows, kTileRows),
            l.index(loc, llvm::sum_of(blocksPerGroup(shape))), l.index(loc, 1)},
           kBlockThreads, args);
}

} // namespace llamac::gpu
