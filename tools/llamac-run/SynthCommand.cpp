//===- SynthCommand.cpp - llamac-run synth --------------------------------===//

#include "frontends/Synthesize.h"
#include "tools/llamac-run/CommandLine.h"
#include "tools/llamac-run/Commands.h"

#include <cstdio>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run synth --config FILE -o DIR [--dtype f32|f16|bf16] "
    "[--seed N]\n"
    "Writes a Hugging Face checkpoint of FILE's shape with deterministic "
    "random weights\n"
    "(dtype defaults to the config's).\n";

int runSynthCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s", kUsage);
    return 0;
  }
  std::string error;
  std::optional<ParsedArguments> args = parseArguments(
      argc, argv, {{"--config", true}, {"-o", true}, {"--dtype", true},
                   {"--seed", true}},
      error);
  if (!args)
    return reportUsageError(error);
  if (!args->positional.empty())
    return reportUsageError("unexpected argument '" + args->positional[0] +
                            "'");
  if (!args->has("--config") || !args->has("-o"))
    return reportUsageError("--config and -o are required");
  int64_t seed = 0;
  if (!args->readInteger("--seed", seed, error))
    return reportUsageError(error);
  std::optional<DType> requestedDType;
  if (args->has("--dtype")) {
    requestedDType = parseDType(args->get("--dtype"));
    if (!requestedDType)
      return reportUsageError("--dtype must be f32, f16 or bf16");
  }

  std::optional<LlamaConfig> config =
      loadConfigFile(args->get("--config"), error);
  if (!config)
    return reportError(error);
  if (!synthesizeCheckpoint(*config, requestedDType.value_or(config->dtype),
                            uint64_t(seed), args->get("-o"), error))
    return reportError(error);
  return 0;
}

} // namespace llamac
