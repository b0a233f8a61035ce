//===- Benchmark.cpp - Prefill and decode speed against the floor ---------===//

#include "runtime/Benchmark.h"

#include "runtime/Median.h"
#include "runtime/MemoryBandwidth.h"
#include "runtime/Stopwatch.h"

namespace llamac {

uint64_t weightBytesReadPerToken(const Manifest &manifest) {
  const LlamaConfig &config = manifest.config;
  uint64_t bytes = 0;
  for (const WeightTableEntry &entry : manifest.weightTable) {
    uint64_t elements = 1;
    for (int64_t dim : entry.shape)
      elements *= uint64_t(dim);
    bool gatheredOnly = entry.name == "model.embed_tokens.weight" &&
                        !config.tieWordEmbeddings;
    if (gatheredOnly)
      elements = uint64_t(config.hiddenSize);
    bytes += elements * dtypeSize(entry.dtype);
  }
  return bytes;
}

/// Prompt ids spread over the vocabulary; their values do not change the
/// work done.
static int32_t benchmarkToken(int64_t index, int64_t vocab) {
  return int32_t((1 + index * 7919) % vocab);
}

static std::string checkBenchmarkRequest(const Manifest &manifest,
                                         const BenchmarkOptions &options) {
  if (options.promptTokens < 1 || options.decodeTokens < 1)
    return "-p and -n must be >= 1";
  if (options.repetitions < 1 || options.threads < 1 ||
      options.bandwidthPasses < 1 || options.bandwidthBytes < (1 << 20))
    return "repetitions, threads, bandwidth passes must be >= 1 and the "
           "bandwidth buffer at least 1 MiB";
  if (options.promptTokens > manifest.maxSeq - options.decodeTokens)
    return "-p " + std::to_string(options.promptTokens) + " plus -n " +
           std::to_string(options.decodeTokens) +
           " exceeds the artifact's max_seq of " +
           std::to_string(manifest.maxSeq);
  return "";
}

namespace {
struct RepetitionTimes {
  double prefillSeconds = 0;
  double decodeSeconds = 0;
};
} // namespace

static RepetitionTimes runOnce(CompiledModel &model,
                               const BenchmarkOptions &options) {
  const Manifest &manifest = model.manifest();
  const int64_t vocab = manifest.config.vocabSize;
  std::vector<int32_t> prompt;
  for (int64_t i = 0; i < options.promptTokens; ++i)
    prompt.push_back(benchmarkToken(i, vocab));
  TokenBatch step = padLeft({prompt}, 0);
  std::vector<float> output(options.promptTokens * manifest.outputSize);

  RepetitionTimes times;
  times.prefillSeconds = secondsSpentIn(
      [&] { model.run(EntryPoint::Prefill, step, 0, output.data()); });
  for (int64_t i = 0; i < options.decodeTokens; ++i) {
    int64_t slot = options.promptTokens + i;
    step = nextDecodeStep(step, {benchmarkToken(slot, vocab)});
    times.decodeSeconds += secondsSpentIn(
        [&] { model.run(EntryPoint::Decode, step, slot, output.data()); });
  }
  return times;
}

std::optional<BenchmarkResult> runBenchmark(CompiledModel &model,
                                            const BenchmarkOptions &options,
                                            std::string &error) {
  error = checkBenchmarkRequest(model.manifest(), options);
  if (!error.empty())
    return std::nullopt;
  std::optional<double> bandwidth =
      measureReadBandwidth(options.bandwidthBytes, options.threads,
                           options.bandwidthPasses, error);
  if (!bandwidth)
    return std::nullopt;
  BenchmarkResult result;
  result.promptTokens = options.promptTokens;
  result.decodeTokens = options.decodeTokens;
  result.weightBytesPerToken = weightBytesReadPerToken(model.manifest());
  result.readBytesPerSecond = *bandwidth;
  std::vector<double> prefillRates, decodeRates;
  for (int i = 0; i < options.repetitions; ++i) {
    RepetitionTimes times = runOnce(model, options);
    prefillRates.push_back(double(options.promptTokens) / times.prefillSeconds);
    decodeRates.push_back(double(options.decodeTokens) / times.decodeSeconds);
  }
  result.prefillTokensPerSecond = median(prefillRates);
  result.decodeTokensPerSecond = median(decodeRates);
  return result;
}

} // namespace llamac
