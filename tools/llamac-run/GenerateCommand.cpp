//===- GenerateCommand.cpp - llamac-run generate --------------------------===//

#include "runtime/AttentionMask.h"
#include "runtime/PromptIds.h"
#include "runtime/Stopwatch.h"
#include "runtime/TextGeneration.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/GenerationArguments.h"
#include "tools/llamac-run/ModelArguments.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run generate OUT.lmc (-p TEXT... | -f FILE... | "
    "--prompt-ids \"1,2,3;4,5\")\n"
    "         [--max-new-tokens N] [--stop STR]... [--json-object] "
    "[--json-schema FILE]\n"
    "         [--temperature T]"
    " [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] "
    "[--seed S]\n"
    "         [--no-bos] [--parse-special] [--json]\n"
    "         [--dump-logits FILE] [--dump-decode-logits FILE] [--weights "
    "MODEL] [--threads N]\n"
    "         [--ignore-eos] [--show-mask] [--logprobs N] [--prompt-lookup N "
    "[--lookup-ngram M]]\n"
    "Prompts: -p/--prompt TEXT, once per batch row (\"\" is BOS alone), is "
    "encoded with the\n"
    "artifact's tokenizer: BOS first unless --no-bos, and \"<s>\"-like text "
    "stays text unless\n"
    "--parse-special. -f/--file FILE reads a row's text (UTF-8) from a file "
    "instead;\n"
    "--prompt-ids gives rows of ids, ';' between rows.\n"
    "Output: text prompts stream the text generated after them to stdout as "
    "it is produced\n"
    "(with a batch, each row's text at the end, after a \"[row N]\" line); "
    "--prompt-ids prints\n"
    "the generated ids, one row per line. --json prints one object instead "
    "(text, generated_ids,\n"
    "finish_reason, sampling, timings, load_seconds). Timings, the load's "
    "included, go to stderr.\n"
    "--max-new-tokens defaults to what max_seq leaves after the longest "
    "prompt. --dump-logits\n"
    "writes the prompt's logits "
    "(one row only) as little-endian float32 [prompt length, vocab];\n"
    "--dump-decode-logits the logits each later token was chosen from "
    "[tokens - 1, vocab].\n"
    "--ignore-eos generates past EOS, up to --max-new-tokens.\n"
    "--logprobs N (with --json) adds each generated token's log-probability "
    "under the model\n"
    "(its raw logits, before bias, penalties and temperature) and the N most "
    "likely\n"
    "tokens' (0..vocab).\n"
    "--show-mask draws the prompt's attention mask on stderr first, as "
    "Hugging Face's\n"
    "AttentionMaskVisualizer does: a row per query token, \u25A0 where it "
    "attends, \u2B1A where\n"
    "masked (causal; a left-padded row's pad slots neither attend nor are "
    "attended to).\n";

namespace {
struct GenerateArguments {
  ModelArguments model;
  /// -p/--prompt texts or -f/--file contents, or the rows of --prompt-ids.
  std::vector<std::string> promptTexts;
  /// The -f/--file paths, which name their rows in errors.
  std::vector<std::string> promptFiles;
  std::vector<std::vector<int32_t>> promptIds;
  EncodeOptions encoding;
  GenerationArguments generation;
  bool json = false;
  bool ignoreEos = false;
  bool showMask = false;
  std::optional<int64_t> topLogprobs;
  std::string dumpLogitsPath;
  std::string dumpDecodeLogitsPath;

  bool textPrompts() const {
    return !promptTexts.empty() || !promptFiles.empty();
  }
  size_t rows() const {
    return !promptFiles.empty() ? promptFiles.size()
           : textPrompts()      ? promptTexts.size()
                                : promptIds.size();
  }
};
} // namespace

