//===- CompletionRequest.h - OpenAI-style requests, one model ---*- C++ -*-===//
//
// The bodies of POST /v1/completions and /v1/chat/completions, read into
// what the generator runs. Sampling starts from the artifact's
// generation_config, as `llamac-run generate` does, and each field given
// replaces one setting: temperature, top_p, top_k, min_p,
// repetition_penalty, presence_penalty, frequency_penalty, logit_bias, seed,
// Hugging Face's no_repeat_ngram_size, vLLM's min_tokens (min_new_tokens),
// max_tokens (default: what max_seq leaves), stop
// (a string or a list), stream (and stream_options.include_usage), and the
// log-probabilities of the generated
// tokens (streamed with their text): "logprobs": N for a completion,
// "logprobs": true with "top_logprobs": N for a chat; a completion's
// "echo": true repeats the prompt, and its tokens' log-probabilities first
// (how evaluation harnesses score a text; not streamed), n (several choices
// per prompt, rows of one batch) and a completion's best_of (the n likeliest
// of that many candidates, not streamed), response_format {"type":
// "json_object"} (JSON mode: the answer is a JSON object) or {"type":
// "json_schema"} (structured outputs: an object the schema accepts,
// JsonSchema.h; a schema beyond its subset is refused), and vLLM's
// ignore_eos (go on past EOS to max_tokens, as benchmarks want). Fields that
// would change the answer in ways this server does not implement (suffix,
// tools) are refused rather than ignored; other fields
// (model, user, ...) are ignored.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_SERVER_COMPLETIONREQUEST_H
#define LLAMAC_RUNTIME_SERVER_COMPLETIONREQUEST_H

#include "runtime/Manifest.h"
#include "runtime/TextGeneration.h"
#include "runtime/tokenizer/ChatFormat.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llamac {

enum class CompletionKind {
  /// /v1/completions: `prompt` is a string (encoded with BOS), a list of
  /// token ids (used as given), or a list of either: several prompts, which
  /// run as one batch of up to max_batch rows.
  Text,
  /// /v1/chat/completions: `messages` (system, user and assistant in turn,
  /// ending with the user's) in the Llama-2-chat format.
  Chat,
};

struct CompletionRequest {
  CompletionKind kind = CompletionKind::Text;
  /// One row per candidate: each prompt (a chat has one)
  /// `candidatesPerPrompt` times in a row, candidate i of prompt p at row
  /// p * candidatesPerPrompt + i.
  std::vector<std::vector<TokenId>> prompts;
  /// Per row, a text prompt as sent; empty for ids and chats.
  std::vector<std::string> promptTexts;
  /// OpenAI's n: the choices each prompt gets.
  int64_t choicesPerPrompt = 1;
  /// OpenAI's best_of (n unless given): the candidates each prompt's
  /// choices are, sampled with the seeds seed, seed + 1, ...
  /// (options.generation.rowSampling). With more candidates than choices the
  /// choices are those with the highest log-probability per token, best
  /// first.
  int64_t candidatesPerPrompt = 1;
  TextGenerationOptions options;
  bool stream = false;
  /// stream_options.include_usage: a last chunk gives the usage.
  bool streamUsage = false;
  bool echo = false;
};

/// Reads a request body for the model of `manifest`. On failure returns
/// nullopt and sets `error` to one line naming the field.
std::optional<CompletionRequest>
parseCompletionRequest(std::string_view body, CompletionKind kind,
                       const Manifest &manifest, const Tokenizer &tokenizer,
                       ChatTemplate style, std::string &error);

/// POST /tokenize's body, as vLLM's: {"prompt": STRING, "add_special_tokens":
/// BOOL (default true)}, or a chat's {"messages": [...]} in the chat format.
/// Returns the ids, or nullopt with `error` naming the field.
std::optional<std::vector<TokenId>>
parseTokenizeRequest(std::string_view body, const Tokenizer &tokenizer,
                     ChatTemplate style, std::string &error);

/// POST /detokenize's body: {"tokens": [ID, ...]}, ids in the vocabulary.
std::optional<std::vector<TokenId>>
parseDetokenizeRequest(std::string_view body, const Tokenizer &tokenizer,
                       std::string &error);

/// POST /classify's body, as vLLM's: {"input": ...}, a text (encoded with
/// BOS) or a list of token ids, or a list of either: the rows to score.
std::optional<std::vector<std::vector<TokenId>>>
parseClassifyRequest(std::string_view body, const Tokenizer &tokenizer,
                     std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_SERVER_COMPLETIONREQUEST_H
