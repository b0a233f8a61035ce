//===- StreamingDecoderTest.cpp - Printing ids as they come ---------------===//

#include "TokenizerTestSupport.h"

#include "runtime/tokenizer/Utf8.h"

#include <gtest/gtest.h>

namespace llamac::testing {
namespace {

/// For every prefix of `ids`: what the stream printed so far plus what
/// finish() flushes equals the one-shot decoding of the prefix, and every
/// push printed whole characters only.
::testing::AssertionResult streamsLikeOneShot(const Tokenizer &tokenizer,
                                              const std::vector<TokenId> &ids,
                                              DecodeOptions options) {
  StreamingDecoder stream(tokenizer, options);
  std::string printed;
  for (size_t length = 1; length <= ids.size(); ++length) {
    std::string error;
    std::optional<std::string> piece = stream.push(ids[length - 1], error);
    if (!piece)
      return ::testing::AssertionFailure() << "push failed: " << error;
    if (findIllFormedUtf8(*piece))
      return ::testing::AssertionFailure()
             << "push " << length << " printed a partial character";
    printed += *piece;

    StreamingDecoder finishing = stream;
    std::string streamed = printed + finishing.finish();
    std::vector<TokenId> prefix(ids.begin(), ids.begin() + length);
    std::string oneShot = decodeOrThrow(tokenizer, prefix, options);
    if (streamed != oneShot)
      return ::testing::AssertionFailure()
             << "prefix of " << length << " ids streams as '" << streamed
             << "' but decodes as '" << oneShot << "'";
  }
  return ::testing::AssertionSuccess();
}

std::vector<DecodeOptions> bothDecodeModes() {
  DecodeOptions skipping;
  skipping.skipSpecialTokens = true;
  return {DecodeOptions(), skipping};
}

TEST(StreamingDecoder, ReferenceVectors) {
  for (const nlohmann::json &vector :
       sharedJson("fixtures/tokenizer/llama2/vectors.json")["vectors"])
    for (DecodeOptions options : bothDecodeModes())
      EXPECT_TRUE(streamsLikeOneShot(llama2(), idsOf(vector["ids"]), options))
          << vector["text"];
}

/// Ids of every kind: text pieces, specials, stray bytes, and emoji (ZWJ
/// sequences too) as byte pieces, whole or cut short.
std::vector<TokenId> randomIds(Draw &draw, size_t length) {
  std::vector<TokenId> ids;
  while (ids.size() < length) {
    uint32_t kind = draw.below(10);
    if (kind < 4) {
      std::vector<TokenId> bytes =
          bytePieceIds(llama2(), draw.oneOf(sampleEmoji()));
      if (draw.chance(20))
        bytes.resize(draw.below(static_cast<uint32_t>(bytes.size())));
      ids.insert(ids.end(), bytes.begin(), bytes.end());
    } else if (kind < 6) {
      ids.push_back(draw.between(3, 258));
    } else if (kind < 7) {
      ids.push_back(draw.between(0, 2));
    } else {
      ids.push_back(draw.between(259, 31999));
    }
  }
  return ids;
}

TEST(StreamingDecoder, RandomIds) {
  Draw draw(7);
  for (int round = 0; round < 400; ++round) {
    std::vector<TokenId> ids = randomIds(draw, draw.between(1, 40));
    for (DecodeOptions options : bothDecodeModes())
      ASSERT_TRUE(streamsLikeOneShot(llama2(), ids, options))
          << "round " << round;
  }
}

TEST(StreamingDecoder, HoldsBackAnIncompleteCharacter) {
  StreamingDecoder stream(llama2());
  std::string error;
  std::vector<TokenId> llama = bytePieceIds(llama2(), "\xF0\x9F\xA6\x99");
  for (size_t i = 0; i + 1 < llama.size(); ++i)
    EXPECT_EQ(stream.push(llama[i], error), "");
  EXPECT_EQ(stream.push(llama.back(), error), "\xF0\x9F\xA6\x99");
  EXPECT_EQ(stream.push(15043, error), " Hello");
}

TEST(StreamingDecoder, FinishFlushesAndStartsOver) {
  StreamingDecoder stream(llama2());
  std::string error;
  EXPECT_EQ(stream.push(15043, error), "Hello");
  EXPECT_EQ(stream.push(bytePieceIds(llama2(), "\xE2")[0], error), "");
  EXPECT_EQ(stream.finish(), std::string(kReplacementCharacter));
  EXPECT_EQ(stream.push(15043, error), "Hello");
}

TEST(StreamingDecoder, OutOfVocabularyIdIsAnErrorAndChangesNothing) {
  StreamingDecoder stream(llama2());
  std::string error;
  EXPECT_EQ(stream.push(bytePieceIds(llama2(), "\xC3")[0], error), "");
  EXPECT_FALSE(stream.push(32000, error));
  EXPECT_NE(error.find("32000"), std::string::npos) << error;
  EXPECT_EQ(stream.push(bytePieceIds(llama2(), "\xA9")[0], error), "\xC3\xA9");
}

} // namespace
} // namespace llamac::testing
