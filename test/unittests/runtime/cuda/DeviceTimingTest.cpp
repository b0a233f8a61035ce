//===- DeviceTimingTest.cpp - Bench measurements over a fake driver -------===//
//
// The driver is a table of function pointers, so a fake one that records
// what it is asked and answers fixed timings checks the measurements'
// arithmetic, what they launch and that they free everything, without a
// GPU.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/DeviceTiming.h"
#include "test/unittests/runtime/FakeArtifact.h"

#include <cstdlib>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <vector>

using namespace llamac::cuda;
using ::testing::HasSubstr;

namespace {

inline constexpr CUresult kOutOfMemory = 2;

/// What the fake driver was asked and what it answers.
struct FakeDevice {
  // Answers.
  float elapsedMilliseconds = 1;
  bool allocationFails = false;
  // Node types of the graph the next cuStreamEndCapture returns; each
  // kernel launched while capturing adds one.
  std::vector<int> capturedNodes;
  // Records.
  bool capturing = false;
  int directLaunches = 0, graphLaunches = 0, copies = 0;
  size_t copiedBytes = 0;
  std::string moduleImage, functionName;
  // Every handle made and not yet freed.
  int events = 0, buffers = 0, graphs = 0, execs = 0, modules = 0;
};

FakeDevice fake;

template <typename Handle> Handle handle(uintptr_t value) {
  return reinterpret_cast<Handle>(value);
}

CudaDriver fakeDriver() {
  CudaDriver d{};
  d.cuGetErrorName = [](CUresult, const char **name) {
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return CUDA_SUCCESS;
  };
  d.cuGetErrorString = [](CUresult, const char **text) {
    *text = "out of memory";
    return CUDA_SUCCESS;
  };
  d.cuMemAlloc = [](CUdeviceptr *pointer, size_t) {
    if (fake.allocationFails)
      return kOutOfMemory;
    *pointer = CUdeviceptr(++fake.buffers) << 32;
    return CUDA_SUCCESS;
  };
  d.cuMemFree = [](CUdeviceptr) {
    --fake.buffers;
    return CUDA_SUCCESS;
  };
  d.cuMemcpyDtoDAsync = [](CUdeviceptr, CUdeviceptr, size_t bytes, CUstream) {
    ++fake.copies;
    fake.copiedBytes = bytes;
    return CUDA_SUCCESS;
  };
  d.cuEventCreate = [](CUevent *event, unsigned) {
    *event = handle<CUevent>(++fake.events);
    return CUDA_SUCCESS;
  };
  d.cuEventDestroy = [](CUevent) {
    --fake.events;
    return CUDA_SUCCESS;
  };
  d.cuEventRecord = [](CUevent, CUstream) { return CUDA_SUCCESS; };
  d.cuEventSynchronize = [](CUevent) { return CUDA_SUCCESS; };
  d.cuEventElapsedTime = [](float *milliseconds, CUevent, CUevent) {
    *milliseconds = fake.elapsedMilliseconds;
    return CUDA_SUCCESS;
  };
  d.cuStreamBeginCapture = [](CUstream, int) {
    fake.capturing = true;
    return CUDA_SUCCESS;
  };
  d.cuStreamEndCapture = [](CUstream, CUgraph *graph) {
    fake.capturing = false;
    *graph = handle<CUgraph>(++fake.graphs);
    return CUDA_SUCCESS;
  };
  d.cuGraphGetNodes = [](CUgraph, CUgraphNode *nodes, size_t *count) {
    if (nodes)
      for (size_t i = 0; i < *count; ++i)
        nodes[i] = handle<CUgraphNode>(i + 1);
    *count = fake.capturedNodes.size();
    return CUDA_SUCCESS;
  };
  d.cuGraphNodeGetType = [](CUgraphNode node, int *type) {
    *type = fake.capturedNodes[reinterpret_cast<uintptr_t>(node) - 1];
    return CUDA_SUCCESS;
  };
  d.cuGraphInstantiateWithFlags = [](CUgraphExec *exec, CUgraph,
                                     unsigned long long) {
    *exec = handle<CUgraphExec>(++fake.execs);
    return CUDA_SUCCESS;
  };
  d.cuGraphDestroy = [](CUgraph) {
    --fake.graphs;
    return CUDA_SUCCESS;
  };
  d.cuGraphExecDestroy = [](CUgraphExec) {
    --fake.execs;
    return CUDA_SUCCESS;
  };
  d.cuGraphLaunch = [](CUgraphExec, CUstream) {
    ++fake.graphLaunches;
    return CUDA_SUCCESS;
  };
  d.cuModuleLoadData = [](CUmodule *module, const void *image) {
    fake.moduleImage = static_cast<const char *>(image);
    *module = handle<CUmodule>(++fake.modules);
    return CUDA_SUCCESS;
  };
  d.cuModuleUnload = [](CUmodule) {
    --fake.modules;
    return CUDA_SUCCESS;
  };
  d.cuModuleGetFunction = [](CUfunction *function, CUmodule, const char *name) {
    fake.functionName = name;
    *function = handle<CUfunction>(1);
    return CUDA_SUCCESS;
  };
  d.cuLaunchKernel = [](CUfunction, unsigned, unsigned, unsigned, unsigned,
                        unsigned, unsigned, unsigned, CUstream, void **,
                        void **) {
    if (fake.capturing)
      fake.capturedNodes.push_back(CU_GRAPH_NODE_TYPE_KERNEL);
    else
      ++fake.directLaunches;
    return CUDA_SUCCESS;
  };
  return d;
}

class DeviceTimingTest : public ::testing::Test {
protected:
  void SetUp() override { fake = FakeDevice(); }
  void TearDown() override {
    EXPECT_FALSE(fake.capturing);
    EXPECT_EQ(fake.events, 0);
    EXPECT_EQ(fake.buffers, 0);
    EXPECT_EQ(fake.graphs, 0);
    EXPECT_EQ(fake.modules, 0);
  }

