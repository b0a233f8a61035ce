//===- ChatSessionTest.cpp - Conversations kept in the KV cache -----------===//

#include "runtime/ChatSession.h"
#include "test/unittests/runtime/FakeArtifact.h"
#include "test/unittests/runtime/FakeModelRule.h"

#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;

namespace {

using Ids = std::vector<int32_t>;
constexpr int64_t kVocab = 512;
constexpr int32_t kEos = 2;
constexpr int64_t kAnswerTokens = 6;

Ids concat(Ids a, const Ids &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class ChatSessionTest : public ::testing::Test {
protected:
  void SetUp() override {
    LlamaConfig config = tinyCausalConfig();
    config.vocabSize = kVocab;
    artifact = makeFakeArtifactWithTokenizer(root, config, 1, 96);
    std::string error;
    model = CompiledModel::load(artifact.artifactDir, "", error);
    ASSERT_TRUE(model) << error;
    tokenizer = loadArtifactTokenizer(model->manifest(), error);
    ASSERT_TRUE(tokenizer) << error;
    options.systemPrompt = "Be brief.";
    options.maxAnswerTokens = kAnswerTokens;
  }

  std::unique_ptr<ChatSession> newSession() {
    return std::make_unique<ChatSession>(*model, *tokenizer, options);
  }

  PreparedTurn prepare(const ChatSession &session, const std::string &message) {
    std::string error;
    std::optional<PreparedTurn> turn = session.prepare(message, error);
    EXPECT_TRUE(turn) << error;
    return turn ? *turn : PreparedTurn();
  }

  ChatTurn respond(ChatSession &session, const PreparedTurn &turn) {
    std::string error;
    std::optional<ChatTurn> reply = session.respond(turn, {}, error);
    EXPECT_TRUE(reply) << error;
    return reply ? *reply : ChatTurn();
  }

  Ids format(const std::vector<ChatMessage> &history,
             const std::string &message) {
    std::string error;
    std::optional<Ids> ids = encodeChatUserTurn(
        *tokenizer, ChatTemplate::MetaReference, history, message, error);
    EXPECT_TRUE(ids) << error;
    return ids.value_or(Ids());
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
  std::unique_ptr<CompiledModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  ChatOptions options;
};

} // namespace

TEST_F(ChatSessionTest, ASecondTurnPrefillsOnlyWhatIsNew) {
  std::unique_ptr<ChatSession> session = newSession();
  PreparedTurn first = prepare(*session, "Hello!");
  Ids firstIds = format({{ChatRole::System, "Be brief."}}, "Hello!");
  EXPECT_EQ(first.prefill, firstIds);
  ChatTurn firstReply = respond(*session, first);
  Ids answer = firstReply.answer.ids.generated.front();
  ASSERT_EQ(answer, fake::greedy(firstIds, kAnswerTokens, kVocab, kEos));
  ASSERT_NE(answer.back(), kEos) << "pick a prompt that answers at length";

  PreparedTurn second = prepare(*session, "And then?");
  // The answer's last token and the </s> that closes it come first.
  Ids secondIds = format({{ChatRole::System, "Be brief."},
                          {ChatRole::User, "Hello!"},
                          {ChatRole::Assistant, firstReply.answer.texts[0]}},
                         "And then?");
  EXPECT_EQ(second.prefill, concat({answer.back(), kEos}, secondIds));
  ChatTurn secondReply = respond(*session, second);
  EXPECT_EQ(secondReply.answer.ids.promptTokens,
            int64_t(second.prefill.size()));
  // The same answer as prefilling the whole conversation at once.
  Ids conversation =
      concat(concat(firstIds, answer), concat({kEos}, secondIds));
  EXPECT_EQ(secondReply.answer.ids.generated.front(),
            fake::greedy(conversation, kAnswerTokens, kVocab, kEos));
  // All of it in the cache but the answer's last token.
  EXPECT_EQ(session->length(),
            int64_t(conversation.size()) + kAnswerTokens - 1);
}

TEST_F(ChatSessionTest, ResetStartsOverFromSlotZero) {
  std::unique_ptr<ChatSession> session = newSession();
  PreparedTurn first = prepare(*session, "Hello!");
  ChatTurn firstReply = respond(*session, first);
  respond(*session, prepare(*session, "More."));
  session->reset();
  EXPECT_EQ(session->length(), 0);
  PreparedTurn again = prepare(*session, "Hello!");
  EXPECT_EQ(again.prefill, first.prefill);
  EXPECT_EQ(respond(*session, again).answer.ids.generated,
            firstReply.answer.ids.generated);
}

TEST_F(ChatSessionTest, AFullContextRefusesTheTurnAndCutsTheAnswer) {
  options.maxAnswerTokens = std::nullopt;
  std::unique_ptr<ChatSession> session = newSession();
  PreparedTurn longTurn =
      prepare(*session, std::string(200, 'a') + " is a long message");
  EXPECT_FALSE(session->fits(longTurn));

  PreparedTurn turn = prepare(*session, "Hello!");
  ASSERT_TRUE(session->fits(turn));
  ChatTurn reply = respond(*session, turn);
  Ids answer = reply.answer.ids.generated.front();
  // Without EOS the answer runs to the end of the context.
  ASSERT_NE(answer.back(), kEos) << "pick a prompt that answers at length";
  EXPECT_TRUE(reply.filledContext);
  EXPECT_EQ(int64_t(turn.prefill.size() + answer.size()), 96);
  EXPECT_FALSE(session->fits(prepare(*session, "Hi")));
}
