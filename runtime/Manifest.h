//===- Manifest.h - An artifact's manifest.json -----------------*- C++ -*-===//
//
// The runtime's view of docs/ARTIFACT.md: only the fields it acts on, each
// checked when read, so that nothing past loading has to distrust them.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_MANIFEST_H
#define LLAMAC_RUNTIME_MANIFEST_H

#include "frontends/ModelSpec.h"
#include "runtime/GenerationConfig.h"

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// One entry of `weights.table`: what the compiled code expects behind the
/// pointer at the same index.
struct WeightTableEntry {
  std::string name;
  DType dtype = DType::F32; ///< The checkpoint's, int4 entries' too.
  std::vector<int64_t> shape;
  /// Nonzero when the compiled code reads this 2-D weight as int4 in groups
  /// of this many columns (Int4Weights.h): the runtime quantizes the
  /// checkpoint's tensor at load. 0: read as stored.
  int64_t int4GroupSize = 0;

  /// Bytes the compiled code reads: its int4 layout, or its elements as
  /// `stored` (the checkpoint's dtype on the CPU, the compute dtype on a
  /// GPU).
  uint64_t boundBytes(DType stored) const;
};

/// What the compiled code writes to its output buffer per token.
enum class OutputKind { Logits, Scores };

struct Manifest {
  std::string artifactDir;
  std::string libraryPath; ///< model.so, resolved against artifactDir.
  std::string prefillSymbol;
  std::string decodeSymbol;
  enum class Target { CPU, CUDA } target = Target::CPU;
  std::string chip; ///< "x86-64"-like for CPU, "sm_90"/"sm_80" for CUDA.
  /// dtype of the weights and the KV cache while running (f32 on CPU).
  DType computeDType = DType::F32;
  /// CUDA: device scratch the compiled code allocates per call.
  uint64_t scratchBytes = 0;
  /// CUDA: the kernels wait for their predecessor's grid (griddepcontrol)
  /// before touching memory a kernel writes, so they may be launched with
  /// programmatic stream serialization (dependent launch).
  bool dependentLaunch = false;
  /// CUDA: prefill's linear ops run on the tensor cores (the compiler's
  /// --prefill-tensor-cores all or gemm), which multiply float16 weights,
  /// converting a bf16 artifact's.
  bool tensorCoreGemm = false;
  int64_t maxBatch = 0;
  int64_t maxSeq = 0;
  /// [layers, 2, max_batch, kv_heads, max_seq, head_dim], computeDType.
  std::array<int64_t, 6> kvCacheShape{};
  OutputKind outputKind = OutputKind::Logits;
  int64_t outputSize = 0; ///< vocab size or number of labels.
  LlamaConfig config;
  /// The checkpoint the artifact was compiled from; nullopt when it was
  /// compiled from a config alone.
  std::optional<std::string> weightSource;
  std::vector<WeightTableEntry> weightTable;
  /// The SentencePiece model copied into the artifact, resolved against
  /// artifactDir; nullopt when the checkpoint had none.
  std::optional<std::string> tokenizerPath;
  /// The checkpoint's generation_config.json; nullopt when it had none.
  std::optional<GenerationConfig> generationConfig;
};

/// Reads and validates `artifactDir/manifest.json`. On failure returns nullopt
/// and sets `error` to one line naming the offending field.
std::optional<Manifest> loadManifest(const std::string &artifactDir,
                                     std::string &error);

/// The same checks on an already parsed document (tests feed it directly).
std::optional<Manifest> parseManifest(const nlohmann::json &document,
                                      const std::string &artifactDir,
                                      std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_MANIFEST_H
