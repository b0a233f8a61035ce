//===- CudaExecutor.h - Running a CUDA artifact on the device ---*- C++ -*-===//
//
// Everything a CUDA artifact needs on the device, set up once at load:
// the driver and the primary context of device 0 (with the chip and the
// memory checked before any work), the weights uploaded in the compute
// dtype, the static KV cache, the scratch arena of the compiled code, and
// fixed input/output buffers. Every call of model.so's entry points runs on
// one stream; a decode step is captured once into a CUDA graph (per batch
// size) and replayed for every token.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_CUDA_CUDAEXECUTOR_H
#define LLAMAC_RUNTIME_CUDA_CUDAEXECUTOR_H

#include "runtime/Manifest.h"
#include "runtime/ModelABI.h"
#include "runtime/TokenBatch.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/DeviceTiming.h"
#include "runtime/cuda/ModelRuntimeAPI.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamac::cuda {

/// Whether a cubin for `chip` ("sm_90", "sm_90a", "sm_80") loads on a
/// device of compute capability `major`.`minor`.
bool cubinRunsOn(const std::string &chip, int major, int minor);

class CudaExecutor {
public:
  /// Opens the device and uploads `hostWeights` (the checkpoint's tensors,
  /// in weight-table order and dtypes). Must run before model.so is loaded:
  /// its constructor loads the cubin into the context made current here.
  /// On failure returns null and sets `error` to one line.
  static std::unique_ptr<CudaExecutor>
  create(const Manifest &manifest, const std::vector<const void *> &hostWeights,
         std::string &error);
  ~CudaExecutor();
  CudaExecutor(const CudaExecutor &) = delete;
  CudaExecutor &operator=(const CudaExecutor &) = delete;

  /// Checks that model.so loaded its kernels; call after opening it.
  bool checkModelLoaded(std::string &error);

  /// Capture decode steps into CUDA graphs (default) or launch them directly.
  void useGraphs(bool enabled) { graphsEnabled = enabled; }

  /// Launch the kernels with programmatic stream serialization (default
  /// where possible) or plainly. Possible when the artifact's kernels wait
  /// for their predecessor (manifest dependent_launch) and the driver has
  /// cuLaunchKernelEx; returns whether dependent launch is now on. Call
  /// before the first step: captured graphs keep how they were launched.
  bool useDependentLaunch(bool enabled);
  bool launchesDependent() const { return dependentLaunchOn; }

  /// One prefill or decode step; `output` receives the float32 results on
  /// the host: [batch, outputPositions, N], each row's last positions (the
  /// only ones the kernels compute). Returns false with `error` set when a
  /// CUDA call fails.
  bool run(EntryPointFn function, bool decode, const TokenBatch &batch,
           int64_t startSlot, float *output, int64_t outputPositions,
           std::string &error);

  // What `llamac-run bench` measures besides run() (see DeviceTiming.h).

  /// The card, as cuDeviceGetName names it.
  const std::string &deviceName() const { return name; }

  /// Bytes read plus written per second by device-to-device copies of a
  /// `bytes` buffer (measureCopyBandwidth) on the executor's stream.
  std::optional<double> measureCopyBandwidth(size_t bytes, int copies,
                                             std::string &error) {
    return cuda::measureCopyBandwidth(*driver, stream, bytes, copies, error);
  }

  /// The kernel nodes of the captured decode graph: the kernels one decode
  /// step launches. Nullopt before the first decode step and when decode
  /// steps launch their kernels directly (no graph to count).
  std::optional<int64_t> decodeKernelsPerStep() const {
    return graphsEnabled && decodeGraph ? std::optional<int64_t>(decodeKernels)
                                        : std::nullopt;
  }

  /// From now on every call records CUDA events just before and after its
  /// kernels (a decode step's graph launch, or the direct launches) and
  /// adds the GPU time between them to decodeKernelSeconds() or
  /// prefillKernelSeconds().
  bool timeKernels(std::string &error);
  double decodeKernelSeconds() const { return decodeKernelTime; }
  double prefillKernelSeconds() const { return prefillKernelTime; }

  /// Mean GPU seconds of one replay of a graph of `kernels` empty kernels
  /// (measureLaunchSeconds) on the executor's stream.
  std::optional<double> measureLaunchSeconds(int64_t kernels, int replays,
                                             std::string &error) {
    return cuda::measureLaunchSeconds(*driver, stream, kernels, replays, error);
  }

private:
  CudaExecutor() = default;
  bool check(const char *call, CUresult result, std::string &error) const {
    return driver->check(call, result, error);
  }
  bool allocate(uint64_t bytes, CUdeviceptr &pointer, std::string &error);
  /// Calls the entry point; its output holds `outputPositions` positions a
  /// row (ModelABI.h).
  bool callEntry(EntryPointFn function, const TokenBatch &batch,
                 int64_t startSlot, int64_t outputPositions, std::string &error);
  bool prepareDecodeGraph(EntryPointFn function, const TokenBatch &batch,
                          int64_t startSlot, std::string &error);
  /// Launches the call's kernels between the timer's events: a decode
  /// step as a replay of its graph (captured on the first step).
  bool launch(EntryPointFn function, bool decode, const TokenBatch &batch,
              int64_t startSlot, int64_t outputPositions, std::string &error);
  /// Queues the copy of the step's outputs to `output`.
  bool copyOutputs(const TokenBatch &batch, float *output,
                   int64_t outputPositions, std::string &error);
  void destroyGraph();

  const CudaDriver *driver = nullptr;
  std::string name;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  LmcCudaBindFn bind = nullptr;
  LmcCudaRewindFn rewind = nullptr;
  LmcCudaTakeErrorFn takeError = nullptr;
  LmcCudaUseDependentLaunchFn setDependentLaunch = nullptr;
  bool kernelsWait = false;
  bool dependentLaunchOn = false;

  std::vector<CUdeviceptr> allocations;
  std::vector<void *> weightTable; ///< Device addresses, table order.
  CUdeviceptr kvCache = 0;
  std::array<int64_t, 6> kvCacheShape{};
  CUdeviceptr tokens = 0, positions = 0, firstSlots = 0, outputs = 0;
  int64_t outputSize = 0;

  bool graphsEnabled = true;
  CUgraphExec decodeGraph = nullptr;
  int64_t graphBatch = 0;
  int64_t decodeKernels = 0; ///< Kernel nodes of decodeGraph.

  std::unique_ptr<StreamTimer> kernelTimer; ///< Set by timeKernels.
  double decodeKernelTime = 0, prefillKernelTime = 0;
};

} // namespace llamac::cuda

#endif // LLAMAC_RUNTIME_CUDA_CUDAEXECUTOR_H
