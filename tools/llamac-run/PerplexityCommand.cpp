//===- PerplexityCommand.cpp - llamac-run perplexity ----------------------===//
//
// The request (text, window, stride) is checked against the manifest before
// the weights load, so a mistake costs no load time.
//
//===----------------------------------------------------------------------===//

#include "runtime/Perplexity.h"
#include "runtime/PromptIds.h"
#include "runtime/Stopwatch.h"
#include "runtime/TextGeneration.h"
#include "tools/llamac-run/Commands.h"
#include "tools/llamac-run/ModelArguments.h"

#include <chrono>
#include <cstdio>

namespace llamac {

static const char *const kUsage =
    "usage: llamac-run perplexity OUT.lmc (-f FILE | --text TEXT | "
    "--prompt-ids IDS)\n"
    "         [--ctx N] [--stride S] [--no-bos] [--json] [--weights MODEL] "
    "[--threads N]\n"
    "The perplexity of the model on a text: exp of the mean negative "
    "log-likelihood of its\n"
    "tokens, each predicted from the ones before it. The text (UTF-8; BOS "
    "first unless\n"
    "--no-bos) runs in windows of --ctx tokens (default max_seq) that start "
    "every --stride\n"
    "tokens (default ctx/2), as Hugging Face's sliding-window evaluation "
    "does: each window\n"
    "scores the tokens no earlier one did, so each token sees at least ctx - "
    "stride before it.\n"
    "--prompt-ids gives the text as one row of ids. Progress goes to stderr; "
    "--json prints one\n"
    "object (perplexity, mean_nll, scored_tokens, windows, ...).\n";

namespace {
struct PerplexityArguments {
  ModelArguments model;
  std::string textFile;
  std::optional<std::string> text;
  std::optional<std::vector<int32_t>> ids;
  bool addBos = true;
  std::optional<int64_t> window;
  std::optional<int64_t> stride;
  bool json = false;
};
} // namespace

static bool readTextSource(const ParsedArguments &args,
                           PerplexityArguments &parsed, std::string &error) {
  const int sources =
      args.has("--file") + args.has("--text") + args.has("--prompt-ids");
  if (sources != 1) {
    error = sources ? "give one of -f, --text and --prompt-ids"
                    : "a text is required: -f FILE, --text TEXT or "
                      "--prompt-ids IDS";
    return false;
  }
  parsed.textFile = args.get("--file");
  if (args.has("--text"))
    parsed.text = args.get("--text");
  if (!args.has("--prompt-ids"))
    return true;
  std::optional<std::vector<std::vector<int32_t>>> rows =
      parsePromptIds(args.get("--prompt-ids"), error);
  if (!rows)
    return false;
  if (rows->size() != 1) {
    error = "--prompt-ids takes one row of ids here, not " +
            std::to_string(rows->size());
    return false;
  }
  parsed.ids = std::move(rows->front());
  return true;
}

static bool readPerplexityArguments(int argc, char **argv,
                                    PerplexityArguments &parsed,
                                    std::string &error) {
  std::vector<OptionSpec> specs = modelOptionSpecs();
  specs.insert(specs.end(), {{"--file", true},
                             {"-f", true, "--file"},
                             {"--text", true},
                             {"--prompt-ids", true},
                             {"--ctx", true},
                             {"--stride", true},
                             {"--no-bos", false},
                             {"--json", false}});
  std::optional<ParsedArguments> args =
      parseArguments(argc, argv, specs, error);
  if (!args || !readModelArguments(*args, parsed.model, error) ||
      !readTextSource(*args, parsed, error) ||
      !args->readOptional("--ctx", parsed.window, error) ||
      !args->readOptional("--stride", parsed.stride, error))
    return false;
  parsed.addBos = !args->has("--no-bos");
  parsed.json = args->has("--json");
  return true;
}

/// The text's ids: --prompt-ids as given, else the text encoded with the
/// artifact's tokenizer.
static std::optional<std::vector<int32_t>>
textTokens(const Manifest &manifest, const PerplexityArguments &args,
           std::string &error) {
  if (args.ids)
    return args.ids;
  if (!manifest.tokenizerPath) {
    error = "the artifact has no tokenizer (its checkpoint came without "
            "tokenizer.model); give --prompt-ids";
    return std::nullopt;
  }
  std::unique_ptr<Tokenizer> tokenizer = loadArtifactTokenizer(manifest, error);
  if (!tokenizer)
    return std::nullopt;
  std::shared_ptr<MappedFile> file;
  if (!args.text && !(file = MappedFile::open(args.textFile, error)))
    return std::nullopt;
  std::string_view text =
      args.text ? std::string_view(*args.text)
                : std::string_view(reinterpret_cast<const char *>(file->data()),
                                   file->size());
  EncodeOptions encoding;
  encoding.addSpecialTokens = args.addBos;
  std::optional<std::vector<TokenId>> ids =
      tokenizer->encode(text, encoding, error);
  if (!ids)
    error = (args.text ? std::string("--text") : args.textFile) + ": " + error;
  return ids;
}

/// A line on stderr at most every second, and after the last window: a long
/// text runs thousands of windows.
static std::function<void(const PerplexityResult &, int64_t)>
progressPrinter() {
  using Clock = std::chrono::steady_clock;
  return [lastPrinted = Clock::time_point()](const PerplexityResult &sofar,
                                             int64_t windows) mutable {
    if (sofar.windows < windows &&
        Clock::now() - lastPrinted < std::chrono::seconds(1))
      return;
    lastPrinted = Clock::now();
    std::fprintf(stderr, "[%lld/%lld] perplexity %.4f over %lld tokens\n",
                 (long long)sofar.windows, (long long)windows,
                 sofar.perplexity(), (long long)sofar.scoredTokens);
  };
}

static void printJson(const PerplexityResult &result,
                      const PerplexityOptions &options, size_t textTokens,
                      double loadSeconds) {
  // Doubles, not OutputJson's floats: a long text's summed log-likelihood
  // needs more than float32's 7 digits.
  nlohmann::json output;
  output["perplexity"] = result.perplexity();
  output["mean_nll"] = result.meanNegativeLogLikelihood();
  output["negative_log_likelihood"] = result.negativeLogLikelihood;
  output["text_tokens"] = textTokens;
  output["scored_tokens"] = result.scoredTokens;
  output["windows"] = result.windows;
  output["ctx"] = options.window;
  output["stride"] = options.stride;
  output["processed_tokens"] = result.processedTokens;
  output["seconds"] = result.seconds;
  output["tokens_per_second"] =
      perSecond(result.processedTokens, result.seconds);
  output["load_seconds"] = loadSeconds;
  std::printf("%s\n", output.dump().c_str());
}

static void printText(const PerplexityResult &result,
                      const PerplexityOptions &options, double loadSeconds) {
  std::printf("perplexity %.4f over %lld tokens (mean negative "
              "log-likelihood %.6f; %lld window%s of up to %lld tokens, stride "
              "%lld)\n",
              result.perplexity(), (long long)result.scoredTokens,
              result.meanNegativeLogLikelihood(), (long long)result.windows,
              result.windows == 1 ? "" : "s", (long long)options.window,
              (long long)options.stride);
  std::fprintf(stderr, "load: %.2f s; %lld tokens processed, %.1f tokens/s\n",
               loadSeconds, (long long)result.processedTokens,
               perSecond(result.processedTokens, result.seconds));
}

int runPerplexityCommand(int argc, char **argv) {
  if (wantsHelp(argc, argv)) {
    std::printf("%s", kUsage);
    return 0;
  }
  PerplexityArguments args;
  std::string error;
  if (!readPerplexityArguments(argc, argv, args, error))
    return reportUsageError(error);
  std::optional<Manifest> manifest =
      loadManifest(args.model.artifactDir, error);
  if (!manifest)
    return reportError(error);
  std::optional<std::vector<int32_t>> tokens =
      textTokens(*manifest, args, error);
  if (!tokens)
    return reportError(error);
  PerplexityOptions options;
  options.window = args.window.value_or(manifest->maxSeq);
  options.stride =
      args.stride.value_or(std::max<int64_t>(1, options.window / 2));
  options.onProgress = progressPrinter();
  error = checkPerplexityRequest(*manifest, *tokens, options);
  if (!error.empty())
    return reportError(error);

  std::unique_ptr<CompiledModel> model;
  const double loadSeconds =
      secondsSpentIn([&] { model = loadCompiledModel(args.model, error); });
  if (!model)
    return reportError(error);
  std::optional<PerplexityResult> result =
      evaluatePerplexity(*model, *tokens, options, error);
  if (!result)
    return reportError(error);
  if (args.json)
    printJson(*result, options, tokens->size(), loadSeconds);
  else
    printText(*result, options, loadSeconds);
  return 0;
}

} // namespace llamac
