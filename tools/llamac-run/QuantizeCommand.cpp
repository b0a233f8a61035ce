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

/// How many of the table's entries are int4, and the bytes of its weights
/// as a stored int4 checkpoint holds them and as the float source does.
struct TableSummary {
  int int4Entries = 0;
  uint64_t storedBytes = 0, floatBytes = 0;
};

static TableSummary summarize(const Manifest &manifest) {
  TableSummary summary;
  for (const WeightTableEntry &entry : manifest.weightTable) {
    summary.int4Entries += entry.int4GroupSize != 0;
    summary.storedBytes += entry.boundBytes(entry.dtype);
    summary.floatBytes += elementCount(entry.shape) * dtypeSize(entry.dtype);
  }
  return summary;
}

static double mebibytes(uint64_t bytes) { return double(bytes) / double(1 << 20); }

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
  const TableSummary summary = summarize(*manifest);
  if (summary.int4Entries == 0)
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
  std::printf("%s: %d of %zu weights stored as int4, %.1f MiB (as floats: %.1f MiB)\n",
              args->get("-o").c_str(), summary.int4Entries,
              manifest->weightTable.size(), mebibytes(summary.storedBytes),
              mebibytes(summary.floatBytes));
  return 0;
}

} // namespace llamac
