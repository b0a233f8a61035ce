//===- ModelArguments.cpp - Which artifact to run, and how ----------------===//

#include "tools/llamac-run/ModelArguments.h"

#include "runtime/TextGeneration.h"

#include <algorithm>
#include <sched.h>
#include <thread>

namespace llamac {

/// The CPUs this process may run on (what taskset or a container allows),
/// which can be fewer than the machine has.
static int availableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return CPU_COUNT(&set);
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

std::vector<OptionSpec> modelOptionSpecs() {
  return {{"--weights", true},
          {"--threads", true},
          {"--no-cuda-graph", false},
          {"--no-dependent-launch", false}};
}

bool readModelArguments(const ParsedArguments &args, ModelArguments &model,
                        std::string &error) {
  if (args.positional.size() != 1) {
    error = "expected one artifact directory, got " +
            std::to_string(args.positional.size()) + " positional arguments";
    return false;
  }
  model.artifactDir = args.positional.front();
  model.weightsPath = args.get("--weights");
  int64_t threads = availableCpus();
  if (!args.readInteger("--threads", threads, error))
    return false;
  if (threads < 1 || threads > 4096) {
    error = "--threads must be between 1 and 4096";
    return false;
  }
  model.threads = int(threads);
  model.cudaGraphs = !args.has("--no-cuda-graph");
  model.dependentLaunch = !args.has("--no-dependent-launch");
  return true;
}

std::unique_ptr<CompiledModel> loadCompiledModel(const ModelArguments &model,
                                                 std::string &error) {
  std::unique_ptr<CompiledModel> compiled =
      model.randomWeights
          ? CompiledModel::loadWithRandomWeights(model.artifactDir, /*seed=*/0, error)
          : CompiledModel::load(model.artifactDir, model.weightsPath, error);
  if (compiled) {
    compiled->library().setThreadCount(model.threads);
    compiled->useCudaGraphs(model.cudaGraphs);
    compiled->useDependentLaunch(model.dependentLaunch);
  }
  return compiled;
}

std::optional<ModelWithTokenizer>
loadModelWithTokenizer(const ModelArguments &model, std::string &error) {
  ModelWithTokenizer loaded;
  loaded.model = loadCompiledModel(model, error);
  if (loaded.model)
    loaded.tokenizer = loadArtifactTokenizer(loaded.model->manifest(), error);
  if (!loaded.tokenizer)
    return std::nullopt;
  return loaded;
}

} // namespace llamac
