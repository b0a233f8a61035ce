//===- Benchmark.h - Prefill and decode speed against the floor -*- C++ -*-===//
//
// Prefill is timed as one call over a p-token prompt, decode as n one-token
// steps after it; each is the median over a few repetitions. Decode is
// compared with its bandwidth floor: the tokens per second at which reading
// the weights once per token saturates the measured memory read bandwidth.
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
  int repetitions = 3;
  /// Threads of the bandwidth measurement; the model's own are set apart.
  int threads = 1;
  size_t bandwidthBytes = size_t(1) << 30;
  int bandwidthPasses = 5;
};

struct BenchmarkResult {
  int64_t promptTokens = 0;
  int64_t decodeTokens = 0;
  double prefillTokensPerSecond = 0;
  double decodeTokensPerSecond = 0;
  uint64_t weightBytesPerToken = 0;
  double readBytesPerSecond = 0;

  double decodeMillisecondsPerToken() const {
    return 1e3 / decodeTokensPerSecond;
  }
  double floorTokensPerSecond() const {
    return readBytesPerSecond / double(weightBytesPerToken);
  }
  double fractionOfFloor() const {
    return decodeTokensPerSecond / floorTokensPerSecond();
  }
};

/// The weight bytes one decode token reads: every table entry, except that
/// an untied embedding is only gathered (one row per token).
uint64_t weightBytesReadPerToken(const Manifest &manifest);

/// On a request the artifact cannot hold (p + n > max_seq, p or n < 1)
/// returns nullopt and sets `error` before computing anything.
std::optional<BenchmarkResult> runBenchmark(CompiledModel &model,
                                            const BenchmarkOptions &options,
                                            std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_BENCHMARK_H
