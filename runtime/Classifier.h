//===- Classifier.h - Sequence classification scores ------------*- C++ -*-===//
//
// Hugging Face LlamaForSequenceClassification called with input_ids alone:
// rows run as given (no attention mask, so pad tokens inside an equal-length
// batch are attended like any token) and each row's score is read at its
// rightmost token that is not pad_token_id. Rows shorter than the longest
// are left-padded and masked, which changes nothing for them.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_CLASSIFIER_H
#define LLAMAC_RUNTIME_CLASSIFIER_H

#include "runtime/CompiledModel.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// The position in row `row` of `batch` whose scores are the row's result:
/// the rightmost real token that is not `padId`; the row's last token when
/// there is no pad id; the row's first real token when all are pads.
int64_t scorePosition(const TokenBatch &batch, int64_t row,
                      std::optional<int64_t> padId);

/// One list of num_labels scores per row. Rows run in groups of at most
/// max_batch. On a refused request returns nullopt and sets `error`; nothing
/// has been computed then.
std::optional<std::vector<std::vector<float>>>
classify(CompiledModel &model, const std::vector<std::vector<int32_t>> &rows,
         std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_CLASSIFIER_H
