//===- GenerateCommand.cpp - llamac-run generate --------------------------===//

#include "runtime/Generator.h"
#include "runtime/PromptIds.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/ModelArguments.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run generate OUT.lmc [--weights MODEL] --prompt-ids "
    "\"1,2,3;4,5\" --max-new-tokens N\n"
    "         [--json] [--dump-logits FILE] [--threads N] [--seed S]\n"
    "         [--temperature T] [--top-k K] [--top-p P] [--min-p P] "
    "[--repetition-penalty R]\n"
    "Generates after each prompt (rows separated by ';'). Greedy unless "
    "--temperature > 0;\n"
    "top-k, top-p and min-p only apply when sampling. --dump-logits writes "
    "the prompt's\n"
    "logits (one row only) as little-endian float32 [prompt length, vocab].\n";

namespace {
struct GenerateArguments {
  ModelArguments model;
  std::vector<std::vector<int32_t>> prompts;
  GenerationOptions generation;
  bool json = false;
  std::string dumpLogitsPath;
};
} // namespace

static bool readSamplingOptions(const ParsedArguments &args,
                                SamplingOptions &sampling,
                                std::string &error) {
  int64_t seed = 0;
  if (!args.readFloat("--temperature", sampling.temperature, error) ||
      !args.readInteger("--top-k", sampling.topK, error) ||
      !args.readFloat("--top-p", sampling.topP, error) ||
      !args.readFloat("--min-p", sampling.minP, error) ||
      !args.readFloat("--repetition-penalty", sampling.repetitionPenalty,
                      error) ||
      !args.readInteger("--seed", seed, error))
    return false;
  sampling.seed = uint64_t(seed);
  error = validateSamplingOptions(sampling);
  return error.empty();
}

static bool readGenerateArguments(int argc, char **argv,
                                  GenerateArguments &parsed,
                                  std::string &error) {
  std::vector<OptionSpec> specs = modelOptionSpecs();
  specs.insert(specs.end(), {{"--prompt-ids", true},
                             {"--max-new-tokens", true},
                             {"--json", false},
                             {"--dump-logits", true},
                             {"--temperature", true},
                             {"--top-k", true},
                             {"--top-p", true},
                             {"--min-p", true},
                             {"--repetition-penalty", true},
                             {"--seed", true}});
  std::optional<ParsedArguments> args = parseArguments(argc, argv, specs, error);
  if (!args || !readModelArguments(*args, parsed.model, error))
    return false;
  for (const char *required : {"--prompt-ids", "--max-new-tokens"}) {
    if (!args->has(required)) {
      error = std::string(required) + " is required";
      return false;
    }
  }
  std::optional<std::vector<std::vector<int32_t>>> prompts =
      parsePromptIds(args->get("--prompt-ids"), error);
  if (!prompts)
    return false;
  parsed.prompts = std::move(*prompts);
  parsed.json = args->has("--json");
  parsed.dumpLogitsPath = args->get("--dump-logits");
  if (!parsed.dumpLogitsPath.empty() && parsed.prompts.size() != 1) {
    error = "--dump-logits takes a single prompt row";
    return false;
  }
  parsed.generation.keepPromptLogits = !parsed.dumpLogitsPath.empty();
  return args->readInteger("--max-new-tokens", parsed.generation.maxNewTokens,
                           error) &&
         readSamplingOptions(*args, parsed.generation.sampling, error);
}

static bool writeLogits(const std::string &path,
                        const std::vector<float> &logits, std::string &error) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                "logits files are little-endian float32");
  FILE *file = std::fopen(path.c_str(), "wb");
  bool written =
      file && std::fwrite(logits.data(), sizeof(float), logits.size(), file) ==
                  logits.size();
  if (file && std::fclose(file) != 0)
    written = false;
  if (!written)
    error = "cannot write " + path + ": " + std::strerror(errno);
  return written;
}

static double perSecond(int64_t count, double seconds) {
  return seconds > 0 ? double(count) / seconds : 0;
}

static void printJson(const GenerationResult &result) {
  OutputJson output;
  output["generated_ids"] = result.generated;
  output["prompt_tokens"] = result.promptTokens;
  output["prefill_seconds"] = result.prefillSeconds;
  output["prompt_tokens_per_second"] =
      perSecond(result.promptTokens, result.prefillSeconds);
  output["decode_tokens"] = result.decodeTokens;
  output["decode_seconds"] = result.decodeSeconds;
  output["decode_tokens_per_second"] =
      perSecond(result.decodeTokens, result.decodeSeconds);
  std::printf("%s\n", output.dump().c_str());
}

/// Ids on stdout, one row per line; timing on stderr.
static void printText(const GenerationResult &result) {
  for (const std::vector<int32_t> &row : result.generated) {
    for (size_t i = 0; i < row.size(); ++i)
      std::printf(i ? " %d" : "%d", row[i]);
    std::printf("\n");
  }
  std::fprintf(stderr,
               "prompt: %lld tokens, %.1f tokens/s; decode: %lld tokens, "
               "%.1f tokens/s\n",
               (long long)result.promptTokens,
               perSecond(result.promptTokens, result.prefillSeconds),
               (long long)result.decodeTokens,
               perSecond(result.decodeTokens, result.decodeSeconds));
}

int runGenerateCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s", kUsage);
    return 0;
  }
  GenerateArguments args;
  std::string error;
  if (!readGenerateArguments(argc, argv, args, error))
    return reportUsageError(error);
  std::unique_ptr<CompiledModel> model = loadCompiledModel(args.model, error);
  if (!model)
    return reportError(error);
  std::optional<GenerationResult> result =
      generate(*model, args.prompts, args.generation, error);
  if (!result)
    return reportError(error);
  if (!args.dumpLogitsPath.empty() &&
      !writeLogits(args.dumpLogitsPath, result->promptLogits, error))
    return reportError(error);
  if (args.json)
    printJson(*result);
  else
    printText(*result);
  return 0;
}

} // namespace llamac
