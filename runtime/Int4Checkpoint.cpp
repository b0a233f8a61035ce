//===- Int4Checkpoint.cpp - Checkpoints that store int4 weights -----------===//

#include "runtime/Int4Checkpoint.h"

#include "frontends/AtomicFile.h"
#include "frontends/Errors.h"
#include "frontends/Safetensors.h"
#include "frontends/SafetensorsWriter.h"
#include "runtime/ModelABI.h"

#include <filesystem>

namespace llamac {

namespace fs = std::filesystem;

namespace {

/// `entry`'s tensors as the checkpoint stores them: itself, or its int4
/// layout's three parts.
void addEntries(const WeightTableEntry &entry,
                std::vector<SafetensorsEntry> &entries) {
  if (!entry.int4GroupSize) {
    entries.push_back({entry.name, safetensorsDTypeName(entry.dtype), entry.shape,
                       entry.boundBytes(entry.dtype)});
    return;
  }
  const int64_t rows = entry.shape[0], columns = entry.shape[1];
  const std::vector<int64_t> groupsShape = {rows, columns / entry.int4GroupSize};
  const uint64_t groupBytes = int4GroupBytes(rows, columns, entry.int4GroupSize);
  const std::array<std::string, 3> names = int4PartNames(entry.name);
  entries.push_back({names[0], "U8", {rows, columns / 2},
                     uint64_t(int4CodeBytes(rows, columns))});
  entries.push_back({names[1], "F16", groupsShape, groupBytes});
  entries.push_back({names[2], "F16", groupsShape, groupBytes});
}

void writeWeights(const Manifest &manifest, const BoundWeights &weights,
                  const std::string &path) {
  std::vector<SafetensorsEntry> entries;
  for (const WeightTableEntry &entry : manifest.weightTable)
    addEntries(entry, entries);
  std::string error;
  std::unique_ptr<SafetensorsWriter> writer =
      SafetensorsWriter::create(path, entries, error);
  if (!writer)
    failReported(error);
  for (size_t i = 0; i < manifest.weightTable.size(); ++i) {
    const WeightTableEntry &entry = manifest.weightTable[i];
    if (!writer->append(weights.pointers[i], entry.boundBytes(entry.dtype), error))
      failReported(error);
  }
  if (!writer->finish(error))
    failReported(error);
}

void copyFile(const std::string &from, const fs::path &to) {
  std::string error;
  std::shared_ptr<MappedFile> source = MappedFile::open(from, error);
  if (!source)
    failReported(error);
  writeWholeFile(to.string(),
                 {reinterpret_cast<const char *>(source->data()), source->size()});
}

void writeCheckpoint(const Manifest &manifest, const ModelSpec &source,
                     const BoundWeights &weights, const fs::path &dir) {
  std::error_code ignored;
  if (fs::equivalent(dir, source.sourcePath, ignored))
    fail("is the checkpoint the weights are read from; write to another directory");
  fs::create_directories(dir);
  writeWeights(manifest, weights, (dir / "model.safetensors").string());
  // A loader prefers model.safetensors, but leave no stale index behind.
  fs::remove(dir / "model.safetensors.index.json");
  writeWholeFile((dir / "config.json").string(), configToJson(manifest.config));
  if (manifest.tokenizerPath)
    copyFile(*manifest.tokenizerPath, dir / "tokenizer.model");
  if (!source.generationConfigPath.empty())
    copyFile(source.generationConfigPath, dir / "generation_config.json");
}

} // namespace

bool writeInt4Checkpoint(const Manifest &manifest, const ModelSpec &source,
                         const BoundWeights &weights, const std::string &dir,
                         std::string &error) {
  return reportFailures(dir, error, [&] {
    writeCheckpoint(manifest, source, weights, dir);
    return true;
  });
}

} // namespace llamac
