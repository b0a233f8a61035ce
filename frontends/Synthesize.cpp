//===- Synthesize.cpp - Checkpoints with random weights -------------------===//

#include "frontends/Synthesize.h"

#include "frontends/AtomicFile.h"
#include "frontends/Errors.h"
#include "frontends/FloatConversion.h"
#include "frontends/Parallel.h"
#include "frontends/Safetensors.h"
#include "frontends/SafetensorsWriter.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace llamac {

namespace fs = std::filesystem;

// The values are written as the host stores them; safetensors is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian");

namespace {

constexpr size_t kChunkValues = 1 << 16;

uint64_t splitMix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/// xoshiro256**: one fast 64-bit draw per weight. Each tensor has its own
/// stream, so its values do not depend on how the others are chunked.
class RandomStream {
public:
  RandomStream(uint64_t seed, uint64_t tensorIndex) {
    uint64_t mix = seed ^ (tensorIndex * 0xd1342543de82ef95);
    for (uint64_t &word : state)
      word = splitMix64(mix);
  }

  uint64_t next() {
    const uint64_t result = rotateLeft(state[1] * 5, 7) * 9;
    const uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotateLeft(state[3], 45);
    return result;
  }

  /// About N(0, 0.02): the sum of the draw's four 16-bit uniforms
  /// (Irwin-Hall), centred and scaled by its standard deviation
  /// 65536 * sqrt(4 / 12).
  float smallNormal() {
    const uint64_t bits = next();
    const int64_t sum = int64_t(bits & 0xffff) + int64_t(bits >> 16 & 0xffff) +
                        int64_t(bits >> 32 & 0xffff) + int64_t(bits >> 48);
    return static_cast<float>(sum - 2 * 65535) * (0.02f / 37837.23f);
  }

private:
  static uint64_t rotateLeft(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
  }
  uint64_t state[4];
};

void encode(const std::vector<float> &values, DType dtype,
            std::vector<uint8_t> &bytes) {
  bytes.resize(values.size() * dtypeSize(dtype));
  if (dtype == DType::F32) {
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return;
  }
  auto *out = reinterpret_cast<uint16_t *>(bytes.data());
  for (size_t i = 0; i < values.size(); ++i)
    out[i] = dtype == DType::F16 ? floatToHalfBits(values[i])
                                 : floatToBFloat16Bits(values[i]);
}

/// Hands `sink` the encoded values of a weight of `shape`, chunk by chunk.
/// Norm weights (the only 1-d weights) scale activations, so they sit
/// around 1 rather than 0.
template <typename Sink>
void generateWeight(const std::vector<int64_t> &shape, DType dtype,
                    RandomStream random, Sink sink) {
  const float offset = shape.size() == 1 ? 1.0f : 0.0f;
  std::vector<float> values;
  std::vector<uint8_t> bytes;
  for (uint64_t remaining = elementCount(shape); remaining > 0;) {
    values.resize(std::min<uint64_t>(remaining, kChunkValues));
    for (float &value : values)
      value = offset + random.smallNormal();
    encode(values, dtype, bytes);
    sink(bytes);
    remaining -= values.size();
  }
}

void writeWeight(SafetensorsWriter &writer, const WeightRequirement &weight,
                 DType dtype, RandomStream random) {
  generateWeight(weight.shape, dtype, random, [&](const std::vector<uint8_t> &bytes) {
    std::string error;
    if (!writer.append(bytes.data(), bytes.size(), error))
      failReported(error);
  });
}

uint64_t byteSizeOf(const WeightRequirement &weight, DType dtype) {
  return elementCount(weight.shape) * dtypeSize(dtype);
}

/// Consecutive weights, greedily packed up to `maxShardBytes` (a larger
/// weight gets a shard of its own).
std::vector<std::vector<size_t>>
planShards(const std::vector<WeightRequirement> &weights, DType dtype,
           uint64_t maxShardBytes) {
  std::vector<std::vector<size_t>> shards(1);
  uint64_t shardBytes = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    uint64_t bytes = byteSizeOf(weights[i], dtype);
    if (!shards.back().empty() && bytes > maxShardBytes - shardBytes) {
      shards.emplace_back();
      shardBytes = 0;
    }
    shards.back().push_back(i);
    shardBytes += std::min(bytes, maxShardBytes);
  }
  return shards;
}

