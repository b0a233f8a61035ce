//===- CompanionFiles.h - Files that travel with a checkpoint ---*- C++ -*-===//
#ifndef LLAMAC_FRONTENDS_COMPANIONFILES_H
#define LLAMAC_FRONTENDS_COMPANIONFILES_H

#include "frontends/ModelSpec.h"

#include <filesystem>

namespace llamac {

/// `dir / name` when that is a regular file, else "".
std::string regularFileIn(const std::filesystem::path &dir,
                          const std::string &name);

/// Records the tokenizer.model and generation_config.json that a Hugging Face
/// directory (or a config-only directory) may hold.
void recordCompanionFiles(ModelSpec &spec, const std::filesystem::path &dir);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_COMPANIONFILES_H
