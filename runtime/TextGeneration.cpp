//===- TextGeneration.cpp - Token ids to text as they are generated -------===//

#include "runtime/TextGeneration.h"

#include "runtime/StopStrings.h"

#include <algorithm>
#include <iterator>

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

/// One row's ids on their way to text, and whose row it is.
struct RowText {
  RowText(const Tokenizer &tokenizer, const std::vector<TokenId> &context,
          const TextGenerationOptions &options, const TextSink &sink,
          size_t jobRow)
      : decoder(tokenizer, DecodeOptions{/*skipSpecialTokens=*/true}),
        filter(options.stopStrings), keepGoing(options.keepGoing), sink(sink),
        jobRow(jobRow) {
    // Decoding the context first gives the continuation the spacing it has
    // after that context; the context's own text is not part of the output.
    std::string ignored;
    for (TokenId id : context)
      decoder.push(id, ignored);
  }

  StreamingDecoder decoder;
  StopStringFilter filter;
  const std::function<bool(size_t)> &keepGoing;
  const TextSink &sink;
  /// The row's index in its job, as its sink and keepGoing know it.
  size_t jobRow;
  std::string text;
  /// The tokens since the last piece, for the next one.
  std::vector<int32_t> unsentTokens;
  std::vector<GeneratedTokenLogprobs> unsentLogprobs;
};

/// What each row continues: its prompt, or nothing (options.context).
std::vector<TokenId> textContext(const TextGenerationOptions &options,
                                 std::vector<TokenId> sequence) {
  return options.context == TextContext::Sequence ? std::move(sequence)
                                                  : std::vector<TokenId>();
}

/// Decodes the rows' tokens as the generation loop reports them.
class TextRows {
public:
  explicit TextRows(const Tokenizer &tokenizer) : tokenizer(tokenizer) {}

  /// The next row of the batch: row `jobRow` of a job with these options
  /// and sink.
  void add(const std::vector<TokenId> &context,
           const TextGenerationOptions &options, const TextSink &sink,
           size_t jobRow) {
    rows.emplace_back(tokenizer, textContext(options, context), options, sink,
                      jobRow);
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
    const bool goOn = !text.keepGoing || text.keepGoing(text.jobRow);
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
    if (text.sink)
      text.sink(text.jobRow, TextPiece{piece, std::move(text.unsentTokens),
                                       std::move(text.unsentLogprobs)});
    text.unsentTokens.clear();
    text.unsentLogprobs.clear();
    text.text += piece;
  }

  const Tokenizer &tokenizer;
  std::vector<RowText> rows;
  std::string error;
};

