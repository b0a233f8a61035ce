//===- Llama2c.cpp - llama2.c's legacy .bin checkpoints -------------------===//
//
// Seven little-endian int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means an unshared classifier),
// then float32 blocks, each holding one kind of tensor for every layer:
// token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
// two unused rotary tables of seq_len * head_dim / 2, [wcls].
//
//===----------------------------------------------------------------------===//

#include "frontends/CheckedMath.h"
#include "frontends/CompanionFiles.h"
#include "frontends/Errors.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

namespace llamac {

namespace fs = std::filesystem;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "llama2.c files are little-endian and mapped as they are");

namespace {

constexpr uint64_t kFloatBytes = sizeof(float);

enum HeaderField {
  Dim,
  HiddenDim,
  NumLayers,
  NumHeads,
  NumKeyValueHeads,
  VocabSize,
  SeqLen,
  NumHeaderFields
};
constexpr uint64_t kHeaderBytes = NumHeaderFields * sizeof(int32_t);
constexpr const char *kHeaderFieldNames[NumHeaderFields] = {
    "dim",        "hidden_dim", "n_layers", "n_heads",
    "n_kv_heads", "vocab_size", "seq_len"};

LlamaConfig configFromHeader(const MappedFile &file) {
  if (file.size() < kHeaderBytes)
    fail("file is " + std::to_string(file.size()) +
         " bytes, shorter than the 28-byte llama2.c header");
  int32_t header[NumHeaderFields];
  std::memcpy(header, file.data(), kHeaderBytes);
  int64_t values[NumHeaderFields];
  for (int field = 0; field < NumHeaderFields; ++field) {
    // vocab_size's sign only says whether the classifier is shared.
    const bool isVocab = field == VocabSize;
    values[field] = isVocab ? std::abs(int64_t(header[field])) : header[field];
    if (values[field] <= 0)
      fail("header field " + std::string(kHeaderFieldNames[field]) + " is " +
           std::to_string(header[field]) + "; it must be " +
           (isVocab ? "non-zero" : "positive"));
  }
  const auto [dim, hiddenDim, numLayers, numHeads, numKeyValueHeads,
              vocabSize, seqLen] = values;
  if (dim % numHeads != 0)
    fail("header: n_heads " + std::to_string(numHeads) +
         " does not divide dim " + std::to_string(dim));

  LlamaConfig config;
  config.vocabSize = vocabSize;
  config.hiddenSize = dim;
  config.intermediateSize = hiddenDim;
  config.numLayers = numLayers;
  config.numHeads = numHeads;
  config.numKeyValueHeads = numKeyValueHeads;
  config.headDim = dim / numHeads;
  config.maxPositionEmbeddings = seqLen;
  config.rmsNormEps = 1e-5;
  config.ropeTheta = 10000.0;
  config.tieWordEmbeddings = header[VocabSize] > 0;
  config.dtype = DType::F32;
  if (std::string problem = validateConfig(config); !problem.empty())
    fail("header: " + problem);
  return config;
}

/// Where a weight lives in the file; `rotaryHeads` > 0 marks wq / wk, whose
/// rows need reordering.
struct WeightSource {
  uint64_t offset;
  int64_t rotaryHeads;
};

/// Walks the blocks in file order, with overflow-checked offsets (the
/// header's sizes are untrusted until the file size confirms them).
class BlockLayout {
public:
  /// Without `recordSources` only the offsets are computed: the header's
  /// sizes are checked against the file before anything grows with them (a
  /// 28-byte file may claim 65536 layers).
  BlockLayout(const LlamaConfig &config, bool recordSources)
      : config(config), recordSources(recordSources) {}

  void add(const std::string &name, uint64_t rows, uint64_t columns) {
    const uint64_t offset = take(rows, columns, 1);
    if (recordSources)
      sources[name] = {offset, 0};
  }

  void addPerLayer(const std::string &suffix, uint64_t rows, uint64_t columns,
                   int64_t rotaryHeads = 0) {
    const uint64_t block = take(rows, columns, config.numLayers);
    for (int64_t layer = 0; recordSources && layer < config.numLayers; ++layer)
      sources["model.layers." + std::to_string(layer) + "." + suffix] = {
          block + layer * rows * columns * kFloatBytes, rotaryHeads};
  }

  void skip(uint64_t values) { take(values, 1, 1); }

  uint64_t end() const { return next; }
  const WeightSource &source(const std::string &name) const {
    return sources.at(name);
  }

private:
  uint64_t take(uint64_t rows, uint64_t columns, uint64_t count) {
    const uint64_t begin = next;
    std::optional<uint64_t> bytes = checkedMul(rows, columns);
    for (uint64_t factor : {count, kFloatBytes})
      if (bytes)
        bytes = checkedMul(*bytes, factor);
    std::optional<uint64_t> end = bytes ? checkedAdd(next, *bytes) : bytes;
    if (!end)
      fail("header sizes are absurd: the file they imply is larger than "
           "2^64 bytes");
    next = *end;
    return begin;
  }

