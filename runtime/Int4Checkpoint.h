//===- Int4Checkpoint.h - Checkpoints that store int4 weights ---*- C++ -*-===//
//
// An int4 artifact quantizes its linear layers from the float checkpoint
// each time it loads: a 7B model reads 13.5 GB of f16 and spends seconds on
// every core, a 70B one needs 138 GB of disk for a model that runs in 37 GB.
// Written once with its weights quantized, a checkpoint loads by mapping
// them. It is a Hugging Face directory whose int4 weights are each stored as
// three tensors (ModelSpec.h's int4PartNames, docs/ARTIFACT.md), which the
// Hugging Face frontend reads in place.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_INT4CHECKPOINT_H
#define LLAMAC_RUNTIME_INT4CHECKPOINT_H

#include "runtime/Manifest.h"
#include "runtime/WeightBinding.h"

#include <string>

namespace llamac {

/// Writes to `dir` (created if needed) the checkpoint of `weights`, bound to
/// `manifest`'s table from `source`: model.safetensors with the table's
/// entries in table order, each int4 one as its three parts back to back;
/// config.json of the manifest's config; the artifact's tokenizer.model and
/// the source's generation_config.json where they exist. On failure returns
/// false and sets `error` to one line naming the file.
bool writeInt4Checkpoint(const Manifest &manifest, const ModelSpec &source,
                         const BoundWeights &weights, const std::string &dir,
                         std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_INT4CHECKPOINT_H
