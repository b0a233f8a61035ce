//===- SafetensorsFuzzer.cpp - readSafetensors on arbitrary bytes ---------===//
//
// Input: a whole .safetensors file (8-byte header length, JSON header, data).
// Beyond "no crash, no sanitizer report", a file that is accepted must keep
// the promises of Safetensors.h: every tensor inside the mapping, its byte
// size that of its shape and dtype, no two overlapping; a refused one gets
// one line naming the file.
//
//===----------------------------------------------------------------------===//

#include "frontends/CheckedMath.h"
#include "frontends/Safetensors.h"
#include "fuzz/FuzzSupport.h"

#include <algorithm>

using namespace llamac;
using namespace llamac::fuzz;

static void checkAccepted(const SafetensorsFile &file) {
  const uint64_t fileSize = file.mapping->size();
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const SafetensorsTensor &tensor = file.tensors[i];
    if (i > 0)
      FUZZ_CHECK(file.tensors[i - 1].name < tensor.name,
                 "tensors not sorted by name, or a name repeats");
    std::optional<uint64_t> bytes = storedElementBytes(tensor.dtype);
    for (int64_t dimension : tensor.shape) {
      FUZZ_CHECK(dimension >= 0, "negative dimension accepted");
      if (bytes)
        bytes = checkedMul(*bytes, uint64_t(dimension));
    }
    FUZZ_CHECK(bytes && *bytes == tensor.byteSize,
               "byte size does not match the shape of " + tensor.name);
    std::optional<uint64_t> end = checkedAdd(tensor.fileOffset, tensor.byteSize);
    FUZZ_CHECK(end && *end <= fileSize,
               "tensor " + tensor.name + " reaches past the end of the file");
    FUZZ_CHECK(tensor.fileOffset >= 8, "tensor data inside the length prefix");
    if (tensor.byteSize == 0)
      continue;
    ranges.push_back({tensor.fileOffset, *end});
    // Touch both ends: a wrong bound faults here rather than in a kernel.
    volatile uint8_t first = file.data(tensor)[0];
    volatile uint8_t last = file.data(tensor)[tensor.byteSize - 1];
    (void)first;
    (void)last;
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    FUZZ_CHECK(ranges[i - 1].second <= ranges[i].first,
               "overlapping tensors accepted");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static MemoryFile input("model.safetensors");
  input.write(data, size);
  std::string error;
  std::optional<SafetensorsFile> file = readSafetensors(input.path(), error);
  if (file)
    checkAccepted(*file);
  else
    checkErrorMessage(error, input.path() + ": ");
  return 0;
}
