//===- AttentionMask.cpp - The prompt's attention mask, drawn -------------===//

#include "runtime/AttentionMask.h"

#include <algorithm>
#include <vector>

namespace llamac {

bool attends(const TokenBatch &batch, int64_t row, int64_t query, int64_t key) {
  int64_t first = batch.firstSlot[row];
  return first <= key && key <= query;
}

/// Display columns of UTF-8 `text` (one per code point: token pieces hold
/// no wide characters that matter here).
static size_t displayWidth(const std::string &text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::string drawAttentionMask(const TokenBatch &batch,
                              const std::function<std::string(int32_t)> &label) {
  std::vector<std::vector<std::string>> labels(batch.batchSize);
  size_t labelWidth = 0;
  for (int64_t row = 0; row < batch.batchSize; ++row)
    for (int64_t slot = 0; slot < batch.length; ++slot) {
      std::string text = slot < batch.firstSlot[row]
                             ? "<pad>"
                             : label(batch.tokens[row * batch.length + slot]);
      labelWidth = std::max(labelWidth, displayWidth(text));
      labels[row].push_back(std::move(text));
    }
  int slotWidth = int(std::to_string(batch.length - 1).size());
  std::string out;
  for (int64_t row = 0; row < batch.batchSize; ++row) {
    out += "row " + std::to_string(row);
    if (int64_t pads = batch.firstSlot[row])
      out += " (" + std::to_string(pads) + " pad slot" + (pads > 1 ? "s" : "") + ")";
    out += "\n";
    for (int64_t query = 0; query < batch.length; ++query) {
      const std::string &text = labels[row][query];
      std::string slot = std::to_string(query);
      out += "  " + text + std::string(labelWidth - displayWidth(text), ' ') + " " +
             std::string(slotWidth - slot.size(), ' ') + slot;
      for (int64_t key = 0; key < batch.length; ++key)
        out += attends(batch, row, query, key) ? " \u25A0" : " \u2B1A";
      out += "\n";
    }
  }
  return out;
}

} // namespace llamac
