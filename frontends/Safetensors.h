//===- Safetensors.h - Reading .safetensors files ---------------*- C++ -*-===//
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON {name: {dtype, shape, data_offsets: [begin, end)}, __metadata__?},
// then the data section the offsets are relative to. The file is mapped, the
// header fully validated, and the tensors point into the mapping.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_SAFETENSORS_H
#define LLAMAC_FRONTENDS_SAFETENSORS_H

#include "frontends/ModelSpec.h"

namespace llamac {

struct SafetensorsTensor {
  std::string name;
  /// Unset for U8: bytes, as a checkpoint stores the codes of an int4
  /// weight (ModelSpec.h's int4PartNames).
  std::optional<DType> dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t fileOffset = 0; ///< From the start of the file, not of the data.
  uint64_t byteSize = 0;
};

struct SafetensorsFile {
  std::shared_ptr<MappedFile> mapping;
  /// Sorted by name. Each lies inside the mapping, its byte size matches its
  /// shape and dtype, and no two overlap.
  std::vector<SafetensorsTensor> tensors;

  const uint8_t *data(const SafetensorsTensor &tensor) const {
    return mapping->data() + tensor.fileOffset;
  }
};

/// "F32", "F16", "BF16": how safetensors headers spell dtypes.
const char *safetensorsDTypeName(DType dtype);

/// The bytes an element of a tensor of `dtype` takes (1 for U8).
size_t storedElementBytes(const std::optional<DType> &dtype);
/// "f32", "f16", "bf16" or "u8", for messages.
const char *storedTypeName(const std::optional<DType> &dtype);

/// Maps and validates `path`. Only F32, F16, BF16 and U8 tensors are
/// accepted.
std::optional<SafetensorsFile> readSafetensors(const std::string &path,
                                               std::string &error);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_SAFETENSORS_H
