//===- TokenBatch.h - The per-step inputs of prefill and decode -*- C++ -*-===//
//
// Rows of different lengths share one cache timeline by left padding: the
// prompt of row b starts at slot firstSlot[b] = (longest - its length), its
// pad slots are masked by the compiled code, and its rotary positions count
// from its first real token. So a row computes exactly what it would alone.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_TOKENBATCH_H
#define LLAMAC_RUNTIME_TOKENBATCH_H

#include <cstdint>
#include <vector>

namespace llamac {

struct TokenBatch {
  int64_t batchSize = 0;
  int64_t length = 0;             ///< Tokens per row in this step.
  std::vector<int32_t> tokens;    ///< [batchSize, length]
  std::vector<int32_t> positions; ///< [batchSize, length]
  std::vector<int32_t> firstSlot; ///< [batchSize]
};

/// Left-pads `rows` (each non-empty) to the longest with `padId`. Pads get
/// position 0; real tokens positions 0, 1, ...
TokenBatch padLeft(const std::vector<std::vector<int32_t>> &rows,
                   int32_t padId);

/// One row continuing a sequence whose first `cachedLength` tokens are in
/// the cache already (slots [0, cachedLength), positions 0, 1, ...): `tokens`
/// (at least one) take the positions that follow. Run it at startSlot =
/// cachedLength.
TokenBatch continueRow(const std::vector<int32_t> &tokens,
                       int64_t cachedLength);

/// The next decode step after `previous` (a prompt or a decode step): one
/// token per row, each row's position one past its previous last position.
TokenBatch nextDecodeStep(const TokenBatch &previous,
                          const std::vector<int32_t> &tokens);

} // namespace llamac

#endif // LLAMAC_RUNTIME_TOKENBATCH_H
