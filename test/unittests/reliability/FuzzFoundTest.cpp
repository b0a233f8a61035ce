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

} // namespace
} // namespace llamac::reliability
