//===- GenerationArguments.cpp - Options of generate and chat -------------===//

#include "tools/llamac-run/GenerationArguments.h"

#include "frontends/Errors.h"
#include "frontends/Json.h"
#include "runtime/GenerationConfig.h"
#include "runtime/JsonSchema.h"

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

namespace llamac {

const char *const kGenerationUsage =
    "Generation: until EOS, --max-new-tokens N, or a --stop STR (repeatable; "
    "the stop string\n"
    "is not printed). Sampling starts from the artifact's generation_config "
    "as Hugging Face\n"
    "reads it: greedy unless it sets do_sample; when sampling, temperature 1, "
    "top-k 50,\n"
    "top-p 1 unless it says otherwise. Flags replace single settings:\n"
    "  --temperature T (0: greedy, > 0: sample)  --top-k K (0: all)  --top-p "
    "P  --min-p P\n"
    "  --repetition-penalty R (also when greedy)  --seed S (default 0; the "
    "same seed gives\n"
    "  the same text, alone or in a batch)\n"
    "  --presence-penalty P  --frequency-penalty F (OpenAI's, in [-2, 2], "
    "also when greedy):\n"
    "  a generated token's logit loses P, and F per time it was generated\n"
    "  --logit-bias ID:B (repeatable; OpenAI's logit_bias) adds B, in [-100, "
    "100], to token\n"
    "  ID's logit before the penalties: -100 all but bans it\n"
    "  --no-repeat-ngram-size N (Hugging Face's): no N tokens in a row occur "
    "twice, prompt\n"
    "  included  --min-new-tokens N (Hugging Face's): EOS is banned until N "
    "are generated\n"
    "  --json-object: JSON mode (OpenAI's response_format json_object): the "
    "text is a JSON\n"
    "  object, each token one that continues it, and EOS ends it once whole\n"
    "  --json-schema FILE: structured output (response_format json_schema): "
    "the text is an\n"
    "  object the JSON Schema in FILE accepts (type, properties, required, "
    "additionalProperties,\n"
    "  items, minItems, maxItems, minLength, maxLength, an integer's "
    "minimum and maximum,\n"
    "  enum, const, anyOf/oneOf of different types, local $ref)\n";

const char *const kPromptLookupUsage =
    "Prompt lookup (one prompt row): --prompt-lookup N scores up to N draft "
    "tokens a step,\n"
    "copied from what followed the last --lookup-ngram M (default 2) tokens "
    "where they\n"
    "occurred before, and keeps those the model chooses itself: the same "
    "text in fewer\n"
    "steps where the answer repeats its context (summaries, extraction, "
    "code edits).\n";

std::vector<OptionSpec> generationOptionSpecs() {
  std::vector<OptionSpec> specs = {{"--temperature", true},
                                   {"--top-k", true},
                                   {"--top-p", true},
                                   {"--min-p", true},
                                   {"--repetition-penalty", true},
                                   {"--presence-penalty", true},
                                   {"--frequency-penalty", true},
                                   {"--no-repeat-ngram-size", true},
                                   {"--min-new-tokens", true},
                                   {"--logit-bias", true},
                                   {"--seed", true},
                                   {"--max-new-tokens", true},
                                   {"--stop", true},
                                   {"--json-object", false},
                                   {"--json-schema", true}};
  for (const OptionSpec &spec : promptLookupOptionSpecs())
    specs.push_back(spec);
  return specs;
}

std::vector<OptionSpec> promptLookupOptionSpecs() {
  return {{"--prompt-lookup", true}, {"--lookup-ngram", true}};
}

bool readPromptLookupArguments(const ParsedArguments &args,
                               PromptLookupOptions &options,
                               std::string &error) {
  std::optional<int64_t> draftTokens, maxNgram;
  if (!args.readOptional("--prompt-lookup", draftTokens, error) ||
      !args.readOptional("--lookup-ngram", maxNgram, error))
    return false;
  if (maxNgram && !draftTokens) {
    error = "--lookup-ngram goes with --prompt-lookup N";
    return false;
  }
  options.draftTokens = draftTokens.value_or(options.draftTokens);
  options.maxNgram = maxNgram.value_or(options.maxNgram);
  error = validatePromptLookupOptions(options);
  return error.empty();
}

static SamplingOptions applyFlags(const GenerationArguments &generation,
                                  SamplingOptions options) {
  options.temperature = generation.temperature.value_or(options.temperature);
  options.topK = generation.topK.value_or(options.topK);
  options.topP = generation.topP.value_or(options.topP);
  options.minP = generation.minP.value_or(options.minP);
  options.repetitionPenalty =
      generation.repetitionPenalty.value_or(options.repetitionPenalty);
  options.presencePenalty =
      generation.presencePenalty.value_or(options.presencePenalty);
  options.noRepeatNgramSize =
      generation.noRepeatNgramSize.value_or(options.noRepeatNgramSize);
  options.minNewTokens = generation.minNewTokens.value_or(options.minNewTokens);
  options.frequencyPenalty =
      generation.frequencyPenalty.value_or(options.frequencyPenalty);
  if (!generation.logitBias.empty())
    options.logitBias = generation.logitBias;
  options.seed = generation.seed.value_or(options.seed);
  return options;
}

SamplingOptions GenerationArguments::sampling(const Manifest &manifest) const {
  return applyFlags(*this, defaultSampling(manifest.generationConfig));
}

/// A schema file larger than this is refused unread.
constexpr uint64_t kMaxSchemaBytes = uint64_t(1) << 20;

/// --json-object or --json-schema FILE: the schema of the JSON output.
static bool readJsonOutput(const ParsedArguments &args,
                           GenerationArguments &generation,
                           std::string &error) {
  if (args.has("--json-object") && args.has("--json-schema")) {
    error = "give one of --json-object and --json-schema";
    return false;
  }
  if (args.has("--json-object"))
    generation.jsonSchema = JsonSchema::anyObject();
  if (!args.has("--json-schema"))
    return true;
  const std::string source = "--json-schema " + args.get("--json-schema");
  const std::optional<nlohmann::json> schema =
      reportFailures(source, error, [&] {
        return std::optional<nlohmann::json>(
            readJsonObjectFile(args.get("--json-schema"), kMaxSchemaBytes));
      });
  if (!schema)
    return false;
  generation.jsonSchema = JsonSchema::compile(*schema, error);
  if (!generation.jsonSchema)
    error = source + ": " + error;
  return generation.jsonSchema != nullptr;
}

/// --logit-bias ID:BIAS, e.g. "29871:-100".
static bool readLogitBias(const std::string &text,
                          std::pair<int32_t, float> &entry,
                          std::string &error) {
  const size_t colon = text.find(':');
  char *idEnd = nullptr, *biasEnd = nullptr;
  errno = 0;
  const long long id = std::strtoll(text.c_str(), &idEnd, 10);
  const float bias =
      colon == std::string::npos ? 0 : std::strtof(&text[colon + 1], &biasEnd);
  if (colon == std::string::npos || colon == 0 || idEnd != &text[colon] ||
      errno == ERANGE || id < 0 || id > std::numeric_limits<int32_t>::max() ||
      biasEnd == &text[colon + 1] || *biasEnd != '\0') {
    error = "--logit-bias expects TOKEN_ID:BIAS, got '" + text + "'";
    return false;
  }
  entry = {int32_t(id), bias};
  return true;
}

bool readGenerationArguments(const ParsedArguments &args,
                             GenerationArguments &generation,
                             std::string &error) {
  std::optional<int64_t> seed;
  if (!args.readOptional("--temperature", generation.temperature, error) ||
      !args.readOptional("--top-k", generation.topK, error) ||
      !args.readOptional("--top-p", generation.topP, error) ||
      !args.readOptional("--min-p", generation.minP, error) ||
      !args.readOptional("--repetition-penalty", generation.repetitionPenalty,
                         error) ||
      !args.readOptional("--presence-penalty", generation.presencePenalty,
                         error) ||
      !args.readOptional("--frequency-penalty", generation.frequencyPenalty,
                         error) ||
      !args.readOptional("--no-repeat-ngram-size", generation.noRepeatNgramSize,
                         error) ||
      !args.readOptional("--min-new-tokens", generation.minNewTokens, error) ||
      !args.readOptional("--seed", seed, error) ||
      !args.readOptional("--max-new-tokens", generation.maxNewTokens, error) ||
      !readPromptLookupArguments(args, generation.promptLookup, error))
    return false;
  if (seed)
    generation.seed = uint64_t(*seed);
  if (generation.maxNewTokens && *generation.maxNewTokens < 0) {
    error = "--max-new-tokens must be >= 0";
    return false;
  }
  for (const std::string &text : args.getAll("--logit-bias")) {
    std::pair<int32_t, float> entry;
    if (!readLogitBias(text, entry, error))
      return false;
    generation.logitBias.push_back(entry);
  }
  if (!readJsonOutput(args, generation, error))
    return false;
  generation.stopStrings = args.getAll("--stop");
  for (const std::string &stop : generation.stopStrings) {
    if (stop.empty()) {
      error = "--stop needs a non-empty string";
      return false;
    }
  }
  // The flags' own ranges, before any artifact is read (its vocabulary
  // bounds --logit-bias's ids when the generation is checked).
  error = validateSamplingOptions(applyFlags(generation, defaultSampling({})),
                                  std::numeric_limits<int64_t>::max());
  return error.empty();
}

OutputJson samplingToJson(const SamplingOptions &sampling) {
  OutputJson json;
  json["do_sample"] = !sampling.isGreedy();
  json["temperature"] = sampling.temperature;
  json["top_k"] = sampling.topK;
  json["top_p"] = sampling.topP;
  json["min_p"] = sampling.minP;
  json["repetition_penalty"] = sampling.repetitionPenalty;
  json["presence_penalty"] = sampling.presencePenalty;
  json["frequency_penalty"] = sampling.frequencyPenalty;
  json["no_repeat_ngram_size"] = sampling.noRepeatNgramSize;
  json["min_length"] = sampling.minLength;
  json["min_new_tokens"] = sampling.minNewTokens;
  json["logit_bias"] = OutputJson::object();
  for (const auto &[token, bias] : sampling.logitBias)
    json["logit_bias"][std::to_string(token)] = bias;
  json["seed"] = sampling.seed;
  return json;
}

bool readChatTemplate(const ParsedArguments &args, ChatTemplate &style,
                      std::string &error) {
  std::string name = args.has("--template") ? args.get("--template") : "meta";
  if (name != "meta" && name != "hf") {
    error = "--template must be meta or hf, got '" + name + "'";
    return false;
  }
  style =
      name == "hf" ? ChatTemplate::HuggingFace : ChatTemplate::MetaReference;
  return true;
}

} // namespace llamac
