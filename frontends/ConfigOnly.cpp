//===- ConfigOnly.cpp - A model described by its config.json alone --------===//
//
// For compiling without weights (one compile serves every checkpoint of that
// shape): the weight table has names, dtypes and shapes, and null data.
//
//===----------------------------------------------------------------------===//

#include "frontends/CompanionFiles.h"
#include "frontends/Errors.h"

#include <filesystem>

namespace llamac {

namespace fs = std::filesystem;

namespace {

ModelSpec describeConfig(const std::string &configPath,
                         std::optional<DType> dtype) {
  std::error_code ignored;
  const fs::path file = fs::is_directory(configPath, ignored)
                            ? fs::path(configPath) / "config.json"
                            : fs::path(configPath);
  std::string error;
  std::optional<LlamaConfig> config = loadConfigFile(file.string(), error);
  if (!config)
    failReported(error);
  if (dtype)
    config->dtype = *dtype;

  ModelSpec spec;
  spec.config = *config;
  spec.format = SourceFormat::ConfigOnly;
  spec.sourcePath = configPath;
  for (const WeightRequirement &requirement : canonicalWeightNames(*config)) {
    WeightInfo weight;
    weight.name = requirement.name;
    weight.dtype = config->dtype;
    weight.shape = requirement.shape;
    weight.byteSize =
        elementCount(requirement.shape) * dtypeSize(config->dtype);
    spec.weights.push_back(std::move(weight));
  }
  recordCompanionFiles(spec, file.parent_path());
  return spec;
}

} // namespace

std::optional<ModelSpec> loadConfigOnly(const std::string &configPath,
                                        DType dtype, std::string &error) {
  return reportFailures(configPath, error, [&]() -> std::optional<ModelSpec> {
    return describeConfig(configPath, dtype);
  });
}

std::optional<ModelSpec> loadConfigOnly(const std::string &configPath,
                                        std::string &error) {
  return reportFailures(configPath, error, [&]() -> std::optional<ModelSpec> {
    return describeConfig(configPath, std::nullopt);
  });
}

} // namespace llamac
