//===- SafetensorsWriter.h - Writing .safetensors files ---------*- C++ -*-===//
//
// Used by the checkpoint synthesizer (streaming, tensor by tensor, so a 7B
// checkpoint never sits in memory) and by tests that need small or
// deliberately malformed files: the dtype is written verbatim and the byte
// size is not checked against the shape.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_SAFETENSORSWRITER_H
#define LLAMAC_FRONTENDS_SAFETENSORSWRITER_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llamac {

class AtomicFile;

/// One tensor of the header; its data follows the previous tensor's.
struct SafetensorsEntry {
  std::string name;
  std::string dtype; ///< Safetensors spelling: "F32", "F16", "BF16".
  std::vector<int64_t> shape;
  uint64_t byteSize = 0;
};

/// Writes the header at creation, then the data section as it is appended
/// (the tensors' bytes in entry order); the file appears under `path` only
/// when finish() succeeds.
class SafetensorsWriter {
public:
  static std::unique_ptr<SafetensorsWriter>
  create(const std::string &path, const std::vector<SafetensorsEntry> &entries,
         std::string &error);
  ~SafetensorsWriter();

  bool append(const void *data, size_t size, std::string &error);
  /// Fails unless exactly the declared bytes were appended.
  bool finish(std::string &error);

private:
  SafetensorsWriter(std::string path, std::unique_ptr<AtomicFile> file,
                    uint64_t dataBytes);

  std::string path;
  std::unique_ptr<AtomicFile> file;
  uint64_t dataBytes;
  uint64_t appendedBytes = 0;
};

struct SafetensorsTensorData {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Writes a whole file at once.
bool writeSafetensors(const std::string &path,
                      const std::vector<SafetensorsTensorData> &tensors,
                      std::string &error);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_SAFETENSORSWRITER_H
