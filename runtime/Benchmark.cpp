//===- Benchmark.cpp - Prefill and decode speed against the floor ---------===//

#include "runtime/Benchmark.h"

#include "runtime/Median.h"
#include "runtime/MemoryBandwidth.h"
#include "runtime/Stopwatch.h"

#include <algorithm>
#include <fstream>

namespace llamac {

uint64_t weightBytesReadPerToken(const Manifest &manifest) {
  uint64_t bytes = 0;
  for (const WeightTableEntry &entry : manifest.weightTable) {
    uint64_t entryBytes = entry.boundBytes(entry.dtype);
    // An untied embedding is only gathered, one row per token; every row
    // has the same size in either layout.
    if (entry.name == "model.embed_tokens.weight" &&
        !manifest.config.tieWordEmbeddings)
      entryBytes /= uint64_t(entry.shape[0]);
    bytes += entryBytes;
  }
  return bytes;
}

/// Prompt ids spread over the vocabulary; their values do not change the
/// work done.
static int32_t benchmarkToken(int64_t index, int64_t vocab) {
  return int32_t((1 + index * 7919) % vocab);
}

/// The context the last decode step reaches.
static int64_t decodeContextTokens(const BenchmarkOptions &options) {
  return options.contextTokens.value_or(options.promptTokens +
                                        options.decodeTokens);
}

static std::string checkBenchmarkRequest(const Manifest &manifest,
                                         const BenchmarkOptions &options) {
  const int64_t prompt = options.promptTokens, decode = options.decodeTokens;
  if (prompt < 1 || decode < 1)
    return "-p and -n must be >= 1";
  if (options.repetitions < 1 || options.threads < 1 ||
      options.bandwidthPasses < 1 || options.deviceCopies < 1 ||
      options.bandwidthBytes < (1 << 20))
    return "repetitions, threads, bandwidth passes and copies must be >= 1 "
           "and the bandwidth buffer at least 1 MiB";
  const std::string beyondMaxSeq =
      " exceeds the artifact's max_seq of " + std::to_string(manifest.maxSeq);
  if (!options.contextTokens) {
    if (prompt > manifest.maxSeq - decode)
      return "-p " + std::to_string(prompt) + " plus -n " +
             std::to_string(decode) + beyondMaxSeq;
    return "";
  }
  const int64_t context = *options.contextTokens;
  if (context <= decode)
    return "--ctx " + std::to_string(context) + " must exceed -n " +
           std::to_string(decode) +
           ": decode follows a prompt of --ctx minus -n tokens";
  if (context > manifest.maxSeq)
    return "--ctx " + std::to_string(context) + beyondMaxSeq;
  if (prompt > manifest.maxSeq)
    return "-p " + std::to_string(prompt) + beyondMaxSeq;
  return "";
}

/// The host CPU as /proc/cpuinfo names it (x86 has "model name" lines).
static std::string hostProcessorName() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    size_t colon = line.find(':');
    if (line.rfind("model name", 0) == 0 && colon != std::string::npos) {
      size_t begin = line.find_first_not_of(" \t", colon + 1);
      if (begin != std::string::npos)
        return line.substr(begin);
    }
  }
  return "unknown CPU";
}

namespace {
struct RepetitionTimes {
  double prefillSeconds = 0;
  double prefillGpuSeconds = 0; ///< CUDA: its kernels' GPU time.
  double decodeSeconds = 0;    ///< Wall time of the decode steps.
  double decodeGpuSeconds = 0; ///< CUDA: their kernels' GPU time.
};
} // namespace

static TokenBatch benchmarkPrompt(int64_t tokens, int64_t vocab) {
  std::vector<int32_t> prompt;
  for (int64_t i = 0; i < tokens; ++i)
    prompt.push_back(benchmarkToken(i, vocab));
  return padLeft({prompt}, 0);
}

/// Times `steps` decode steps after `prompt`, which is in the cache.
static void timeDecode(CompiledModel &model, const TokenBatch &prompt,
                       int64_t steps, std::vector<float> &output,
                       RepetitionTimes &times) {
  const int64_t vocab = model.manifest().config.vocabSize;
  cuda::CudaExecutor *device = model.cudaExecutor();
  const double gpuBefore = device ? device->decodeKernelSeconds() : 0;
  TokenBatch step = prompt;
  for (int64_t i = 0; i < steps; ++i) {
    int64_t slot = prompt.length + i;
    step = nextDecodeStep(step, {benchmarkToken(slot, vocab)});
    times.decodeSeconds += secondsSpentIn(
        [&] { model.run(EntryPoint::Decode, step, slot, output.data()); });
  }
  if (device)
    times.decodeGpuSeconds = device->decodeKernelSeconds() - gpuBefore;
}

