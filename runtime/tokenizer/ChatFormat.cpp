//===- ChatFormat.cpp - Llama-2-chat prompts as token ids -----------------===//

#include "runtime/tokenizer/ChatFormat.h"

#include "runtime/tokenizer/Utf8.h"

#include <algorithm>

namespace llamac {

namespace {

constexpr std::string_view kBeginInstruction = "[INST] ";
constexpr std::string_view kEndInstruction = " [/INST]";
constexpr std::string_view kBeginSystem = "<<SYS>>\n";
constexpr std::string_view kEndSystem = "\n<</SYS>>\n\n";

/// One user message and its answer, if it has one yet.
struct Exchange {
  std::string prompt;
  std::optional<std::string> answer;
};

/// Python's str.isspace(): both references strip contents with str.strip().
bool isPythonWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 ||
         c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

/// Python's str.strip(). An ill-formed byte counts as content, so that
/// encoding reports it.
std::string_view strip(std::string_view text) {
  size_t begin = std::string_view::npos;
  size_t end = 0;
  for (size_t at = 0; at < text.size();) {
    std::optional<Utf8Char> next = decodeUtf8Char(text.substr(at));
    size_t length = next ? next->length : 1;
    if (!next || !isPythonWhitespace(next->codePoint)) {
      begin = std::min(begin, at);
      end = at + length;
    }
    at += length;
  }
  if (begin == std::string_view::npos)
    return {};
  return text.substr(begin, end - begin);
}

const char *roleName(ChatRole role) {
  switch (role) {
  case ChatRole::System:
    return "system";
  case ChatRole::User:
    return "user";
  case ChatRole::Assistant:
    return "assistant";
  }
  return "unknown";
}

/// Checks the order of roles, folds the system message into the first user
/// message and pairs each user message with the answer that follows it.
std::optional<std::vector<Exchange>>
pairUp(const std::vector<ChatMessage> &messages, std::string &error) {
  std::string systemPrompt;
  bool hasSystem = !messages.empty() && messages[0].role == ChatRole::System;
  if (hasSystem)
    systemPrompt = messages[0].content;

  std::vector<Exchange> exchanges;
  for (size_t i = hasSystem ? 1 : 0; i < messages.size(); ++i) {
    const ChatMessage &message = messages[i];
    bool expectUser = exchanges.empty() || exchanges.back().answer;
    ChatRole expected = expectUser ? ChatRole::User : ChatRole::Assistant;
    if (message.role != expected) {
      error = "chat message " + std::to_string(i) + " is from the " +
              roleName(message.role) + ", expected the " + roleName(expected) +
              " (a system message may only come first, then user and "
              "assistant take turns)";
      return std::nullopt;
    }
    if (!expectUser) {
      exchanges.back().answer = message.content;
    } else if (exchanges.empty() && hasSystem) {
      exchanges.push_back({std::string(kBeginSystem) + systemPrompt +
                               std::string(kEndSystem) + message.content,
                           std::nullopt});
    } else {
      exchanges.push_back({message.content, std::nullopt});
    }
  }
  return exchanges;
}

/// <s> + encode("[INST] {prompt} [/INST] {answer} ") + </s>, or without the
/// answer part and </s> when there is no answer yet.
bool appendExchange(const Tokenizer &tokenizer, ChatTemplate style,
                    const Exchange &exchange, std::vector<TokenId> &ids,
                    std::string &error) {
  std::string text = std::string(kBeginInstruction) +
                     std::string(strip(exchange.prompt)) +
                     std::string(kEndInstruction);
  if (exchange.answer)
    text += " " + std::string(strip(*exchange.answer)) + " ";

  EncodeOptions options;
  options.addSpecialTokens = true;
  options.addDummyPrefix = style == ChatTemplate::MetaReference;
  std::optional<std::vector<TokenId>> exchangeIds =
      tokenizer.encode(text, options, error);
  if (!exchangeIds)
    return false;
  ids.insert(ids.end(), exchangeIds->begin(), exchangeIds->end());
  if (exchange.answer)
    ids.push_back(tokenizer.eosId());
  return true;
}

std::optional<std::vector<TokenId>>
encodeExchanges(const Tokenizer &tokenizer, ChatTemplate style,
                const std::vector<Exchange> &exchanges, size_t first,
                std::string &error) {
  std::vector<TokenId> ids;
  for (size_t i = first; i < exchanges.size(); ++i)
    if (!appendExchange(tokenizer, style, exchanges[i], ids, error))
      return std::nullopt;
  return ids;
}

} // namespace

std::optional<std::vector<TokenId>>
encodeChat(const Tokenizer &tokenizer, ChatTemplate style,
           const std::vector<ChatMessage> &messages, std::string &error) {
  std::optional<std::vector<Exchange>> exchanges = pairUp(messages, error);
  if (!exchanges)
    return std::nullopt;
  return encodeExchanges(tokenizer, style, *exchanges, 0, error);
}

std::optional<std::vector<TokenId>>
encodeChatUserTurn(const Tokenizer &tokenizer, ChatTemplate style,
                   const std::vector<ChatMessage> &history,
                   std::string_view userContent, std::string &error) {
  std::vector<ChatMessage> messages = history;
  messages.push_back({ChatRole::User, std::string(userContent)});
  std::optional<std::vector<Exchange>> exchanges = pairUp(messages, error);
  if (!exchanges)
    return std::nullopt;
  return encodeExchanges(tokenizer, style, *exchanges, exchanges->size() - 1,
                         error);
}

} // namespace llamac
