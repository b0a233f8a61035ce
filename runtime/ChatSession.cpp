//===- ChatSession.cpp - A conversation kept in the KV cache --------------===//

#include "runtime/ChatSession.h"

#include "runtime/tokenizer/Utf8.h"

#include <algorithm>

namespace llamac {

ChatSession::ChatSession(CompiledModel &model, const Tokenizer &tokenizer,
                         ChatOptions options)
    : model(model), tokenizer(tokenizer), options(std::move(options)) {
  reset();
}

void ChatSession::reset() {
  history.clear();
  if (!options.systemPrompt.empty())
    history.push_back({ChatRole::System, options.systemPrompt});
  cached.clear();
  pending.clear();
}

std::optional<PreparedTurn> ChatSession::prepare(std::string_view userMessage,
                                                 std::string &error) const {
  // Checked here so that the offset is the message's, not the prompt's.
  if (std::optional<size_t> offset = findIllFormedUtf8(userMessage)) {
    error = "the message is not valid UTF-8 (ill-formed sequence at byte " +
            std::to_string(*offset) + ")";
    return std::nullopt;
  }
  std::optional<std::vector<TokenId>> formatted =
      encodeChatUserTurn(tokenizer, options.style, history, userMessage, error);
  if (!formatted)
    return std::nullopt;
  PreparedTurn turn{std::string(userMessage), pending};
  turn.prefill.insert(turn.prefill.end(), formatted->begin(), formatted->end());
  return turn;
}

bool ChatSession::fits(const PreparedTurn &turn) const {
  return length() + int64_t(turn.prefill.size()) < maxLength();
}

std::optional<ChatTurn> ChatSession::respond(const PreparedTurn &turn,
                                             const TextSink &sink,
                                             std::string &error) {
  const int64_t room = maxLength() - length() - int64_t(turn.prefill.size());
  TextGenerationOptions generation;
  generation.generation.sampling = options.sampling;
  generation.generation.promptLookup = options.promptLookup;
  generation.generation.maxNewTokens =
      std::min(room, options.maxAnswerTokens.value_or(room));
  generation.stopStrings = options.stopStrings;
  generation.jsonSchema = options.jsonSchema;
  generation.context = TextContext::None;
  std::optional<TextGenerationResult> answer = generateTextContinuing(
      model, tokenizer, cached, turn.prefill, generation, sink, error);
  if (!answer)
    return std::nullopt;

  // The cache now holds the prefill and every answer token but the last.
  const std::vector<int32_t> &ids = answer->ids.generated.front();
  const TokenId eos = tokenizer.eosId();
  cached.insert(cached.end(), turn.prefill.begin(), turn.prefill.end());
  pending.clear();
  if (!ids.empty()) {
    cached.insert(cached.end(), ids.begin(), ids.end() - 1);
    pending.push_back(ids.back());
  }
  if (pending.empty() || pending.back() != eos)
    pending.push_back(eos);
  history.push_back({ChatRole::User, turn.userMessage});
  history.push_back({ChatRole::Assistant, answer->texts.front()});

  ChatTurn result;
  result.filledContext =
      answer->finishReasons.front() == FinishReason::Length &&
      int64_t(ids.size()) == room;
  result.answer = std::move(*answer);
  return result;
}

} // namespace llamac
