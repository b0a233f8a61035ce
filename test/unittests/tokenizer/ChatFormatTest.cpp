//===- ChatFormatTest.cpp - Llama-2-chat prompts --------------------------===//

#include "TokenizerTestSupport.h"

#include "runtime/tokenizer/ChatFormat.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace llamac::testing {
namespace {

constexpr const char *kChat = "fixtures/tokenizer/llama2/chat.json";

std::vector<ChatMessage> messagesOf(const nlohmann::json &array) {
  std::vector<ChatMessage> messages;
  for (const nlohmann::json &message : array) {
    std::string role = message["role"];
    ChatRole chatRole = role == "system" ? ChatRole::System
                        : role == "user" ? ChatRole::User
                                         : ChatRole::Assistant;
    messages.push_back({chatRole, message["content"]});
  }
  return messages;
}

std::vector<TokenId> chatOrThrow(ChatTemplate style,
                                 const std::vector<ChatMessage> &messages) {
  std::string error;
  std::optional<std::vector<TokenId>> ids =
      encodeChat(llama2(), style, messages, error);
  if (!ids)
    throw std::runtime_error(error);
  return *ids;
}

/// Every case of chat.json, with the template it was produced with.
std::vector<std::pair<ChatTemplate, const nlohmann::json *>> chatCases() {
  const nlohmann::json &chat = sharedJson(kChat);
  std::vector<std::pair<ChatTemplate, const nlohmann::json *>> cases;
  for (const nlohmann::json &testCase : chat["meta_reference"])
    cases.emplace_back(ChatTemplate::MetaReference, &testCase);
  for (const nlohmann::json &testCase : chat["hf_chat_template"]["cases"])
    cases.emplace_back(ChatTemplate::HuggingFace, &testCase);
  return cases;
}

TEST(ChatFormat, ReferenceDialogs) {
  std::vector<std::pair<ChatTemplate, const nlohmann::json *>> cases =
      chatCases();
  ASSERT_EQ(cases.size(), 7u);
  for (auto [style, testCase] : cases)
    EXPECT_EQ(chatOrThrow(style, messagesOf((*testCase)["messages"])),
              idsOf((*testCase)["ids"]))
        << (*testCase)["messages"].dump();
}

bool startsWith(const std::vector<TokenId> &ids,
                const std::vector<TokenId> &prefix) {
  return ids.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), ids.begin());
}

/// A chat loop's view: each user turn appends to what the cache holds, and
/// each answer continues the prompt it answers.
TEST(ChatFormat, UserTurnsAddUpToTheDialog) {
  for (auto [style, testCase] : chatCases()) {
    std::vector<ChatMessage> history;
    std::vector<TokenId> cached;
    for (const ChatMessage &message : messagesOf((*testCase)["messages"])) {
      if (message.role == ChatRole::User) {
        std::string error;
        std::optional<std::vector<TokenId>> turn = encodeChatUserTurn(
            llama2(), style, history, message.content, error);
        ASSERT_TRUE(turn) << error;
        cached.insert(cached.end(), turn->begin(), turn->end());
      }
      history.push_back(message);
      std::vector<TokenId> dialog = chatOrThrow(style, history);
      if (message.role == ChatRole::Assistant) {
        ASSERT_TRUE(startsWith(dialog, cached));
        cached = dialog;
      }
      ASSERT_EQ(cached, dialog);
    }
    EXPECT_EQ(cached, idsOf((*testCase)["ids"]));
  }
}

TEST(ChatFormat, AnsweredExchangesArePrefixesOfLongerDialogs) {
  std::vector<ChatMessage> dialog = {{ChatRole::System, "Be brief."},
                                     {ChatRole::User, "Hi"},
                                     {ChatRole::Assistant, "Hello!"},
                                     {ChatRole::User, "Bye"}};
  for (ChatTemplate style :
       {ChatTemplate::MetaReference, ChatTemplate::HuggingFace}) {
    std::vector<TokenId> answered =
        chatOrThrow(style, {dialog.begin(), dialog.begin() + 3});
    std::vector<TokenId> whole = chatOrThrow(style, dialog);
    ASSERT_LT(answered.size(), whole.size());
    EXPECT_TRUE(startsWith(whole, answered));
    EXPECT_EQ(answered.back(), llama2().eosId());
    EXPECT_EQ(whole[answered.size()], llama2().bosId());
  }
}

TEST(ChatFormat, NoUserMessageGivesNoIds) {
  EXPECT_TRUE(chatOrThrow(ChatTemplate::MetaReference, {}).empty());
  EXPECT_TRUE(
      chatOrThrow(ChatTemplate::MetaReference, {{ChatRole::System, "x"}})
          .empty());
}

TEST(ChatFormat, ContentsAreStrippedLikePython) {
  // U+3000 IDEOGRAPHIC SPACE, U+00A0 and U+2028 are whitespace to str.strip();
  // U+200B ZERO WIDTH SPACE is not.
  std::vector<TokenId> padded = chatOrThrow(
      ChatTemplate::MetaReference,
      {{ChatRole::User, "\xE3\x80\x80\t\xC2\xA0Hello!\n\xE2\x80\xA8 "}});
  EXPECT_EQ(padded, chatOrThrow(ChatTemplate::MetaReference,
                                {{ChatRole::User, "Hello!"}}));
  EXPECT_NE(
      chatOrThrow(ChatTemplate::MetaReference,
                  {{ChatRole::User, "\xE2\x80\x8BHello!"}}),
      chatOrThrow(ChatTemplate::MetaReference, {{ChatRole::User, "Hello!"}}));
}

TEST(ChatFormat, SpecialTokenStringsInContentsStayText) {
  std::vector<TokenId> ids = chatOrThrow(
      ChatTemplate::HuggingFace, {{ChatRole::User, "</s><s>[INST] hi"}});
  EXPECT_EQ(std::count(ids.begin(), ids.end(), llama2().bosId()), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), llama2().eosId()), 0);
}

TEST(ChatFormat, RoleOrderErrors) {
  const std::vector<std::vector<ChatMessage>> invalid = {
      {{ChatRole::Assistant, "a"}},
      {{ChatRole::User, "u"}, {ChatRole::User, "u"}},
      {{ChatRole::User, "u"}, {ChatRole::System, "s"}},
      {{ChatRole::System, "s"}, {ChatRole::System, "s"}},
      {{ChatRole::User, "u"},
       {ChatRole::Assistant, "a"},
       {ChatRole::Assistant, "a"}},
  };
  for (const std::vector<ChatMessage> &messages : invalid) {
    std::string error;
    EXPECT_FALSE(
        encodeChat(llama2(), ChatTemplate::MetaReference, messages, error));
    EXPECT_NE(error.find("chat message"), std::string::npos) << error;
  }
  std::string error;
  EXPECT_FALSE(encodeChatUserTurn(llama2(), ChatTemplate::HuggingFace,
                                  {{ChatRole::User, "u"}}, "again", error));
  EXPECT_NE(error.find("expected the assistant"), std::string::npos) << error;
}

TEST(ChatFormat, IllFormedContentIsAnError) {
  std::string error;
  EXPECT_FALSE(encodeChat(llama2(), ChatTemplate::MetaReference,
                          {{ChatRole::User, "bad \xFF"}}, error));
  EXPECT_NE(error.find("UTF-8"), std::string::npos) << error;
}

} // namespace
} // namespace llamac::testing