static bool readGenerateArguments(int argc, char **argv,
                                  GenerateArguments &parsed,
                                  std::string &error) {
  std::vector<OptionSpec> specs = modelOptionSpecs();
  std::vector<OptionSpec> generationSpecs = generationOptionSpecs();
  specs.insert(specs.end(), generationSpecs.begin(), generationSpecs.end());
  specs.insert(specs.end(), {{"--prompt", true},
                             {"-p", true, "--prompt"},
                             {"--file", true},
                             {"-f", true, "--file"},
                             {"--prompt-ids", true},
                             {"--no-bos", false},
                             {"--parse-special", false},
                             {"--json", false},
                             {"--dump-logits", true},
                             {"--dump-decode-logits", true},
                             {"--ignore-eos", false},
                             {"--show-mask", false},
                             {"--logprobs", true}});
  std::optional<ParsedArguments> args =
      parseArguments(argc, argv, specs, error);
  if (!args || !readModelArguments(*args, parsed.model, error) ||
      !readGenerationArguments(*args, parsed.generation, error) ||
      !args->readOptional("--logprobs", parsed.topLogprobs, error))
    return false;
  const int sources =
      args->has("--prompt") + args->has("--file") + args->has("--prompt-ids");
  if (sources != 1) {
    error = sources ? "give one of -p, -f and --prompt-ids"
                    : "a prompt is required: -p TEXT, -f FILE or --prompt-ids "
                      "IDS";
    return false;
  }
  parsed.promptTexts = args->getAll("--prompt");
  parsed.promptFiles = args->getAll("--file");
  if (args->has("--prompt-ids")) {
    std::optional<std::vector<std::vector<int32_t>>> rows =
        parsePromptIds(args->get("--prompt-ids"), error);
    if (!rows)
      return false;
    parsed.promptIds = std::move(*rows);
  }
  parsed.encoding.addSpecialTokens = !args->has("--no-bos");
  if (args->has("--parse-special"))
    parsed.encoding.specialTokens = SpecialTokenText::Parse;
  parsed.json = args->has("--json");
  parsed.ignoreEos = args->has("--ignore-eos");
  parsed.showMask = args->has("--show-mask");
  if (parsed.topLogprobs && !parsed.json) {
    error = "--logprobs adds to the --json output; give --json";
    return false;
  }
  parsed.dumpLogitsPath = args->get("--dump-logits");
  parsed.dumpDecodeLogitsPath = args->get("--dump-decode-logits");
  if ((!parsed.dumpLogitsPath.empty() || !parsed.dumpDecodeLogitsPath.empty()) &&
      parsed.rows() != 1) {
    error = "--dump-logits and --dump-decode-logits take a single prompt row";
    return false;
  }
  if (parsed.generation.promptLookup.enabled() && parsed.rows() != 1) {
    error = "--prompt-lookup takes a single prompt row";
    return false;
  }
  return true;
}

/// Reads the -f/--file prompts into args.promptTexts.
static bool readPromptFiles(GenerateArguments &args, std::string &error) {
  for (const std::string &path : args.promptFiles) {
    std::shared_ptr<MappedFile> file = MappedFile::open(path, error);
    if (!file)
      return false;
    args.promptTexts.emplace_back(reinterpret_cast<const char *>(file->data()),
                                  file->size());
  }
  return true;
}

/// The artifact's tokenizer when it has one; what needs it fails without.
static bool loadTokenizerIfAny(const Manifest &manifest,
                               const GenerateArguments &args,
                               std::unique_ptr<Tokenizer> &tokenizer,
                               std::string &error) {
  if (!manifest.tokenizerPath) {
    const char *need = !args.promptFiles.empty()              ? "-f text"
                       : args.textPrompts()                   ? "-p text"
                       : !args.generation.stopStrings.empty() ? "--stop"
                       : args.generation.jsonSchema           ? "JSON output"
                                                              : nullptr;
    if (need)
      error = std::string(need) +
              " needs a tokenizer, and the artifact has none (its checkpoint "
              "came without tokenizer.model)" +
              (args.textPrompts() ? "; give --prompt-ids" : "");
    return !need;
  }
  tokenizer = loadArtifactTokenizer(manifest, error);
  return tokenizer != nullptr;
}

static std::optional<std::vector<std::vector<int32_t>>>
encodePrompts(const Tokenizer &tokenizer, const GenerateArguments &args,
              std::string &error) {
  std::vector<std::vector<int32_t>> rows;
  for (size_t row = 0; row < args.promptTexts.size(); ++row) {
    std::optional<std::vector<TokenId>> ids =
        tokenizer.encode(args.promptTexts[row], args.encoding, error);
    if (!ids) {
      error = (args.promptFiles.empty() ? "prompt " + std::to_string(row)
                                        : args.promptFiles[row]) +
              ": " + error;
      return std::nullopt;
    }
    rows.push_back(std::move(*ids));
  }
  return rows;
}

