//===- Manifest.cpp - An artifact's manifest.json -------------------------===//

#include "runtime/Manifest.h"

#include "frontends/CheckedMath.h"
#include "frontends/Errors.h"
#include "frontends/Json.h"
#include "runtime/ModelABI.h"

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace llamac {

using nlohmann::json;

namespace {

/// Reads the members of one JSON object; errors name the member by its dotted
/// path from the document root.
class ObjectReader {
public:
  ObjectReader(const json &value, std::string path)
      : value(value), path(std::move(path)) {}

  /// The object itself, for readers that take a whole document.
  const json &document() const { return value; }

  std::string qualified(const char *key) const {
    return path.empty() ? key : path + "." + key;
  }

  const json &member(const char *key) const {
    auto it = value.find(key);
    if (it == value.end())
      fail("missing field '" + qualified(key) + "'");
    return *it;
  }

  ObjectReader object(const char *key) const {
    const json &value = member(key);
    if (!value.is_object())
      failType(key, "an object");
    return ObjectReader(value, qualified(key));
  }

  std::string string(const char *key) const {
    const json &value = member(key);
    if (!value.is_string())
      failType(key, "a string");
    return value.get<std::string>();
  }

  bool boolean(const char *key) const {
    const json &value = member(key);
    if (!value.is_boolean())
      failType(key, "true or false");
    return value.get<bool>();
  }

  double number(const char *key) const {
    const json &value = member(key);
    if (!value.is_number())
      failType(key, "a number");
    return value.get<double>();
  }

  int64_t integer(const char *key) const { return toInteger(key, member(key)); }

  int64_t positiveInteger(const char *key) const {
    int64_t value = integer(key);
    if (value <= 0)
      fail("field '" + qualified(key) + "' must be positive, got " +
           std::to_string(value));
    return value;
  }

  std::optional<int64_t> nullableInteger(const char *key) const {
    const json &value = member(key);
    if (value.is_null())
      return std::nullopt;
    return toInteger(key, value);
  }

  std::optional<std::string> nullableString(const char *key) const {
    const json &value = member(key);
    if (value.is_null())
      return std::nullopt;
    return string(key);
  }

  const json &array(const char *key) const {
    const json &value = member(key);
    if (!value.is_array())
      failType(key, "an array");
    return value;
  }

private:
  [[noreturn]] void failType(const char *key, const char *expected) const {
    fail("field '" + qualified(key) + "' must be " + expected);
  }

  int64_t toInteger(const char *key, const json &value) const {
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() &&
         value.get<uint64_t>() >
             uint64_t(std::numeric_limits<int64_t>::max())))
      failType(key, "an integer");
    return value.get<int64_t>();
  }

  const json &value;
  std::string path;
};

DType readDType(const ObjectReader &reader, const char *key) {
  std::string text = reader.string(key);
  std::optional<DType> dtype = parseDType(text);
  if (!dtype)
    fail("field '" + reader.qualified(key) + "': unknown dtype '" +
         printable(text) + "'");
  return *dtype;
}

std::vector<int64_t> readShape(const json &value, const std::string &path) {
  if (!value.is_array())
    fail("field '" + path + "' must be an array of positive integers");
  std::vector<int64_t> shape;
  for (const json &dim : value) {
    if (!dim.is_number_integer() || dim.get<int64_t>() <= 0)
      fail("field '" + path + "' must be an array of positive integers");
    shape.push_back(dim.get<int64_t>());
  }
  return shape;
}

/// The config is a Hugging Face config.json (frontends' configToJson), read
/// by the frontends' own parser so the two never drift apart.
LlamaConfig readConfig(const ObjectReader &reader) {
  std::string error;
  std::optional<LlamaConfig> config =
      parseConfigText(reader.document().dump(), "field 'config'", error);
  if (!config)
    fail(error);
  return *config;
}

