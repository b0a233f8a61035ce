//===- CudaExecutor.cpp - Running a CUDA artifact on the device -----------===//
#include "runtime/cuda/CudaExecutor.h"

#include "runtime/Int4Weights.h"
#include "runtime/cuda/DTypeConversion.h"

#include <cstdio>
#include <dlfcn.h>

#include <filesystem>

namespace llamac::cuda {

bool cubinRunsOn(const std::string &chip, int major, int minor) {
  int number = 0;
  char suffix = 0;
  if (std::sscanf(chip.c_str(), "sm_%d%c", &number, &suffix) < 1 ||
      (suffix != 0 && suffix != 'a'))
    return false;
  // A cubin runs on its own major architecture at the same or a later minor
  // revision; with the arch-specific features of "a" (wgmma), on its own
  // revision only.
  int chipMajor = number / 10, chipMinor = number % 10;
  return major == chipMajor && (suffix == 'a' ? minor == chipMinor : minor >= chipMinor);
}

namespace {

std::string gibibytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f GiB", double(bytes) / double(1ull << 30));
  return text;
}

uint64_t elements(const std::array<int64_t, 6> &shape) {
  uint64_t count = 1;
  for (int64_t size : shape)
    count *= uint64_t(size);
  return count;
}

/// An error if int4 `entry` (`quantized`, as bindWeights made it) decodes
/// to a value float16 cannot hold where the tensor-core prefill multiplies
/// it decoded to float16 (empty if not). Its scales and minimums are f16
/// already (the quantizer checked), and decode reads them in float32.
std::string checkInt4HalfRange(const Manifest &manifest, const WeightTableEntry &entry,
                               const void *quantized) {
  DType compute = manifest.computeDType;
  if (!manifest.tensorCoreGemm || compute == DType::F32)
    return {};
  std::optional<Int4GroupBeyondHalf> beyond = firstGroupBeyondHalf(
      quantized, entry.shape[0], entry.shape[1], entry.int4GroupSize);
  if (!beyond)
    return {};
  char value[32];
  std::snprintf(value, sizeof(value), "%g", beyond->value);
  return "int4 weight '" + entry.name + "' decodes to " + value + " in row " +
         std::to_string(beyond->row) + ", columns " + std::to_string(beyond->firstColumn) +
         " to " + std::to_string(beyond->firstColumn + entry.int4GroupSize - 1) +
         ", beyond float16's range (65504): the tensor-core prefill multiplies int4 "
         "weights as float16; compile with --prefill-tensor-cores attention";
}

/// An error naming the first weight float16 cannot hold where the kernels
/// multiply it as float16 (empty if none): every weight of an f16 artifact
/// (converted on upload), and the matrices of a bf16 artifact whose prefill
/// GEMMs run on the tensor cores (converted in registers). Infinity there
/// would turn the logits into NaN without a word.
std::string checkHalfRange(const Manifest &manifest,
                           const std::vector<const void *> &hostWeights) {
  DType compute = manifest.computeDType;
  for (size_t i = 0; i < manifest.weightTable.size(); ++i) {
    const WeightTableEntry &entry = manifest.weightTable[i];
    bool matrix = entry.shape.size() == 2;
    if (entry.int4GroupSize) {
      if (std::string beyond = checkInt4HalfRange(manifest, entry, hostWeights[i]);
          !beyond.empty())
        return beyond;
      continue;
    }
    if (compute != DType::F16 &&
        !(compute == DType::BF16 && manifest.tensorCoreGemm && matrix))
      continue;
    std::optional<uint64_t> beyond = firstBeyondHalfRange(
        hostWeights[i], elementCount(entry.shape), entry.dtype, compute);
    if (!beyond)
      continue;
    char value[32];
    std::snprintf(value, sizeof(value), "%g", elementAt(hostWeights[i], *beyond, entry.dtype));
    std::string remedy = compute == DType::F16
                             ? "compile with --dtype bf16 or f32"
                             : "the tensor-core prefill multiplies bf16 weights as "
                               "float16; compile with --prefill-tensor-cores attention";
    return "weight '" + entry.name + "' holds " + value + " at element " +
           std::to_string(*beyond) + ", beyond float16's range (65504): " + remedy;
  }
  return {};
}

} // namespace

