//===- Classifier.cpp - Sequence classification scores --------------------===//

#include "runtime/Classifier.h"

#include "runtime/PromptIds.h"

#include <algorithm>

namespace llamac {

int64_t scorePosition(const TokenBatch &batch, int64_t row,
                      std::optional<int64_t> padId) {
  if (!padId)
    return batch.length - 1;
  const int32_t *tokens = batch.tokens.data() + row * batch.length;
  int64_t first = batch.firstSlot[row];
  for (int64_t position = batch.length - 1; position > first; --position)
    if (tokens[position] != *padId)
      return position;
  return first;
}

static std::string
checkClassificationRequest(const Manifest &manifest,
                           const std::vector<std::vector<int32_t>> &rows) {
  if (manifest.outputKind != OutputKind::Scores)
    return "the artifact computes logits, not classification scores; use "
           "generate";
  std::string problem = checkPrompts(rows, manifest.config.vocabSize);
  if (!problem.empty())
    return problem;
  for (size_t row = 0; row < rows.size(); ++row)
    if (int64_t(rows[row].size()) > manifest.maxSeq)
      return "prompt row " + std::to_string(row) + " has " +
             std::to_string(rows[row].size()) +
             " tokens, more than the artifact's max_seq of " +
             std::to_string(manifest.maxSeq);
  return "";
}

std::optional<std::vector<std::vector<float>>>
classify(CompiledModel &model, const std::vector<std::vector<int32_t>> &rows,
         std::string &error) {
  const Manifest &manifest = model.manifest();
  error = checkClassificationRequest(manifest, rows);
  if (!error.empty())
    return std::nullopt;
  const std::optional<int64_t> padId = manifest.config.padTokenId;
  const int64_t labels = manifest.outputSize;
  std::vector<std::vector<float>> scores;
  for (size_t begin = 0; begin < rows.size(); begin += manifest.maxBatch) {
    size_t end = std::min(rows.size(), begin + size_t(manifest.maxBatch));
    TokenBatch batch = padLeft({rows.begin() + begin, rows.begin() + end},
                               int32_t(padId.value_or(0)));
    std::vector<int64_t> positions;
    for (int64_t row = 0; row < batch.batchSize; ++row)
      positions.push_back(scorePosition(batch, row, padId));
    // The output holds each row's last `kept` positions: from the earliest
    // score position on (each row's last, unless a row ends in pad ids).
    const int64_t skipped = *std::min_element(positions.begin(), positions.end());
    const int64_t kept = batch.length - skipped;
    std::vector<float> output(batch.batchSize * kept * labels);
    model.run(EntryPoint::Prefill, batch, 0, output.data(), kept);
    for (int64_t row = 0; row < batch.batchSize; ++row) {
      const float *rowScores =
          output.data() + (row * kept + positions[row] - skipped) * labels;
      scores.emplace_back(rowScores, rowScores + labels);
    }
  }
  return scores;
}

} // namespace llamac
