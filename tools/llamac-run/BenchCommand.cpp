//===- BenchCommand.cpp - llamac-run bench --------------------------------===//

#include "runtime/Benchmark.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/ModelArguments.h"

#include <cstdio>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run bench OUT.lmc [--weights MODEL] [-p 512] [-n 128] "
    "[--threads N] [--json]\n"
    "Times one prefill of -p tokens and -n decode steps (median of 3 runs) "
    "and compares\n"
    "decode with the bandwidth floor: this machine's memory read bandwidth, "
    "measured now\n"
    "with the same threads, over the weight bytes one token reads.\n";

static void printJson(const ModelArguments &model,
                      const BenchmarkResult &result) {
  OutputJson output;
  output["artifact"] = model.artifactDir;
  output["threads"] = model.threads;
  output["prompt_tokens"] = result.promptTokens;
  output["decode_tokens"] = result.decodeTokens;
  output["prompt_tokens_per_second"] = result.prefillTokensPerSecond;
  output["decode_tokens_per_second"] = result.decodeTokensPerSecond;
  output["decode_ms_per_token"] = result.decodeMillisecondsPerToken();
  output["weight_bytes_per_token"] = result.weightBytesPerToken;
  output["read_bytes_per_second"] = result.readBytesPerSecond;
  output["floor_tokens_per_second"] = result.floorTokensPerSecond();
  output["fraction_of_floor"] = result.fractionOfFloor();
  std::printf("%s\n", output.dump().c_str());
}

static void printTable(const ModelArguments &model,
                       const BenchmarkResult &result) {
  std::printf("| artifact | threads | prompt tok/s (p=%lld) | decode tok/s "
              "(n=%lld) | ms/token | weight MiB/token | read GB/s | floor "
              "tok/s | of floor |\n",
              (long long)result.promptTokens, (long long)result.decodeTokens);
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "|\n");
  std::printf("| %s | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f | %.0f%% "
              "|\n",
              model.artifactDir.c_str(), model.threads,
              result.prefillTokensPerSecond, result.decodeTokensPerSecond,
              result.decodeMillisecondsPerToken(),
              double(result.weightBytesPerToken) / (1 << 20),
              result.readBytesPerSecond / 1e9, result.floorTokensPerSecond(),
              100 * result.fractionOfFloor());
}

int runBenchCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s", kUsage);
    return 0;
  }
  std::vector<OptionSpec> specs = modelOptionSpecs();
  specs.insert(specs.end(), {{"-p", true}, {"-n", true}, {"--json", false}});
  std::string error;
  std::optional<ParsedArguments> args = parseArguments(argc, argv, specs, error);
  ModelArguments modelArgs;
  BenchmarkOptions options;
  if (!args || !readModelArguments(*args, modelArgs, error) ||
      !args->readInteger("-p", options.promptTokens, error) ||
      !args->readInteger("-n", options.decodeTokens, error))
    return reportUsageError(error);
  options.threads = modelArgs.threads;

  std::unique_ptr<CompiledModel> model = loadCompiledModel(modelArgs, error);
  if (!model)
    return reportError(error);
  std::optional<BenchmarkResult> result = runBenchmark(*model, options, error);
  if (!result)
    return reportError(error);
  if (args->has("--json"))
    printJson(modelArgs, *result);
  else
    printTable(modelArgs, *result);
  return 0;
}

} // namespace llamac