bool CudaExecutor::allocate(uint64_t bytes, CUdeviceptr &pointer,
                            std::string &error) {
  if (!check("cuMemAlloc", driver->cuMemAlloc(&pointer, bytes ? bytes : 1), error))
    return false;
  allocations.push_back(pointer);
  return true;
}

std::unique_ptr<CudaExecutor>
CudaExecutor::create(const Manifest &manifest,
                     const std::vector<const void *> &hostWeights,
                     std::string &error) {
  error = checkHalfRange(manifest, hostWeights);
  if (!error.empty())
    return nullptr;
  std::unique_ptr<CudaExecutor> executor(new CudaExecutor());
  CudaExecutor &x = *executor;
  x.driver = loadCudaDriver(error);
  if (!x.driver)
    return nullptr;
  const CudaDriver &d = *x.driver;
  int count = 0;
  if (!x.check("cuDeviceGetCount", d.cuDeviceGetCount(&count), error))
    return nullptr;
  if (count == 0) {
    error = "no CUDA device: the driver reports no GPU";
    return nullptr;
  }
  int major = 0, minor = 0;
  char name[256] = {};
  if (!x.check("cuDeviceGet", d.cuDeviceGet(&x.device, 0), error) ||
      !x.check("cuDeviceGetAttribute",
               d.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                      x.device),
               error) ||
      !x.check("cuDeviceGetAttribute",
               d.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                      x.device),
               error) ||
      !x.check("cuDeviceGetName", d.cuDeviceGetName(name, sizeof(name) - 1, x.device),
               error))
    return nullptr;
  x.name = name;
  if (!cubinRunsOn(manifest.chip, major, minor)) {
    error = "the artifact's cubin is for " + manifest.chip + ", but " + name +
            " is sm_" + std::to_string(major) + std::to_string(minor) +
            "; recompile with --chip sm_" + std::to_string(major) +
            std::to_string(minor);
    return nullptr;
  }
  if (!x.check("cuDevicePrimaryCtxRetain",
               d.cuDevicePrimaryCtxRetain(&x.context, x.device), error) ||
      !x.check("cuCtxSetCurrent", d.cuCtxSetCurrent(x.context), error))
    return nullptr;

  DType compute = manifest.computeDType;
  uint64_t weightBytes = 0;
  for (const WeightTableEntry &entry : manifest.weightTable)
    weightBytes += entry.boundBytes(compute);
  x.kvCacheShape = manifest.kvCacheShape;
  uint64_t cacheBytes =
      elements(manifest.kvCacheShape) * dtypeSize(kvCacheDType(compute));
  uint64_t tokenSlots = uint64_t(manifest.maxBatch * manifest.maxSeq);
  x.outputSize = manifest.outputSize;
  uint64_t ioBytes = tokenSlots * (8 + 4 * uint64_t(manifest.outputSize)) +
                     4 * uint64_t(manifest.maxBatch);
  uint64_t needed = weightBytes + cacheBytes + manifest.scratchBytes + ioBytes;
  size_t freeBytes = 0, totalBytes = 0;
  if (!x.check("cuMemGetInfo", d.cuMemGetInfo(&freeBytes, &totalBytes), error))
    return nullptr;
  if (needed > freeBytes) {
    error = std::string("too little GPU memory on ") + name + ": the model needs " +
            gibibytes(needed) + ", " + gibibytes(freeBytes) + " are free";
    return nullptr;
  }

  // model.so's mgpu* calls go to the bundled runtime library; loading it
  // first makes model.so's dependency resolve to this very copy.
  std::string runtimePath =
      (std::filesystem::path(manifest.artifactDir) / kModelRuntimeLibrary).string();
  void *runtime = dlopen(runtimePath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!runtime) {
    error = "cannot load " + runtimePath + ": " + dlerror();
    return nullptr;
  }
  x.bind = reinterpret_cast<LmcCudaBindFn>(dlsym(runtime, kBindSymbol));
  x.rewind = reinterpret_cast<LmcCudaRewindFn>(dlsym(runtime, kRewindSymbol));
  x.takeError = reinterpret_cast<LmcCudaTakeErrorFn>(dlsym(runtime, kTakeErrorSymbol));
  x.setDependentLaunch = reinterpret_cast<LmcCudaUseDependentLaunchFn>(
      dlsym(runtime, kUseDependentLaunchSymbol));
  if (!x.bind || !x.rewind || !x.takeError || !x.setDependentLaunch) {
    error = runtimePath + " is not the llamac CUDA model runtime";
    return nullptr;
  }

  if (!x.check("cuStreamCreate", d.cuStreamCreate(&x.stream, CU_STREAM_NON_BLOCKING),
               error))
    return nullptr;
  for (size_t i = 0; i < manifest.weightTable.size(); ++i) {
    const WeightTableEntry &entry = manifest.weightTable[i];
    // An int4 entry's host buffer is its device image already (bindWeights
    // quantized it).
    std::vector<uint8_t> converted;
    if (!entry.int4GroupSize)
      converted = convertElements(hostWeights[i], elementCount(entry.shape),
                                  entry.dtype, compute);
    const void *image = entry.int4GroupSize ? hostWeights[i] : converted.data();
    uint64_t bytes = entry.boundBytes(compute);
    CUdeviceptr pointer = 0;
    if (!x.allocate(bytes, pointer, error) ||
        !x.check("cuMemcpyHtoDAsync",
                 d.cuMemcpyHtoDAsync(pointer, image, bytes, x.stream), error) ||
        // `converted` is freed next: the copy must have read it.
        !x.check("cuStreamSynchronize", d.cuStreamSynchronize(x.stream), error))
      return nullptr;
    x.weightTable.push_back(reinterpret_cast<void *>(pointer));
  }
  CUdeviceptr scratch = 0;
  if (!x.allocate(cacheBytes, x.kvCache, error) ||
      !x.check("cuMemsetD8Async", d.cuMemsetD8Async(x.kvCache, 0, cacheBytes, x.stream),
               error) ||
      !x.allocate(manifest.scratchBytes, scratch, error) ||
      !x.allocate(4 * tokenSlots, x.tokens, error) ||
      !x.allocate(4 * tokenSlots, x.positions, error) ||
      !x.allocate(4 * uint64_t(manifest.maxBatch), x.firstSlots, error) ||
      !x.allocate(4 * tokenSlots * uint64_t(manifest.outputSize), x.outputs, error) ||
      !x.check("cuStreamSynchronize", d.cuStreamSynchronize(x.stream), error))
    return nullptr;
  x.bind(x.stream, scratch, manifest.scratchBytes);
  x.kernelsWait = manifest.dependentLaunch;
  x.useDependentLaunch(true);
  return executor;
}

