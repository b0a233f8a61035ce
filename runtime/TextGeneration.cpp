//===- TextGeneration.cpp - Token ids to text as they are generated -------===//

#include "runtime/TextGeneration.h"

#include "runtime/JsonConstraint.h"
#include "runtime/StopStrings.h"

#include <algorithm>

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

/// What each row continues: its prompt, or nothing (options.context).
std::vector<TokenId> textContext(const TextGenerationOptions &options,
                                 std::vector<TokenId> sequence) {
  return options.context == TextContext::Sequence ? std::move(sequence)
                                                  : std::vector<TokenId>();
}

/// The text each of the model's `vocab` tokens adds, for constraints.
std::shared_ptr<const TokenTexts> tokenTexts(const Tokenizer &tokenizer,
                                             int64_t vocab) {
  auto tokens = std::make_shared<TokenTexts>();
  for (TokenId id = 0; id < vocab; ++id) {
    const bool usable = id < tokenizer.vocabSize() && !tokenizer.isSpecial(id);
    tokens->texts.push_back(usable ? tokenizer.pieceBytes(id) : "");
    tokens->usable.push_back(usable);
  }
  return tokens;
}

/// One row's ids on their way to text.
struct RowText {
  RowText(const Tokenizer &tokenizer, const std::vector<TokenId> &context,
          const std::vector<std::string> &stopStrings, int64_t limit)
      : decoder(tokenizer, DecodeOptions{/*skipSpecialTokens=*/true}),
        filter(stopStrings), limit(limit) {
    // Decoding the context first gives the continuation the spacing it has
    // after that context; the context's own text is not part of the output.
    std::string ignored;
    for (TokenId id : context)
      decoder.push(id, ignored);
  }

  StreamingDecoder decoder;
  StopStringFilter filter;
  int64_t limit;
  std::string text;
  std::vector<int32_t> generated;
  std::vector<GeneratedTokenLogprobs> logprobs;
  std::optional<FinishReason> finishReason;
  /// The tokens since the last piece, for the next one.
  std::vector<int32_t> unsentTokens;
  std::vector<GeneratedTokenLogprobs> unsentLogprobs;
};

/// A job's rows, from `firstRow`, and its result once they have all ended.
struct JobText {
  const TextGenerationJob &job;
  size_t firstRow;
  size_t unfinishedRows;
  std::optional<TextGenerationResult> result;
};

/// Decodes the rows' tokens as the generation loop reports them, and ends
/// each job as its last row ends.
class TextRows {
public:
  TextRows(const Tokenizer &tokenizer, int32_t eosId)
      : tokenizer(tokenizer), eosId(eosId) {}

  /// The job's rows, as the next rows of the batch.
  void add(const TextGenerationJob &job) {
    jobs.push_back({job, rows.size(), job.prompts.size(), std::nullopt});
    for (size_t row = 0; row < job.prompts.size(); ++row) {
      rows.emplace_back(tokenizer, textContext(job.options, job.prompts[row]),
                        job.options.stopStrings,
                        job.options.generation.maxNewTokensOf(row));
      jobOfRow.push_back(jobs.size() - 1);
    }
  }

  /// GenerationOptions::makeConstraint for the rows of JSON output's jobs
  /// over `vocab` tokens; unset if none asks for it.
  std::function<std::unique_ptr<TokenConstraint>(size_t)>
  constraints(int64_t vocab) const {
    bool any = false;
    for (const JobText &job : jobs)
      any |= job.job.options.jsonSchema != nullptr;
    if (!any)
      return {};
    return [this, tokens = tokenTexts(tokenizer, vocab)](
               size_t row) -> std::unique_ptr<TokenConstraint> {
      const std::shared_ptr<const JsonSchema> &schema =
          jobs[jobOfRow[row]].job.options.jsonSchema;
      if (!schema)
        return nullptr;
      return std::make_unique<JsonConstraint>(tokens, schema, eosId);
    };
  }

