//===- TextGeneration.h - Generated ids as streamed text --------*- C++ -*-===//
//
// The generation loop (Generator.h) with each row's ids decoded as they are
// chosen: the text reaches a sink piece by piece, never splitting a UTF-8
// character (StreamingDecoder) and never showing a stop string, even one
// that spans tokens (StopStringFilter), and a row ends at its first stop
// string as it ends at EOS.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_TEXTGENERATION_H
#define LLAMAC_RUNTIME_TEXTGENERATION_H

#include "runtime/Generator.h"
#include "runtime/JsonSchema.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llamac {

/// The artifact's tokenizer.model. On failure (none in the artifact, an
/// unreadable file, more pieces than the model has logits) returns null and
/// sets `error`.
std::unique_ptr<Tokenizer> loadArtifactTokenizer(const Manifest &manifest,
                                                 std::string &error);

/// What a row's text continues.
enum class TextContext {
  /// The text of everything before the generated ids: a completion keeps
  /// the space it starts with.
  Sequence,
  /// Nothing: the generated ids decoded on their own, as chat pipelines
  /// decode an answer.
  None,
};

struct TextGenerationOptions {
  /// generateText() observes the tokens itself: leave `onToken` empty.
  GenerationOptions generation;
  /// Non-empty strings; a row ends where the first of them appears.
  std::vector<std::string> stopStrings;
  /// Asked after each of a row's tokens when set: false ends the row there,
  /// as a stop string would (a server's client went away).
  std::function<bool(size_t row)> keepGoing;
  TextContext context = TextContext::Sequence;
  /// JSON mode or structured outputs (JsonConstraint.h): each row's text is
  /// JSON this schema accepts, ended by EOS once whole (so not with
  /// generation.ignoreEos). Null for free text.
  std::shared_ptr<const JsonSchema> jsonSchema;
};

/// "" unless `options` ask for what cannot be done (JSON output with
/// ignoreEos, or with bans that could leave it no token).
std::string checkTextOptions(const TextGenerationOptions &options);

enum class FinishReason {
  EndOfSequence, ///< The model produced EOS.
  StopString,    ///< One of the stop strings appeared.
  Length,        ///< maxNewTokens ran out.
};

/// "eos", "stop" or "length".
const char *finishReasonName(FinishReason reason);

struct TextGenerationResult {
  GenerationResult ids;
  /// Per row: the text, without the stop string and what followed it.
  std::vector<std::string> texts;
  std::vector<FinishReason> finishReasons;
};

/// A row's text as it becomes final, with the tokens generated since the
/// row's last piece: their ids, and their log-probabilities when
/// generation.topLogprobs is set. A token whose text is held back (part of
/// a character, perhaps of a stop string) goes with the piece that shows
/// it, and the tokens whose text never shows (EOS, a stop string) with a
/// last piece of empty text; every other piece's text is non-empty. The
/// pieces of a row join to its text, ids and log-probabilities.
struct TextPiece {
  std::string_view text;
  std::vector<int32_t> tokens;
  std::vector<GeneratedTokenLogprobs> logprobs;
};

/// Receives each row's pieces, in order.
using TextSink = std::function<void(size_t row, const TextPiece &piece)>;

/// generate() with text: each row's text is what its generated ids add to
/// the text of its context (options.context).
std::optional<TextGenerationResult>
generateText(CompiledModel &model, const Tokenizer &tokenizer,
             const std::vector<std::vector<TokenId>> &prompts,
             const TextGenerationOptions &options, const TextSink &sink,
             std::string &error);

/// One request's part of a batch: its rows, and how they are generated and
/// where their text goes.
struct TextGenerationJob {
  std::vector<std::vector<TokenId>> prompts;
  TextGenerationOptions options;
  TextSink sink;
  /// Called as soon as the job's last row ends, perhaps long before the
  /// batch's: its texts, finish reasons, ids and log-probabilities, but no
  /// logits or timing yet.
  std::function<void(const TextGenerationResult &)> onFinished;
};

/// The jobs' prompts as rows of one batch (several clients' requests at
/// once), each row generated and decoded as generateText() would for its
/// job alone: with its job's sampling, limit, stop strings, keepGoing and
/// context, its sink called with its row in the job. The jobs must agree
/// on ignoreEos, and only a lone job may keep its decode logits; a batch
/// of several drafts nothing. Returns a result per job: its rows', with
/// log-probabilities if it asked for them (as many likely tokens as it
/// asked for), and its share of the batch's decode tokens and time, in
/// proportion to its rows.
std::optional<std::vector<TextGenerationResult>>
generateTextBatch(CompiledModel &model, const Tokenizer &tokenizer,
                  const std::vector<TextGenerationJob> &jobs,
                  std::string &error);

/// generateContinuing() with text; the context, if any, is cached + added.
std::optional<TextGenerationResult>
generateTextContinuing(CompiledModel &model, const Tokenizer &tokenizer,
                       const std::vector<TokenId> &cached,
                       const std::vector<TokenId> &added,
                       const TextGenerationOptions &options,
                       const TextSink &sink, std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_TEXTGENERATION_H
