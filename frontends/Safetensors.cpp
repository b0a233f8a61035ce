//===- Safetensors.cpp - Reading .safetensors files -----------------------===//

#include "frontends/Safetensors.h"

#include "frontends/CheckedMath.h"
#include "frontends/Errors.h"
#include "frontends/Json.h"

#include <algorithm>

namespace llamac {

using nlohmann::json;

namespace {

constexpr uint64_t kHeaderLengthBytes = 8;
/// The safetensors library's own limit; real headers are well under 1 MiB.
constexpr uint64_t kMaxHeaderBytes = 100 << 20;

std::string quotedText(const std::string &name) {
  return "'" + printable(name) + "'";
}

std::string rangeText(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

std::optional<DType> readDType(const std::string &name, const json &entry) {
  auto it = entry.find("dtype");
  if (it == entry.end())
    fail("tensor " + quotedText(name) + " has no dtype");
  if (!it->is_string())
    fail("tensor " + quotedText(name) + " has a dtype that is not a string: " +
         briefJson(*it));
  std::string dtype = it->get<std::string>();
  for (DType candidate : {DType::F32, DType::F16, DType::BF16})
    if (dtype == safetensorsDTypeName(candidate))
      return candidate;
  if (dtype == "U8")
    return std::nullopt;
  fail("tensor " + quotedText(name) + " has unsupported dtype " + quotedText(dtype) +
       " (supported: F32, F16, BF16, U8)");
}

std::vector<int64_t> readShape(const std::string &name, const json &entry) {
  auto it = entry.find("shape");
  if (it == entry.end() || !it->is_array())
    fail("tensor " + quotedText(name) + " has no shape list");
  std::vector<int64_t> shape;
  for (const json &dimension : *it) {
    if (!dimension.is_number_unsigned() ||
        dimension.get<uint64_t>() > uint64_t(INT64_MAX))
      fail("tensor " + quotedText(name) + " has shape " + briefJson(*it) +
           " whose sizes are not all non-negative 64-bit integers");
    shape.push_back(dimension.get<int64_t>());
  }
  return shape;
}

std::pair<uint64_t, uint64_t> readOffsets(const std::string &name,
                                          const json &entry) {
  auto it = entry.find("data_offsets");
  if (it == entry.end() || !it->is_array() || it->size() != 2)
    fail("tensor " + quotedText(name) + " has no [begin, end] data_offsets");
  for (const json &offset : *it)
    if (!offset.is_number_unsigned())
      fail("tensor " + quotedText(name) + " has data offsets " + briefJson(*it) +
           " that are not non-negative integers");
  return {(*it)[0].get<uint64_t>(), (*it)[1].get<uint64_t>()};
}

uint64_t byteSizeOf(const std::string &name, const std::vector<int64_t> &shape,
                    const std::optional<DType> &dtype) {
  std::optional<uint64_t> size = storedElementBytes(dtype);
  for (int64_t dimension : shape)
    if (size)
      size = checkedMul(*size, static_cast<uint64_t>(dimension));
  if (!size)
    fail("tensor " + quotedText(name) + " has shape " + formatShape(shape) +
         " whose byte size overflows 64 bits");
  return *size;
}

SafetensorsTensor readTensor(const std::string &name, const json &entry,
                             uint64_t dataStart, uint64_t dataSize) {
  if (!entry.is_object())
    fail("tensor " + quotedText(name) + " must be described by an object, got " +
         entry.type_name());
  SafetensorsTensor tensor;
  tensor.name = name;
  tensor.dtype = readDType(name, entry);
  tensor.shape = readShape(name, entry);
  auto [begin, end] = readOffsets(name, entry);
  if (begin > end || end > dataSize)
    fail("tensor " + quotedText(name) + " has data offsets " +
         rangeText(begin, end) +
         " that are out of range (the data section has " +
         std::to_string(dataSize) + " bytes; is the file truncated?)");
  tensor.byteSize = byteSizeOf(name, tensor.shape, tensor.dtype);
  if (end - begin != tensor.byteSize)
    fail("tensor " + quotedText(name) + " has shape " + formatShape(tensor.shape) +
         " " + storedTypeName(tensor.dtype) + " (" +
         std::to_string(tensor.byteSize) + " bytes) but data offsets " +
         rangeText(begin, end) + " hold " + std::to_string(end - begin));
  tensor.fileOffset = dataStart + begin;
  return tensor;
}

void rejectOverlaps(std::vector<SafetensorsTensor> tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const SafetensorsTensor &a, const SafetensorsTensor &b) {
              return a.fileOffset < b.fileOffset;
            });
  const SafetensorsTensor *previous = nullptr;
  for (const SafetensorsTensor &tensor : tensors) {
    if (tensor.byteSize == 0)
      continue;
    if (previous &&
        tensor.fileOffset < previous->fileOffset + previous->byteSize)
      fail("tensors " + quotedText(previous->name) + " and " +
           quotedText(tensor.name) + " overlap in the data section");
    previous = &tensor;
  }
}

SafetensorsFile parseSafetensors(std::shared_ptr<MappedFile> mapping) {
  const uint64_t fileSize = mapping->size();
  if (fileSize < kHeaderLengthBytes)
    fail("file is " + std::to_string(fileSize) +
         " bytes, too short for a safetensors header");
  uint64_t headerSize = 0;
  for (int i = kHeaderLengthBytes - 1; i >= 0; --i)
    headerSize = headerSize << 8 | mapping->data()[i];
  if (headerSize > kMaxHeaderBytes)
    fail("header length " + std::to_string(headerSize) +
         " exceeds the 100 MiB limit");
  if (headerSize > fileSize - kHeaderLengthBytes)
    fail("header length " + std::to_string(headerSize) +
         " does not fit in the file of " + std::to_string(fileSize) +
         " bytes (is the file truncated?)");

  const uint8_t *header = mapping->data() + kHeaderLengthBytes;
  json root = parseJson(header, header + headerSize,
                        /*rejectDuplicateKeys=*/true);
  if (!root.is_object())
    fail("header is a JSON " + std::string(root.type_name()) +
         ", not an object");
  const uint64_t dataStart = kHeaderLengthBytes + headerSize;
  SafetensorsFile file;
  for (const auto &[name, entry] : root.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        fail("__metadata__ is not an object");
      continue;
    }
    file.tensors.push_back(
        readTensor(name, entry, dataStart, fileSize - dataStart));
  }
  rejectOverlaps(file.tensors);
  file.mapping = std::move(mapping);
  return file;
}

} // namespace

const char *safetensorsDTypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  }
  return "?";
}

size_t storedElementBytes(const std::optional<DType> &dtype) {
  return dtype ? dtypeSize(*dtype) : 1;
}

const char *storedTypeName(const std::optional<DType> &dtype) {
  return dtype ? dtypeName(*dtype) : "u8";
}

std::optional<SafetensorsFile> readSafetensors(const std::string &path,
                                               std::string &error) {
  return reportFailures(path, error, [&]() -> std::optional<SafetensorsFile> {
    std::shared_ptr<MappedFile> mapping = MappedFile::open(path, error);
    if (!mapping)
      failReported(error);
    return parseSafetensors(std::move(mapping));
  });
}

} // namespace llamac
