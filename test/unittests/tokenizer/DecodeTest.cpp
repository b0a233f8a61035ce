//===- DecodeTest.cpp - Ids to text ---------------------------------------===//

#include "TokenizerTestSupport.h"

#include "runtime/tokenizer/Utf8.h"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

namespace llamac::testing {
namespace {

constexpr const char *kHfSpecialTokens =
    "fixtures/tokenizer/llama2/hf_special_tokens.json";

DecodeOptions skippingSpecial() {
  DecodeOptions options;
  options.skipSpecialTokens = true;
  return options;
}

std::vector<TokenId> concat(std::vector<TokenId> head,
                            const std::vector<TokenId> &tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

TEST(Decode, HuggingFaceCases) {
  int checked = 0;
  for (const nlohmann::json &testCase :
       sharedJson(kHfSpecialTokens)["decode"]) {
    std::vector<TokenId> ids = idsOf(testCase["ids"]);
    for (const char *key : {"decoded", "hf_decoded"}) {
      if (testCase.contains(key)) {
        EXPECT_EQ(decodeOrThrow(llama2(), ids, DecodeOptions()),
                  testCase[key].get<std::string>());
        ++checked;
      }
    }
    if (testCase.contains("hf_decoded_skip_special")) {
      EXPECT_EQ(decodeOrThrow(llama2(), ids, skippingSpecial()),
                testCase["hf_decoded_skip_special"].get<std::string>());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
}

TEST(Decode, ReferenceVectorsRoundTrip) {
  for (const nlohmann::json &vector :
       sharedJson("fixtures/tokenizer/llama2/vectors.json")["vectors"]) {
    std::string text = vector["text"];
    EXPECT_EQ(decodeOrThrow(llama2(), idsOf(vector["ids"]), DecodeOptions()),
              text);
    EXPECT_EQ(decodeOrThrow(llama2(), idsOf(vector["ids"]), skippingSpecial()),
              text);
  }
}

TEST(Decode, LeadingSpaceRule) {
  // Only the first piece loses its "▁": " Hello" is [▁, ▁Hello].
  EXPECT_EQ(decodeOrThrow(llama2(), {15043}, DecodeOptions()), "Hello");
  EXPECT_EQ(decodeOrThrow(llama2(), {29871, 15043}, DecodeOptions()), " Hello");
  EXPECT_EQ(decodeOrThrow(llama2(), {15043, 15043}, DecodeOptions()),
            "Hello Hello");
  // A shown special token is the first piece; a skipped one is not there.
  EXPECT_EQ(decodeOrThrow(llama2(), {1, 15043}, DecodeOptions()), "<s> Hello");
  EXPECT_EQ(decodeOrThrow(llama2(), {1, 15043}, skippingSpecial()), "Hello");
  EXPECT_EQ(decodeOrThrow(llama2(), {0, 2}, DecodeOptions()), "<unk></s>");
  EXPECT_EQ(decodeOrThrow(llama2(), {0, 2}, skippingSpecial()), "");
}

TEST(Decode, BytePiecesJoinBeforeUtf8Decoding) {
  std::string llama = "\xF0\x9F\xA6\x99";
  EXPECT_EQ(
      decodeOrThrow(llama2(), bytePieceIds(llama2(), llama), DecodeOptions()),
      llama);
  // A skipped special token does not interrupt the run.
  std::vector<TokenId> ids = bytePieceIds(llama2(), llama);
  ids.insert(ids.begin() + 2, llama2().eosId());
  EXPECT_EQ(decodeOrThrow(llama2(), ids, skippingSpecial()), llama);
}

TEST(Decode, IllFormedBytesBecomeReplacementCharacters) {
  const std::string fffd(kReplacementCharacter);
  // One U+FFFD per byte that starts no character, as SentencePiece does.
  EXPECT_EQ(decodeOrThrow(llama2(), bytePieceIds(llama2(), "\xF0\x9F\x98"), {}),
            fffd + fffd + fffd);
  EXPECT_EQ(decodeOrThrow(
                llama2(),
                concat(bytePieceIds(llama2(), "\xF0\x9F\x98"), {22172}), {}),
            fffd + fffd + fffd + " hello");
  EXPECT_EQ(
      decodeOrThrow(llama2(), bytePieceIds(llama2(), "\x80\xC3\xA9\xC3"), {}),
      fffd + "\xC3\xA9" + fffd);
  EXPECT_EQ(decodeOrThrow(llama2(), bytePieceIds(llama2(), "\xED\xA0\x80"), {}),
            fffd + fffd + fffd);
}

TEST(Decode, OutOfVocabularyIdIsAnError) {
  for (TokenId id : {-1, 32000, 1 << 30}) {
    std::string error;
    EXPECT_FALSE(llama2().decode({15043, id}, DecodeOptions(), error));
    EXPECT_NE(error.find(std::to_string(id)), std::string::npos) << error;
  }
}

TEST(Decode, StoriesGreedyText) {
  const nlohmann::json &golden =
      sharedJson("models/stories260K/hf/golden.json");
  EXPECT_EQ(decodeOrThrow(sharedTokenizer(kStoriesTokenizerPath),
                          idsOf(golden["greedy_from_bos"]), skippingSpecial()),
            golden["greedy_from_bos_text"].get<std::string>());
}

/// Random ids of every kind but special (SentencePiece shows those
/// differently), with byte pieces frequent enough to form and break
/// characters of every length.
std::vector<TokenId> randomTextAndBytePieces(Draw &draw, size_t length) {
  const std::vector<std::string> characters = {
      "\xF0\x9F\xA6\x99", "\xE2\x9C\x88", "\xC3\xA9", "\xF0\x9F\x91\xA8"};
  std::vector<TokenId> ids;
  while (ids.size() < length) {
    switch (draw.below(4)) {
    case 0:
      ids.push_back(draw.between(259, 31999));
      break;
    case 1:
      ids.push_back(draw.between(3, 258));
      break;
    default: {
      std::vector<TokenId> bytes =
          bytePieceIds(llama2(), draw.oneOf(characters));
      // Sometimes only part of the character.
      uint32_t size = static_cast<uint32_t>(bytes.size());
      bytes.resize(draw.chance(70) ? size : draw.between(1, size));
      ids.insert(ids.end(), bytes.begin(), bytes.end());
    }
    }
  }
  return ids;
}

TEST(Decode, MatchesSentencePieceOnTextAndBytePieces) {
  sentencepiece::SentencePieceProcessor reference;
  ASSERT_TRUE(reference.Load(sharedPath(kLlama2TokenizerPath)).ok());
  Draw draw(20240229);
  for (int round = 0; round < 300; ++round) {
    // A leading "a" makes SentencePiece's leading-space rule (strip "▁"
    // while its output is empty) and Hugging Face's (the first piece
    // only) agree.
    std::vector<TokenId> ids =
        concat({pieceId(llama2(), "a")}, randomTextAndBytePieces(draw, 30));
    std::string expected =
        reference.DecodeIds(std::vector<int>(ids.begin(), ids.end()));
    ASSERT_EQ(decodeOrThrow(llama2(), ids, DecodeOptions()), expected)
        << "round " << round;
  }
}

} // namespace
} // namespace llamac::testing
