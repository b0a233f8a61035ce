//===- ConfigFuzzer.cpp - loadConfigFile on arbitrary bytes ---------------===//
//
// Input: a config.json. An accepted config must be valid (validateConfig),
// must survive configToJson and back unchanged (ModelSpec.h promises the
// round trip), and every weight it implies must have a byte size that fits
// in 64 bits (config-only compiles compute them without further checks).
//
//===----------------------------------------------------------------------===//

#include "frontends/CheckedMath.h"
#include "frontends/ModelSpec.h"
#include "fuzz/FuzzSupport.h"

#include <cstring>

using namespace llamac;
using namespace llamac::fuzz;

static std::string differences(const LlamaConfig &a, const LlamaConfig &b) {
  std::string out;
  auto compare = [&](const char *field, bool same) {
    if (!same)
      out += std::string(out.empty() ? "" : ", ") + field;
  };
  compare("architecture", a.architecture == b.architecture);
  compare("vocab_size", a.vocabSize == b.vocabSize);
  compare("hidden_size", a.hiddenSize == b.hiddenSize);
  compare("intermediate_size", a.intermediateSize == b.intermediateSize);
  compare("num_hidden_layers", a.numLayers == b.numLayers);
  compare("num_attention_heads", a.numHeads == b.numHeads);
  compare("num_key_value_heads", a.numKeyValueHeads == b.numKeyValueHeads);
  compare("head_dim", a.headDim == b.headDim);
  compare("max_position_embeddings",
          a.maxPositionEmbeddings == b.maxPositionEmbeddings);
  // Bitwise: the round trip must reproduce the very double.
  compare("rms_norm_eps", !std::memcmp(&a.rmsNormEps, &b.rmsNormEps, 8));
  compare("rope_theta", !std::memcmp(&a.ropeTheta, &b.ropeTheta, 8));
  compare("rope factor",
          !std::memcmp(&a.ropeLinearFactor, &b.ropeLinearFactor, 8));
  compare("tie_word_embeddings", a.tieWordEmbeddings == b.tieWordEmbeddings);
  compare("num_labels", a.numLabels == b.numLabels);
  compare("bos_token_id", a.bosTokenId == b.bosTokenId);
  compare("eos_token_id", a.eosTokenId == b.eosTokenId);
  compare("pad_token_id", a.padTokenId == b.padTokenId);
  compare("dtype", a.dtype == b.dtype);
  return out;
}

static void checkWeightSizes(LlamaConfig config) {
  // Every layer has the same shapes: one is enough (and keeps this fast for
  // configs with tens of thousands of layers).
  config.numLayers = 1;
  for (const WeightRequirement &weight : canonicalWeightNames(config)) {
    std::optional<uint64_t> bytes = uint64_t(4);
    for (int64_t dimension : weight.shape) {
      FUZZ_CHECK(dimension > 0, "non-positive dimension of " + weight.name);
      if (bytes)
        bytes = checkedMul(*bytes, uint64_t(dimension));
    }
    FUZZ_CHECK(bytes.has_value(),
               "byte size of " + weight.name + " overflows 64 bits");
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static MemoryFile input("config.json");
  static MemoryFile written("config-written.json");
  input.write(data, size);
  std::string error;
  std::optional<LlamaConfig> config = loadConfigFile(input.path(), error);
  if (!config) {
    checkErrorMessage(error, input.path() + ": ");
    return 0;
  }
  std::string problem = validateConfig(*config);
  FUZZ_CHECK(problem.empty(), "accepted an invalid config: " + problem);
  checkWeightSizes(*config);

  written.write(configToJson(*config));
  std::optional<LlamaConfig> reread = loadConfigFile(written.path(), error);
  FUZZ_CHECK(reread.has_value(), "configToJson output refused: " + error);
  std::string changed = differences(*config, *reread);
  FUZZ_CHECK(changed.empty(), "round trip changed " + changed);
  return 0;
}
