//===- Llama2cFuzzer.cpp - loadLlama2c on arbitrary bytes -----------------===//
//
// Input: a whole llama2.c .bin (seven int32 header fields, float32 blocks).
// An accepted file must give the canonical weight table of a valid config,
// every weight inside the file (or in a converted buffer) with the byte size
// of its shape; a refused one gets one line naming the file.
//
//===----------------------------------------------------------------------===//

#include "frontends/ModelSpec.h"
#include "fuzz/FuzzSupport.h"

using namespace llamac;
using namespace llamac::fuzz;

static void checkAccepted(const ModelSpec &spec, size_t fileSize) {
  FUZZ_CHECK(validateConfig(spec.config).empty(), "invalid config accepted");
  std::vector<WeightRequirement> required = canonicalWeightNames(spec.config);
  FUZZ_CHECK(required.size() == spec.weights.size(),
             "weight table is not the canonical one");
  for (size_t i = 0; i < required.size(); ++i) {
    const WeightInfo &weight = spec.weights[i];
    FUZZ_CHECK(weight.name == required[i].name && weight.shape == required[i].shape,
               "weight " + weight.name + " is not the canonical one");
    FUZZ_CHECK(weight.byteSize == elementCount(weight.shape) * 4,
               "byte size of " + weight.name);
    FUZZ_CHECK(weight.data && weight.byteSize > 0, "empty weight " + weight.name);
    if (!weight.file.empty())
      FUZZ_CHECK(weight.fileOffset + weight.byteSize <= fileSize,
                 weight.name + " reaches past the end of the file");
    volatile uint8_t first = static_cast<const uint8_t *>(weight.data)[0];
    volatile uint8_t last =
        static_cast<const uint8_t *>(weight.data)[weight.byteSize - 1];
    (void)first;
    (void)last;
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static MemoryFile input("model.bin");
  input.write(data, size);
  std::string error;
  std::optional<ModelSpec> spec = loadLlama2c(input.path(), error);
  if (spec)
    checkAccepted(*spec, size);
  else
    checkErrorMessage(error, input.path() + ": ");
  return 0;
}
