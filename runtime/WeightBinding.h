//===- WeightBinding.h - Checkpoint tensors for the weight table -*- C++ -*-===//
//
// The compiled code trusts the pointer at index i to hold weights.table[i] in
// exactly its dtype and shape, or in the int4 layout of that shape; this is
// where that trust is earned.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_WEIGHTBINDING_H
#define LLAMAC_RUNTIME_WEIGHTBINDING_H

#include "frontends/ModelSpec.h"
#include "runtime/Manifest.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// What the compiled code's weight table points to.
struct BoundWeights {
  /// One per table entry, in table order: into the checkpoint's mapping, or
  /// into `owned` for an int4 entry.
  std::vector<const void *> pointers;
  /// The buffers the runtime made: the int4 layouts (Int4Weights.h) it
  /// quantized, and random weights; moving this object keeps them where
  /// `pointers` point.
  std::vector<std::vector<uint8_t>> owned;
};

/// The checkpoint at `weightsPath`, or without one at the manifest's
/// weights.source. On failure returns nullopt and sets `error` to one line.
std::optional<ModelSpec> loadWeightSource(const Manifest &manifest,
                                          const std::string &weightsPath,
                                          std::string &error);

/// Binds every table entry after checking that `spec` holds exactly the
/// table's tensors (same names, dtypes and shapes, none missing, none
/// extra), quantizing the int4 entries' tensors the checkpoint stores as
/// floats. On a mismatch, or a tensor
/// int4 cannot hold, returns nullopt and sets `error` to one line naming the
/// tensor.
std::optional<BoundWeights>
bindWeights(const std::vector<WeightTableEntry> &table, const ModelSpec &spec,
            std::string &error);

/// Binds every table entry to deterministic random values of its dtype and
/// shape (Synthesize.h's, entry i from stream i of `seed`), quantizing the
/// int4 entries: for timing a model without its checkpoint, or one whose
/// checkpoint would not fit the disk (Llama-2-70B's 138 GB of f16 for a
/// 37 GB int4 artifact). Each entry is drawn, and quantized, on its own, so
/// memory holds the bound weights and a few entries' draws. On a tensor
/// int4 cannot hold, returns nullopt and sets `error` to one line.
std::optional<BoundWeights>
bindRandomWeights(const std::vector<WeightTableEntry> &table, uint64_t seed,
                  std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_WEIGHTBINDING_H
