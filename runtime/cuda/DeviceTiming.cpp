//===- DeviceTiming.cpp - Timing work on the GPU's own clock --------------===//
#include "runtime/cuda/DeviceTiming.h"

#include "runtime/ScopeExit.h"

#include <vector>

namespace llamac::cuda {

const char *const kNoOpKernelPtx = ".version 7.0\n"
                                   ".target sm_80\n"
                                   ".address_size 64\n"
                                   "\n"
                                   ".visible .entry lmc_noop()\n"
                                   "{\n"
                                   "\tret;\n"
                                   "}\n";

std::unique_ptr<StreamTimer> StreamTimer::create(const CudaDriver &driver,
                                                 std::string &error) {
  std::unique_ptr<StreamTimer> timer(new StreamTimer(driver));
  if (!driver.check("cuEventCreate",
                    driver.cuEventCreate(&timer->begin, CU_EVENT_DEFAULT),
                    error) ||
      !driver.check("cuEventCreate",
                    driver.cuEventCreate(&timer->end, CU_EVENT_DEFAULT), error))
    return nullptr;
  return timer;
}

StreamTimer::~StreamTimer() {
  if (begin)
    driver.cuEventDestroy(begin);
  if (end)
    driver.cuEventDestroy(end);
}

bool StreamTimer::start(CUstream stream, std::string &error) {
  return driver.check("cuEventRecord", driver.cuEventRecord(begin, stream),
                      error);
}

bool StreamTimer::stop(CUstream stream, std::string &error) {
  return driver.check("cuEventRecord", driver.cuEventRecord(end, stream),
                      error);
}

std::optional<double> StreamTimer::seconds(std::string &error) const {
  float milliseconds = 0;
  if (!driver.check("cuEventSynchronize", driver.cuEventSynchronize(end),
                    error) ||
      !driver.check("cuEventElapsedTime",
                    driver.cuEventElapsedTime(&milliseconds, begin, end),
                    error))
    return std::nullopt;
  return double(milliseconds) / 1e3;
}

std::optional<double> StreamTimer::time(CUstream stream,
                                        const std::function<bool()> &enqueue,
                                        std::string &error) {
  if (!start(stream, error) || !enqueue() || !stop(stream, error))
    return std::nullopt;
  return seconds(error);
}

std::optional<int64_t> countKernelNodes(const CudaDriver &driver, CUgraph graph,
                                        std::string &error) {
  size_t count = 0;
  if (!driver.check("cuGraphGetNodes",
                    driver.cuGraphGetNodes(graph, nullptr, &count), error))
    return std::nullopt;
  std::vector<CUgraphNode> nodes(count);
  if (!driver.check("cuGraphGetNodes",
                    driver.cuGraphGetNodes(graph, nodes.data(), &count), error))
    return std::nullopt;
  int64_t kernels = 0;
  for (CUgraphNode node : nodes) {
    int type = 0;
    if (!driver.check("cuGraphNodeGetType",
                      driver.cuGraphNodeGetType(node, &type), error))
      return std::nullopt;
    kernels += type == CU_GRAPH_NODE_TYPE_KERNEL;
  }
  return kernels;
}

std::optional<int64_t> captureGraph(const CudaDriver &driver, CUstream stream,
                                    const std::function<bool()> &enqueue,
                                    CUgraphExec &exec, std::string &error) {
  if (!driver.check("cuStreamBeginCapture",
                    driver.cuStreamBeginCapture(
                        stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                    error))
    return std::nullopt;
  bool enqueued = enqueue();
  CUgraph graph = nullptr;
  CUresult ended = driver.cuStreamEndCapture(stream, &graph);
  ScopeExit destroyGraph([&] {
    if (graph)
      driver.cuGraphDestroy(graph);
  });
  if (!enqueued || !driver.check("cuStreamEndCapture", ended, error))
    return std::nullopt;
  std::optional<int64_t> kernels = countKernelNodes(driver, graph, error);
  if (!kernels ||
      !driver.check("cuGraphInstantiateWithFlags",
                    driver.cuGraphInstantiateWithFlags(&exec, graph, 0), error))
    return std::nullopt;
  return kernels;
}

std::optional<double> measureCopyBandwidth(const CudaDriver &driver,
                                           CUstream stream, size_t bytes,
                                           int copies, std::string &error) {
  CUdeviceptr source = 0, target = 0;
  ScopeExit freeBuffers([&] {
    if (source)
      driver.cuMemFree(source);
    if (target)
      driver.cuMemFree(target);
  });
  if (!driver.check("cuMemAlloc", driver.cuMemAlloc(&source, bytes), error) ||
      !driver.check("cuMemAlloc", driver.cuMemAlloc(&target, bytes), error)) {
    error = "two " + std::to_string(bytes >> 20) +
            " MiB buffers to measure the device's bandwidth: " + error;
    return std::nullopt;
  }
  auto copy = [&](int count) {
    for (int i = 0; i < count; ++i)
      if (!driver.check("cuMemcpyDtoDAsync",
                        driver.cuMemcpyDtoDAsync(target, source, bytes, stream),
                        error))
        return false;
    return true;
  };
  std::unique_ptr<StreamTimer> timer = StreamTimer::create(driver, error);
  if (!timer || !copy(kWarmUpCopies))
    return std::nullopt;
  std::optional<double> seconds = timer->time(
      stream, [&] { return copy(copies); }, error);
  if (!seconds)
    return std::nullopt;
  // Each copy reads `bytes` and writes as many.
  return 2 * double(bytes) * copies / *seconds;
}

std::optional<double> measureLaunchSeconds(const CudaDriver &driver,
                                           CUstream stream, int64_t kernels,
                                           int replays, std::string &error) {
  CUmodule module = nullptr;
  CUgraphExec exec = nullptr;
  ScopeExit release([&] {
    if (exec)
      driver.cuGraphExecDestroy(exec);
    if (module)
      driver.cuModuleUnload(module);
  });
  CUfunction noOp = nullptr;
  auto launchAll = [&] {
    for (int64_t i = 0; i < kernels; ++i)
      if (!driver.check("cuLaunchKernel",
                        driver.cuLaunchKernel(noOp, 1, 1, 1, 32, 1, 1, 0,
                                              stream, nullptr, nullptr),
                        error))
        return false;
    return true;
  };
  if (!driver.check("cuModuleLoadData",
                    driver.cuModuleLoadData(&module, kNoOpKernelPtx), error) ||
      !driver.check("cuModuleGetFunction",
                    driver.cuModuleGetFunction(&noOp, module, kNoOpKernelName),
                    error) ||
      !captureGraph(driver, stream, launchAll, exec, error))
    return std::nullopt;
  auto replay = [&] {
    return driver.check("cuGraphLaunch", driver.cuGraphLaunch(exec, stream),
                        error);
  };
  std::unique_ptr<StreamTimer> timer = StreamTimer::create(driver, error);
  // The first launch of a graph also uploads it to the device.
  if (!timer || !timer->time(stream, replay, error))
    return std::nullopt;
  double total = 0;
  for (int i = 0; i < replays; ++i) {
    std::optional<double> seconds = timer->time(stream, replay, error);
    if (!seconds)
      return std::nullopt;
    total += *seconds;
  }
  return total / replays;
}

} // namespace llamac::cuda
