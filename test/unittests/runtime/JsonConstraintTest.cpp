//===- JsonConstraintTest.cpp - JSON mode's recognizer and token masks ----===//

#include "runtime/JsonConstraint.h"

#include <cmath>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>

using namespace llamac;
using ::testing::HasSubstr;

namespace {

const JsonSchema &anyObject() {
  static const std::shared_ptr<const JsonSchema> schema =
      JsonSchema::anyObject();
  return *schema;
}

std::shared_ptr<const JsonSchema> compileOrFail(const std::string &text) {
  std::string error;
  std::shared_ptr<const JsonSchema> schema =
      JsonSchema::compile(nlohmann::json::parse(text), error);
  EXPECT_TRUE(schema) << error;
  return schema;
}

std::string compileError(const std::string &text) {
  std::string error;
  EXPECT_FALSE(JsonSchema::compile(nlohmann::json::parse(text), error)) << text;
  return error;
}

/// How far `text` goes as a prefix of a text `schema` accepts: its length if
/// it is one, else the length of its longest prefix that is.
size_t acceptedLength(const std::string &text,
                      const JsonSchema &schema = anyObject()) {
  JsonPrefix prefix(schema);
  for (size_t i = 0; i < text.size(); ++i)
    if (!prefix.push(text.substr(i, 1)))
      return i;
  return text.size();
}

bool isWhole(const std::string &text, const JsonSchema &schema = anyObject()) {
  JsonPrefix prefix(schema);
  return prefix.push(text) && prefix.complete();
}

/// The tokens of a vocabulary of `vocab` that `constraint` leaves.
std::vector<int32_t> allowedTokens(const JsonConstraint &constraint,
                                   size_t vocab) {
  std::vector<float> logits(vocab, 0.0f);
  constraint.mask(logits.data(), int64_t(vocab));
  std::vector<int32_t> ids;
  for (size_t id = 0; id < vocab; ++id)
    if (!std::isinf(logits[id]))
      ids.push_back(int32_t(id));
  return ids;
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
    EXPECT_TRUE(isWhole(text)) << text;
    // Whole only at the end (trailing whitespace aside).
    const size_t end = text.find_last_not_of("\n") + 1;
    for (size_t i = 0; i + 1 < end; ++i) {
      JsonPrefix prefix(anyObject());
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
      {R"({"a": "\u12G4"})", 11},
      {R"({"a": "\udc00"})", 10},

      {R"({"a": "\ud83dx"})", 13},
      {R"({"a": "\ud83d\n"})", 14},
      {R"({"a": "\ud83d\u0041"})", 15},
      // Ill-formed UTF-8: overlong, truncated, a surrogate, past U+10FFFF.
      {"{\"a\": \"\xC0\x80\"}", 7},
      {"{\"a\": \"\xE2\x28\"}", 8},
      {"{\"a\": \"\xE2\x82\"}", 9},
      {"{\"a\": \"\xED\xA0\x80\"}", 8},
      {"{\"a\": \"\xF4\x90\x80\x80\"}", 8},
      {"{\"a\": \"\x80\"}", 7}};
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
  EXPECT_TRUE(isWhole("{\n" + std::string(20, ' ') + "}"));
}

TEST(JsonPrefixTest, KeepsNumbersToWhatADoubleHolds) {
  // Valid JSON, but numbers past a double's range or precision.
  EXPECT_EQ(acceptedLength(R"({"a": 12345678901234567})"), 22u);
  EXPECT_EQ(acceptedLength(R"({"a": -1.5e123})"), 13u);
  EXPECT_TRUE(isWhole(R"({"a": -1234567890123456.5e-99})"));
}

TEST(JsonPrefixTest, RefusesNestingDeeperThanItsStack) {
  std::string deep = "{\"a\":";
  for (size_t i = 1; i < JsonPrefix::kMaxDepth; ++i)
    deep += "[";
  EXPECT_EQ(acceptedLength(deep), deep.size());
  EXPECT_EQ(acceptedLength(deep + "["), deep.size());
}

TEST(JsonConstraintTest, LeavesTheTokensThatContinueAnObjectThenEos) {
  // Token 0 is special (EOS); 7 is past the tokenizer's pieces.
  auto tokens = std::make_shared<TokenTexts>();
  tokens->texts = {"", "{", "}", " \"a\"", ":", " 1", "a"};
  tokens->usable = {false, true, true, true, true, true, true};
  JsonConstraint constraint(tokens, JsonSchema::anyObject(), /*eosId=*/0);
  auto allowed = [&] { return allowedTokens(constraint, 8); };
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

namespace {

/// A person: two required keys, three optional ones, no others.
const char *const kPersonSchema = R"({
  "title": "Person", "type": "object",
  "properties": {
    "name": {"type": "string", "description": "full name"},
    "age": {"type": "integer"},
    "tags": {"type": "array", "items": {"type": "string"},
             "minItems": 1, "maxItems": 2},
    "kind": {"enum": ["a", "b"]},
    "score": {"type": "number"}},
  "required": ["name", "age"],
  "additionalProperties": false})";

const char *const kEnumSchema = R"({
  "type": "object",
  "properties": {"n": {"enum": [1, 12, 3.5, true, null, {"a": 1}, "x y"]},
                 "c": {"const": "fixed"}},
  "additionalProperties": false})";

