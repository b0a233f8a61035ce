//===- CudaManifestTest.cpp - CUDA artifacts' manifest fields -------------===//

#include "runtime/Manifest.h"
#include "runtime/cuda/CudaExecutor.h"
#include "test/unittests/runtime/FakeArtifact.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

class CudaManifestTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifact(root, tinyCausalConfig(), 2, 32);
    manifest = artifact.manifest;
    manifest["target"] = "cuda";
    manifest["chip"] = "sm_90";
    manifest["compute_dtype"] = "f16";
    manifest["kv_cache"]["dtype"] = "f16";
    manifest["memory_plan"] = {{"scratch_bytes", 1 << 20}};
    manifest["dependent_launch"] = true;
    manifest["prefill_tensor_cores"] = nullptr;
  }

  std::optional<Manifest> parse(std::string &error) {
    return parseManifest(manifest, artifact.artifactDir, error);
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
  json manifest;
};

} // namespace

TEST_F(CudaManifestTest, ReadsTargetChipDTypeAndScratch) {
  std::string error;
  std::optional<Manifest> parsed = parse(error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->target, Manifest::Target::CUDA);
  EXPECT_EQ(parsed->chip, "sm_90");
  EXPECT_EQ(parsed->computeDType, DType::F16);
  EXPECT_EQ(parsed->scratchBytes, 1u << 20);
  EXPECT_TRUE(parsed->dependentLaunch);
  EXPECT_TRUE(parsed->tensorCoreGemm);
  EXPECT_EQ(parsed->artifactDir, artifact.artifactDir);
}

TEST_F(CudaManifestTest, ReadsWhetherPrefillGemmsRunOnTheTensorCores) {
  std::string error;
  for (const char *choice : {"all", "gemm"}) {
    manifest["prefill_tensor_cores"] = choice;
    std::optional<Manifest> parsed = parse(error);
    ASSERT_TRUE(parsed) << error;
    EXPECT_TRUE(parsed->tensorCoreGemm) << choice;
  }
  for (const char *choice : {"attention", "none"}) {
    manifest["prefill_tensor_cores"] = choice;
    std::optional<Manifest> parsed = parse(error);
    ASSERT_TRUE(parsed) << error;
    EXPECT_FALSE(parsed->tensorCoreGemm) << choice;
  }
}

TEST_F(CudaManifestTest, ReadsInt4Weights) {
  manifest["weights"]["table"][2]["quantization"] = {{"scheme", "int4"},
                                                     {"group_size", 8}};
  std::string error;
  std::optional<Manifest> parsed = parse(error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->weightTable[2].int4GroupSize, 8);
}

TEST_F(CudaManifestTest, DependentLaunchMustBeSaid) {
  manifest.erase("dependent_launch");
  std::string error;
  EXPECT_FALSE(parse(error));
  EXPECT_THAT(error, HasSubstr("dependent_launch"));
  manifest["dependent_launch"] = "yes";
  EXPECT_FALSE(parse(error));
  EXPECT_THAT(error, HasSubstr("dependent_launch"));
}

TEST_F(CudaManifestTest, RefusesACacheInAnotherDType) {
  manifest["kv_cache"]["dtype"] = "f32";
  std::string error;
  EXPECT_FALSE(parse(error));
  EXPECT_THAT(error, HasSubstr("kv_cache.dtype"));
}

TEST_F(CudaManifestTest, RefusesReducedPrecisionOnTheCPU) {
  manifest["target"] = "cpu";
  std::string error;
  EXPECT_FALSE(parse(error));
  EXPECT_THAT(error, HasSubstr("compute_dtype"));
}

TEST_F(CudaManifestTest, RefusesAnUnknownTarget) {
  manifest["target"] = "rocm";
  std::string error;
  EXPECT_FALSE(parse(error));
  EXPECT_THAT(error, HasSubstr("'target'"));
}

TEST_F(CudaManifestTest, WithoutADriverTheExecutorSaysSoInOneLine) {
  if (void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(driver);
    GTEST_SKIP() << "this machine has a CUDA driver";
  }
  std::string error;
  std::optional<Manifest> parsed = parse(error);
  ASSERT_TRUE(parsed) << error;
  // Zeros: every weight within float16's range.
  std::vector<std::vector<uint8_t>> weights;
  std::vector<const void *> hostWeights;
  for (const WeightTableEntry &entry : parsed->weightTable) {
    weights.emplace_back(elementCount(entry.shape) * dtypeSize(entry.dtype));
    hostWeights.push_back(weights.back().data());
  }
  EXPECT_FALSE(cuda::CudaExecutor::create(*parsed, hostWeights, error));
  EXPECT_THAT(error, HasSubstr("no CUDA driver"));
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(CubinChipTest, RunsOnItsMajorArchitectureAtALaterMinorRevision) {
  EXPECT_TRUE(cuda::cubinRunsOn("sm_90", 9, 0));
  EXPECT_TRUE(cuda::cubinRunsOn("sm_80", 8, 6));
  EXPECT_FALSE(cuda::cubinRunsOn("sm_80", 9, 0));
  EXPECT_FALSE(cuda::cubinRunsOn("sm_90", 8, 9));
}

TEST(CubinChipTest, ArchSpecificFeaturesRunOnTheirOwnRevisionOnly) {
  EXPECT_TRUE(cuda::cubinRunsOn("sm_90a", 9, 0));
  EXPECT_FALSE(cuda::cubinRunsOn("sm_90a", 9, 1));
  EXPECT_FALSE(cuda::cubinRunsOn("sm_90a", 10, 0));
}

TEST(CubinChipTest, RefusesWhatIsNotAChip) {
  EXPECT_FALSE(cuda::cubinRunsOn("", 9, 0));
  EXPECT_FALSE(cuda::cubinRunsOn("sm_", 9, 0));
  EXPECT_FALSE(cuda::cubinRunsOn("sm_90x", 9, 0));
  EXPECT_FALSE(cuda::cubinRunsOn("x86-64", 9, 0));
}
