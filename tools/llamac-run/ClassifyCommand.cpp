//===- ClassifyCommand.cpp - llamac-run classify --------------------------===//

#include "runtime/Classifier.h"
#include "runtime/PromptIds.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/ModelArguments.h"

#include <cstdio>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run classify OUT.lmc [--weights MODEL] --prompt-ids "
    "\"1,2,3;4,5\" [--json] [--threads N]\n"
    "Prints each row's scores at its last token that is not pad_token_id, as "
    "Hugging Face\n"
    "computes them from input_ids alone: one row per line, or with --json\n"
    "{\"logits\": [[...], ...]}.\n";

static void printJson(const std::vector<std::vector<float>> &scores) {
  OutputJson output;
  output["logits"] = scores;
  std::printf("%s\n", output.dump().c_str());
}

static void printText(const std::vector<std::vector<float>> &scores) {
  for (const std::vector<float> &row : scores) {
    for (size_t i = 0; i < row.size(); ++i)
      std::printf(i ? " %.9g" : "%.9g", row[i]);
    std::printf("\n");
  }
}

int runClassifyCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s", kUsage);
    return 0;
  }
  std::vector<OptionSpec> specs = modelOptionSpecs();
  specs.insert(specs.end(), {{"--prompt-ids", true}, {"--json", false}});
  std::string error;
  std::optional<ParsedArguments> args = parseArguments(argc, argv, specs, error);
  ModelArguments modelArgs;
  if (!args || !readModelArguments(*args, modelArgs, error))
    return reportUsageError(error);
  if (!args->has("--prompt-ids"))
    return reportUsageError("--prompt-ids is required");
  std::optional<std::vector<std::vector<int32_t>>> rows =
      parsePromptIds(args->get("--prompt-ids"), error);
  if (!rows)
    return reportUsageError(error);

  std::unique_ptr<CompiledModel> model = loadCompiledModel(modelArgs, error);
  if (!model)
    return reportError(error);
  std::optional<std::vector<std::vector<float>>> scores =
      classify(*model, *rows, error);
  if (!scores)
    return reportError(error);
  if (args->has("--json"))
    printJson(*scores);
  else
    printText(*scores);
  return 0;
}

} // namespace llamac