const char *const kBoundsSchema = R"({
  "type": "object",
  "properties": {
    "n": {"type": "integer", "minimum": -5, "maximum": 120},
    "m": {"type": ["integer", "null"], "exclusiveMinimum": 0.5,
          "exclusiveMaximum": 3}},
  "additionalProperties": false})";

/// Optional fields as pydantic writes them: anyOf a type or null, $ref to
/// $defs; other keys allowed, as JSON Schema allows them by default.
const char *const kAlternativesSchema = R"({
  "$defs": {"Point": {"type": "object", "required": ["x"],
                      "properties": {"x": {"type": "integer"}}}},
  "type": "object",
  "properties": {
    "label": {"anyOf": [{"type": "string"}, {"type": "null"}],
              "default": null},
    "at": {"$ref": "#/$defs/Point"},
    "ids": {"type": "array", "items": {"type": "integer"}}},
  "required": ["at"]})";

} // namespace

TEST(JsonSchemaPrefixTest, TakesTheObjectsASchemaAccepts) {
  const std::shared_ptr<const JsonSchema> person = compileOrFail(kPersonSchema);
  for (
      const char *text :
      {R"({"name": "x", "age": 3})",
       R"({"age": -1, "name": "", "tags": ["a"], "kind": "b", "score": 1.5e3})",
       R"({"tags": ["a", "b"],"name":"ü","age":0, "score": -0.5})"}) {
    EXPECT_TRUE(isWhole(text, *person)) << text;
  }
}

TEST(JsonSchemaPrefixTest, RefusesAtTheFirstByteTheSchemaDoesNot) {
  const std::shared_ptr<const JsonSchema> person = compileOrFail(kPersonSchema);
  // Each text, cut where the schema refuses it.
  const std::vector<std::string> refused = {
      R"({"nam|")",               // no such key
      R"({"|x")",                 // no key starts so
      R"({"age": 1|.5)",          // an integer
      R"({"name": "x"|})",        // age is required
      R"({"name": "x", "|name")", // each key once
      R"({"tags": [|])",          // minItems
      R"({"tags": ["a", "b"|,)",  // maxItems
      R"({"kind": "|c")",         // not in the enum
      R"({"name": |1)",           // not a string
      R"({"age": 1, "name": "x", "tags": ["a"], "kind": "a", "score": 2|,)",
      R"(|[])",             // the root is an object
      R"({"name"|\u0041)"}; // named keys are written unescaped
  for (const std::string &cut : refused) {
    const size_t at = cut.find('|');
    const std::string text = cut.substr(0, at) + cut.substr(at + 1);
    EXPECT_EQ(acceptedLength(text, *person), at) << text;
  }
  // The key's text, not its prefix, picks the property.
  EXPECT_EQ(acceptedLength(R"({"named")", *person), 6u);
}