/// The prompt batch's mask, each token named by its piece (or its id
/// without a tokenizer).
static void showMask(const std::vector<std::vector<int32_t>> &prompts,
                     const Tokenizer *tokenizer) {
  std::string drawing = drawAttentionMask(padLeft(prompts, 0), [&](int32_t id) {
    return tokenizer && tokenizer->contains(id)
               ? "'" + tokenizer->pieceString(id) + "'"
               : std::to_string(id);
  });
  std::fprintf(stderr, "attention mask (\u25A0 attends, \u2B1A masked):\n%s",
               drawing.c_str());
}

static bool writeLogits(const std::string &path,
                        const std::vector<float> &logits, std::string &error) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                "logits files are little-endian float32");
  FILE *file = std::fopen(path.c_str(), "wb");
  bool written = file && std::fwrite(logits.data(), sizeof(float),
                                     logits.size(), file) == logits.size();
  if (file && std::fclose(file) != 0)
    written = false;
  if (!written)
    error = "cannot write " + path + ": " + std::strerror(errno);
  return written;
}

static int64_t generatedTokens(const GenerationResult &result) {
  int64_t count = 0;
  for (const std::vector<int32_t> &row : result.generated)
    count += int64_t(row.size());
  return count;
}

/// A token as --json shows it: its id, and its piece when there is a
/// tokenizer.
static OutputJson tokenJson(int32_t id, float logprob,
                            const Tokenizer *tokenizer) {
  OutputJson token = {{"id", id}, {"logprob", logprob}};
  if (tokenizer && tokenizer->contains(id))
    token["piece"] = tokenizer->pieceString(id);
  return token;
}

static OutputJson logprobsJson(const GenerationResult &ids,
                               const Tokenizer *tokenizer) {
  OutputJson rows = OutputJson::array();
  for (size_t row = 0; row < ids.logprobs.size(); ++row) {
    OutputJson tokens = OutputJson::array();
    for (size_t i = 0; i < ids.logprobs[row].size(); ++i) {
      const GeneratedTokenLogprobs &step = ids.logprobs[row][i];
      OutputJson token =
          tokenJson(ids.generated[row][i], step.logprob, tokenizer);
      token["top"] = OutputJson::array();
      for (const TokenLogprob &likely : step.top)
        token["top"].push_back(
            tokenJson(likely.token, likely.logprob, tokenizer));
      tokens.push_back(std::move(token));
    }
    rows.push_back(std::move(tokens));
  }
  return rows;
}

static void printJson(const TextGenerationResult &result,
                      const std::vector<std::vector<int32_t>> &prompts,
                      const SamplingOptions &sampling,
                      const PromptLookupOptions &promptLookup,
                      const Tokenizer *tokenizer, double loadSeconds) {
  const GenerationResult &ids = result.ids;
  const bool hasText = tokenizer != nullptr;
  OutputJson output;
  if (hasText) {
    output["text"] = result.texts;
    std::vector<std::string> reasons;
    for (FinishReason reason : result.finishReasons)
      reasons.push_back(finishReasonName(reason));
    output["finish_reason"] = reasons;
  }
  output["prompt_ids"] = prompts;
  output["generated_ids"] = ids.generated;
  if (!ids.logprobs.empty())
    output["logprobs"] = logprobsJson(ids, tokenizer);
  output["sampling"] = samplingToJson(sampling);
  output["load_seconds"] = loadSeconds;
  output["prompt_tokens"] = ids.promptTokens;
  output["prefill_seconds"] = ids.prefillSeconds;
  output["prompt_tokens_per_second"] =
      perSecond(ids.promptTokens, ids.prefillSeconds);
  output["generated_tokens"] = generatedTokens(ids);
  output["decode_tokens"] = ids.decodeTokens;
  output["decode_seconds"] = ids.decodeSeconds;
  output["decode_tokens_per_second"] =
      perSecond(ids.decodeTokens, ids.decodeSeconds);
  if (promptLookup.enabled())
    output["prompt_lookup"] = {
        {"draft_tokens", ids.draftTokens},
        {"accepted_draft_tokens", ids.acceptedDraftTokens}};
  std::printf("%s\n", output.dump().c_str());
}

static void printIds(const GenerationResult &result) {
  for (const std::vector<int32_t> &row : result.generated) {
    for (size_t i = 0; i < row.size(); ++i)
      std::printf(i ? " %d" : "%d", row[i]);
    std::printf("\n");
  }
}

