//===- ChatFormat.h - Llama-2-chat prompts as token ids ---------*- C++ -*-===//
//
// A dialog is an optional system message followed by user and assistant
// messages in turn, starting with a user message. Llama-2-chat sees every
// exchange as
//
//   <s>[INST] {user} [/INST] {answer} </s>
//
// and a final unanswered `<s>[INST] {user} [/INST]`; a system prompt is folded
// into the first user message as "<<SYS>>\n{system}\n<</SYS>>\n\n{user}", and
// contents are stripped of surrounding whitespace. Every exchange is encoded
// on its own, so a dialog's ids are its exchanges' ids end to end: that is
// what lets a chat loop prefill only the newest turn.
//
// Special-token strings inside message contents stay plain text.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_TOKENIZER_CHATFORMAT_H
#define LLAMAC_RUNTIME_TOKENIZER_CHATFORMAT_H

#include "runtime/tokenizer/Tokenizer.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llamac {

enum class ChatRole { System, User, Assistant };

struct ChatMessage {
  ChatRole role;
  std::string content;
};

/// The two conventions in use; they differ in one token after each <s>.
enum class ChatTemplate {
  /// Meta's reference `chat_completion`: SentencePiece encodes each exchange
  /// with its dummy prefix, so "[INST]" starts with "▁[" (518).
  MetaReference,
  /// Hugging Face's chat template rendered to text and tokenized with
  /// legacy=False: no dummy prefix after <s>, so "[" is 29961.
  HuggingFace,
};

/// The ids of a whole dialog, which ends with a user message (a prompt
/// awaiting its answer) or with an assistant message (answered exchanges
/// only, each closed by </s>). A dialog with no user message gives no ids.
std::optional<std::vector<TokenId>>
encodeChat(const Tokenizer &tokenizer, ChatTemplate style,
           const std::vector<ChatMessage> &messages, std::string &error);

/// The ids one more user message appends to `encodeChat(history)`: the
/// `history` is empty, a system message alone, or ends with an answer.
/// A loop that keeps the model's own answer ids in its cache closes the
/// answer with </s> and prefills these.
std::optional<std::vector<TokenId>>
encodeChatUserTurn(const Tokenizer &tokenizer, ChatTemplate style,
                   const std::vector<ChatMessage> &history,
                   std::string_view userContent, std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_TOKENIZER_CHATFORMAT_H