TEST(JsonSchemaPrefixTest, CountsAStringsCharactersNotItsBytes) {
  const std::shared_ptr<const JsonSchema> schema = compileOrFail(R"({
    "type": "object",
    "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 3}},
    "required": ["s"]})");
  for (const char *text :
       {R"({"s": "ab"})", "{\"s\": \"\xC3\xA9\xC3\xA9\xF0\x9F\x98\x80\"}",
        R"({"s": "\u00e9\ud83d\ude00b"})"})
    EXPECT_TRUE(isWhole(text, *schema)) << text;
  EXPECT_EQ(acceptedLength(R"({"s": "a"})", *schema), 8u);
  EXPECT_EQ(acceptedLength(R"({"s": "abcd"})", *schema), 10u);
  EXPECT_EQ(acceptedLength(R"({"s": "ab\n\t"})", *schema), 11u);
}

TEST(JsonSchemaPrefixTest, KeepsIntegersWithinTheirBounds) {
  const std::shared_ptr<const JsonSchema> schema = compileOrFail(kBoundsSchema);
  for (const char *text :
       {R"({"n": 0})", R"({"n": -5, "m": 1})", R"({"n": 120})",
        R"({"n": 99, "m": 2})", R"({"n": -0, "m": null})", R"({"n": 12})"})
    EXPECT_TRUE(isWhole(text, *schema)) << text;
  // Each text, cut at the digit that leaves no value within the bounds.
  for (const std::string cut :
       {R"({"n": 12|1)", R"({"n": -|6)", R"({"n": 100|0)", R"({"m": |3)",
        R"({"m": |0)", R"({"n": 1|.5)", R"({"m": |-1)"}) {
    const size_t at = cut.find('|');
    const std::string text = cut.substr(0, at) + cut.substr(at + 1);
    EXPECT_EQ(acceptedLength(text, *schema), at) << text;
  }
}

TEST(JsonSchemaPrefixTest, MatchesEnumAndConstValuesWhole) {
  const std::shared_ptr<const JsonSchema> schema = compileOrFail(kEnumSchema);
  for (const char *text :
       {R"({"n": 1})", R"({"n": 12 })", R"({"n":3.5})", R"({"n": true})",
        R"({"n": null, "c": "fixed"})", R"({"n": {"a":1}})", R"({"n": "x y"})"})
    EXPECT_TRUE(isWhole(text, *schema)) << text;
  // 1 of 1 and 12 ends at the byte after it; literals are compact.
  EXPECT_EQ(acceptedLength(R"({"n": 123})", *schema), 8u);
  EXPECT_EQ(acceptedLength(R"({"n": 2})", *schema), 6u);
  EXPECT_EQ(acceptedLength(R"({"n": {"a": 1}})", *schema), 11u);
  EXPECT_EQ(acceptedLength(R"({"c": "fixe"})", *schema), 11u);
}

TEST(JsonSchemaPrefixTest, FollowsAlternativesReferencesAndOtherKeys) {
  const std::shared_ptr<const JsonSchema> schema =
      compileOrFail(kAlternativesSchema);
  for (const char *text :
       {R"({"at": {"x": 1}})", R"({"label": null, "at": {"x": -2, "y": []}})",
        R"({"label": "p", "at": {"x": 0}, "other": {"a": [1, "b"]}})",
        R"({"at": {"x": 1}, "ids": [], "labels": {"\u0041\ud83d\ude00": 2}})"})
    EXPECT_TRUE(isWhole(text, *schema)) << text;
  EXPECT_EQ(acceptedLength(R"({"label": 1})", *schema), 10u);
  EXPECT_EQ(acceptedLength(R"({"at": {"x": 1.0}})", *schema), 14u);
  EXPECT_EQ(acceptedLength(R"({"ids": [1, "a"]})", *schema), 12u);
  EXPECT_EQ(acceptedLength(R"({"at": {}})", *schema), 8u);
  // Other keys beside named ones are well-formed UTF-8.
  EXPECT_TRUE(isWhole("{\"at\": {\"x\": 1}, \"\xC3\xA9\": 1}", *schema));
  EXPECT_EQ(acceptedLength("{\"at\": {\"x\": 1}, \"\xC3\": 1}", *schema), 19u);
}

