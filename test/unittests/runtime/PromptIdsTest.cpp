//===- PromptIdsTest.cpp - Parsing --prompt-ids ---------------------------===//

#include "runtime/PromptIds.h"

#include <gtest/gtest.h>

using namespace llamac;

namespace {
using Rows = std::vector<std::vector<int32_t>>;

std::string parseError(const std::string &text) {
  std::string error;
  EXPECT_FALSE(parsePromptIds(text, error)) << text;
  return error;
}
} // namespace

TEST(PromptIdsTest, ParsesRowsAndIds) {
  std::string error;
  EXPECT_EQ(parsePromptIds("1,2,3;4,5", error), (Rows{{1, 2, 3}, {4, 5}}));
  EXPECT_EQ(parsePromptIds(" 1, 2 ; 3 ", error), (Rows{{1, 2}, {3}}));
  EXPECT_EQ(parsePromptIds("2147483647", error), (Rows{{2147483647}}));
}

TEST(PromptIdsTest, RejectsMalformedText) {
  EXPECT_NE(parseError(""), "");
  EXPECT_NE(parseError("1;"), "");
  EXPECT_NE(parseError("1,,2"), "");
  EXPECT_NE(parseError("-1"), "");
  EXPECT_NE(parseError("1.5"), "");
  EXPECT_NE(parseError("abc"), "");
  EXPECT_NE(parseError("2147483648"), "");
  EXPECT_EQ(parseError("1;2,x"), "'x' in prompt row 1 is not a token id");
}

TEST(PromptIdsTest, ChecksIdsAgainstTheVocabulary) {
  EXPECT_EQ(checkPrompts({{0, 63}}, 64), "");
  EXPECT_EQ(checkPrompts({{1}, {64}}, 64),
            "token id 64 in prompt row 1 is outside the vocabulary of 64");
  EXPECT_NE(checkPrompts({}, 64), "");
  EXPECT_NE(checkPrompts({{1}, {}}, 64), "");
}