std::string shardName(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors",
                index + 1, count);
  return name;
}

void writeShard(const fs::path &path, const std::vector<WeightRequirement> &weights,
                const std::vector<size_t> &members, DType dtype,
                uint64_t seed) {
  std::vector<SafetensorsEntry> entries;
  for (size_t i : members)
    entries.push_back({weights[i].name, safetensorsDTypeName(dtype),
                       weights[i].shape, byteSizeOf(weights[i], dtype)});
  std::string error;
  std::unique_ptr<SafetensorsWriter> writer =
      SafetensorsWriter::create(path.string(), entries, error);
  if (!writer)
    failReported(error);
  for (size_t i : members)
    writeWeight(*writer, weights[i], dtype, RandomStream(seed, i));
  if (!writer->finish(error))
    failReported(error);
}

std::string indexJson(const std::vector<WeightRequirement> &weights,
                      const std::vector<std::vector<size_t>> &shards,
                      DType dtype) {
  nlohmann::ordered_json weightMap;
  uint64_t totalSize = 0;
  for (size_t shard = 0; shard < shards.size(); ++shard)
    for (size_t i : shards[shard]) {
      weightMap[weights[i].name] = shardName(shard, shards.size());
      totalSize += byteSizeOf(weights[i], dtype);
    }
  nlohmann::ordered_json index = {{"metadata", {{"total_size", totalSize}}},
                                  {"weight_map", weightMap}};
  return index.dump(2) + "\n";
}

void synthesize(const LlamaConfig &requested, DType dtype, uint64_t seed,
                const fs::path &dir, uint64_t maxShardBytes) {
  if (std::string problem = validateConfig(requested); !problem.empty())
    fail("invalid config: " + problem);
  if (maxShardBytes == 0)
    fail("the shard size limit must be positive");
  LlamaConfig config = requested;
  config.dtype = dtype;
  fs::create_directories(dir);

  const std::vector<WeightRequirement> weights = canonicalWeightNames(config);
  const std::vector<std::vector<size_t>> shards =
      planShards(weights, dtype, maxShardBytes);
  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  if (shards.size() == 1) {
    writeShard(single, weights, shards[0], dtype, seed);
    // A loader prefers model.safetensors, but leave nothing stale behind.
    fs::remove(index);
  } else {
    // Drawing the random values is the bottleneck (a 7B checkpoint takes a
    // minute on one core), and every shard has its own streams.
    forEachInParallel(shards.size(), [&](size_t shard) {
      writeShard(dir / shardName(shard, shards.size()), weights, shards[shard],
                 dtype, seed);
    });
    writeWholeFile(index.string(), indexJson(weights, shards, dtype));
    fs::remove(single);
  }
  writeWholeFile((dir / "config.json").string(), configToJson(config));
}

} // namespace

void fillRandomWeight(const std::vector<int64_t> &shape, DType dtype,
                      uint64_t seed, uint64_t streamIndex, uint8_t *out) {
  generateWeight(shape, dtype, RandomStream(seed, streamIndex),
                 [&](const std::vector<uint8_t> &bytes) {
                   std::memcpy(out, bytes.data(), bytes.size());
                   out += bytes.size();
                 });
}

bool synthesizeCheckpoint(const LlamaConfig &config, DType dtype,
                          uint64_t seed, const std::string &outDir,
                          std::string &error, uint64_t maxShardBytes) {
  return reportFailures(outDir, error, [&] {
    synthesize(config, dtype, seed, outDir, maxShardBytes);
    return true;
  });
}

} // namespace llamac
