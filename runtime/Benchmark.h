//===- Benchmark.h - Prefill and decode speed against the floor -*- C++ -*-===//
//
// Prefill is timed as one call over a p-token prompt. Decode is timed as n
// one-token steps after that prompt or, given a context length C, as the
// last n steps of a C-token context (after an untimed prompt of C - n
// tokens): a step's attention reads every cached token, so its speed
// depends on where in the context it runs. Each is the median over a few
// repetitions. Decode is compared with its bandwidth floor: the tokens per
// second at which reading the weights once per token saturates the measured
// memory bandwidth, the host's read bandwidth for a CPU artifact and the
// device's copy bandwidth for a CUDA one. On CUDA the benchmark also splits
// a decode token's time into GPU and host time and counts and prices its
// kernel launches (DecodeLaunchProfile), and gives the prefill's GPU time.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_BENCHMARK_H
#define LLAMAC_RUNTIME_BENCHMARK_H

#include "runtime/CompiledModel.h"

#include <cstdint>
#include <optional>
#include <string>

namespace llamac {

struct BenchmarkOptions {
  int64_t promptTokens = 512;
  int64_t decodeTokens = 128;
  /// The context the decode steps end at: they fill its last decodeTokens
  /// slots. Unset: decode follows the timed prompt.
  std::optional<int64_t> contextTokens;
  int repetitions = 3;
  /// Threads of the host bandwidth measurement; the model's own are set apart.
  int threads = 1;
  /// The bandwidth buffer, read by the host or copied on the device.
  size_t bandwidthBytes = size_t(1) << 30;
  int bandwidthPasses = 5; ///< Host: passes over the buffer, the median.
  /// CUDA: copies timed together, as ../shared/bench/hf_decode_baseline.py.
  int deviceCopies = 10;
};

/// Where the floor's bandwidth comes from.
inline constexpr const char *kHostReadBandwidth = "host read";
inline constexpr const char *kDeviceCopyBandwidth = "device d2d copy";

/// CUDA artifacts: where the time of a decode token goes, from the
/// repetition the decode speed comes from.
struct DecodeLaunchProfile {
  /// Kernel nodes of the captured decode graph; unset when decode launches
  /// its kernels directly (--no-cuda-graph: no graph to count).
  std::optional<int64_t> kernelsPerToken;
  /// GPU time between CUDA events recorded just before and after each
  /// step's kernels, per token.
  double gpuMillisecondsPerToken = 0;
  /// Wall time per token minus gpuMillisecondsPerToken: the host's part
  /// (input and logit copies, launching, synchronizing).
  double hostMillisecondsPerToken = 0;
  /// GPU time of one replay of a graph of kernelsPerToken empty kernels:
  /// what the kernel boundaries alone cost per token. Unset with
  /// kernelsPerToken.
  std::optional<double> launchOverheadMillisecondsPerToken;
  /// Whether the kernels were launched with programmatic stream
  /// serialization (see CudaExecutor::useDependentLaunch).
  bool dependentLaunch = false;
};

struct BenchmarkResult {
  std::string processor;       ///< The card, or the host CPU's model name.
  std::string bandwidthSource; ///< kHostReadBandwidth or kDeviceCopyBandwidth.
  int64_t promptTokens = 0;
  int64_t decodeTokens = 0;
  int64_t contextTokens = 0; ///< The context the last decode step reaches.
  double prefillTokensPerSecond = 0;
  double decodeTokensPerSecond = 0;
  uint64_t weightBytesPerToken = 0;
  double bandwidthBytesPerSecond = 0;
  std::optional<DecodeLaunchProfile> launches; ///< CUDA artifacts only.
  /// CUDA: the GPU time between CUDA events recorded just before and after
  /// the prefill's kernels, the median over the repetitions: the prefill's
  /// wall time less the host's part (input and logit copies, launching
  /// ahead of the GPU, synchronizing).
  std::optional<double> prefillGpuMilliseconds;

  double decodeMillisecondsPerToken() const {
    return 1e3 / decodeTokensPerSecond;
  }
  double floorTokensPerSecond() const {
    return bandwidthBytesPerSecond / double(weightBytesPerToken);
  }
  double fractionOfFloor() const {
    return decodeTokensPerSecond / floorTokensPerSecond();
  }
};

/// The weight bytes one decode token reads: every table entry (an int4 one
/// in its quantized layout), except that an untied embedding is only
/// gathered (one row per token).
uint64_t weightBytesReadPerToken(const Manifest &manifest);

/// On a request the artifact cannot hold (context or prompt beyond max_seq,
/// a context no longer than the decode steps, p or n < 1) returns nullopt
/// and sets `error` before computing anything.
std::optional<BenchmarkResult> runBenchmark(CompiledModel &model,
                                            const BenchmarkOptions &options,
                                            std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_BENCHMARK_H
