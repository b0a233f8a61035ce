//===- TokenBatch.cpp - The per-step inputs of prefill and decode ---------===//

#include "runtime/TokenBatch.h"

#include <algorithm>
#include <cassert>

namespace llamac {

TokenBatch padLeft(const std::vector<std::vector<int32_t>> &rows,
                   int32_t padId) {
  TokenBatch batch;
  batch.batchSize = int64_t(rows.size());
  for (const std::vector<int32_t> &row : rows)
    batch.length = std::max(batch.length, int64_t(row.size()));
  for (const std::vector<int32_t> &row : rows) {
    assert(!row.empty() && "a prompt needs at least one token");
    int32_t pads = int32_t(batch.length - int64_t(row.size()));
    batch.firstSlot.push_back(pads);
    batch.tokens.insert(batch.tokens.end(), pads, padId);
    batch.tokens.insert(batch.tokens.end(), row.begin(), row.end());
    batch.positions.insert(batch.positions.end(), pads, 0);
    for (int32_t position = 0; position < int32_t(row.size()); ++position)
      batch.positions.push_back(position);
  }
  return batch;
}

TokenBatch continueRow(const std::vector<int32_t> &tokens,
                       int64_t cachedLength) {
  assert(!tokens.empty() && "a prefill needs at least one token");
  TokenBatch batch;
  batch.batchSize = 1;
  batch.length = int64_t(tokens.size());
  batch.tokens = tokens;
  batch.firstSlot = {0};
  for (int64_t t = 0; t < batch.length; ++t)
    batch.positions.push_back(int32_t(cachedLength + t));
  return batch;
}

TokenBatch nextDecodeStep(const TokenBatch &previous,
                          const std::vector<int32_t> &tokens) {
  assert(int64_t(tokens.size()) == previous.batchSize);
  TokenBatch step;
  step.batchSize = previous.batchSize;
  step.length = 1;
  step.tokens = tokens;
  step.firstSlot = previous.firstSlot;
  for (int64_t row = 0; row < previous.batchSize; ++row)
    step.positions.push_back(
        previous.positions[(row + 1) * previous.length - 1] + 1);
  return step;
}

} // namespace llamac
