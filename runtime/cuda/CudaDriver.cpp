//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//
#include "runtime/cuda/CudaDriver.h"

#include <dlfcn.h>


namespace llamac::cuda {
namespace {

struct LoadedDriver {
  CudaDriver driver{};
  std::string error;
};

template <typename Fn>
bool resolve(void *library, const char *name, Fn &slot, std::string &error) {
  slot = reinterpret_cast<Fn>(dlsym(library, name));
  if (!slot)
    error = std::string("the CUDA driver lacks ") + name +
            " (driver too old for this runtime)";
  return slot != nullptr;
}

LoadedDriver load() {
  LoadedDriver loaded;
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!library) {
    loaded.error = "no CUDA driver: cannot load libcuda.so.1 (" +
                   std::string(dlerror()) + ")";
    return loaded;
  }
  CudaDriver &d = loaded.driver;
  std::string &e = loaded.error;
  bool ok = resolve(library, "cuInit", d.cuInit, e) &&
            resolve(library, "cuGetErrorName", d.cuGetErrorName, e) &&
            resolve(library, "cuGetErrorString", d.cuGetErrorString, e) &&
            resolve(library, "cuDeviceGetCount", d.cuDeviceGetCount, e) &&
            resolve(library, "cuDeviceGet", d.cuDeviceGet, e) &&
            resolve(library, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, e) &&
            resolve(library, "cuDeviceGetName", d.cuDeviceGetName, e) &&
            resolve(library, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, e) &&
            resolve(library, "cuCtxSetCurrent", d.cuCtxSetCurrent, e) &&
            resolve(library, "cuMemGetInfo_v2", d.cuMemGetInfo, e) &&
            resolve(library, "cuMemAlloc_v2", d.cuMemAlloc, e) &&
            resolve(library, "cuMemFree_v2", d.cuMemFree, e) &&
            resolve(library, "cuMemsetD8Async", d.cuMemsetD8Async, e) &&
            resolve(library, "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync, e) &&
            resolve(library, "cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync, e) &&
            resolve(library, "cuMemcpyDtoDAsync_v2", d.cuMemcpyDtoDAsync, e) &&
            resolve(library, "cuModuleLoadData", d.cuModuleLoadData, e) &&
            resolve(library, "cuModuleUnload", d.cuModuleUnload, e) &&
            resolve(library, "cuModuleGetFunction", d.cuModuleGetFunction, e) &&
            resolve(library, "cuFuncSetAttribute", d.cuFuncSetAttribute, e) &&
            resolve(library, "cuLaunchKernel", d.cuLaunchKernel, e) &&
            resolve(library, "cuStreamCreate", d.cuStreamCreate, e) &&
            resolve(library, "cuStreamDestroy_v2", d.cuStreamDestroy, e) &&
            resolve(library, "cuStreamSynchronize", d.cuStreamSynchronize, e) &&
            resolve(library, "cuStreamBeginCapture_v2", d.cuStreamBeginCapture, e) &&
            resolve(library, "cuStreamEndCapture", d.cuStreamEndCapture, e) &&
            resolve(library, "cuStreamIsCapturing", d.cuStreamIsCapturing, e) &&
            resolve(library, "cuGraphInstantiateWithFlags",
                    d.cuGraphInstantiateWithFlags, e) &&
            resolve(library, "cuGraphLaunch", d.cuGraphLaunch, e) &&
            resolve(library, "cuGraphExecDestroy", d.cuGraphExecDestroy, e) &&
            resolve(library, "cuGraphDestroy", d.cuGraphDestroy, e) &&
            resolve(library, "cuGraphGetNodes", d.cuGraphGetNodes, e) &&
            resolve(library, "cuGraphNodeGetType", d.cuGraphNodeGetType, e) &&
            resolve(library, "cuEventCreate", d.cuEventCreate, e) &&
            resolve(library, "cuEventDestroy_v2", d.cuEventDestroy, e) &&
            resolve(library, "cuEventRecord", d.cuEventRecord, e) &&
            resolve(library, "cuEventSynchronize", d.cuEventSynchronize, e) &&
            // Not cuEventElapsedTime_v2 (same signature), which drivers
            // before CUDA 12.8 lack: the runtime would refuse them entirely.
            resolve(library, "cuEventElapsedTime", d.cuEventElapsedTime, e);
  if (!ok)
    return loaded;
  d.cuLaunchKernelEx = reinterpret_cast<decltype(d.cuLaunchKernelEx)>(
      dlsym(library, "cuLaunchKernelEx"));
  if (CUresult result = d.cuInit(0); result != CUDA_SUCCESS)
    e = d.describe("cuInit", result);
  return loaded;
}

} // namespace

std::string CudaDriver::describe(const char *call, CUresult result) const {
  const char *name = nullptr;
  const char *text = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    name = "unknown error";
  if (cuGetErrorString(result, &text) != CUDA_SUCCESS || !text)
    text = "";
  return std::string(call) + ": " + name + " (" + text + ")";
}

bool CudaDriver::check(const char *call, CUresult result,
                       std::string &error) const {
  if (result == CUDA_SUCCESS)
    return true;
  error = describe(call, result);
  return false;
}

const CudaDriver *loadCudaDriver(std::string &error) {
  static LoadedDriver loaded = load();
  if (!loaded.error.empty()) {
    error = loaded.error;
    return nullptr;
  }
  return &loaded.driver;
}

} // namespace llamac::cuda