static RepetitionTimes runOnce(CompiledModel &model,
                               const BenchmarkOptions &options) {
  const Manifest &manifest = model.manifest();
  const int64_t vocab = manifest.config.vocabSize;
  const int64_t decodePrompt =
      decodeContextTokens(options) - options.decodeTokens;
  // Every call below reads the last position's logits of its one row.
  std::vector<float> output(manifest.outputSize);

  RepetitionTimes times;
  TokenBatch prompt = benchmarkPrompt(options.promptTokens, vocab);
  cuda::CudaExecutor *device = model.cudaExecutor();
  const double gpuBefore = device ? device->prefillKernelSeconds() : 0;
  // Prefill as generation runs it: the logits of the last position only.
  times.prefillSeconds = secondsSpentIn([&] {
    model.run(EntryPoint::Prefill, prompt, 0, output.data(), 1);
  });
  if (device)
    times.prefillGpuSeconds = device->prefillKernelSeconds() - gpuBefore;
  // With a context length, decode continues a prompt of its own.
  if (decodePrompt != options.promptTokens) {
    prompt = benchmarkPrompt(decodePrompt, vocab);
    model.run(EntryPoint::Prefill, prompt, 0, output.data(), 1);
  }
  timeDecode(model, prompt, options.decodeTokens, output, times);
  return times;
}

/// The repetition of median decode time (the slower middle one for an even
/// count): every decode number comes from it, so that GPU and host time add
/// up to its ms/token.
static RepetitionTimes medianDecode(std::vector<RepetitionTimes> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const RepetitionTimes &a, const RepetitionTimes &b) {
              return a.decodeSeconds < b.decodeSeconds;
            });
  return runs[runs.size() / 2];
}

static std::optional<DecodeLaunchProfile>
profileDecodeLaunches(cuda::CudaExecutor &device, const RepetitionTimes &decode,
                      int64_t decodeTokens, std::string &error) {
  DecodeLaunchProfile profile;
  const double tokens = double(decodeTokens);
  profile.gpuMillisecondsPerToken = 1e3 * decode.decodeGpuSeconds / tokens;
  profile.hostMillisecondsPerToken =
      1e3 * (decode.decodeSeconds - decode.decodeGpuSeconds) / tokens;
  profile.kernelsPerToken = device.decodeKernelsPerStep();
  profile.dependentLaunch = device.launchesDependent();
  if (!profile.kernelsPerToken)
    return profile;
  // As many replays as decode steps, each timed alone as a step is.
  std::optional<double> seconds = device.measureLaunchSeconds(
      *profile.kernelsPerToken, int(decodeTokens), error);
  if (!seconds)
    return std::nullopt;
  profile.launchOverheadMillisecondsPerToken = 1e3 * *seconds;
  return profile;
}

/// The floor's bandwidth in bytes per second: the device's for a CUDA
/// artifact, the host's (with the benchmark's threads) otherwise.
static std::optional<double> measureBandwidth(cuda::CudaExecutor *device,
                                              const BenchmarkOptions &options,
                                              std::string &error) {
  if (device)
    return device->measureCopyBandwidth(options.bandwidthBytes,
                                        options.deviceCopies, error);
  return measureReadBandwidth(options.bandwidthBytes, options.threads,
                              options.bandwidthPasses, error);
}

std::optional<BenchmarkResult> runBenchmark(CompiledModel &model,
                                            const BenchmarkOptions &options,
                                            std::string &error) {
  error = checkBenchmarkRequest(model.manifest(), options);
  if (!error.empty())
    return std::nullopt;
  cuda::CudaExecutor *device = model.cudaExecutor();
  std::optional<double> bandwidth = measureBandwidth(device, options, error);
  if (!bandwidth || (device && !device->timeKernels(error)))
    return std::nullopt;
  BenchmarkResult result;
  result.processor = device ? device->deviceName() : hostProcessorName();
  result.bandwidthSource = device ? kDeviceCopyBandwidth : kHostReadBandwidth;
  result.promptTokens = options.promptTokens;
  result.decodeTokens = options.decodeTokens;
  result.contextTokens = decodeContextTokens(options);
  result.weightBytesPerToken = weightBytesReadPerToken(model.manifest());
  result.bandwidthBytesPerSecond = *bandwidth;

  std::vector<RepetitionTimes> runs;
  std::vector<double> prefillRates, prefillGpuMilliseconds;
  for (int i = 0; i < options.repetitions; ++i) {
    runs.push_back(runOnce(model, options));
    prefillRates.push_back(double(options.promptTokens) /
                           runs.back().prefillSeconds);
    prefillGpuMilliseconds.push_back(1e3 * runs.back().prefillGpuSeconds);
  }
  result.prefillTokensPerSecond = median(prefillRates);
  if (device)
    result.prefillGpuMilliseconds = median(prefillGpuMilliseconds);
  RepetitionTimes decode = medianDecode(runs);
  result.decodeTokensPerSecond =
      double(options.decodeTokens) / decode.decodeSeconds;
  if (device) {
    result.launches =
        profileDecodeLaunches(*device, decode, options.decodeTokens, error);
    if (!result.launches)
      return std::nullopt;
  }
  return result;
}

} // namespace llamac