TEST(JsonSchemaTest, TakesWhatPydanticWrites) {
  // Pet(BaseModel): name: str = Field(max_length=20); age: int =
  // Field(ge=0, le=30); kind: Literal["cat", "dog"]; owner: Optional[str] =
  // None; tags: list[str] = []; home: Address, as model_json_schema() gives.
  const std::shared_ptr<const JsonSchema> pet = compileOrFail(R"({
    "$defs": {"Address": {"properties": {"city": {"title": "City",
                                                  "type": "string"}},
                          "required": ["city"], "title": "Address",
                          "type": "object"}},
    "properties": {
      "name": {"maxLength": 20, "title": "Name", "type": "string"},
      "age": {"maximum": 30, "minimum": 0, "title": "Age", "type": "integer"},
      "kind": {"enum": ["cat", "dog"], "title": "Kind", "type": "string"},
      "owner": {"anyOf": [{"type": "string"}, {"type": "null"}],
                "default": null, "title": "Owner"},
      "tags": {"default": [], "items": {"type": "string"}, "title": "Tags",
               "type": "array"},
      "home": {"$ref": "#/$defs/Address"}},
    "required": ["name", "age", "kind", "home"],
    "title": "Pet", "type": "object"})");
  EXPECT_TRUE(isWhole(R"({"name": "Tom", "age": 3, "kind": "cat",
      "owner": null, "tags": ["grey"], "home": {"city": "Oslo"}})",
                      *pet));
  EXPECT_EQ(acceptedLength(R"({"age": 31})", *pet), 9u);
  EXPECT_EQ(acceptedLength(R"({"kind": "cow"})", *pet), 11u);
}

TEST(JsonSchemaTest, RefusesWhatItCannotKeepToByName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type": "string"})", "the schema's root must be an object"},
      {R"({"type": "object", "properties": {"a": {"type": "string",
          "pattern": "x"}}})",
       "the schema keyword \"pattern\" is not supported"},
      {R"({"type": "object", "properties": {"a": {"x\ny": 1}}})",
       "the schema keyword \"x\\ny\" is not supported"},
      {R"({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}},
          "$defs": {"A": {"type": "object",
                          "properties": {"a": {"$ref": "#/$defs/A"}}}}})",
       "refers to itself"},
      {R"({"type": "object", "properties": {"a": {"$ref": "#/$defs/B"}}})",
       "\"$ref\" \"#/$defs/B\" names no definition"},
      {R"({"type": "object", "properties": {"a": {"$ref": "http://x/s"}}})",
       "must point into the schema's $defs"},
      {R"({"type": "object", "properties": {"a": {"anyOf":
          [{"type": "integer"}, {"type": "number"}]}}})",
       "\"anyOf\" alternatives must have different types"},
      {R"({"type": "object", "properties": {"a": {"type": "integer",
          "enum": ["x"]}}})",
       "no value of \"enum\" or \"const\" has the schema's type"},
      {R"({"type": "object", "required": ["b"]})",
       "required property \"b\" is not one of \"properties\""},
      {R"({"type": "object", "properties": {"a": {"minItems": 3,
          "maxItems": 1}}})",
       "\"minItems\" is above \"maxItems\""},
      {R"({"type": "object", "properties": {"a": {"type": "date"}}})",
       "\"type\" must be one of object, array"},
      {R"({"type": "object", "properties": {"a\"b": {}}})", "needs escaping"},
      {R"({"type": "object", "properties": {"a": {"anyOf":
          [{"type": "string"}, {"const": "x"}]}}})",
       "the enum or const value \"x\" starts like a value of another"},
      {R"({"type": "object", "properties": {"a": false}})",
       "the schema false accepts no value"},
      {R"({"type": "object", "properties": {"a": {"type": "array",
          "minItems": -1}}})",
       "\"minItems\" must be a non-negative integer"},
      {R"({"type": "object", "properties": {"a": {"minLength": 2,
          "maxLength": 1}}})",
       "\"minLength\" is above \"maxLength\""},
      {R"({"type": "object", "properties": {"a": {"type": "number",
          "minimum": 0}}})",
       "minimum and maximum are supported on integers only"},
      {R"({"type": "object", "properties": {"a": {"type": "integer",
          "minimum": 5, "maximum": 4}}})",
       "no integer of at most 16 digits lies within the schema's minimum"},
      {R"({"type": "object", "properties": {"a": {"type": "integer",
          "minimum": 1e20}}})",
       "no integer of at most 16 digits"},
      {R"({"type": "object", "properties": {"a": {"type": "integer",
          "maximum": "9"}}})",
       "\"maximum\" must be a number"},
      {R"({"type": "object", "properties": {"a": {"type": ["object",
          "array", "string", "number", "boolean", "null"], "minimum": 1}}})",
       "minimum and maximum are supported on integers only"},
      {R"({"type": "object", "properties": {"a": {"type": "integer",
          "enum": [1, 2], "maximum": 1}}})",
       "minimum and maximum beside enum or const are not supported"}};
  for (const auto &[schema, error] : cases)
    EXPECT_THAT(compileError(schema), HasSubstr(error)) << schema;
  std::string deep = R"({"type": "object"})";
  for (size_t i = 0; i < JsonSchema::kMaxDepth; ++i)
    deep = R"({"type": "object", "properties": {"a": )" + deep + "}}";
  EXPECT_THAT(compileError(deep), HasSubstr("nests deeper than 32 levels"));
  std::string alternatives = R"({"type": "object"})";
  for (size_t i = 0; i < JsonSchema::kMaxDepth; ++i)
    alternatives = R"({"anyOf": [)" + alternatives + "]}";
  EXPECT_THAT(compileError(alternatives), HasSubstr("nests deeper"));
}

