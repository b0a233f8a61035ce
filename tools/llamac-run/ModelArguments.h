//===- ModelArguments.h - Which artifact to run, and how --------*- C++ -*-===//
//
// The arguments shared by the subcommands that run an artifact: its path (the
// one positional argument), --weights, --threads, --no-cuda-graph and
// --no-dependent-launch.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TOOLS_LLAMAC_RUN_MODELARGUMENTS_H
#define LLAMAC_TOOLS_LLAMAC_RUN_MODELARGUMENTS_H

#include "runtime/CompiledModel.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "tools/llamac-run/CommandLine.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

struct ModelArguments {
  std::string artifactDir;
  std::string weightsPath; ///< "" means the manifest's weights.source.
  /// Deterministic random weights, no checkpoint (bench --random-weights).
  bool randomWeights = false;
  int threads = 1;         ///< Defaults to every CPU this process may use.
  bool cudaGraphs = true;  ///< CUDA: replay decode steps from a graph.
  /// CUDA: launch kernels with programmatic stream serialization where the
  /// artifact and the driver allow it.
  bool dependentLaunch = true;
};

/// The option specs of ModelArguments, to extend with a command's own.
std::vector<OptionSpec> modelOptionSpecs();

/// False (and `error` set, a usage error) when the arguments are malformed.
bool readModelArguments(const ParsedArguments &args, ModelArguments &model,
                        std::string &error);

/// Loads the artifact and sets the thread count of its compiled code.
std::unique_ptr<CompiledModel> loadCompiledModel(const ModelArguments &model,
                                                 std::string &error);

/// An artifact loaded with its tokenizer, for the commands that need text.
struct ModelWithTokenizer {
  std::unique_ptr<CompiledModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

/// loadCompiledModel, then the artifact's tokenizer; nullopt and `error`
/// set when either fails.
std::optional<ModelWithTokenizer>
loadModelWithTokenizer(const ModelArguments &model, std::string &error);

} // namespace llamac

#endif // LLAMAC_TOOLS_LLAMAC_RUN_MODELARGUMENTS_H
