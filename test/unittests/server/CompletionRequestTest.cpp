//===- CompletionRequestTest.cpp - OpenAI-style request bodies ------------===//

#include "runtime/server/CompletionRequest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using ::testing::HasSubstr;

namespace {

class CompletionRequestTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string error;
    tokenizer = Tokenizer::load(
        LLAMAC_SHARED_DIR "/models/stories260K/hf/tokenizer.model", error);
    ASSERT_TRUE(tokenizer) << error;
    manifest.maxSeq = 64;
    manifest.maxBatch = 1;
    manifest.outputSize = 512;
    manifest.config.vocabSize = 512;
  }

  std::optional<CompletionRequest> read(std::string_view body,
                                        CompletionKind kind) {
    return parseCompletionRequest(body, kind, manifest, *tokenizer,
                                  ChatTemplate::MetaReference, error);
  }
  CompletionRequest readOrFail(std::string_view body,
                               CompletionKind kind = CompletionKind::Text) {
    std::optional<CompletionRequest> request = read(body, kind);
    EXPECT_TRUE(request) << error;
    return request.value_or(CompletionRequest());
  }
  std::string refusal(std::string_view body,
                      CompletionKind kind = CompletionKind::Text) {
    EXPECT_FALSE(read(body, kind)) << body;
    return error;
  }

  Manifest manifest;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string error;
};

/// The seeds the request's rows sample with, each otherwise as the request
/// asks.
std::vector<uint64_t> rowSeeds(const CompletionRequest &request) {
  std::vector<uint64_t> seeds;
  for (SamplingOptions sampling : request.options.generation.rowSampling) {
    seeds.push_back(sampling.seed);
    sampling.seed = request.options.generation.sampling.seed;
    EXPECT_EQ(sampling.temperature,
              request.options.generation.sampling.temperature);
  }
  return seeds;
}

} // namespace

TEST_F(CompletionRequestTest, ATextPromptIsEncodedWithBos) {
  CompletionRequest request = readOrFail(R"({"prompt": "Once upon a time"})");
  std::string problem;
  ASSERT_EQ(request.prompts.size(), 1u);
  EXPECT_EQ(request.prompts[0],
            *tokenizer->encode("Once upon a time", EncodeOptions(), problem));
  EXPECT_EQ(request.prompts[0].front(), 1);
  // max_tokens defaults to what max_seq leaves.
  EXPECT_EQ(request.options.generation.maxNewTokens,
            64 - int64_t(request.prompts[0].size()));
  EXPECT_FALSE(request.stream);
}

TEST_F(CompletionRequestTest, EchoKeepsThePromptAsSent) {
  CompletionRequest request =
      readOrFail(R"({"prompt": "Once  upon", "echo": true, "max_tokens": 0})");
  EXPECT_TRUE(request.echo);
  EXPECT_EQ(request.promptTexts, (std::vector<std::string>{"Once  upon"}));
  EXPECT_EQ(request.options.generation.maxNewTokens, 0);
  EXPECT_EQ(readOrFail(R"({"prompt": [1, 2]})").promptTexts,
            (std::vector<std::string>{""}));
}

TEST_F(CompletionRequestTest, IdsAreUsedAsGiven) {
  CompletionRequest request =
      readOrFail(R"({"prompt": [5, 6, 7], "max_tokens": 3, "stream": true})");
  EXPECT_EQ(request.prompts, (std::vector<std::vector<TokenId>>{{5, 6, 7}}));
  EXPECT_EQ(request.options.generation.maxNewTokens, 3);
  EXPECT_TRUE(request.stream);
}

