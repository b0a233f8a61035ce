//===- ModelRuntimeAPI.h - Control calls of libllamac_cuda_rt.so -*- C++ -*-===//
//
// libllamac_cuda_rt.so defines the mgpu* functions that MLIR's gpu-to-llvm
// host code calls (module load, launch, stream, alloc). The runtime binds it
// to its own stream and scratch memory through these calls, which it
// resolves with dlsym: model.so then launches every kernel on that stream
// and takes its scratch buffers from that memory.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_CUDA_MODELRUNTIMEAPI_H
#define LLAMAC_RUNTIME_CUDA_MODELRUNTIMEAPI_H

#include <cstddef>
#include <cstdint>

extern "C" {
/// Sets the stream mgpuStreamCreate returns and the scratch memory
/// mgpuMemAlloc serves, and rewinds the scratch.
using LmcCudaBindFn = void (*)(void *stream, uint64_t scratch, uint64_t bytes);
/// Rewinds the scratch: call before each entry-point call.
using LmcCudaRewindFn = void (*)();
/// The first error since the last call (one line), or null; clears it.
using LmcCudaTakeErrorFn = const char *(*)();
/// Non-zero: launch every kernel with programmatic stream serialization
/// (dependent launch). Only for artifacts whose kernels wait for their
/// predecessor with griddepcontrol.wait (manifest cuda.dependent_launch),
/// on a driver with cuLaunchKernelEx.
using LmcCudaUseDependentLaunchFn = void (*)(int enabled);
}

namespace llamac::cuda {
inline constexpr const char *kModelRuntimeLibrary = "libllamac_cuda_rt.so";
inline constexpr const char *kBindSymbol = "lmcCudaBind";
inline constexpr const char *kRewindSymbol = "lmcCudaRewind";
inline constexpr const char *kTakeErrorSymbol = "lmcCudaTakeError";
inline constexpr const char *kUseDependentLaunchSymbol = "lmcCudaUseDependentLaunch";
} // namespace llamac::cuda

#endif // LLAMAC_RUNTIME_CUDA_MODELRUNTIMEAPI_H
