//===- SafetensorsTest.cpp - Reading and writing .safetensors files -------===//

#include "TestSupport.h"

#include "frontends/Safetensors.h"

#include <cstring>

using namespace llamac;
using namespace llamac::testing;

namespace {

class SafetensorsTest : public ::testing::Test {
protected:
  /// Writes a file with a hand-made header and expects the reader to refuse
  /// it with a message naming the file and `problem`.
  void expectRefused(const std::string &header, size_t dataBytes,
                     const std::string &problem) {
    expectRefusedBytes(rawSafetensors(header, dataBytes), problem);
  }
  void expectRefusedBytes(const std::string &bytes,
                          const std::string &problem) {
    std::string path = dir.write("model.safetensors", bytes);
    EXPECT_FALSE(readSafetensors(path, error));
    EXPECT_TRUE(mentions(error, {path, problem}));
  }

  TempDir dir;
  std::string error;
};

std::vector<uint8_t> floatBytes(std::initializer_list<float> values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

TEST_F(SafetensorsTest, WriterOutputReadsBack) {
  std::string path = dir.path("model.safetensors");
  ASSERT_TRUE(writeSafetensors(
      path,
      {{"b", "F32", {2, 2}, floatBytes({1, 2, 3, 4})},
       {"a", "BF16", {3}, {1, 2, 3, 4, 5, 6}},
       {"empty", "F16", {0, 4}, {}}},
      error))
      << error;
  std::optional<SafetensorsFile> file = readSafetensors(path, error);
  ASSERT_TRUE(file) << error;
  ASSERT_EQ(file->tensors.size(), 3u);
  const SafetensorsTensor &a = file->tensors[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.dtype, DType::BF16);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(std::memcmp(file->data(a), "\1\2\3\4\5\6", 6), 0);
  const SafetensorsTensor &b = file->tensors[1];
  EXPECT_EQ(b.byteSize, 16u);
  EXPECT_EQ(reinterpret_cast<const float *>(file->data(b))[3], 4.0f);
  EXPECT_EQ(b.fileOffset % 8, 0u) << "the data section is 8-byte aligned";
  EXPECT_EQ(file->tensors[2].byteSize, 0u);
}

TEST_F(SafetensorsTest, ReadsBytesAsU8WithoutAFloatDType) {
  std::string path = dir.path("model.safetensors");
  ASSERT_TRUE(writeSafetensors(path, {{"codes", "U8", {2, 3}, {1, 2, 3, 4, 5, 6}}}, error))
      << error;
  std::optional<SafetensorsFile> file = readSafetensors(path, error);
  ASSERT_TRUE(file) << error;
  const SafetensorsTensor &codes = file->tensors[0];
  EXPECT_FALSE(codes.dtype);
  EXPECT_EQ(codes.byteSize, 6u);
  EXPECT_EQ(std::memcmp(file->data(codes), "\1\2\3\4\5\6", 6), 0);
  EXPECT_STREQ(storedTypeName(codes.dtype), "u8");
}

TEST_F(SafetensorsTest, WriterRefusesDuplicateNames) {
  std::string path = dir.path("model.safetensors");
  EXPECT_FALSE(writeSafetensors(
      path, {{"a", "F32", {1}, floatBytes({1})}, {"a", "F32", {1}, floatBytes({2})}},
      error));
  EXPECT_TRUE(mentions(error, {path, "duplicate tensor name 'a'"}));
}

TEST_F(SafetensorsTest, AcceptsMetadata) {
  std::string path = dir.write(
      "model.safetensors",
      rawSafetensors(R"({"__metadata__": {"format": "pt"},)"
                     R"( "w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})",
                     4));
  std::optional<SafetensorsFile> file = readSafetensors(path, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->tensors.size(), 1u);
}

TEST_F(SafetensorsTest, RefusesMissingFile) {
  std::string path = dir.path("absent.safetensors");
  EXPECT_FALSE(readSafetensors(path, error));
  EXPECT_TRUE(mentions(error, {path, "cannot open"}));
}

TEST_F(SafetensorsTest, RefusesFileShorterThanHeaderLength) {
  expectRefusedBytes("\x10\0\0", "too short for a safetensors header");
}

TEST_F(SafetensorsTest, RefusesHeaderLengthBeyondFile) {
  std::string bytes = rawSafetensors("{}", 0);
  bytes[0] = 3; // Claims 3 bytes of header; the file has 2 after the length.
  expectRefusedBytes(bytes, "header length 3 does not fit in the file of 10 bytes");
}

TEST_F(SafetensorsTest, RefusesHugeHeaderLength) {
  std::string bytes = rawSafetensors("{}", 0);
  bytes[4] = 1; // 2^32 + 2 bytes.
  expectRefusedBytes(bytes, "exceeds the 100 MiB limit");
}

