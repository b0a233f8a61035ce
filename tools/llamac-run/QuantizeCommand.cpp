//===- QuantizeCommand.cpp - llamac-run quantize --------------------------===//

#include "runtime/Int4Checkpoint.h"
#include "tools/llamac-run/CommandLine.h"
#include "tools/llamac-run/Commands.h"

#include <cstdio>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run quantize ARTIFACT -o DIR [--weights PATH]\n"
    "Writes DIR, a Hugging Face checkpoint of the int4 artifact's weights (from\n"
    "PATH, or the checkpoint it was compiled from) that stores its int4 weights\n"
    "quantized, so that loading maps them instead of quantizing: run ARTIFACT\n"
    "with --weights DIR, or compile DIR (it implies --quantize int4 and the group\n"
    "size).\n";

static int countInt4Entries(const Manifest &manifest) {
  int count = 0;
  for (const WeightTableEntry &entry : manifest.weightTable)
    count += entry.int4GroupSize != 0;
  return count;
}

int runQuantizeCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s", kUsage);
    return 0;
  }
  std::string error;
  std::optional<ParsedArguments> args =
      parseArguments(argc, argv, {{"-o", true}, {"--weights", true}}, error);
  if (!args)
    return reportUsageError(error);
  if (args->positional.size() != 1 || !args->has("-o"))
    return reportUsageError("quantize takes one artifact and -o DIR");

  std::optional<Manifest> manifest = loadManifest(args->positional[0], error);
  if (!manifest)
    return reportError(error);
  const int int4Entries = countInt4Entries(*manifest);
  if (int4Entries == 0)
    return reportError(args->positional[0] +
                       ": the artifact quantizes no weights (compile it with "
                       "--quantize int4)");
  std::optional<ModelSpec> spec =
      loadWeightSource(*manifest, args->get("--weights"), error);
  if (!spec)
    return reportError(error);
  std::optional<BoundWeights> weights =
      bindWeights(manifest->weightTable, *spec, error);
  if (!weights ||
      !writeInt4Checkpoint(*manifest, *spec, *weights, args->get("-o"), error))
    return reportError(error);
  std::printf("%s: %d of %zu weights stored as int4\n", args->get("-o").c_str(),
              int4Entries, manifest->weightTable.size());
  return 0;
}

} // namespace llamac