TEST_F(CompletionRequestTest, SeveralPromptsAreRowsOfOneBatch) {
  CompletionRequest request = readOrFail(
      R"({"prompt": ["Once", [1, 9, 9, 9, 9, 9]], "max_tokens": 2})");
  std::string problem;
  EXPECT_EQ(request.prompts,
            (std::vector<std::vector<TokenId>>{
                *tokenizer->encode("Once", EncodeOptions(), problem),
                {1, 9, 9, 9, 9, 9}}));
  EXPECT_EQ(request.promptTexts, (std::vector<std::string>{"Once", ""}));
  // Without max_tokens, what max_seq leaves after the longest.
  EXPECT_EQ(readOrFail(R"({"prompt": [[1, 2], [1, 2, 3, 4]]})")
                .options.generation.maxNewTokens,
            60);
}

TEST_F(CompletionRequestTest, SamplingFieldsReplaceTheDefaults) {
  CompletionRequest request = readOrFail(
      R"({"prompt": "a", "temperature": 0.5, "top_p": 0.9, "top_k": 7,
          "min_p": 0.1, "repetition_penalty": 1.2, "seed": 9,
          "stop": ["x", "yz"], "model": "anything", "user": "ignored"})");
  const SamplingOptions &sampling = request.options.generation.sampling;
  EXPECT_FLOAT_EQ(sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(sampling.topP, 0.9f);
  EXPECT_EQ(sampling.topK, 7);
  EXPECT_FLOAT_EQ(sampling.minP, 0.1f);
  EXPECT_FLOAT_EQ(sampling.repetitionPenalty, 1.2f);
  EXPECT_EQ(sampling.seed, 9u);
  EXPECT_EQ(request.options.stopStrings, (std::vector<std::string>{"x", "yz"}));
  EXPECT_FALSE(request.options.generation.ignoreEos);
  EXPECT_TRUE(readOrFail(R"({"prompt": "a", "ignore_eos": true})")
                  .options.generation.ignoreEos);
  EXPECT_THAT(refusal(R"({"prompt": "a", "ignore_eos": 1})"),
              HasSubstr("ignore_eos"));
}

TEST_F(CompletionRequestTest, ChatMessagesTakeTheChatFormat) {
  CompletionRequest request = readOrFail(
      R"({"messages": [{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]})",
      CompletionKind::Chat);
  std::string problem;
  std::optional<std::vector<TokenId>> expected = encodeChat(
      *tokenizer, ChatTemplate::MetaReference,
      {{ChatRole::System, "Be brief."}, {ChatRole::User, "Hi"}}, problem);
  ASSERT_TRUE(expected) << problem;
  EXPECT_EQ(request.prompts, (std::vector<std::vector<TokenId>>{*expected}));
}

TEST_F(CompletionRequestTest, RefusesWhatItWouldOtherwiseIgnore) {
  EXPECT_THAT(refusal(R"({"prompt": "a", "n": 2})"),
              HasSubstr("n times the 1 prompt(s) must be at most the "
                        "artifact's max_batch of 1"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "n": 0})"),
              HasSubstr("n must be >= 1"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "echo": true, "logprobs": 1,
                         "stream": true})"),
              HasSubstr("echo with logprobs is served with"));
  EXPECT_THAT(refusal(R"({"messages": [{"role": "user", "content": "a"}],
                         "echo": true})",
                      CompletionKind::Chat),
              HasSubstr("echo is for completions"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "presence_penalty": 2.5})"),
              HasSubstr("presence_penalty must be between -2 and 2"));
  EXPECT_THAT(refusal(R"({"messages": [{"role": "user", "content": "a"}],
                         "tools": [{"type": "function"}]})",
                      CompletionKind::Chat),
              HasSubstr("tools"));
  // Their neutral values are accepted.
  readOrFail(R"({"prompt": "a", "n": 1, "echo": false, "logprobs": null,
                 "presence_penalty": 0, "logit_bias": {}})");
}

