//===- BoundedParsingTest.cpp - Small hostile files stay cheap ------------===//
//
// A parser may allocate in proportion to its input, never to what a few
// bytes of it claim. Each test feeds a small file that once made a loader
// allocate hundreds of MiB (found by fuzz/llama2c_fuzzer's memory use and by
// the audit of the JSON readers) and checks both the one-line error and
// that peak memory stays small.
//
//===----------------------------------------------------------------------===//

#include "frontends/ModelSpec.h"
#include "frontends/Safetensors.h"
#include "runtime/Manifest.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "test/unittests/reliability/ReliabilityTestSupport.h"

#include <filesystem>

namespace llamac::reliability {
namespace {

/// Generous for a few KiB of input, far below what the old code took.
constexpr int64_t kSmallMiB = 24;

/// `depth` nested JSON arrays.
std::string nestedArrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(BoundedParsing, Llama2cHeaderClaimingManyLayersIsRefusedBeforeAllocating) {
  // 28 bytes that claim 65536 layers: the size check must come before the
  // per-layer table (once ~600k names, >100 MiB under ASan).
  ScratchDir dir;
  std::string path =
      dir.write("many-layers.bin", llama2cHeader(8, 16, 65536, 2, 1, 8, 4));
  std::string error;
  int64_t growth = peakMemoryGrowthMiB([&] {
    std::string childError;
    if (loadLlama2c(path, childError))
      std::abort();
  });
  EXPECT_FALSE(loadLlama2c(path, error));
  EXPECT_TRUE(isOneLineNaming(error, {path, "file is 28 bytes, header implies"}));
  EXPECT_GE(growth, 0);
  EXPECT_LT(growth, kSmallMiB);
}

TEST(BoundedParsing, DeeplyNestedSafetensorsHeaderIsRefused) {
  // 2 MB of '[' once parsed into ~150 MiB of DOM (75 bytes per level); the
  // 100 MiB the header may have would have taken gigabytes.
  ScratchDir dir;
  std::string path = dir.write("deep.safetensors",
                               safetensorsBytes(nestedArrays(1000000), 0));
  int64_t growth = peakMemoryGrowthMiB([&] {
    std::string childError;
    if (readSafetensors(path, childError))
      std::abort();
  });
  std::string error;
  EXPECT_FALSE(readSafetensors(path, error));
  EXPECT_TRUE(isOneLineNaming(error, {path, "nested more than 64 levels"}));
  EXPECT_GE(growth, 0);
  EXPECT_LT(growth, kSmallMiB);
}

TEST(BoundedParsing, DeeplyNestedConfigIsRefused) {
  ScratchDir dir;
  std::string deep;
  for (int i = 0; i < 100000; ++i)
    deep += "{\"rope_scaling\":";
  deep += "null" + std::string(100000, '}');
  std::string path = dir.write("config.json", deep);
  std::string error;
  EXPECT_FALSE(loadConfigFile(path, error));
  EXPECT_TRUE(isOneLineNaming(error, {path, "nested more than 64 levels"}));
}

TEST(BoundedParsing, DeeplyNestedManifestIsRefused) {
  ScratchDir dir;
  dir.write("manifest.json", "{\"weights\":" + nestedArrays(100000) + "}");
  std::string error;
  EXPECT_FALSE(loadManifest(dir.path(), error));
  EXPECT_TRUE(isOneLineNaming(error, {"manifest.json", "nested more than 64 levels"}));
}

TEST(BoundedParsing, ModerateNestingStillParses) {
  // 64 levels are allowed: the limit must not refuse real files.
  ScratchDir dir;
  std::string path = dir.write(
      "config.json", "{\"x\":" + nestedArrays(63) + ", \"vocab_size\": 0}");
  std::string error;
  EXPECT_FALSE(loadConfigFile(path, error));
  EXPECT_TRUE(isOneLineNaming(error, {"vocab_size must be positive"}));
}

TEST(BoundedParsing, TokenizerRefusesDevicesAndHugeFiles) {
  std::string error;
  EXPECT_FALSE(Tokenizer::load("/dev/zero", error));
  EXPECT_TRUE(isOneLineNaming(error, {"/dev/zero", "not a regular file"}));

  ScratchDir dir;
  std::string huge = dir.path("tokenizer.model");
  dir.write("tokenizer.model", "");
  std::filesystem::resize_file(huge, (uintmax_t(64) << 20) + 1); // sparse
  EXPECT_FALSE(Tokenizer::load(huge, error));
  EXPECT_TRUE(isOneLineNaming(error, {huge, "more than the 64 MiB"}));
}

} // namespace
} // namespace llamac::reliability