  const LlamaConfig &config;
  const bool recordSources;
  uint64_t next = kHeaderBytes;
  std::map<std::string, WeightSource> sources;
};

BlockLayout layoutOf(const LlamaConfig &config, bool recordSources) {
  const uint64_t dim = config.hiddenSize;
  const uint64_t keyValueDim = config.numKeyValueHeads * config.headDim;
  const uint64_t hiddenDim = config.intermediateSize;
  BlockLayout layout(config, recordSources);
  layout.add("model.embed_tokens.weight", config.vocabSize, dim);
  layout.addPerLayer("input_layernorm.weight", 1, dim);
  layout.addPerLayer("self_attn.q_proj.weight", dim, dim, config.numHeads);
  layout.addPerLayer("self_attn.k_proj.weight", keyValueDim, dim,
                     config.numKeyValueHeads);
  layout.addPerLayer("self_attn.v_proj.weight", keyValueDim, dim);
  layout.addPerLayer("self_attn.o_proj.weight", dim, dim);
  layout.addPerLayer("post_attention_layernorm.weight", 1, dim);
  layout.addPerLayer("mlp.gate_proj.weight", hiddenDim, dim); // w1
  layout.addPerLayer("mlp.down_proj.weight", dim, hiddenDim); // w2
  layout.addPerLayer("mlp.up_proj.weight", hiddenDim, dim);   // w3
  layout.add("model.norm.weight", 1, dim);
  // freq_cis_real and freq_cis_imag: seq_len * head_dim / 2 each.
  layout.skip(uint64_t(config.maxPositionEmbeddings) * config.headDim);
  if (!config.tieWordEmbeddings)
    layout.add("lm_head.weight", config.vocabSize, dim);
  return layout;
}

/// Meta's layout pairs a head's rotary rows as (2i, 2i + 1); Hugging Face's
/// rotate-half layout as (i, i + head_dim / 2). This is transformers'
/// convert_llama_weights_to_hf `permute`: per head, rows viewed as
/// [head_dim / 2, 2] are transposed to [2, head_dim / 2].
std::shared_ptr<std::vector<uint8_t>>
toRotateHalfRows(const uint8_t *rows, int64_t numHeads, int64_t headDim,
                 uint64_t rowBytes) {
  auto permuted =
      std::make_shared<std::vector<uint8_t>>(numHeads * headDim * rowBytes);
  const int64_t halfDim = headDim / 2;
  for (int64_t head = 0; head < numHeads; ++head)
    for (int64_t i = 0; i < halfDim; ++i)
      for (int64_t half = 0; half < 2; ++half) {
        const int64_t from = head * headDim + 2 * i + half;
        const int64_t to = head * headDim + half * halfDim + i;
        std::memcpy(permuted->data() + to * rowBytes, rows + from * rowBytes,
                    rowBytes);
      }
  return permuted;
}

/// `<stem>.model`, else tokenizer.model, else the folder's only *.model.
std::string findTokenizer(const fs::path &binPath) {
  const fs::path dir =
      binPath.has_parent_path() ? binPath.parent_path() : fs::path(".");
  for (const std::string &name :
       {binPath.stem().string() + ".model", std::string("tokenizer.model")})
    if (std::string path = regularFileIn(dir, name); !path.empty())
      return path;
  std::vector<std::string> candidates;
  std::error_code ignored;
  for (const fs::directory_entry &entry :
       fs::directory_iterator(dir, ignored))
    if (entry.path().extension() == ".model" &&
        entry.is_regular_file(ignored))
      candidates.push_back(entry.path().string());
  return candidates.size() == 1 ? candidates.front() : std::string();
}

ModelSpec loadBin(const std::string &binPath) {
  std::string error;
  std::shared_ptr<MappedFile> file = MappedFile::open(binPath, error);
  if (!file)
    failReported(error);
  const LlamaConfig config = configFromHeader(*file);
  const uint64_t impliedSize = layoutOf(config, false).end();
  if (impliedSize != file->size())
    fail("file is " + std::to_string(file->size()) + " bytes, header implies " +
         std::to_string(impliedSize));
  const BlockLayout layout = layoutOf(config, true);

  ModelSpec spec;
  spec.config = config;
  spec.format = SourceFormat::Llama2c;
  spec.sourcePath = binPath;
  for (const WeightRequirement &requirement : canonicalWeightNames(config)) {
    const WeightSource &source = layout.source(requirement.name);
    WeightInfo weight{requirement.name, DType::F32, requirement.shape,
                      file->data() + source.offset,
                      elementCount(requirement.shape) * kFloatBytes, binPath,
                      source.offset};
    if (source.rotaryHeads > 0) {
      spec.ownedBuffers.push_back(toRotateHalfRows(
          file->data() + source.offset, source.rotaryHeads, config.headDim,
          requirement.shape[1] * kFloatBytes));
      weight.data = spec.ownedBuffers.back()->data();
      weight.file = "";
      weight.fileOffset = 0;
    }
    spec.weights.push_back(std::move(weight));
  }
  spec.files.push_back(std::move(file));
  spec.tokenizerPath = findTokenizer(binPath);
  return spec;
}

} // namespace

std::optional<ModelSpec> loadLlama2c(const std::string &binPath,
                                     std::string &error) {
  return reportFailures(binPath, error, [&]() -> std::optional<ModelSpec> {
    return loadBin(binPath);
  });
}

} // namespace llamac