  const CudaDriver driver = fakeDriver();
  CUstream stream = handle<CUstream>(7);
  std::string error;
};

/// Launches `count` kernels on `stream`.
bool launchKernels(const CudaDriver &driver, CUstream stream, int count) {
  for (int i = 0; i < count; ++i)
    driver.cuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, stream, nullptr,
                          nullptr);
  return true;
}

} // namespace

TEST_F(DeviceTimingTest, CountsOnlyTheKernelNodes) {
  const int memcpyNode = 2, memsetNode = 3;
  fake.capturedNodes = {CU_GRAPH_NODE_TYPE_KERNEL, memcpyNode,
                        CU_GRAPH_NODE_TYPE_KERNEL, memsetNode};
  EXPECT_EQ(countKernelNodes(driver, handle<CUgraph>(1), error), 2);
}

TEST_F(DeviceTimingTest, CapturesAGraphAndCountsItsKernels) {
  CUgraphExec exec = nullptr;
  std::optional<int64_t> kernels = captureGraph(
      driver, stream, [&] { return launchKernels(driver, stream, 3); }, exec,
      error);
  ASSERT_TRUE(kernels) << error;
  EXPECT_EQ(*kernels, 3);
  EXPECT_EQ(fake.directLaunches, 0);
  // The graph itself is freed once instantiated; the caller owns `exec`.
  EXPECT_NE(exec, nullptr);
  EXPECT_EQ(fake.execs, 1);
}

TEST_F(DeviceTimingTest, AFailedCaptureStillEndsTheCapture) {
  CUgraphExec exec = nullptr;
  auto failing = [&] {
    error = "the model failed";
    return false;
  };
  EXPECT_FALSE(captureGraph(driver, stream, failing, exec, error));
  EXPECT_EQ(error, "the model failed");
  EXPECT_EQ(exec, nullptr);
}

TEST_F(DeviceTimingTest, CopyBandwidthCountsBytesReadAndWritten) {
  fake.elapsedMilliseconds = 2;
  const size_t bytes = size_t(1) << 20;
  std::optional<double> bandwidth =
      measureCopyBandwidth(driver, stream, bytes, 10, error);
  ASSERT_TRUE(bandwidth) << error;
  EXPECT_DOUBLE_EQ(*bandwidth, 2.0 * double(bytes) * 10 / 2e-3);
  EXPECT_EQ(fake.copies, kWarmUpCopies + 10);
  EXPECT_EQ(fake.copiedBytes, bytes);
}

TEST_F(DeviceTimingTest, CopyBandwidthSaysWhatItCouldNotAllocate) {
  fake.allocationFails = true;
  EXPECT_FALSE(
      measureCopyBandwidth(driver, stream, size_t(1) << 30, 10, error));
  EXPECT_THAT(error, HasSubstr("two 1024 MiB buffers to measure the device's "
                               "bandwidth: cuMemAlloc: "
                               "CUDA_ERROR_OUT_OF_MEMORY"));
}

TEST_F(DeviceTimingTest, LaunchOverheadReplaysAGraphOfEmptyKernels) {
  fake.elapsedMilliseconds = 0.5;
  std::optional<double> seconds =
      measureLaunchSeconds(driver, stream, 230, 4, error);
  ASSERT_TRUE(seconds) << error;
  EXPECT_DOUBLE_EQ(*seconds, 0.5e-3);
  EXPECT_EQ(fake.moduleImage, kNoOpKernelPtx);
  EXPECT_EQ(fake.functionName, kNoOpKernelName);
  EXPECT_EQ(fake.capturedNodes.size(), 230u);
  // One untimed replay, then the timed ones.
  EXPECT_EQ(fake.graphLaunches, 1 + 4);
  EXPECT_EQ(fake.execs, 0);
}

TEST_F(DeviceTimingTest, TheNoOpKernelAssemblesForTheArtifactsChips) {
#ifndef LLAMAC_PTXAS
  GTEST_SKIP() << "no CUDA toolkit (ptxas) at configure time";
#else
  llamac::test::TemporaryDirectory root;
  std::ofstream(root / "noop.ptx") << kNoOpKernelPtx;
  EXPECT_THAT(std::string(kNoOpKernelPtx),
              HasSubstr(std::string(".entry ") + kNoOpKernelName + "()"));
  for (const char *chip : {"sm_80", "sm_90"}) {
    std::string command = std::string(LLAMAC_PTXAS) + " -arch=" + chip + " " +
                          (root / "noop.ptx") + " -o " + (root / "noop.cubin");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
#endif
}