  /// GenerationOptions::onToken.
  bool accept(size_t row, TokenId token,
              const GeneratedTokenLogprobs *logprobs) {
    RowText &text = rows[row];
    JobText &job = jobs[jobOfRow[row]];
    text.generated.push_back(token);
    text.unsentTokens.push_back(token);
    if (logprobs) {
      text.logprobs.push_back(*logprobs);
      text.unsentLogprobs.push_back(*logprobs);
    }
    std::optional<std::string> piece = text.decoder.push(token, error);
    if (!piece)
      return false;
    emit(row, text.filter.push(*piece));
    const std::function<bool(size_t)> &keepGoing = job.job.options.keepGoing;
    const bool goOn = !keepGoing || keepGoing(row - job.firstRow);
    if (text.filter.stopped())
      finishRow(row, FinishReason::StopString);
    else if (token == eosId)
      finishRow(row, FinishReason::EndOfSequence);
    else if (!goOn || int64_t(text.generated.size()) == text.limit)
      finishRow(row, FinishReason::Length);
    return !text.finishReason;
  }

  /// Ends the rows that have not ended (those allowed no tokens) and returns
  /// each job's result, its `ids` from `all` (the batch's).
  std::optional<std::vector<TextGenerationResult>> finish(GenerationResult all,
                                                          std::string &error) {
    if (!this->error.empty()) {
      error = "cannot decode a generated token: " + this->error;
      return std::nullopt;
    }
    for (size_t row = 0; row < rows.size(); ++row)
      if (!rows[row].finishReason)
        finishRow(row, FinishReason::Length);
    std::vector<TextGenerationResult> results;
    for (JobText &job : jobs) {
      results.push_back(std::move(*job.result));
      if (jobs.size() == 1)
        results.back().ids = std::move(all);
      else
        addBatchShare(results.back().ids, all, job);
    }
    return results;
  }

private:
  /// Flushes what the row held back, and ends its job if it was the last.
  void finishRow(size_t row, FinishReason reason) {
    RowText &text = rows[row];
    emit(row, text.filter.push(text.decoder.finish()));
    emit(row, text.filter.finish());
    if (!text.unsentTokens.empty())
      emit(row, "", /*final=*/true);
    text.finishReason = reason;
    JobText &job = jobs[jobOfRow[row]];
    if (--job.unfinishedRows == 0)
      finishJob(job);
  }

  void finishJob(JobText &job) {
    const std::optional<int64_t> &top = job.job.options.generation.topLogprobs;
    TextGenerationResult result;
    for (size_t row = job.firstRow; row < job.firstRow + job.job.prompts.size();
         ++row) {
      RowText &text = rows[row];
      result.texts.push_back(std::move(text.text));
      result.finishReasons.push_back(*text.finishReason);
      result.ids.generated.push_back(std::move(text.generated));
      if (!top)
        continue;
      // The batch asked for the most likely tokens any of its jobs did.
      for (GeneratedTokenLogprobs &step : text.logprobs)
        step.top.resize(size_t(*top));
      result.ids.logprobs.push_back(std::move(text.logprobs));
    }
    for (const std::vector<TokenId> &prompt : job.job.prompts)
      result.ids.promptTokens += int64_t(prompt.size());
    if (job.job.onFinished)
      job.job.onFinished(result);
    job.result = std::move(result);
  }

  /// Gives `ids`, a job's, its prompt logits if it asked for them and its
  /// share of the batch's work and time.
  void addBatchShare(GenerationResult &ids, const GenerationResult &all,
                     const JobText &job) const {
    const size_t jobRows = job.job.prompts.size();
    const double share = double(jobRows) / double(rows.size());
    if (job.job.options.generation.keepPromptLogits) {
      const size_t perRow = all.promptLogits.size() / rows.size();
      ids.promptLogits.assign(all.promptLogits.begin() + job.firstRow * perRow,
                              all.promptLogits.begin() +
                                  (job.firstRow + jobRows) * perRow);
    }
    ids.decodeTokens = int64_t(double(all.decodeTokens) * share);
    ids.prefillSeconds = all.prefillSeconds * share;
    ids.decodeSeconds = all.decodeSeconds * share;
  }

  /// Sends `piece` with the tokens since the last one; an empty piece
  /// only when `final`.
  void emit(size_t row, const std::string &piece, bool final = false) {
    if (piece.empty() && !final)
      return;
    RowText &text = rows[row];
    const JobText &job = jobs[jobOfRow[row]];
    if (job.job.sink)
      job.job.sink(row - job.firstRow,
                   TextPiece{piece, std::move(text.unsentTokens),
                             std::move(text.unsentLogprobs)});
    text.unsentTokens.clear();
    text.unsentLogprobs.clear();
    text.text += piece;
  }

  const Tokenizer &tokenizer;
  int32_t eosId;
  std::vector<RowText> rows;
  std::vector<JobText> jobs;
  std::vector<size_t> jobOfRow;
  std::string error;
};