bool CudaExecutor::useDependentLaunch(bool enabled) {
  dependentLaunchOn = enabled && kernelsWait && driver->cuLaunchKernelEx;
  setDependentLaunch(dependentLaunchOn);
  return dependentLaunchOn;
}

CudaExecutor::~CudaExecutor() {
  if (!driver)
    return;
  destroyGraph();
  if (stream)
    driver->cuStreamSynchronize(stream);
  for (CUdeviceptr pointer : allocations)
    driver->cuMemFree(pointer);
  if (stream)
    driver->cuStreamDestroy(stream);
  // The context stays retained: model.so, never unloaded, holds the module.
}

void CudaExecutor::destroyGraph() {
  if (decodeGraph)
    driver->cuGraphExecDestroy(decodeGraph);
  decodeGraph = nullptr;
  graphBatch = 0;
}

bool CudaExecutor::checkModelLoaded(std::string &error) {
  if (const char *message = takeError()) {
    error = std::string("loading the kernels: ") + message;
    return false;
  }
  return true;
}

bool CudaExecutor::callEntry(EntryPointFn function, const TokenBatch &batch,
                             int64_t startSlot, int64_t outputPositions,
                             std::string &error) {
  auto tokensRef = makeDenseMemRef(reinterpret_cast<int32_t *>(tokens),
                                   {batch.batchSize, batch.length});
  auto positionsRef = makeDenseMemRef(reinterpret_cast<int32_t *>(positions),
                                      {batch.batchSize, batch.length});
  auto firstSlotRef =
      makeDenseMemRef(reinterpret_cast<int32_t *>(firstSlots), {batch.batchSize});
  auto outputRef = makeDenseMemRef(reinterpret_cast<float *>(outputs),
                                   {batch.batchSize, outputPositions, outputSize});
  int64_t cacheSizes[6];
  std::copy(kvCacheShape.begin(), kvCacheShape.end(), cacheSizes);
  KVCacheRef cacheRef = makeDenseMemRef(reinterpret_cast<float *>(kvCache), cacheSizes);
  rewind();
  function(weightTable.data(), &cacheRef, &tokensRef, &positionsRef, &firstSlotRef,
           startSlot, &outputRef);
  if (const char *message = takeError()) {
    error = message;
    return false;
  }
  return true;
}

