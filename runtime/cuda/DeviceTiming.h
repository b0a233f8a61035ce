//===- DeviceTiming.h - Timing work on the GPU's own clock ------*- C++ -*-===//
//
// What `llamac-run bench` measures on a CUDA device besides the model: the
// copy bandwidth that bounds a decode step, the kernels in the captured
// decode graph, and what launching that many kernels costs by itself. All
// times come from CUDA events, so they are the stream's time on the GPU,
// not the host's wall clock. The functions take the driver and a stream
// whose context is current, and free everything they make.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_CUDA_DEVICETIMING_H
#define LLAMAC_RUNTIME_CUDA_DEVICETIMING_H

#include "runtime/cuda/CudaDriver.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace llamac::cuda {

/// An empty kernel `lmc_noop`, PTX the driver compiles for any chip from
/// sm_80 on (PTX ISA 7.0: every driver that runs the artifacts' cubins).
extern const char *const kNoOpKernelPtx;
inline constexpr const char *kNoOpKernelName = "lmc_noop";

/// Untimed copies before the timed ones, as
/// ../shared/bench/hf_decode_baseline.py makes.
inline constexpr int kWarmUpCopies = 3;

/// A pair of CUDA events around work on a stream.
class StreamTimer {
public:
  /// Null with `error` set when the driver cannot make the events.
  static std::unique_ptr<StreamTimer> create(const CudaDriver &driver,
                                             std::string &error);
  ~StreamTimer();
  StreamTimer(const StreamTimer &) = delete;
  StreamTimer &operator=(const StreamTimer &) = delete;

  bool start(CUstream stream, std::string &error);
  bool stop(CUstream stream, std::string &error);
  /// GPU seconds from the last start record to the last stop record; waits
  /// for the stop.
  std::optional<double> seconds(std::string &error) const;
  /// start, `enqueue` (work on `stream`; false with `error` set when it
  /// fails), stop, then seconds().
  std::optional<double> time(CUstream stream,
                             const std::function<bool()> &enqueue,
                             std::string &error);

private:
  explicit StreamTimer(const CudaDriver &driver) : driver(driver) {}

  const CudaDriver &driver;
  CUevent begin = nullptr;
  CUevent end = nullptr;
};

/// The kernel nodes of `graph`.
std::optional<int64_t> countKernelNodes(const CudaDriver &driver, CUgraph graph,
                                        std::string &error);

/// Captures what `enqueue` puts on `stream` into a graph, instantiates it
/// into `exec` and returns its kernel nodes. The capture is ended even when
/// `enqueue` fails, so the stream stays usable.
std::optional<int64_t> captureGraph(const CudaDriver &driver, CUstream stream,
                                    const std::function<bool()> &enqueue,
                                    CUgraphExec &exec, std::string &error);

/// Bytes read plus bytes written per second by `copies` device-to-device
/// copies of a `bytes` buffer, timed together after kWarmUpCopies untimed
/// ones: the method of ../shared/bench/hf_decode_baseline.py, so that the
/// floor is the one its baselines use (it copies 2 GiB; any buffer far
/// beyond the L2 cache measures the same).
std::optional<double> measureCopyBandwidth(const CudaDriver &driver,
                                           CUstream stream, size_t bytes,
                                           int copies, std::string &error);

/// Mean GPU seconds of one replay of a graph of `kernels` empty kernels (one
/// block of one warp each, each waiting for the previous as decode's do),
/// over `replays` replays timed one by one after an untimed one. It is what
/// the kernel boundaries of a decode graph with that many kernels cost
/// without any work in them.
std::optional<double> measureLaunchSeconds(const CudaDriver &driver,
                                           CUstream stream, int64_t kernels,
                                           int replays, std::string &error);

} // namespace llamac::cuda

#endif // LLAMAC_RUNTIME_CUDA_DEVICETIMING_H
