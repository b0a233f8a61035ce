//===- AttentionMask.h - The prompt's attention mask, drawn -----*- C++ -*-===//
//
// What Hugging Face's AttentionMaskVisualizer shows, for the mask the
// compiled code applies (llama.attention_mask): a query at cache slot i of
// row b attends to key slot j when firstSlot[b] <= j <= i. A left-padded
// row's pad slots are neither attended to nor attend.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_ATTENTIONMASK_H
#define LLAMAC_RUNTIME_ATTENTIONMASK_H

#include "runtime/TokenBatch.h"

#include <cstdint>
#include <functional>
#include <string>

namespace llamac {

/// Whether the query at slot `query` of row `row` of a prompt `batch`
/// (slots from 0) attends to slot `key`.
bool attends(const TokenBatch &batch, int64_t row, int64_t query, int64_t key);

/// The mask of a prompt `batch` as text: for each row a header, then a line
/// per slot with its token (`label`, or "<pad>"), its slot and a "■"
/// (attends) or "⬚" (masked) per key slot.
std::string drawAttentionMask(const TokenBatch &batch,
                              const std::function<std::string(int32_t)> &label);

} // namespace llamac

#endif // LLAMAC_RUNTIME_ATTENTIONMASK_H
