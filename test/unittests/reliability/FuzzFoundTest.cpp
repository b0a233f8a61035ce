//===- FuzzFoundTest.cpp - Inputs the fuzz targets found ------------------===//
//
// Each test rebuilds an input a fuzz target (fuzz/, docs/RELIABILITY.md)
// found a problem with, from a shared fixture where it derives from one (the
// fixtures are never copied into the repository), and checks the fix.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/Tokenizer.h"
#include "test/unittests/reliability/ReliabilityTestSupport.h"

#include <fstream>
#include <sstream>

namespace llamac::reliability {
namespace {

std::string readShared(const std::string &relative) {
  std::ifstream file(std::string(LLAMAC_SHARED_DIR) + "/" + relative,
                     std::ios::binary);
  EXPECT_TRUE(file) << "missing shared fixture " << relative;
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

// tokenizer_model_fuzzer: a byte piece spelled "<\xA6\x99 \n\t" instead of
// "<0x49>". SentencePiece refuses the model with a message that quotes the
// piece, which reached the user as two lines holding raw bytes (a hostile
// tokenizer.model could write terminal escape sequences that way).
TEST(FuzzFound, TokenizerModelErrorQuotingThePieceIsOnePrintableLine) {
  std::string model = readShared("models/stories260K/hf/tokenizer.model");
  size_t at = model.find("<0x49>");
  ASSERT_NE(at, std::string::npos);
  model.replace(at, 6, std::string("<\xA6\x99 \n\t", 6));
  std::string error;
  EXPECT_FALSE(Tokenizer::loadFromBytes(model, "tokenizer.model", error));
  EXPECT_TRUE(isOneLineNaming(error, {"tokenizer.model: not a SentencePiece model",
                                      "byte piece <?? ?? is invalid"}));
  for (char c : error)
    EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << "unprintable byte in: " << error;
}

// tokenizer_model_fuzzer: a 68-byte model whose pieces include one of zero
// length. SentencePiece's trie builder throws (Darts "failed to insert key:
// zero-length key") out of LoadFromSerializedProto, which escaped
// Tokenizer::loadFromBytes and terminated the process.
TEST(FuzzFound, TokenizerModelWithAnEmptyPieceIsRefusedNotThrown) {
  const unsigned char model[] = {
      0x0a, 0x0e, 0x0a, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x15, 0x00, 0x00,
      0x00, 0x00, 0x18, 0x02, 0x0a, 0x0c, 0x0a, 0x03, 0x3c, 0x73, 0x0e, 0x0a,
      0x05, 0x00, 0x72, 0x77, 0x6f, 0x00, 0x18, 0x02, 0x0a, 0x0c, 0x0a, 0x03,
      0x3c, 0x73, 0x3e, 0x15, 0x00, 0x00, 0x00, 0x00, 0x18, 0x03, 0x0a, 0x0d,
      0x0a, 0x04, 0x3c, 0x2f, 0x73, 0x3e, 0x15, 0x00, 0x00, 0x00, 0x00, 0x18,
      0x03, 0x15, 0x00, 0x00, 0x00, 0x00, 0x18, 0x0a};
  std::string error;
  std::unique_ptr<Tokenizer> tokenizer;
  EXPECT_NO_THROW(tokenizer = Tokenizer::loadFromBytes(
                      std::string(reinterpret_cast<const char *>(model),
                                  sizeof(model)),
                      "tokenizer.model", error));
  EXPECT_FALSE(tokenizer);
  EXPECT_TRUE(isOneLineNaming(error, {"tokenizer.model: not a SentencePiece model",
                                      "zero-length key"}));
}

} // namespace
} // namespace llamac::reliability
