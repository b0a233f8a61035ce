//===- CompanionFiles.cpp - Files that travel with a checkpoint -----------===//

#include "frontends/CompanionFiles.h"

namespace llamac {

namespace fs = std::filesystem;

std::string regularFileIn(const fs::path &dir, const std::string &name) {
  std::error_code ignored;
  fs::path path = dir / name;
  return fs::is_regular_file(path, ignored) ? path.string() : std::string();
}

void recordCompanionFiles(ModelSpec &spec, const fs::path &dir) {
  spec.tokenizerPath = regularFileIn(dir, "tokenizer.model");
  spec.generationConfigPath = regularFileIn(dir, "generation_config.json");
}

} // namespace llamac