/// A table entry's optional `quantization` (absent or null: none): the
/// group size of an int4 weight, whose groups of columns must tile its rows
/// (Int4Weights.h); two codes share a byte, so a group is an even number.
int64_t readInt4GroupSize(const ObjectReader &entry,
                          const std::vector<int64_t> &shape) {
  auto field = entry.document().find("quantization");
  if (field == entry.document().end() || field->is_null())
    return 0;
  ObjectReader quantization = entry.object("quantization");
  std::string scheme = quantization.string("scheme");
  if (scheme != "int4")
    fail("field '" + quantization.qualified("scheme") + "' is '" +
         printable(scheme) + "', expected 'int4'");
  int64_t groupSize = quantization.integer("group_size");
  if (groupSize <= 0 || groupSize % 2 != 0)
    fail("field '" + quantization.qualified("group_size") +
         "' must be a positive even number, got " + std::to_string(groupSize));
  if (shape.size() != 2)
    fail("field '" + entry.qualified("shape") +
         "' of an int4 weight must have 2 dimensions, got " +
         std::to_string(shape.size()));
  if (shape[1] % groupSize != 0)
    fail("field '" + quantization.qualified("group_size") + "' (" +
         std::to_string(groupSize) + ") does not divide the weight's " +
         std::to_string(shape[1]) + " columns");
  return groupSize;
}

std::vector<WeightTableEntry> readWeightTable(const ObjectReader &weights) {
  const json &table = weights.array("table");
  if (table.empty())
    fail("field 'weights.table' is empty");
  std::vector<WeightTableEntry> entries;
  std::set<std::string> names;
  for (size_t i = 0; i < table.size(); ++i) {
    std::string path = "weights.table[" + std::to_string(i) + "]";
    if (!table[i].is_object())
      fail("field '" + path + "' must be an object");
    ObjectReader entry(table[i], path);
    WeightTableEntry parsed;
    parsed.name = entry.string("name");
    if (parsed.name.empty() || !names.insert(parsed.name).second)
      fail("field '" + entry.qualified("name") + "': empty or repeated name '" +
           printable(parsed.name) + "'");
    parsed.dtype = readDType(entry, "dtype");
    parsed.shape = readShape(entry.member("shape"), entry.qualified("shape"));
    parsed.int4GroupSize = readInt4GroupSize(entry, parsed.shape);
    entries.push_back(std::move(parsed));
  }
  return entries;
}

/// A data file the manifest names must be in the artifact directory itself:
/// a path elsewhere would read (and quote in errors) a file outside it.
std::string fileNameIn(const ObjectReader &root, const char *key) {
  std::string name = root.string(key);
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    fail("field '" + std::string(key) + "' is '" + printable(name) +
         "', not a file name in the artifact directory");
  return name;
}

/// The cache geometry is implied by the config and the limits; a manifest that
/// disagrees with itself would make the runtime allocate the wrong buffer.
std::array<int64_t, 6> readKVCacheShape(const ObjectReader &kvCache,
                                        const Manifest &manifest) {
  DType cacheDType = kvCacheDType(manifest.computeDType);
  if (kvCache.string("dtype") != dtypeName(cacheDType))
    fail("field 'kv_cache.dtype' must be '" + std::string(dtypeName(cacheDType)) +
         "' for compute dtype '" + dtypeName(manifest.computeDType) + "'");
  const LlamaConfig &config = manifest.config;
  std::array<int64_t, 6> expected = {
      config.numLayers,       2,           manifest.maxBatch,
      config.numKeyValueHeads, manifest.maxSeq, config.headDim};
  std::vector<int64_t> shape =
      readShape(kvCache.member("shape"), kvCache.qualified("shape"));
  if (shape != std::vector<int64_t>(expected.begin(), expected.end()))
    fail("field 'kv_cache.shape' disagrees with config, max_batch and max_seq");
  uint64_t bytes = sizeof(float);
  for (int64_t dim : expected) {
    std::optional<uint64_t> product = checkedMul(bytes, uint64_t(dim));
    if (!product)
      fail("field 'kv_cache.shape' describes more bytes than fit in 64 bits");
    bytes = *product;
  }
  return expected;
}

void readOutput(const ObjectReader &output, Manifest &manifest) {
  std::string kind = output.string("kind");
  manifest.outputSize = output.positiveInteger("size");
  const LlamaConfig &config = manifest.config;
  bool causal = config.architecture == Architecture::CausalLM;
  if (kind == "logits" && causal && manifest.outputSize == config.vocabSize) {
    manifest.outputKind = OutputKind::Logits;
    return;
  }
  if (kind == "scores" && !causal && manifest.outputSize == config.numLabels) {
    manifest.outputKind = OutputKind::Scores;
    return;
  }
  fail("field 'output' (kind '" + printable(kind) + "', size " +
       std::to_string(manifest.outputSize) +
       ") does not match config.architecture and its vocab_size/num_labels");
}