TEST_F(CompletionRequestTest, ResponseFormatAsksForJsonModeOrASchema) {
  const char *chat = R"({"messages": [{"role": "user", "content": "a"}], )";
  const std::shared_ptr<const JsonSchema> any =
      readOrFail(std::string(chat) +
                     R"("response_format": {"type": "json_object"}})",
                 CompletionKind::Chat)
          .options.jsonSchema;
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->root().additionalProperties);
  EXPECT_FALSE(
      readOrFail(std::string(chat) + R"("response_format": {"type": "text"}})",
                 CompletionKind::Chat)
          .options.jsonSchema);
  EXPECT_TRUE(
      readOrFail(
          R"({"prompt": "a", "response_format": {"type": "json_object"}})")
          .options.jsonSchema);
  // OpenAI's structured outputs, and llama.cpp's schema beside json_object.
  for (const char *format :
       {R"({"type": "json_schema", "json_schema": {"name": "n", "strict": true,
            "schema": {"type": "object", "properties": {"x": {"type": "integer"}},
                       "required": ["x"], "additionalProperties": false}}})",
        R"({"type": "json_object", "schema": {"type": "object",
            "properties": {"x": {"type": "integer"}}, "required": ["x"],
            "additionalProperties": false}})"}) {
    const std::shared_ptr<const JsonSchema> schema =
        readOrFail(std::string(R"({"prompt": "a", "response_format": )") +
                   format + "}")
            .options.jsonSchema;
    ASSERT_TRUE(schema) << format;
    ASSERT_EQ(schema->root().properties.size(), 1u);
    EXPECT_EQ(schema->root().properties[0].name, "x");
    EXPECT_FALSE(schema->root().additionalProperties);
  }
  EXPECT_THAT(refusal(R"({"prompt": "a", "response_format":
                         {"type": "json_schema", "json_schema": {}}})"),
              HasSubstr("response_format.json_schema must be an object with "
                        "a schema"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "response_format":
                         {"type": "json_schema", "json_schema": {"schema":
                          {"type": "object", "properties":
                           {"x": {"type": "string", "pattern": "a+"}}}}}})"),
              HasSubstr("response_format's schema is not supported: the "
                        "schema keyword \"pattern\" is not supported"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "response_format": "json"})"),
              HasSubstr("response_format must be"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "ignore_eos": true,
                         "response_format": {"type": "json_object"}})"),
              HasSubstr("ignore_eos cannot go with a JSON response_format"));
}

TEST_F(CompletionRequestTest, NChoicesAreRowsWithSeedsOfTheirOwn) {
  manifest.maxBatch = 6;
  CompletionRequest request = readOrFail(
      R"({"prompt": ["a", [1, 7]], "n": 3, "seed": 10, "temperature": 1})");
  EXPECT_EQ(request.choicesPerPrompt, 3);
  ASSERT_EQ(request.prompts.size(), 6u);
  for (size_t row = 0; row < 6; ++row) {
    EXPECT_EQ(request.prompts[row], request.prompts[row / 3 * 3]) << row;
    EXPECT_EQ(request.promptTexts[row], row < 3 ? "a" : "") << row;
  }
  EXPECT_EQ(request.prompts[3], (std::vector<TokenId>{1, 7}));
  EXPECT_EQ(rowSeeds(request), (std::vector<uint64_t>{10, 11, 12, 10, 11, 12}));
  EXPECT_TRUE(readOrFail(R"({"prompt": "a", "n": 1})")
                  .options.generation.rowSampling.empty());
  EXPECT_THAT(refusal(R"({"prompt": ["a", "b"], "n": 4})"),
              HasSubstr("n times the 2 prompt(s) must be at most the "
                        "artifact's max_batch of 6"));
}

