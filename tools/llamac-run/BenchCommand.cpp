//===- BenchCommand.cpp - llamac-run bench --------------------------------===//

#include "runtime/Benchmark.h"
#include "runtime/Stopwatch.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/ModelArguments.h"

#include <array>
#include <cstdio>

namespace llamac {

static const char *const kUsage =
    R"(usage: llamac-run bench OUT.lmc [--weights MODEL | --random-weights] [-p 512]
                        [-n 128] [--ctx C] [--threads N] [--no-cuda-graph]
                        [--no-dependent-launch] [--json]
Times one prefill of -p tokens and -n decode steps, each the median of 3 runs.
--random-weights binds deterministic random weights (synth's distribution)
instead of a checkpoint, quantizing int4 ones as a checkpoint's would be: no
checkpoint on disk, so a 70B int4 artifact runs where its 138 GB of f16 would
not fit (the JSON says which: [random_weights]).
Decode follows the -p prompt or, with --ctx C, fills the last -n slots of a
C-token context (after an untimed prompt of C - n tokens; n < C <= max_seq).
Prints a markdown table, or one JSON object with --json (its key in brackets):
  device            the GPU (CUDA artifacts) or the host CPU [device]
  prompt tok/s      -p over the wall time of the prefill call, which computes
                    (and copies to the host) the last position's logits only,
                    as generation does [prompt_tokens_per_second]
  decode tok/s      -n over the wall time of the decode steps, each with its
                    input and logit copies [decode_tokens_per_second];
                    ms/token is its inverse [decode_ms_per_token]
  ctx               the context the last decode step reaches: C, or -p plus
                    -n without --ctx [context_tokens]
  bandwidth GB/s    [bandwidth_gb_per_second, bandwidth_source] CUDA ("device
                    d2d copy"): 10 device-to-device copies of a 1 GiB buffer
                    after 3 untimed ones, bytes read + written, timed with
                    CUDA events as ../shared/bench/hf_decode_baseline.py does;
                    CPU ("host read"): a streaming read of a 1 GiB buffer with
                    --threads threads, the median of 5
  floor tok/s       bandwidth over the weight bytes one decode token reads
                    [floor_tokens_per_second, weight_bytes_per_token]
  of floor          decode tok/s over floor tok/s [fraction_of_floor]
  load s            from opening the artifact to a model ready to run: mapping
                    the weights, quantizing the int4 ones, and for CUDA
                    uploading them; the page cache decides what mapping costs
                    [load_seconds]
CUDA artifacts only (absent from the JSON and "-" in the table for the CPU;
the JSON also says whether decode replayed a CUDA graph [cuda_graph] and
whether kernels were launched with programmatic stream serialization, which
--no-dependent-launch turns off [dependent_launch]):
  kernels/token     the kernel nodes of the captured decode CUDA graph
                    [kernels_per_token]
  GPU ms/token      GPU time between CUDA events recorded on the stream just
                    before and after each decode step's kernels
                    [gpu_ms_per_token]
  host ms/token     ms/token minus GPU ms/token: the host's part (input and
                    logit copies, launching, synchronizing) [host_ms_per_token]
  launch overhead   ms/token of a CUDA graph of kernels/token empty kernels:
                    the GPU time of one replay, timed like a decode step, the
                    mean of n; what the kernel boundaries alone cost a token
                    [launch_overhead_ms_per_token]
  prompt GPU ms     GPU time between CUDA events recorded just before and
                    after the prefill's kernels, the median of the runs; its
                    wall time, -p over prompt tok/s, less the host's part
                    [prompt_gpu_ms]
Every decode number comes from the repetition of median decode time. With
--no-cuda-graph there is no graph: kernels/token and launch overhead are left
out.
)";

static void printJson(const ModelArguments &model, double loadSeconds,
                      const BenchmarkResult &result) {
  OutputJson output;
  output["artifact"] = model.artifactDir;
  output["random_weights"] = model.randomWeights;
  output["device"] = result.processor;
  output["threads"] = model.threads;
  output["prompt_tokens"] = result.promptTokens;
  output["decode_tokens"] = result.decodeTokens;
  output["context_tokens"] = result.contextTokens;
  output["prompt_tokens_per_second"] = result.prefillTokensPerSecond;
  output["decode_tokens_per_second"] = result.decodeTokensPerSecond;
  output["decode_ms_per_token"] = result.decodeMillisecondsPerToken();
  output["weight_bytes_per_token"] = result.weightBytesPerToken;
  output["bandwidth_gb_per_second"] = result.bandwidthBytesPerSecond / 1e9;
  output["bandwidth_source"] = result.bandwidthSource;
  output["floor_tokens_per_second"] = result.floorTokensPerSecond();
  output["fraction_of_floor"] = result.fractionOfFloor();
  output["load_seconds"] = loadSeconds;
  if (result.prefillGpuMilliseconds)
    output["prompt_gpu_ms"] = *result.prefillGpuMilliseconds;
  if (const std::optional<DecodeLaunchProfile> &launches = result.launches) {
    output["cuda_graph"] = model.cudaGraphs;
    output["dependent_launch"] = launches->dependentLaunch;
    output["gpu_ms_per_token"] = launches->gpuMillisecondsPerToken;
    output["host_ms_per_token"] = launches->hostMillisecondsPerToken;
    if (launches->kernelsPerToken)
      output["kernels_per_token"] = *launches->kernelsPerToken;
    if (launches->launchOverheadMillisecondsPerToken)
      output["launch_overhead_ms_per_token"] =
          *launches->launchOverheadMillisecondsPerToken;
  }
  std::printf("%s\n", output.dump().c_str());
}

static std::string milliseconds(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", value);
  return std::string(text);
}

/// The table's CUDA-only cells: kernels/token, GPU, host and launch
/// overhead ms/token, prompt GPU ms; "-" where not measured.
static std::array<std::string, 5> cudaCells(const BenchmarkResult &result) {
  std::string prefill = result.prefillGpuMilliseconds
                            ? milliseconds(*result.prefillGpuMilliseconds)
                            : "-";
  const std::optional<DecodeLaunchProfile> &launches = result.launches;
  if (!launches)
    return {"-", "-", "-", "-", prefill};
  const std::optional<double> &overhead =
      launches->launchOverheadMillisecondsPerToken;
  return {launches->kernelsPerToken ? std::to_string(*launches->kernelsPerToken)
                                    : "-",
          milliseconds(launches->gpuMillisecondsPerToken),
          milliseconds(launches->hostMillisecondsPerToken),
          overhead ? milliseconds(*overhead) : "-", prefill};
}

static void printTable(const ModelArguments &model, double loadSeconds,
                       const BenchmarkResult &result) {
  std::printf("| artifact | device | threads | prompt tok/s (p=%lld) | decode "
              "tok/s (n=%lld, ctx=%lld) | ms/token | weight MiB/token | "
              "bandwidth GB/s | bandwidth source | floor tok/s | of floor | "
              "kernels/token | GPU ms/token | host ms/token | launch "
              "overhead ms/token | prompt GPU ms | load s |\n",
              (long long)result.promptTokens, (long long)result.decodeTokens,
              (long long)result.contextTokens);
  std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | "
              "---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  std::array<std::string, 5> cuda = cudaCells(result);
  std::printf("| %s | %s | %d | %.1f | %.1f | %.3f | %.2f | %.1f | %s | %.1f "
              "| %.0f%% | %s | %s | %s | %s | %s | %.2f |\n",
              model.artifactDir.c_str(), result.processor.c_str(),
              model.threads, result.prefillTokensPerSecond,
              result.decodeTokensPerSecond, result.decodeMillisecondsPerToken(),
              double(result.weightBytesPerToken) / (1 << 20),
              result.bandwidthBytesPerSecond / 1e9,
              result.bandwidthSource.c_str(), result.floorTokensPerSecond(),
              100 * result.fractionOfFloor(), cuda[0].c_str(), cuda[1].c_str(),
              cuda[2].c_str(), cuda[3].c_str(), cuda[4].c_str(), loadSeconds);
}

/// --ctx, when given; false (a usage error) when it is not an integer.
static bool readContext(const ParsedArguments &args, BenchmarkOptions &options,
                        std::string &error) {
  if (!args.has("--ctx"))
    return true;
  int64_t context = 0;
  if (!args.readInteger("--ctx", context, error))
    return false;
  options.contextTokens = context;
  return true;
}

int runBenchCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s", kUsage);
    return 0;
  }
  std::vector<OptionSpec> specs = modelOptionSpecs();
  specs.insert(
      specs.end(),
      {{"-p", true}, {"-n", true}, {"--ctx", true}, {"--json", false},
       {"--random-weights", false}});
  std::string error;
  std::optional<ParsedArguments> args =
      parseArguments(argc, argv, specs, error);
  ModelArguments modelArgs;
  BenchmarkOptions options;
  if (!args || !readModelArguments(*args, modelArgs, error) ||
      !args->readInteger("-p", options.promptTokens, error) ||
      !args->readInteger("-n", options.decodeTokens, error) ||
      !readContext(*args, options, error))
    return reportUsageError(error);
  modelArgs.randomWeights = args->has("--random-weights");
  if (modelArgs.randomWeights && args->has("--weights"))
    return reportUsageError("--weights and --random-weights exclude each other");
  options.threads = modelArgs.threads;

  std::unique_ptr<CompiledModel> model;
  const double loadSeconds =
      secondsSpentIn([&] { model = loadCompiledModel(modelArgs, error); });
  if (!model)
    return reportError(error);
  std::optional<BenchmarkResult> result = runBenchmark(*model, options, error);
  if (!result)
    return reportError(error);
  if (args->has("--json"))
    printJson(modelArgs, loadSeconds, *result);
  else
    printTable(modelArgs, loadSeconds, *result);
  return 0;
}

} // namespace llamac