static void printTimings(const GenerationResult &result, double loadSeconds) {
  std::fprintf(stderr,
               "load: %.2f s; prompt: %lld tokens, %.1f tokens/s; generated: "
               "%lld tokens, %.1f tokens/s",
               loadSeconds, (long long)result.promptTokens,
               perSecond(result.promptTokens, result.prefillSeconds),
               (long long)generatedTokens(result),
               perSecond(result.decodeTokens, result.decodeSeconds));
  const std::string drafts = describeDrafts(result);
  std::fprintf(stderr, "%s%s\n", drafts.empty() ? "" : "; ", drafts.c_str());
}

/// Everything but text streamed while it was generated.
static void printResult(const GenerateArguments &args,
                        const TextGenerationResult &result,
                        const std::vector<std::vector<int32_t>> &prompts,
                        const SamplingOptions &sampling,
                        const Tokenizer *tokenizer, bool streamed,
                        double loadSeconds) {
  const PromptLookupOptions &promptLookup = args.generation.promptLookup;
  if (args.json) {
    printJson(result, prompts, sampling, promptLookup, tokenizer, loadSeconds);
    return;
  }
  if (streamed) {
    printNow("\n");
  } else if (args.textPrompts()) {
    for (size_t row = 0; row < result.texts.size(); ++row) {
      std::printf("[row %zu]\n", row);
      printNow(result.texts[row] + "\n");
    }
  } else {
    printIds(result.ids);
  }
  printTimings(result.ids, loadSeconds);
}

int runGenerateCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s%s%s", kUsage, kGenerationUsage, kPromptLookupUsage);
    return 0;
  }
  GenerateArguments args;
  std::string error;
  if (!readGenerateArguments(argc, argv, args, error))
    return reportUsageError(error);
  if (!readPromptFiles(args, error))
    return reportError(error);
  std::unique_ptr<CompiledModel> model;
  const double loadSeconds =
      secondsSpentIn([&] { model = loadCompiledModel(args.model, error); });
  if (!model)
    return reportError(error);
  const Manifest &manifest = model->manifest();
  std::unique_ptr<Tokenizer> tokenizer;
  if (!loadTokenizerIfAny(manifest, args, tokenizer, error))
    return reportError(error);
  std::optional<std::vector<std::vector<int32_t>>> prompts =
      args.textPrompts() ? encodePrompts(*tokenizer, args, error)
                         : args.promptIds;
  if (!prompts)
    return reportError(error);
  if (args.showMask)
    showMask(*prompts, tokenizer.get());

  TextGenerationOptions options;
  options.stopStrings = args.generation.stopStrings;
  options.jsonSchema = args.generation.jsonSchema;
  GenerationOptions &generation = options.generation;
  generation.sampling = args.generation.sampling(manifest);
  generation.keepPromptLogits = !args.dumpLogitsPath.empty();
  generation.keepDecodeLogits = !args.dumpDecodeLogitsPath.empty();
  generation.ignoreEos = args.ignoreEos;
  generation.topLogprobs = args.topLogprobs;
  generation.promptLookup = args.generation.promptLookup;
  size_t longest = 0;
  for (const std::vector<int32_t> &prompt : *prompts)
    longest = std::max(longest, prompt.size());
  generation.maxNewTokens = args.generation.maxNewTokens.value_or(
      std::max<int64_t>(0, manifest.maxSeq - int64_t(longest)));

  bool streaming = args.textPrompts() && !args.json && prompts->size() == 1;
  TextSink sink;
  if (streaming)
    sink = [](size_t, const TextPiece &piece) { printNow(piece.text); };
  std::optional<TextGenerationResult> result;
  if (tokenizer) {
    result = generateText(*model, *tokenizer, *prompts, options, sink, error);
  } else if (std::optional<GenerationResult> ids =
                 generate(*model, *prompts, generation, error)) {
    result = TextGenerationResult{std::move(*ids), {}, {}};
  }
  if (!result)
    return reportError(error);
  if (!args.dumpLogitsPath.empty() &&
      !writeLogits(args.dumpLogitsPath, result->ids.promptLogits, error))
    return reportError(error);
  if (!args.dumpDecodeLogitsPath.empty() &&
      !writeLogits(args.dumpDecodeLogitsPath, result->ids.decodeLogits, error))
    return reportError(error);
  printResult(args, *result, *prompts, generation.sampling, tokenizer.get(),
              streaming, loadSeconds);
  return 0;
}

} // namespace llamac