bool CudaExecutor::timeKernels(std::string &error) {
  if (!kernelTimer)
    kernelTimer = StreamTimer::create(*driver, error);
  return kernelTimer != nullptr;
}

bool CudaExecutor::prepareDecodeGraph(EntryPointFn function, const TokenBatch &batch,
                                      int64_t startSlot, std::string &error) {
  // The decode step reads its per-token inputs from the fixed buffers, so
  // one graph per batch size serves every step.
  if (decodeGraph && graphBatch == batch.batchSize)
    return true;
  destroyGraph();
  std::optional<int64_t> kernels = captureGraph(
      *driver, stream, [&] { return callEntry(function, batch, startSlot, 1, error); },
      decodeGraph, error);
  if (!kernels)
    return false;
  decodeKernels = *kernels;
  graphBatch = batch.batchSize;
  return true;
}

bool CudaExecutor::launch(EntryPointFn function, bool decode, const TokenBatch &batch,
                          int64_t startSlot, int64_t outputPositions,
                          std::string &error) {
  bool replay = decode && graphsEnabled;
  if (replay && !prepareDecodeGraph(function, batch, startSlot, error))
    return false;
  // The events go after the capture: recorded while capturing, they would
  // become nodes of the graph.
  if (kernelTimer && !kernelTimer->start(stream, error))
    return false;
  bool launched = replay ? check("cuGraphLaunch",
                                 driver->cuGraphLaunch(decodeGraph, stream), error)
                         : callEntry(function, batch, startSlot, outputPositions, error);
  return launched && (!kernelTimer || kernelTimer->stop(stream, error));
}

bool CudaExecutor::copyOutputs(const TokenBatch &batch, float *output,
                               int64_t outputPositions, std::string &error) {
  uint64_t bytes = 4 * uint64_t(batch.batchSize * outputPositions * outputSize);
  return check("cuMemcpyDtoHAsync",
               driver->cuMemcpyDtoHAsync(output, outputs, bytes, stream), error);
}

bool CudaExecutor::run(EntryPointFn function, bool decode, const TokenBatch &batch,
                       int64_t startSlot, float *output, int64_t outputPositions,
                       std::string &error) {
  const CudaDriver &d = *driver;
  uint64_t tokenBytes = 4 * uint64_t(batch.batchSize * batch.length);
  if (!check("cuMemcpyHtoDAsync",
             d.cuMemcpyHtoDAsync(tokens, batch.tokens.data(), tokenBytes, stream),
             error) ||
      !check("cuMemcpyHtoDAsync",
             d.cuMemcpyHtoDAsync(positions, batch.positions.data(), tokenBytes, stream),
             error) ||
      !check("cuMemcpyHtoDAsync",
             d.cuMemcpyHtoDAsync(firstSlots, batch.firstSlot.data(),
                                 4 * uint64_t(batch.batchSize), stream),
             error))
    return false;
  if (!launch(function, decode, batch, startSlot, outputPositions, error))
    return false;

  if (!copyOutputs(batch, output, outputPositions, error) ||
      !check("cuStreamSynchronize", d.cuStreamSynchronize(stream), error))
    return false;
  if (kernelTimer) {
    std::optional<double> seconds = kernelTimer->seconds(error);
    if (!seconds)
      return false;
    (decode ? decodeKernelTime : prefillKernelTime) += *seconds;
  }
  return true;
}

} // namespace llamac::cuda
