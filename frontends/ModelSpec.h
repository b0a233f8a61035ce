//===- ModelSpec.h - One description of a Llama checkpoint ------*- C++ -*-===//
//
// Every frontend (Hugging Face directory, llama2.c .bin, config only) produces a
// ModelSpec: the LlamaConfig plus a table of weights that point into read-only
// memory mappings of the checkpoint files. Nothing is copied except where a
// format must be converted (llama2.c's interleaved rotary rows are permuted
// into Hugging Face's rotate-half layout at import).
//
// This library has no MLIR/LLVM dependency: the runtime uses it too.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_MODELSPEC_H
#define LLAMAC_FRONTENDS_MODELSPEC_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

enum class DType { F32, F16, BF16 };

/// "f32", "f16", "bf16".
const char *dtypeName(DType dtype);
/// Parses "f32"/"f16"/"bf16" (our spelling) and "F32"/"F16"/"BF16"
/// (safetensors), "float32"/"float16"/"bfloat16" (config.json).
std::optional<DType> parseDType(const std::string &text);
size_t dtypeSize(DType dtype);
/// The product of `shape` (1 for a scalar). Callers pass shapes of a valid
/// config or of a validated file, which cannot overflow.
uint64_t elementCount(const std::vector<int64_t> &shape);
/// "[4096, 11008]", for messages.
std::string formatShape(const std::vector<int64_t> &shape);

/// The KV cache's element type for a compute dtype. A bf16 cache keeps 8
/// mantissa bits of every key and value that all later tokens read, which
/// costs small models up to 0.1 in a logit; f16 keeps 11 and its range holds
/// Llama's keys and values (llama.cpp stores its cache in f16 by default).
DType kvCacheDType(DType compute);

enum class Architecture { CausalLM, SequenceClassification };

/// The subset of transformers' LlamaConfig that changes the computation, with
/// transformers' defaults applied for absent keys.
struct LlamaConfig {
  Architecture architecture = Architecture::CausalLM;
  int64_t vocabSize = 32000;
  int64_t hiddenSize = 4096;
  int64_t intermediateSize = 11008;
  int64_t numLayers = 32;
  int64_t numHeads = 32;
  int64_t numKeyValueHeads = 32;
  int64_t headDim = 128;
  int64_t maxPositionEmbeddings = 2048;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  /// rope_scaling {type: linear, factor}: positions are divided by this.
  double ropeLinearFactor = 1.0;
  bool tieWordEmbeddings = false;
  int64_t numLabels = 0; ///< SequenceClassification only.
  /// The classes' names by index (id2label), or none: transformers then
  /// names class i "LABEL_i".
  std::vector<std::string> labels;
  int64_t bosTokenId = 1;
  int64_t eosTokenId = 2;
  std::optional<int64_t> padTokenId;
  DType dtype = DType::F32; ///< torch_dtype / dtype: the storage type.
};

/// A read-only mapping of a whole file. Weights point into it.
class MappedFile {
public:
  /// Maps `path` read-only. A directory, a missing file or a failed mapping
  /// gives nullptr and "PATH: problem" in `error`.
  static std::shared_ptr<MappedFile> open(const std::string &path,
                                          std::string &error);
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();
  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }
  const std::string &path() const { return path_; }
  /// Says the process will not read [begin, begin + bytes), a range of the
  /// mapping, again: the whole pages inside it leave the resident set, and a
  /// later read would map them back from the file.
  void releasePages(const void *begin, size_t bytes) const;

private:
  MappedFile() = default;
  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

struct WeightInfo {
  std::string name;            ///< Hugging Face name, e.g. model.layers.0.mlp.up_proj.weight
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;  ///< Null for config-only specs.
  size_t byteSize = 0;
  std::string file;            ///< The file it was read from ("" if converted).
  uint64_t fileOffset = 0;     ///< Byte offset inside `file`.
  /// Nonzero when the checkpoint stores this 2-D weight quantized: `data`
  /// holds its int4 layout (runtime/Int4Weights.h) in groups of this many
  /// columns, and `dtype` is the config's.
  int64_t int4GroupSize = 0;
};

/// The tensors a checkpoint stores int4 weight `name` [N, K] as, in its
/// int4 layout's order: NAME.int4_codes (U8 [N, K/2]), NAME.int4_scales and
/// NAME.int4_mins (F16 [N, K/G] each). `llamac-run quantize` writes them.
std::array<std::string, 3> int4PartNames(const std::string &name);

enum class SourceFormat { HuggingFace, Llama2c, ConfigOnly };

struct ModelSpec {
  LlamaConfig config;
  SourceFormat format = SourceFormat::ConfigOnly;
  std::string sourcePath;      ///< What the user named.
  std::string tokenizerPath;   ///< tokenizer.model if found, else "".
  std::string generationConfigPath; ///< generation_config.json if found.
  /// Weights in the canonical order (see canonicalWeightNames); empty names
  /// never occur. Config-only specs hold names/dtypes/shapes with null data.
  std::vector<WeightInfo> weights;
  /// Keeps the mappings (and any converted buffers) alive.
  std::vector<std::shared_ptr<MappedFile>> files;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> ownedBuffers;

  const WeightInfo *findWeight(const std::string &name) const;
  /// The group size of the weights the checkpoint stores as int4 (all share
  /// one), or 0 when it stores none.
  int64_t storedInt4GroupSize() const;
  /// Releases the pages of `weight`'s mapping (MappedFile::releasePages)
  /// once nothing will read its data again; a converted weight keeps its
  /// buffer.
  void releaseWeightData(const WeightInfo &weight) const;
};

/// The weights a config implies, in canonical order: embed_tokens, then per
/// layer input_layernorm, q, k, v, o, post_attention_layernorm, gate, up,
/// down; then model.norm, then lm_head (absent when tied) or score.
/// Every frontend returns exactly these, with these shapes.
struct WeightRequirement {
  std::string name;
  std::vector<int64_t> shape;
};
std::vector<WeightRequirement> canonicalWeightNames(const LlamaConfig &config);

/// Checks the config's internal consistency (positive sizes, heads dividing
/// hidden size, kv heads dividing heads, ...). Returns "" or the problem.
std::string validateConfig(const LlamaConfig &config);

/// config.json text in the transformers 5.x dialect (rope_parameters, dtype);
/// loadConfigFile reads it back to the same LlamaConfig.
std::string configToJson(const LlamaConfig &config);

/// Parses config.json text with the rules of loadConfigFile; `origin` names
/// where the text came from in the error.
std::optional<LlamaConfig> parseConfigText(const std::string &text,
                                           const std::string &origin,
                                           std::string &error);

/// Loaders. On failure they return nullopt and set `error` to one line that
/// names the file and the problem. They never throw and never abort.
std::optional<LlamaConfig> loadConfigFile(const std::string &path,
                                          std::string &error);
std::optional<ModelSpec> loadHuggingFace(const std::string &dir,
                                         std::string &error);
std::optional<ModelSpec> loadLlama2c(const std::string &binPath,
                                     std::string &error);
/// `configPath` is a config.json or the directory holding it. The weights get
/// `dtype`, or without it the config's dtype / torch_dtype.
std::optional<ModelSpec> loadConfigOnly(const std::string &configPath,
                                        DType dtype, std::string &error);
std::optional<ModelSpec> loadConfigOnly(const std::string &configPath,
                                        std::string &error);
/// Dispatches on what `path` is: a directory (Hugging Face) or a file ending
/// in .bin (llama2.c).
std::optional<ModelSpec> loadModel(const std::string &path,
                                   std::string &error);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_MODELSPEC_H