TEST_F(CompletionRequestTest, BestOfMakesCandidateRowsForTheChoices) {
  manifest.maxBatch = 6;
  CompletionRequest request =
      readOrFail(R"({"prompt": ["a", "b"], "n": 1, "best_of": 3, "seed": 4})");
  EXPECT_EQ(request.choicesPerPrompt, 1);
  EXPECT_EQ(request.candidatesPerPrompt, 3);
  ASSERT_EQ(request.prompts.size(), 6u);
  EXPECT_EQ(request.promptTexts,
            (std::vector<std::string>{"a", "a", "a", "b", "b", "b"}));
  EXPECT_EQ(rowSeeds(request), (std::vector<uint64_t>{4, 5, 6, 4, 5, 6}));
  EXPECT_EQ(readOrFail(R"({"prompt": "a", "n": 2})").candidatesPerPrompt, 2);
  EXPECT_THAT(refusal(R"({"prompt": "a", "n": 3, "best_of": 2})"),
              HasSubstr("best_of must be >= n"));
  EXPECT_THAT(refusal(R"({"prompt": ["a", "b"], "best_of": 4})"),
              HasSubstr("best_of times the 2 prompt(s) must be at most the "
                        "artifact's max_batch of 6"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "best_of": 2, "stream": true})"),
              HasSubstr("best_of greater than n cannot be streamed"));
  EXPECT_THAT(refusal(R"({"messages": [{"role": "user", "content": "a"}],
                         "best_of": 2})",
                      CompletionKind::Chat),
              HasSubstr("best_of is for completions"));
  // best_of equal to n streams, as n alone does.
  EXPECT_TRUE(
      readOrFail(R"({"prompt": "a", "n": 2, "best_of": 2, "stream": true})")
          .stream);
}

TEST_F(CompletionRequestTest, StreamOptionsAskForTheUsage) {
  EXPECT_TRUE(readOrFail(R"({"prompt": "a", "stream": true,
                             "stream_options": {"include_usage": true}})")
                  .streamUsage);
  EXPECT_FALSE(readOrFail(R"({"prompt": "a", "stream": true,
                              "stream_options": {}})")
                   .streamUsage);
  EXPECT_FALSE(readOrFail(R"({"prompt": "a", "stream": true})").streamUsage);
  EXPECT_THAT(
      refusal(R"({"prompt": "a", "stream_options": {"include_usage": true}})"),
      HasSubstr("stream_options needs \"stream\": true"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "stream": true,
                         "stream_options": {"continuous_usage_stats": true}})"),
              HasSubstr("stream_options.continuous_usage_stats is not "
                        "supported"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "stream": true,
                         "stream_options": {"include_usage": 1}})"),
              HasSubstr("include_usage must be true or false"));
}

TEST_F(CompletionRequestTest, ReadsOpenAIsPenalties) {
  SamplingOptions sampling =
      readOrFail(R"({"prompt": "a", "presence_penalty": 0.5,
                     "frequency_penalty": -1.25})")
          .options.generation.sampling;
  EXPECT_EQ(sampling.presencePenalty, 0.5f);
  EXPECT_EQ(sampling.frequencyPenalty, -1.25f);
  EXPECT_THAT(refusal(R"({"prompt": "a", "frequency_penalty": "high"})"),
              HasSubstr("frequency_penalty must be a number"));
}

TEST_F(CompletionRequestTest, ReadsHuggingFacesBansAndVllmsMinTokens) {
  SamplingOptions sampling =
      readOrFail(R"({"prompt": "a", "no_repeat_ngram_size": 3,
                     "min_tokens": 8})")
          .options.generation.sampling;
  EXPECT_EQ(sampling.noRepeatNgramSize, 3);
  EXPECT_EQ(sampling.minNewTokens, 8);
  EXPECT_THAT(refusal(R"({"prompt": "a", "min_tokens": -1})"),
              HasSubstr("min_tokens must be >= 0"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "no_repeat_ngram_size": 1.5})"),
              HasSubstr("no_repeat_ngram_size must be an integer"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "min_tokens": 4,
                         "response_format": {"type": "json_object"}})"),
              HasSubstr("JSON output cannot go with no_repeat_ngram_size"));
}

