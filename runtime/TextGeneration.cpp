//===- TextGeneration.cpp - Token ids to text as they are generated -------===//

#include "runtime/TextGeneration.h"

#include "runtime/StopStrings.h"

namespace llamac {

std::unique_ptr<Tokenizer> loadArtifactTokenizer(const Manifest &manifest,
                                                 std::string &error) {
  if (!manifest.tokenizerPath) {
    error = "the artifact has no tokenizer (its checkpoint came without "
            "tokenizer.model)";
    return nullptr;
  }
  std::unique_ptr<Tokenizer> tokenizer =
      Tokenizer::load(*manifest.tokenizerPath, error);
  if (tokenizer && tokenizer->vocabSize() > manifest.config.vocabSize) {
    error = *manifest.tokenizerPath + " has " +
            std::to_string(tokenizer->vocabSize()) +
            " pieces, more than the model's vocab_size of " +
            std::to_string(manifest.config.vocabSize);
    return nullptr;
  }
  return tokenizer;
}

const char *finishReasonName(FinishReason reason) {
  switch (reason) {
  case FinishReason::EndOfSequence:
    return "eos";
  case FinishReason::StopString:
    return "stop";
  case FinishReason::Length:
    return "length";
  }
  return "unknown";
}

namespace {

/// One row's ids on their way to text.
struct RowText {
  RowText(const Tokenizer &tokenizer, const std::vector<TokenId> &context,
          const std::vector<std::string> &stopStrings)
      : decoder(tokenizer, DecodeOptions{/*skipSpecialTokens=*/true}),
        filter(stopStrings) {
    // Decoding the context first gives the continuation the spacing it has
    // after that context; the context's own text is not part of the output.
    std::string ignored;
    for (TokenId id : context)
      decoder.push(id, ignored);
  }

  StreamingDecoder decoder;
  StopStringFilter filter;
  std::string text;
  /// The tokens since the last piece, for the next one.
  std::vector<int32_t> unsentTokens;
  std::vector<GeneratedTokenLogprobs> unsentLogprobs;
};

/// Decodes the rows' tokens as the generation loop reports them.
class TextRows {
public:
  TextRows(const Tokenizer &tokenizer,
           const std::vector<std::vector<TokenId>> &contexts,
           const TextGenerationOptions &options, const TextSink &sink)
      : sink(sink), keepGoing(options.keepGoing) {
    for (const std::vector<TokenId> &context : contexts)
      rows.emplace_back(tokenizer, context, options.stopStrings);
  }

  /// GenerationOptions::onToken.
  bool accept(size_t row, TokenId token,
              const GeneratedTokenLogprobs *logprobs) {
    RowText &text = rows[row];
    text.unsentTokens.push_back(token);
    if (logprobs)
      text.unsentLogprobs.push_back(*logprobs);
    std::optional<std::string> piece = text.decoder.push(token, error);
    if (!piece)
      return false;
    emit(row, text.filter.push(*piece));
    const bool goOn = !keepGoing || keepGoing();
    return goOn && !text.filter.stopped();
  }

  /// Flushes what the rows held back and pairs their texts with `ids`.
  std::optional<TextGenerationResult>
  finish(GenerationResult ids, int32_t eosId, std::string &error) {
    if (!this->error.empty()) {
      error = "cannot decode a generated token: " + this->error;
      return std::nullopt;
    }
    TextGenerationResult result;
    for (size_t row = 0; row < rows.size(); ++row) {
      RowText &text = rows[row];
      emit(row, text.filter.push(text.decoder.finish()));
      emit(row, text.filter.finish());
      if (!text.unsentTokens.empty())
        emit(row, "", /*final=*/true);
      const std::vector<int32_t> &generated = ids.generated[row];
      result.finishReasons.push_back(
          text.filter.stopped() ? FinishReason::StopString
          : !generated.empty() && generated.back() == eosId
              ? FinishReason::EndOfSequence
              : FinishReason::Length);
      result.texts.push_back(std::move(text.text));
    }
    result.ids = std::move(ids);
    return result;
  }

private:
  /// Sends `piece` with the tokens since the last one; an empty piece
  /// only when `final`.
  void emit(size_t row, const std::string &piece, bool final = false) {
    if (piece.empty() && !final)
      return;
    RowText &text = rows[row];
    if (sink)
      sink(row, TextPiece{piece, std::move(text.unsentTokens),
                          std::move(text.unsentLogprobs)});
    text.unsentTokens.clear();
    text.unsentLogprobs.clear();
    text.text += piece;
  }

  std::vector<RowText> rows;
  const TextSink &sink;
  const std::function<bool()> &keepGoing;
  std::string error;
};

/// Runs `generateIds` (a Generator.h call taking the options) with `rows`
/// observing its tokens.
template <typename GenerateIds>
std::optional<TextGenerationResult>
generateWithText(CompiledModel &model, TextRows &rows,
                 const TextGenerationOptions &options, std::string &error,
                 GenerateIds &&generateIds) {
  GenerationOptions generation = options.generation;
  generation.onToken = [&rows](size_t row, int32_t token,
                               const GeneratedTokenLogprobs *logprobs) {
    return rows.accept(row, token, logprobs);
  };
  std::optional<GenerationResult> ids = generateIds(generation);
  if (!ids)
    return std::nullopt;
  return rows.finish(std::move(*ids),
                     endOfSequenceId(model.manifest(), generation), error);
}

} // namespace

std::optional<TextGenerationResult>
generateText(CompiledModel &model, const Tokenizer &tokenizer,
             const std::vector<std::vector<TokenId>> &prompts,
             const TextGenerationOptions &options, const TextSink &sink,
             std::string &error) {
  TextRows rows(tokenizer,
                options.context == TextContext::Sequence
                    ? prompts
                    : std::vector<std::vector<TokenId>>(prompts.size()),
                options, sink);
  return generateWithText(model, rows, options, error,
                          [&](const GenerationOptions &generation) {
                            return generate(model, prompts, generation, error);
                          });
}

std::optional<TextGenerationResult>
generateTextContinuing(CompiledModel &model, const Tokenizer &tokenizer,
                       const std::vector<TokenId> &cached,
                       const std::vector<TokenId> &added,
                       const TextGenerationOptions &options,
                       const TextSink &sink, std::string &error) {
  std::vector<TokenId> context;
  if (options.context == TextContext::Sequence) {
    context = cached;
    context.insert(context.end(), added.begin(), added.end());
  }
  TextRows rows(tokenizer, {context}, options, sink);
  return generateWithText(
      model, rows, options, error, [&](const GenerationOptions &generation) {
        return generateContinuing(model, cached, added, generation, error);
      });
}

} // namespace llamac