/// Runs `generateIds` (a Generator.h call taking the options) with `rows`
/// observing its tokens.
template <typename GenerateIds>
std::optional<std::vector<TextGenerationResult>>
generateWithText(const CompiledModel &model, TextRows &rows,
                 const GenerationOptions &options, std::string &error,
                 GenerateIds &&generateIds) {
  GenerationOptions generation = options;
  generation.makeConstraint = rows.constraints(model.manifest().outputSize);
  generation.onToken = [&rows](size_t row, int32_t token,
                               const GeneratedTokenLogprobs *logprobs) {
    return rows.accept(row, token, logprobs);
  };
  std::optional<GenerationResult> ids = generateIds(generation);
  if (!ids)
    return std::nullopt;
  return rows.finish(std::move(*ids), error);
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
      batch.rowSampling.push_back(generation.samplingOf(row));
      batch.rowMaxNewTokens.push_back(generation.maxNewTokensOf(row));
    }
  }
  return batch;
}

} // namespace

std::string checkTextOptions(const TextGenerationOptions &options) {
  if (!options.jsonSchema)
    return "";
  if (options.generation.ignoreEos)
    return "JSON output ends a row with EOS once its value is whole: it cannot "
           "go with ignoring EOS";
  // Bans that could leave a JSON row no token: EOS when only it may come, the
  // only token that continues the value.
  std::vector<SamplingOptions> rows = options.generation.rowSampling;
  rows.push_back(options.generation.sampling);
  for (const SamplingOptions &sampling : rows)
    if (sampling.noRepeatNgramSize > 0 || sampling.minNewTokens > 0 ||
        sampling.minLength > 0)
      return "JSON output cannot go with no_repeat_ngram_size, min_length or "
             "min_new_tokens, which could ban the only token that continues "
             "the value or ends it";
  return "";
}

std::optional<std::vector<TextGenerationResult>>
generateTextBatch(CompiledModel &model, const Tokenizer &tokenizer,
                  const std::vector<TextGenerationJob> &jobs,
                  std::string &error) {
  std::vector<std::vector<TokenId>> prompts;
  for (const TextGenerationJob &job : jobs) {
    error = checkGenerationRequest(model.manifest(), job.prompts,
                                   job.options.generation);
    if (error.empty())
      error = checkTextOptions(job.options);
    if (!error.empty())
      return std::nullopt;
    prompts.insert(prompts.end(), job.prompts.begin(), job.prompts.end());
  }
  GenerationOptions generation = batchGenerationOptions(jobs, error);
  if (!error.empty())
    return std::nullopt;
  TextRows rows(tokenizer, endOfSequenceId(model.manifest(), generation));
  for (const TextGenerationJob &job : jobs)
    rows.add(job);
  return generateWithText(model, rows, generation, error,
                          [&](const GenerationOptions &options) {
                            return generate(model, prompts, options, error);
                          });
}

/// The one result of a lone job.
static std::optional<TextGenerationResult>
loneResult(std::optional<std::vector<TextGenerationResult>> results) {
  if (!results)
    return std::nullopt;
  return std::move(results->front());
}

std::optional<TextGenerationResult>
generateText(CompiledModel &model, const Tokenizer &tokenizer,
             const std::vector<std::vector<TokenId>> &prompts,
             const TextGenerationOptions &options, const TextSink &sink,
             std::string &error) {
  return loneResult(
      generateTextBatch(model, tokenizer, {{prompts, options, sink}}, error));
}

std::optional<TextGenerationResult>
generateTextContinuing(CompiledModel &model, const Tokenizer &tokenizer,
                       const std::vector<TokenId> &cached,
                       const std::vector<TokenId> &added,
                       const TextGenerationOptions &options,
                       const TextSink &sink, std::string &error) {
  std::vector<TokenId> sequence = cached;
  sequence.insert(sequence.end(), added.begin(), added.end());
  const TextGenerationJob job = {{sequence}, options, sink};
  error = checkTextOptions(options);
  if (!error.empty())
    return std::nullopt;
  TextRows rows(tokenizer,
                endOfSequenceId(model.manifest(), options.generation));
  rows.add(job);
  return loneResult(generateWithText(
      model, rows, options.generation, error,
      [&](const GenerationOptions &generation) {
        return generateContinuing(model, cached, added, generation, error);
      }));
}

} // namespace llamac