Manifest readManifest(const json &document, const std::string &artifactDir) {
  ObjectReader root(document, "");
  std::string format = root.string("format");
  if (format != "llamac-artifact")
    fail("field 'format' is '" + printable(format) +
         "', expected 'llamac-artifact'");
  int64_t version = root.integer("format_version");
  if (version < kOldestArtifactFormatVersion || version > kArtifactFormatVersion)
    fail("field 'format_version' is " + std::to_string(version) +
         ", this runtime reads versions " +
         std::to_string(kOldestArtifactFormatVersion) + " to " +
         std::to_string(kArtifactFormatVersion) +
         " (compile the model again with this llamac)");

  Manifest manifest;
  manifest.artifactDir = artifactDir;
  // model.so is native code: loading an artifact trusts it, so the library
  // may be named by any path (tests point it at a stand-in).
  std::string library = root.string("library");
  if (library.empty())
    fail("field 'library' is empty");
  manifest.libraryPath = (std::filesystem::path(artifactDir) / library).string();
  ObjectReader entryPoints = root.object("entry_points");
  manifest.prefillSymbol = entryPoints.string("prefill");
  manifest.decodeSymbol = entryPoints.string("decode");
  std::string target = root.string("target");
  if (target == "cuda")
    manifest.target = Manifest::Target::CUDA;
  else if (target != "cpu")
    fail("field 'target' is '" + printable(target) +
         "', expected 'cpu' or 'cuda'");
  manifest.chip = root.string("chip");
  std::optional<DType> compute = parseDType(root.string("compute_dtype"));
  if (!compute || (manifest.target == Manifest::Target::CPU && *compute != DType::F32))
    fail("field 'compute_dtype' must be f32 (cpu) or f32, f16, bf16 (cuda)");
  manifest.computeDType = *compute;
  if (manifest.target == Manifest::Target::CUDA) {
    manifest.scratchBytes =
        uint64_t(root.object("memory_plan").positiveInteger("scratch_bytes"));
    manifest.dependentLaunch = root.boolean("dependent_launch");
    std::optional<std::string> tensorCores = root.nullableString("prefill_tensor_cores");
    manifest.tensorCoreGemm = !tensorCores || *tensorCores == "all" || *tensorCores == "gemm";
  }
  manifest.maxBatch = root.positiveInteger("max_batch");
  manifest.maxSeq = root.positiveInteger("max_seq");
  manifest.config = readConfig(root.object("config"));
  manifest.kvCacheShape = readKVCacheShape(root.object("kv_cache"), manifest);
  readOutput(root.object("output"), manifest);
  ObjectReader weights = root.object("weights");
  manifest.weightSource = weights.nullableString("source");
  manifest.weightTable = readWeightTable(weights);
  if (!root.member("tokenizer").is_null())
    manifest.tokenizerPath =
        (std::filesystem::path(artifactDir) / fileNameIn(root, "tokenizer"))
            .string();
  if (const json &generation = root.member("generation_config");
      !generation.is_null()) {
    std::string error;
    manifest.generationConfig = parseGenerationConfig(generation, error);
    if (!manifest.generationConfig)
      fail(error);
  }
  return manifest;
}

} // namespace

uint64_t WeightTableEntry::boundBytes(DType stored) const {
  if (int4GroupSize)
    return uint64_t(int4BufferBytes(shape[0], shape[1], int4GroupSize));
  return elementCount(shape) * dtypeSize(stored);
}

std::optional<Manifest> parseManifest(const json &document,
                                      const std::string &artifactDir,
                                      std::string &error) {
  std::string path = (std::filesystem::path(artifactDir) / "manifest.json").string();
  return reportFailures(path, error, [&]() -> std::optional<Manifest> {
    if (!document.is_object())
      fail("expected a JSON object");
    return readManifest(document, artifactDir);
  });
}

std::optional<Manifest> loadManifest(const std::string &artifactDir,
                                     std::string &error) {
  // A manifest lists a few hundred weights per layer block; anything near
  // this bound is not a manifest.
  constexpr uint64_t maxManifestBytes = 64ull << 20;
  std::string path = (std::filesystem::path(artifactDir) / "manifest.json").string();
  std::optional<json> document =
      reportFailures(path, error, [&]() -> std::optional<json> {
        return readJsonObjectFile(path, maxManifestBytes);
      });
  if (!document)
    return std::nullopt;
  return parseManifest(*document, artifactDir, error);
}

} // namespace llamac