/// Runs `generateIds` (a Generator.h call taking the options) with `rows`
/// observing its tokens.
template <typename GenerateIds>
std::optional<TextGenerationResult>
generateWithText(CompiledModel &model, TextRows &rows,
                 const GenerationOptions &options, std::string &error,
                 GenerateIds &&generateIds) {
  GenerationOptions generation = options;
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

/// The generation settings of the jobs' rows as one batch; "" in `error`
/// unless the jobs cannot share one.
GenerationOptions batchGenerationOptions(
    const std::vector<TextGenerationJob> &jobs, std::string &error) {
  if (jobs.size() == 1)
    return jobs.front().options.generation;
  GenerationOptions batch;
  batch.ignoreEos = jobs.front().options.generation.ignoreEos;
  for (const TextGenerationJob &job : jobs) {
    const GenerationOptions &generation = job.options.generation;
    if (generation.ignoreEos != batch.ignoreEos)
      error = "the jobs of a batch differ in ignoreEos";
    if (generation.keepDecodeLogits)
      error = "only a lone job keeps its decode logits";
    batch.maxNewTokens = std::max(batch.maxNewTokens, generation.maxNewTokens);
    batch.keepPromptLogits |= generation.keepPromptLogits;
    if (generation.topLogprobs)
      batch.topLogprobs =
          std::max(batch.topLogprobs.value_or(0), *generation.topLogprobs);
    for (size_t row = 0; row < job.prompts.size(); ++row) {
      batch.rowSampling.push_back(generation.rowSampling.empty()
                                      ? generation.sampling
                                      : generation.rowSampling[row]);
      batch.rowMaxNewTokens.push_back(generation.rowMaxNewTokens.empty()
                                          ? generation.maxNewTokens
                                          : generation.rowMaxNewTokens[row]);
    }
  }
  return batch;
}

/// Moves `count` elements of `all` from `first` into a vector.
template <typename T>
std::vector<T> takeRows(std::vector<T> &all, size_t first, size_t count) {
  return {std::make_move_iterator(all.begin() + first),
          std::make_move_iterator(all.begin() + first + count)};
}

/// Job `job`'s part of the batch's result, whose rows from `first` are its.
TextGenerationResult jobResult(TextGenerationResult &batch,
                               const TextGenerationJob &job, size_t first) {
  const GenerationOptions &asked = job.options.generation;
  GenerationResult &all = batch.ids;
  const size_t rows = job.prompts.size();
  const double share = double(rows) / double(all.generated.size());
  TextGenerationResult result;
  result.texts = takeRows(batch.texts, first, rows);
  result.finishReasons = takeRows(batch.finishReasons, first, rows);
  GenerationResult &ids = result.ids;
  ids.generated = takeRows(all.generated, first, rows);
  if (asked.topLogprobs) {
    ids.logprobs = takeRows(all.logprobs, first, rows);
    for (std::vector<GeneratedTokenLogprobs> &row : ids.logprobs)
      for (GeneratedTokenLogprobs &step : row)
        step.top.resize(size_t(*asked.topLogprobs));
  }
  if (asked.keepPromptLogits) {
    const size_t perRow = all.promptLogits.size() / all.generated.size();
    ids.promptLogits.assign(all.promptLogits.begin() + first * perRow,
                            all.promptLogits.begin() + (first + rows) * perRow);
  }
  for (const std::vector<TokenId> &prompt : job.prompts)
    ids.promptTokens += int64_t(prompt.size());
  ids.decodeTokens = int64_t(double(all.decodeTokens) * share);
  ids.prefillSeconds = all.prefillSeconds * share;
  ids.decodeSeconds = all.decodeSeconds * share;
  return result;
}

} // namespace

std::optional<std::vector<TextGenerationResult>>
generateTextBatch(CompiledModel &model, const Tokenizer &tokenizer,
                  const std::vector<TextGenerationJob> &jobs,
                  std::string &error) {
  std::vector<std::vector<TokenId>> prompts;
  TextRows rows(tokenizer);
  for (const TextGenerationJob &job : jobs) {
    error = checkGenerationRequest(model.manifest(), job.prompts,
                                   job.options.generation);
    if (!error.empty())
      return std::nullopt;
    for (size_t row = 0; row < job.prompts.size(); ++row) {
      prompts.push_back(job.prompts[row]);
      rows.add(job.prompts[row], job.options, job.sink, row);
    }
  }
  GenerationOptions generation = batchGenerationOptions(jobs, error);
  if (!error.empty())
    return std::nullopt;
  std::optional<TextGenerationResult> batch = generateWithText(
      model, rows, generation, error, [&](const GenerationOptions &options) {
        return generate(model, prompts, options, error);
      });
  if (!batch)
    return std::nullopt;
  std::vector<TextGenerationResult> results;
  if (jobs.size() == 1)
    results.push_back(std::move(*batch));
  for (size_t job = 0, first = 0; jobs.size() > 1 && job < jobs.size();
       first += jobs[job++].prompts.size())
    results.push_back(jobResult(*batch, jobs[job], first));
  return results;
}

std::optional<TextGenerationResult>
generateText(CompiledModel &model, const Tokenizer &tokenizer,
             const std::vector<std::vector<TokenId>> &prompts,
             const TextGenerationOptions &options, const TextSink &sink,
             std::string &error) {
  std::optional<std::vector<TextGenerationResult>> results =
      generateTextBatch(model, tokenizer, {{prompts, options, sink}}, error);
  if (!results)
    return std::nullopt;
  return std::move(results->front());
}

std::optional<TextGenerationResult>
generateTextContinuing(CompiledModel &model, const Tokenizer &tokenizer,
                       const std::vector<TokenId> &cached,
                       const std::vector<TokenId> &added,
                       const TextGenerationOptions &options,
                       const TextSink &sink, std::string &error) {
  std::vector<TokenId> sequence = cached;
  sequence.insert(sequence.end(), added.begin(), added.end());
  TextRows rows(tokenizer);
  rows.add(sequence, options, sink, 0);
  return generateWithText(
      model, rows, options.generation, error,
      [&](const GenerationOptions &generation) {
        return generateContinuing(model, cached, added, generation, error);
      });
}

} // namespace llamac
