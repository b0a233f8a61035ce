//===- ManifestFuzzer.cpp - An artifact's manifest.json -------------------===//
//
// Input: manifest.json, loaded with loadManifest from a scratch artifact
// directory. An accepted manifest must hold what Manifest.h promises the
// rest of the runtime (which then trusts it): a valid config, positive
// limits, a KV cache whose byte size fits in 64 bits and agrees with the
// config, an output that matches the architecture, a non-empty weight table
// with unique names and positive dimensions, int4 entries only on the CPU
// target and 2-D, in even groups that divide their rows. A refused one gets
// one line naming the manifest.
//
//===----------------------------------------------------------------------===//

#include "frontends/CheckedMath.h"
#include "fuzz/FuzzSupport.h"
#include "runtime/Manifest.h"

#include <set>

using namespace llamac;
using namespace llamac::fuzz;

static void checkAccepted(const Manifest &manifest) {
  const LlamaConfig &config = manifest.config;
  FUZZ_CHECK(validateConfig(config).empty(), "invalid config accepted");
  FUZZ_CHECK(manifest.maxBatch > 0 && manifest.maxSeq > 0,
             "non-positive limits accepted");
  const std::array<int64_t, 6> expected = {
      config.numLayers,        2,
      manifest.maxBatch,       config.numKeyValueHeads,
      manifest.maxSeq,         config.headDim};
  FUZZ_CHECK(manifest.kvCacheShape == expected,
             "KV cache shape disagrees with the config");
  std::optional<uint64_t> bytes = uint64_t(4);
  for (int64_t dimension : manifest.kvCacheShape)
    if (bytes)
      bytes = checkedMul(*bytes, uint64_t(dimension));
  FUZZ_CHECK(bytes.has_value(), "KV cache byte size overflows 64 bits");
  FUZZ_CHECK(manifest.outputSize ==
                 (manifest.outputKind == OutputKind::Logits ? config.vocabSize
                                                            : config.numLabels),
             "output size disagrees with the config");
  FUZZ_CHECK(!manifest.weightTable.empty(), "empty weight table accepted");
  std::set<std::string> names;
  for (const WeightTableEntry &entry : manifest.weightTable) {
    FUZZ_CHECK(!entry.name.empty() && names.insert(entry.name).second,
               "empty or repeated weight name accepted");
    for (int64_t dimension : entry.shape)
      FUZZ_CHECK(dimension > 0, "non-positive dimension of " + entry.name);
    if (entry.int4GroupSize)
      FUZZ_CHECK(manifest.target == Manifest::Target::CPU &&
                     entry.shape.size() == 2 && entry.int4GroupSize > 0 &&
                     entry.int4GroupSize % 2 == 0 &&
                     entry.shape[1] % entry.int4GroupSize == 0,
                 "int4 weight " + entry.name + " the runtime cannot lay out");
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static ScratchDir artifact;
  artifact.write("manifest.json", data, size);
  std::string error;
  std::optional<Manifest> manifest = loadManifest(artifact.path(), error);
  if (manifest)
    checkAccepted(*manifest);
  else
    checkErrorMessage(error, artifact.file("manifest.json") + ": ");
  return 0;
}