namespace {

/// The texts that random walks over the bytes each prefix takes finish;
/// fails if a walk reaches a prefix that no byte continues (a row's mask
/// would leave no token).
std::vector<std::string> finishedRandomWalks(const JsonSchema &schema) {
  std::string alphabet = " \n\t";
  for (char byte = 0x21; byte < 0x7f; ++byte)
    alphabet += byte;
  std::mt19937 random(7);
  std::vector<std::string> finished;
  for (int walk = 0; walk < 200; ++walk) {
    JsonPrefix prefix(schema);
    std::string text;
    for (int step = 0; step < 400 && !prefix.complete(); ++step) {
      std::vector<char> next;
      for (char byte : alphabet)
        if (JsonPrefix(prefix).push(std::string(1, byte)))
          next.push_back(byte);
      if (next.empty()) {
        ADD_FAILURE() << "stuck after " << text;
        return finished;
      }
      const char byte = next[std::uniform_int_distribution<size_t>(
          0, next.size() - 1)(random)];
      EXPECT_TRUE(prefix.push(std::string(1, byte)));
      text += byte;
    }
    if (prefix.complete())
      finished.push_back(text);
  }
  return finished;
}

} // namespace

TEST(JsonSchemaPrefixTest, AlwaysLeavesABytePastEveryPrefixItTakes) {
  // (Walks rarely write the required key "at" among the other keys.)
  for (const char *schema : {kEnumSchema, kAlternativesSchema, kBoundsSchema})
    for (const std::string &text : finishedRandomWalks(*compileOrFail(schema)))
      EXPECT_TRUE(nlohmann::json::parse(text).is_object()) << text;
  EXPECT_FALSE(finishedRandomWalks(*compileOrFail(kEnumSchema)).empty());
  for (const std::string &text :
       finishedRandomWalks(*compileOrFail(kBoundsSchema))) {
    const nlohmann::json value = nlohmann::json::parse(text);
    const bool nWithin =
        !value.contains("n") || (value["n"] >= -5 && value["n"] <= 120);
    const bool mWithin = !value.contains("m") || value["m"].is_null() ||
                         (value["m"] >= 1 && value["m"] <= 2);
    EXPECT_TRUE(nWithin && mWithin) << text;
  }
  EXPECT_FALSE(finishedRandomWalks(anyObject()).empty());
  // The texts finished are objects the schema accepts.
  const std::vector<std::string> people =
      finishedRandomWalks(*compileOrFail(kPersonSchema));
  EXPECT_FALSE(people.empty());
  for (const std::string &text : people) {
    const nlohmann::json value = nlohmann::json::parse(text);
    EXPECT_TRUE(value["name"].is_string()) << text;
    EXPECT_TRUE(value["age"].is_number_integer()) << text;
    for (const auto &[key, unused] : value.items())
      EXPECT_THAT(
          (std::vector<std::string>{"name", "age", "tags", "kind", "score"}),
          ::testing::Contains(key))
          << text;
  }
}

