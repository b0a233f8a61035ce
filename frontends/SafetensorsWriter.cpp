//===- SafetensorsWriter.cpp - Writing .safetensors files -----------------===//

#include "frontends/SafetensorsWriter.h"

#include "frontends/AtomicFile.h"
#include "frontends/CheckedMath.h"
#include "frontends/Errors.h"

#include <nlohmann/json.hpp>

namespace llamac {

namespace {

/// The header is padded with spaces so that the data section starts 8-byte
/// aligned, as the safetensors library does.
constexpr size_t kDataAlignment = 8;

std::string headerFor(const std::vector<SafetensorsEntry> &entries,
                      uint64_t &dataBytes) {
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  dataBytes = 0;
  for (const SafetensorsEntry &entry : entries) {
    if (header.contains(entry.name))
      fail("duplicate tensor name '" + entry.name + "'");
    std::optional<uint64_t> end = checkedAdd(dataBytes, entry.byteSize);
    if (!end)
      fail("the tensors' total size overflows 64 bits");
    header[entry.name] = {{"dtype", entry.dtype},
                          {"shape", entry.shape},
                          {"data_offsets", {dataBytes, *end}}};
    dataBytes = *end;
  }
  std::string text = header.dump();
  text.append((kDataAlignment - text.size() % kDataAlignment) % kDataAlignment,
              ' ');
  return text;
}

} // namespace

SafetensorsWriter::SafetensorsWriter(std::string path,
                                     std::unique_ptr<AtomicFile> file,
                                     uint64_t dataBytes)
    : path(std::move(path)), file(std::move(file)), dataBytes(dataBytes) {}

SafetensorsWriter::~SafetensorsWriter() = default;

std::unique_ptr<SafetensorsWriter>
SafetensorsWriter::create(const std::string &path,
                          const std::vector<SafetensorsEntry> &entries,
                          std::string &error) {
  return reportFailures(path, error, [&] {
    uint64_t dataBytes = 0;
    std::string header = headerFor(entries, dataBytes);
    auto file = std::make_unique<AtomicFile>(path);
    uint8_t length[8];
    for (int i = 0; i < 8; ++i)
      length[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
    file->write(length, sizeof length);
    file->write(header.data(), header.size());
    return std::unique_ptr<SafetensorsWriter>(
        new SafetensorsWriter(path, std::move(file), dataBytes));
  });
}

bool SafetensorsWriter::append(const void *data, size_t size,
                               std::string &error) {
  return reportFailures(path, error, [&] {
    if (size > dataBytes - appendedBytes)
      fail("more data appended than the header declares (" +
           std::to_string(dataBytes) + " bytes)");
    file->write(data, size);
    appendedBytes += size;
    return true;
  });
}

bool SafetensorsWriter::finish(std::string &error) {
  return reportFailures(path, error, [&] {
    if (appendedBytes != dataBytes)
      fail(std::to_string(appendedBytes) + " bytes of data appended, the "
           "header declares " + std::to_string(dataBytes));
    file->commit();
    return true;
  });
}

bool writeSafetensors(const std::string &path,
                      const std::vector<SafetensorsTensorData> &tensors,
                      std::string &error) {
  return reportFailures(path, error, [&] {
    std::vector<SafetensorsEntry> entries;
    for (const SafetensorsTensorData &tensor : tensors)
      entries.push_back(
          {tensor.name, tensor.dtype, tensor.shape, tensor.bytes.size()});
    std::unique_ptr<SafetensorsWriter> writer =
        SafetensorsWriter::create(path, entries, error);
    if (!writer)
      return false;
    for (const SafetensorsTensorData &tensor : tensors)
      if (!writer->append(tensor.bytes.data(), tensor.bytes.size(), error))
        return false;
    return writer->finish(error);
  });
}

} // namespace llamac