TEST_F(SafetensorsTest, RefusesTruncatedFile) {
  std::string path = dir.path("model.safetensors");
  ASSERT_TRUE(writeSafetensors(path, {{"w", "F32", {4}, floatBytes({1, 2, 3, 4})}},
                               error));
  std::string bytes;
  {
    std::optional<SafetensorsFile> file = readSafetensors(path, error);
    ASSERT_TRUE(file) << error;
    const auto *begin = reinterpret_cast<const char *>(file->mapping->data());
    bytes.assign(begin, file->mapping->size() - 5);
  }
  expectRefusedBytes(bytes, "tensor 'w' has data offsets [0, 16) that are out of range");
  EXPECT_TRUE(mentions(error, {"truncated"}));
}

TEST_F(SafetensorsTest, RefusesInvalidJson) {
  expectRefused(R"({"w": {"dtype": "F32",)", 0, "invalid JSON");
}

TEST_F(SafetensorsTest, RefusesNonObjectHeader) {
  expectRefused("[1, 2]", 0, "header is a JSON array, not an object");
}

TEST_F(SafetensorsTest, RefusesOffsetsOutOfRange) {
  expectRefused(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1000]}})",
                16, "tensor 'w' has data offsets [0, 1000) that are out of range");
}

TEST_F(SafetensorsTest, RefusesReversedOffsets) {
  expectRefused(
      R"({"model.norm.weight": {"dtype": "F32", "shape": [0], "data_offsets": [10, 5]}})",
      16, "tensor 'model.norm.weight' has data offsets [10, 5) that are out of range");
}

TEST_F(SafetensorsTest, RefusesNegativeOffsets) {
  expectRefused(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})",
                16, "tensor 'w' has data offsets [-4, 0] that are not non-negative");
}

TEST_F(SafetensorsTest, RefusesOverlappingTensors) {
  expectRefused(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                24, "tensors 'a' and 'b' overlap");
}

TEST_F(SafetensorsTest, RefusesShapeOverflowing64Bits) {
  expectRefused(
      R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 8], "data_offsets": [0, 0]}})",
      0, "tensor 'w' has shape [4611686018427387904, 8] whose byte size overflows 64 bits");
}

TEST_F(SafetensorsTest, RefusesNegativeShape) {
  expectRefused(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}})",
                0, "tensor 'w' has shape [-1]");
}

TEST_F(SafetensorsTest, RefusesSizeNotMatchingShape) {
  expectRefused(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}})",
                8, "tensor 'w' has shape [4] f32 (16 bytes) but data offsets [0, 8) hold 8");
}

TEST_F(SafetensorsTest, RefusesFloat8) {
  expectRefused(R"({"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})",
                4, "tensor 'w' has unsupported dtype 'F8_E4M3'");
}

TEST_F(SafetensorsTest, RefusesGarbageDType) {
  expectRefused(R"({"w": {"dtype": "\u00ff\u0001x", "shape": [4], "data_offsets": [0, 4]}})",
                4, "tensor 'w' has unsupported dtype '???x'");
  expectRefused(R"({"w": {"dtype": 7, "shape": [4], "data_offsets": [0, 4]}})", 4,
                "tensor 'w' has a dtype that is not a string: 7");
}

TEST_F(SafetensorsTest, RefusesDuplicateNames) {
  expectRefused(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                8, "duplicate key 'w'");
}

TEST_F(SafetensorsTest, RefusesMalformedEntries) {
  expectRefused(R"({"w": [1, 2]})", 0, "tensor 'w' must be described by an object, got array");
  expectRefused(R"({"w": {"dtype": "F32", "data_offsets": [0, 0]}})", 0,
                "tensor 'w' has no shape list");
  expectRefused(R"({"w": {"dtype": "F32", "shape": [], "data_offsets": [0]}})", 0,
                "tensor 'w' has no [begin, end] data_offsets");
  expectRefused(R"({"__metadata__": 3})", 0, "__metadata__ is not an object");
}

TEST_F(SafetensorsTest, KeepsMessagesShortForHostileHeaders) {
  // A name of a million characters with a newline, and a million-level deep
  // array where a shape should be (refused while parsing: rendering it
  // recursively would overflow the stack, and its DOM would take ~75 MB).
  std::string name = "a\\n" + std::string(1 << 20, 'x');
  expectRefused("{\"" + name + R"(": {"dtype": "F64", "shape": [], "data_offsets": [0, 0]}})",
                0, "tensor 'a?xxxx");
  EXPECT_LT(error.size(), 300u);
  std::string nested = std::string(1 << 20, '[') + std::string(1 << 20, ']');
  expectRefused(R"({"w": {"dtype": "F32", "shape": )" + nested +
                    R"(, "data_offsets": [0, 0]}})",
                0, "invalid JSON: nested more than 64 levels deep");
}

TEST_F(SafetensorsTest, RefusesDirectory) {
  EXPECT_FALSE(readSafetensors(dir.path(), error));
  EXPECT_TRUE(mentions(error, {dir.path(), "not a regular file"}));
}

} // namespace
