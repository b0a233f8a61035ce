//===- ChatSession.h - A conversation kept in the KV cache ------*- C++ -*-===//
//
// A Llama-2-chat conversation whose history stays in row 0 of the model's KV
// cache: each turn prefills only what is new since the last one (the end of
// the previous answer and the formatted user message, see ChatFormat.h) at
// the slots and positions that follow, and then generates the answer.
//
// The model's answer ids go into the cache as generated; the Meta format's
// </s> after an answer enters with the next turn, together with the answer's
// last token, which ended the generation without being run through the
// model. While the session lives nothing else may use the model's cache.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_CHATSESSION_H
#define LLAMAC_RUNTIME_CHATSESSION_H

#include "runtime/PromptLookup.h"
#include "runtime/TextGeneration.h"
#include "runtime/tokenizer/ChatFormat.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llamac {

struct ChatOptions {
  ChatTemplate style = ChatTemplate::MetaReference;
  /// Folded into the first user message; empty for none.
  std::string systemPrompt;
  SamplingOptions sampling;
  std::vector<std::string> stopStrings;
  /// JSON output: each answer is JSON this schema accepts; null for text.
  std::shared_ptr<const JsonSchema> jsonSchema;
  /// The longest answer; nullopt lets an answer run until EOS, a stop
  /// string, or the end of the context.
  std::optional<int64_t> maxAnswerTokens;
  PromptLookupOptions promptLookup;
};

/// A user message ready to be answered.
struct PreparedTurn {
  std::string userMessage;
  /// What the turn prefills: the end of the previous answer, then the user
  /// message formatted as a new exchange.
  std::vector<TokenId> prefill;
};

struct ChatTurn {
  TextGenerationResult answer;
  /// The answer stopped because the context (max_seq) is full.
  bool filledContext = false;
};

class ChatSession {
public:
  ChatSession(CompiledModel &model, const Tokenizer &tokenizer,
              ChatOptions options);

  /// Formats `userMessage` as the next turn. On text the tokenizer refuses
  /// returns nullopt and sets `error`; the session is unchanged.
  std::optional<PreparedTurn> prepare(std::string_view userMessage,
                                      std::string &error) const;
  /// Whether the context has room to prefill `turn` and answer with at least
  /// one token.
  bool fits(const PreparedTurn &turn) const;
  /// Prefills `turn` (prepared for this session's current state, and
  /// fitting) and generates the answer, its text going to `sink` as it comes.
  /// On failure returns nullopt and sets `error`.
  std::optional<ChatTurn> respond(const PreparedTurn &turn,
                                  const TextSink &sink, std::string &error);
  /// Forgets the conversation: the next turn starts at cache slot 0.
  void reset();

  /// Cache slots the conversation fills so far.
  int64_t length() const { return int64_t(cached.size()); }
  int64_t maxLength() const { return model.manifest().maxSeq; }

private:
  CompiledModel &model;
  const Tokenizer &tokenizer;
  ChatOptions options;
  /// The messages so far, for formatting the next user message.
  std::vector<ChatMessage> history;
  /// Ids in cache slots [0, cached.size()).
  std::vector<TokenId> cached;
  /// Ids of the conversation that the next turn prefills first.
  std::vector<TokenId> pending;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_CHATSESSION_H