TEST(JsonConstraintTest, LeavesOnlyTheTokensTheSchemaTakes) {
  auto tokens = std::make_shared<TokenTexts>();
  tokens->texts = {"", "{", "}", " \"a\"", ":", " 1", " \"b\"", " 1.5"};
  tokens->usable = std::vector<bool>(tokens->texts.size(), true);
  tokens->usable[0] = false;
  JsonConstraint constraint(tokens, compileOrFail(R"({"type": "object",
      "properties": {"a": {"type": "integer"}}, "required": ["a"],
      "additionalProperties": false})"),
                            /*eosId=*/0);
  auto allowed = [&] {
    return allowedTokens(constraint, tokens->texts.size());
  };
  constraint.accept(1);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{3})) << "a is required, b unknown";
  constraint.accept(3);
  constraint.accept(4);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{5})) << "an integer";
  constraint.accept(5);
  EXPECT_EQ(allowed(), (std::vector<int32_t>{2}));
}

TEST(JsonConstraintTest, MaskIsWhatTryingEachTokenGives) {
  // Every byte, and texts that a mask's shortcuts judge by their first byte
  // or as plain string characters: the mask must be what pushing each
  // token's text on a copy of the prefix gives, along random rows.
  auto tokens = std::make_shared<TokenTexts>();
  for (int byte = 0; byte < 256; ++byte)
    tokens->texts.push_back(std::string(1, char(byte)));
  for (const char *text : {"ab",           "\xC3\xA9",     "\"",
                           "\",",          " \"",          "a\"}",
                           "\\n",          "\xC3\xBC\"",   "\xF0\x9F\x98\x80",
                           "\xF0\x9F",     "123",          "-1",
                           ", \"",         "true",         "nul",
                           "{\"",          "abc def",      "\x7F",
                           "\xE0\x80\x80", "\xED\xA0\x80", "name",
                           "\"name\": \"", "ééé",          "\": 1",
                           "x y"})
    tokens->texts.push_back(text);
  tokens->usable = std::vector<bool>(tokens->texts.size(), true);
  const int32_t eos = 0;
  const std::string schema = R"({"type": "object", "properties": {
      "name": {"type": "string", "maxLength": 4},
      "n": {"type": "integer", "minimum": -5, "maximum": 120},
      "s": {"type": "string", "minLength": 2}}})";
  std::mt19937 random(5);
  for (int row = 0; row < 40; ++row) {
    const std::shared_ptr<const JsonSchema> compiled = compileOrFail(schema);
    JsonConstraint constraint(tokens, compiled, eos);
    JsonPrefix prefix(*compiled);
    std::string text;
    for (int step = 0; step < 60 && !prefix.complete(); ++step) {
      std::vector<float> logits(tokens->texts.size(), 0.0f);
      constraint.mask(logits.data(), int64_t(logits.size()));
      std::vector<int32_t> allowed;
      for (size_t id = 0; id < logits.size(); ++id) {
        const bool expected = JsonPrefix(prefix).push(tokens->texts[id]);
        ASSERT_EQ(!std::isinf(logits[id]), expected)
            << "token " << id << " after " << text;
        if (expected)
          allowed.push_back(int32_t(id));
      }
      ASSERT_FALSE(allowed.empty()) << text;
      const int32_t token = allowed[std::uniform_int_distribution<size_t>(
          0, allowed.size() - 1)(random)];
      constraint.accept(token);
      ASSERT_TRUE(prefix.push(tokens->texts[token]));
      text += tokens->texts[token];
    }
  }
}
