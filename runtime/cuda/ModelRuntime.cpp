//===- ModelRuntime.cpp - mgpu* over the CUDA driver API ------------------===//
//
// libllamac_cuda_rt.so, bundled in every CUDA artifact and linked by its
// model.so. It implements the functions MLIR's gpu-to-llvm lowering calls:
//
//  * mgpuModuleLoad / GetFunction / Unload: the embedded cubin, loaded by
//    model.so's constructor into the context the runtime made current;
//  * mgpuStreamCreate / Synchronize / Destroy: the host code opens one
//    stream per call; it gets the runtime's stream, which is not destroyed,
//    and not synchronized while a graph is being captured (not allowed);
//  * mgpuLaunchKernel: cuLaunchKernel on that stream, or cuLaunchKernelEx
//    with programmatic stream serialization once the runtime asks for
//    dependent launch (lmcCudaUseDependentLaunch): the next kernel's blocks
//    are then scheduled while this one runs, and wait at their entry. A
//    kernel that takes more than 48 KiB of dynamic shared memory (the
//    tensor-core GEMM's stages) is first allowed that much, once;
//  * mgpuMemAlloc / MemFree: bump allocation from the runtime's scratch (see
//    ScratchArena.h); frees are no-ops, the runtime rewinds per call.
//
// The mgpu* functions return nothing, so the first failing driver call is
// kept as a one-line error (and later launches are skipped) until the
// runtime takes it with lmcCudaTakeError after the call.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/ModelRuntimeAPI.h"
#include "runtime/cuda/ScratchArena.h"

#include <string>
#include <utility>
#include <vector>

using namespace llamac::cuda;

namespace {

struct State {
  const CudaDriver *driver = nullptr;
  CUstream stream = nullptr;
  bool dependentLaunch = false;
  ScratchArena scratch;
  /// The dynamic shared memory each function was allowed beyond the default.
  std::vector<std::pair<CUfunction, int>> sharedLimits;
  std::string error;
  std::string reported;
};

State &state() {
  static State instance;
  return instance;
}

/// The driver, or null after recording why there is none.
const CudaDriver *driver() {
  State &s = state();
  if (!s.driver && s.error.empty()) {
    std::string error;
    s.driver = loadCudaDriver(error);
    if (!s.driver)
      s.error = error;
  }
  return s.driver;
}

void record(const std::string &message) {
  if (state().error.empty())
    state().error = message;
}

bool check(const char *call, CUresult result) {
  if (result == CUDA_SUCCESS)
    return true;
  record(driver()->describe(call, result));
  return false;
}

bool healthy() { return driver() && state().error.empty(); }

/// Lets `function` take `bytes` of dynamic shared memory, which past 48 KiB
/// the driver requires asking for.
bool allowDynamicShared(CUfunction function, int bytes) {
  if (unsigned(bytes) <= kDefaultDynamicSharedBytes)
    return true;
  for (auto [allowed, limit] : state().sharedLimits)
    if (allowed == function && limit >= bytes)
      return true;
  if (!check("cuFuncSetAttribute",
             driver()->cuFuncSetAttribute(
                 function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes)))
    return false;
  state().sharedLimits.push_back({function, bytes});
  return true;
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) void lmcCudaBind(void *stream,
                                                        uint64_t scratch,
                                                        uint64_t bytes) {
  state().stream = static_cast<CUstream>(stream);
  state().scratch.reset(scratch, bytes);
}

__attribute__((visibility("default"))) void lmcCudaUseDependentLaunch(int enabled) {
  state().dependentLaunch = enabled != 0;
}

__attribute__((visibility("default"))) void lmcCudaRewind() {
  state().scratch.rewind();
}

__attribute__((visibility("default"))) const char *lmcCudaTakeError() {
  State &s = state();
  if (s.error.empty())
    return nullptr;
  s.reported = std::move(s.error);
  s.error.clear();
  return s.reported.c_str();
}

__attribute__((visibility("default"))) void *mgpuModuleLoad(void *data,
                                                           size_t /*size*/) {
  CUmodule module = nullptr;
  if (healthy())
    check("cuModuleLoadData", driver()->cuModuleLoadData(&module, data));
  return module;
}

__attribute__((visibility("default"))) void mgpuModuleUnload(void *module) {
  // Its functions' handles may come back for another module's.
  state().sharedLimits.clear();
  // Runs from model.so's destructor at exit, possibly after the context is
  // gone; nothing is left to report to.
  if (module && state().driver)
    state().driver->cuModuleUnload(static_cast<CUmodule>(module));
}

__attribute__((visibility("default"))) void *
mgpuModuleGetFunction(void *module, const char *name) {
  CUfunction function = nullptr;
  if (healthy())
    check("cuModuleGetFunction",
          driver()->cuModuleGetFunction(&function, static_cast<CUmodule>(module),
                                        name));
  return function;
}

__attribute__((visibility("default"))) void
mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                 intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
                 void *stream, void **params, void **extra, size_t /*count*/) {
  if (!healthy() || !allowDynamicShared(static_cast<CUfunction>(function), smem))
    return;
  if (!state().dependentLaunch) {
    check("cuLaunchKernel",
          driver()->cuLaunchKernel(static_cast<CUfunction>(function), gridX, gridY,
                                   gridZ, blockX, blockY, blockZ, smem,
                                   static_cast<CUstream>(stream), params, extra));
    return;
  }
  CUlaunchAttribute dependent{};
  dependent.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  dependent.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig config{unsigned(gridX),  unsigned(gridY),  unsigned(gridZ),
                        unsigned(blockX), unsigned(blockY), unsigned(blockZ),
                        unsigned(smem),   static_cast<CUstream>(stream),
                        &dependent,       1};
  check("cuLaunchKernelEx",
        driver()->cuLaunchKernelEx(&config, static_cast<CUfunction>(function),
                                   params, extra));
}

__attribute__((visibility("default"))) void *mgpuStreamCreate() {
  if (!state().stream)
    record("model.so ran before the runtime bound a CUDA stream");
  return state().stream;
}

__attribute__((visibility("default"))) void mgpuStreamDestroy(void *) {}

__attribute__((visibility("default"))) void mgpuStreamSynchronize(void *stream) {
  if (!healthy())
    return;
  int capturing = 0;
  if (!check("cuStreamIsCapturing",
             driver()->cuStreamIsCapturing(static_cast<CUstream>(stream),
                                           &capturing)) ||
      capturing == CU_STREAM_CAPTURE_STATUS_ACTIVE)
    return;
  check("cuStreamSynchronize",
        driver()->cuStreamSynchronize(static_cast<CUstream>(stream)));
}

__attribute__((visibility("default"))) void *
mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool /*isHostShared*/) {
  std::optional<uint64_t> address = state().scratch.allocate(bytes);
  if (!address) {
    record("the compiled code asked for " + std::to_string(bytes) +
           " bytes of scratch beyond the " +
           std::to_string(state().scratch.bytesUsed()) +
           " in use; the manifest's memory_plan.scratch_bytes is too small");
    return nullptr;
  }
  return reinterpret_cast<void *>(*address);
}

__attribute__((visibility("default"))) void mgpuMemFree(void *, void *) {}

} // extern "C"