TEST_F(CompletionRequestTest, ReadsTheLogitBias) {
  EXPECT_EQ(
      readOrFail(R"({"prompt": "a", "logit_bias": {"5": -100, "7": 2.5}})")
          .options.generation.sampling.logitBias,
      (std::vector<std::pair<int32_t, float>>{{5, -100}, {7, 2.5f}}));
  for (const char *bad : {R"({"prompt": "a", "logit_bias": [5]})",
                          R"({"prompt": "a", "logit_bias": {"x": 1}})",
                          R"({"prompt": "a", "logit_bias": {"-5": 1}})",
                          R"({"prompt": "a", "logit_bias": {"5": "up"}})"})
    EXPECT_THAT(refusal(bad),
                HasSubstr("logit_bias must be an object from token ids to "
                          "numbers"))
        << bad;
  EXPECT_THAT(refusal(R"({"prompt": "a", "logit_bias": {"9999999": 1}})"),
              HasSubstr("logit_bias names token id 9999999, outside the "
                        "vocabulary"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "logit_bias": {"5": 101}})"),
              HasSubstr("logit_bias values must be between -100 and 100"));
}

TEST_F(CompletionRequestTest, LogprobsAreAskedForAsEachApiAsksForThem) {
  EXPECT_EQ(readOrFail(R"({"prompt": "a", "logprobs": 3})")
                .options.generation.topLogprobs,
            std::optional<int64_t>(3));
  EXPECT_EQ(readOrFail(R"({"prompt": "a", "logprobs": null})")
                .options.generation.topLogprobs,
            std::nullopt);
  const char *chat = R"({"messages": [{"role": "user", "content": "a"}], )";
  EXPECT_EQ(readOrFail(std::string(chat) + R"("logprobs": true})",
                       CompletionKind::Chat)
                .options.generation.topLogprobs,
            std::optional<int64_t>(0));
  EXPECT_EQ(
      readOrFail(std::string(chat) + R"("logprobs": true, "top_logprobs": 4})",
                 CompletionKind::Chat)
          .options.generation.topLogprobs,
      std::optional<int64_t>(4));
  EXPECT_EQ(readOrFail(std::string(chat) + R"("logprobs": false})",
                       CompletionKind::Chat)
                .options.generation.topLogprobs,
            std::nullopt);
  EXPECT_THAT(refusal(std::string(chat) + R"("top_logprobs": 2})",
                      CompletionKind::Chat),
              HasSubstr("top_logprobs needs \"logprobs\": true"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "logprobs": 21})"),
              HasSubstr("logprobs must be between 0 and 20"));
  CompletionRequest streamed =
      readOrFail(R"({"prompt": "a", "logprobs": 1, "stream": true})");
  EXPECT_TRUE(streamed.stream);
  EXPECT_EQ(streamed.options.generation.topLogprobs, std::optional<int64_t>(1));
}

TEST_F(CompletionRequestTest, NamesTheFieldThatIsWrong) {
  EXPECT_THAT(refusal(R"([1, 2])"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(refusal(R"({"prompt": "a",)"), HasSubstr("not JSON"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "prompt": "b"})"),
              HasSubstr("not JSON"));
  EXPECT_THAT(refusal(R"({})"), HasSubstr("prompt is required"));
  EXPECT_THAT(refusal(R"({"prompt": ["a", 5]})"),
              HasSubstr("prompt must be a non-empty string or list of token "
                        "ids, or a list of them"));
  EXPECT_THAT(refusal(R"({"prompt": [[1, -2]]})"),
              HasSubstr("prompt has a token id out of range: -2"));
  EXPECT_THAT(refusal(R"({"prompt": []})"), HasSubstr("prompt must be"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "temperature": "hot"})"),
              HasSubstr("temperature must be a number"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "temperature": -1})"),
              HasSubstr("temperature must be a finite number >= 0"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "top_p": 0})"),
              HasSubstr("top_p must be in (0, 1]"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "max_tokens": -1})"),
              HasSubstr("max_tokens must be >= 0"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "max_tokens": 1.5})"),
              HasSubstr("max_tokens must be an integer"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "seed": -3})"),
              HasSubstr("seed must be >= 0"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "stop": ["ok", ""]})"),
              HasSubstr("stop strings must not be empty"));
  EXPECT_THAT(refusal(R"({"prompt": "a", "stream": "yes"})"),
              HasSubstr("stream must be true or false"));
}

