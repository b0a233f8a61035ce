//===- WeightBinding.h - Checkpoint tensors for the weight table -*- C++ -*-===//
//
// The compiled code trusts the pointer at index i to hold weights.table[i] in
// exactly its dtype and shape; this is where that trust is earned.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_WEIGHTBINDING_H
#define LLAMAC_RUNTIME_WEIGHTBINDING_H

#include "frontends/ModelSpec.h"
#include "runtime/Manifest.h"

#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// Returns one data pointer per table entry, in table order, after checking
/// that `spec` holds exactly the table's tensors (same names, dtypes and
/// shapes, none missing, none extra). On a mismatch returns nullopt and sets
/// `error` to one line naming the tensor.
std::optional<std::vector<const void *>>
bindWeights(const std::vector<WeightTableEntry> &table, const ModelSpec &spec,
            std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_WEIGHTBINDING_H
