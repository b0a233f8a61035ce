//===- JsonConstraintTest.cpp - JSON mode's recognizer and token masks ----===//

#include "runtime/JsonConstraint.h"

#include <cmath>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace llamac;

namespace {

/// How far `text` goes as a JSON object's prefix: its length if it is one,
/// else the length of its longest prefix that is.
size_t acceptedLength(const std::string &text) {
  JsonPrefix prefix;
  for (size_t i = 0; i < text.size(); ++i)
    if (!prefix.push(text.substr(i, 1)))
      return i;
  return text.size();
}

bool isWholeObject(const std::string &text) {
  JsonPrefix prefix;
  return prefix.push(text) && prefix.complete();
}

} // namespace

TEST(JsonPrefixTest, TakesObjectsByteByByteAndKnowsWhenTheyAreWhole) {
  const std::vector<std::string> objects = {
      "{}", "\n  { \"a\" : 1,\n\t\t\"b\": [ ]\n}\n",
      R"({"a": [1, -2.5e+3, 0, 0.25, 7E-2, true, null, {"b": "x\u00e9\n\"\\/"}],
          "c": false, "d": [], "e": {}, "é": "ünïcode"})",
      R"({"n":-0,"m":[[[]]],"s":""})"};
  for (const std::string &text : objects) {
    ASSERT_TRUE(nlohmann::json::accept(text)) << text;
    EXPECT_EQ(acceptedLength(text), text.size()) << text;
    EXPECT_TRUE(isWholeObject(text)) << text;
    // Whole only at the end (trailing whitespace aside).
    const size_t end = text.find_last_not_of("\n") + 1;
    for (size_t i = 0; i + 1 < end; ++i) {
      JsonPrefix prefix;
      ASSERT_TRUE(prefix.push(text.substr(0, i)));
      EXPECT_FALSE(prefix.complete()) << text.substr(0, i);
    }
  }
}

TEST(JsonPrefixTest, RefusesAtTheFirstByteNoObjectHas) {
  // Each text with the length of its longest prefix that is an object's.
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"[1]", 0},
      {"x", 0},
      {"\"a\"", 0},
      {R"({"a" 1})", 5},
      {R"({"a": 01})", 7},
      {R"({"a": tru })", 9},
      {"{,}", 1},
      {"{\"a\": \"x\ny\"}", 8},
      {R"({"a": 1,})", 8},
      {R"({"a": 1])", 7},
      {R"({"a": -})", 7},
      {R"({"a": 1.})", 8},
      {R"({"a": 1e})", 8},
      {R"({"a": "\q"})", 8},
      {R"({} {})", 3},
      {R"({"a": 1 2})", 8},
      {R"({"a": +1})", 6},
      {R"({"a": .5})", 6},
      {R"({1: 2})", 1},
      {R"({"a": nulll})", 10},
      {R"({"a": "\u12G4"})", 11}};
  for (const auto &[text, accepted] : cases) {
    EXPECT_FALSE(nlohmann::json::accept(text) &&
                 nlohmann::json::parse(text).is_object())
        << text;
    EXPECT_EQ(acceptedLength(text), accepted) << text;
  }
}

TEST(JsonPrefixTest, LimitsWhitespaceToASpaceOrAnIndentedNewline) {
  // Valid JSON, but whitespace a model could run on with.
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"{  }", 2},
      {"{\t}", 1},
      {" \n{}", 1},
      {"{\r\n}", 1},
      {"{\n\n}", 2},
      {"{\"a\":1}  ", 8},
      {"{\n" + std::string(21, ' ') + "}", 22}};
  for (const auto &[text, accepted] : cases) {
    EXPECT_TRUE(nlohmann::json::parse(text).is_object()) << text;
    EXPECT_EQ(acceptedLength(text), accepted) << text;
  }
  EXPECT_TRUE(isWholeObject("{\n" + std::string(20, ' ') + "}"));
}

TEST(JsonPrefixTest, RefusesNestingDeeperThanItsStack) {
  std::string deep = "{\"a\":";
  for (int i = 1; i < JsonPrefix::kMaxDepth; ++i)
    deep += "[";
  EXPECT_EQ(acceptedLength(deep), deep.size());
  EXPECT_EQ(acceptedLength(deep + "["), deep.size());
}

TEST(JsonObjectConstraintTest, LeavesTheTokensThatContinueAnObjectThenEos) {
  // Token 0 is special (EOS); 7 is past the tokenizer's pieces.
  auto tokens = std::make_shared<TokenTexts>();
  tokens->texts = {"", "{", "}", " \"a\"", ":", " 1", "a"};
  tokens->usable = {false, true, true, true, true, true, true};
  JsonObjectConstraint constraint(tokens, /*eosId=*/0);
  auto allowed = [&] {
    std::vector<float> logits(8, 0.0f);
    constraint.mask(logits.data(), int64_t(logits.size()));
    std::vector<int32_t> ids;
    for (size_t id = 0; id < logits.size(); ++id)
      if (!std::isinf(logits[id]))
        ids.push_back(int32_t(id));
    return ids;
  };
  EXPECT_EQ(allowed(), (std::vector<int32_t>{1}));
  constraint.accept(1);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{2, 3}));
  constraint.accept(3);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{4}));
  constraint.accept(4);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{1, 3, 5}));
  constraint.accept(5);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{2}));
  constraint.accept(2);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{0})) << "whole: only EOS";
}