TEST_F(CompletionRequestTest, RefusesMalformedChats) {
  auto chat = [&](std::string_view body) {
    return refusal(body, CompletionKind::Chat);
  };
  EXPECT_THAT(chat(R"({"messages": []})"), HasSubstr("messages must be"));
  EXPECT_THAT(chat(R"({"messages": [{"role": "tool", "content": "a"}]})"),
              HasSubstr("messages[0].role must be system, user or assistant"));
  EXPECT_THAT(chat(R"({"messages": [{"role": "user", "content": 5}]})"),
              HasSubstr("messages[0].content"));
  EXPECT_THAT(chat(R"({"messages": [{"role": "user", "content": "a"},
                                   {"role": "assistant", "content": "b"}]})"),
              HasSubstr("must end with a user message"));
  EXPECT_THAT(chat(R"({"messages": [{"role": "assistant", "content": "a"},
                                   {"role": "user", "content": "b"}]})"),
              HasSubstr("messages"));
}

TEST_F(CompletionRequestTest, TokenizeReadsAPromptOrAChat) {
  std::string problem;
  std::optional<std::vector<TokenId>> expected =
      tokenizer->encode("Once upon a time", EncodeOptions(), problem);
  ASSERT_TRUE(expected) << problem;
  EXPECT_EQ(parseTokenizeRequest(R"({"prompt": "Once upon a time"})",
                                 *tokenizer, ChatTemplate::MetaReference,
                                 error),
            expected);
  EncodeOptions withoutBos;
  withoutBos.addSpecialTokens = false;
  EXPECT_EQ(
      parseTokenizeRequest(
          R"({"prompt": "Once upon a time", "add_special_tokens": false})",
          *tokenizer, ChatTemplate::MetaReference, error),
      tokenizer->encode("Once upon a time", withoutBos, problem));
  EXPECT_EQ(parseTokenizeRequest(
                R"({"messages": [{"role": "user", "content": "Hi"}]})",
                *tokenizer, ChatTemplate::MetaReference, error),
            encodeChat(*tokenizer, ChatTemplate::MetaReference,
                       {{ChatRole::User, "Hi"}}, problem));
  for (const char *bad :
       {R"({"prompt": 5})", R"({})", R"({"prompt": "a", "messages": []})"}) {
    EXPECT_FALSE(parseTokenizeRequest(bad, *tokenizer,
                                      ChatTemplate::MetaReference, error))
        << bad;
    EXPECT_THAT(error, HasSubstr("prompt")) << bad;
  }
}

TEST_F(CompletionRequestTest, DetokenizeTakesIdsOfTheVocabulary) {
  EXPECT_EQ(
      parseDetokenizeRequest(R"({"tokens": [1, 403, 511]})", *tokenizer, error),
      (std::vector<TokenId>{1, 403, 511}));
  for (const char *bad :
       {R"({"tokens": [512]})", R"({"tokens": [-1]})",
        R"({"tokens": [18446744073709551615]})", R"({"tokens": ["a"]})"}) {
    EXPECT_FALSE(parseDetokenizeRequest(bad, *tokenizer, error)) << bad;
    EXPECT_THAT(error, HasSubstr("tokens has an id outside the vocabulary of "
                                 "512"))
        << bad;
  }
  EXPECT_FALSE(parseDetokenizeRequest(R"({"tokens": 1})", *tokenizer, error));
  EXPECT_THAT(error, HasSubstr("tokens must be a list of token ids"));
}
