//===- PromptIds.h - Prompts given as token ids -----------------*- C++ -*-===//
#ifndef LLAMAC_RUNTIME_PROMPTIDS_H
#define LLAMAC_RUNTIME_PROMPTIDS_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// Parses "1,2,3;4,5": rows separated by ';', ids by ',', spaces allowed
/// around either. Every row needs at least one id; ids are non-negative and
/// fit in int32. On failure returns nullopt and sets `error`.
std::optional<std::vector<std::vector<int32_t>>>
parsePromptIds(const std::string &text, std::string &error);

/// "" if there is at least one row, no row is empty and every id is in
/// [0, vocabSize); else the first problem.
std::string checkPrompts(const std::vector<std::vector<int32_t>> &rows,
                         int64_t vocabSize);

} // namespace llamac

#endif // LLAMAC_RUNTIME_PROMPTIDS_H
