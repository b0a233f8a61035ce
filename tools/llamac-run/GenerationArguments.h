//===- GenerationArguments.h - Options of generate and chat -----*- C++ -*-===//
//
// The sampling flags, --max-new-tokens and --stop, which `generate` and
// `chat` share. Sampling starts from the artifact's generation_config (see
// runtime/GenerationConfig.h); each flag given replaces one setting.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TOOLS_LLAMAC_RUN_GENERATIONARGUMENTS_H
#define LLAMAC_TOOLS_LLAMAC_RUN_GENERATIONARGUMENTS_H

#include "runtime/JsonSchema.h"
#include "runtime/Manifest.h"
#include "runtime/PromptLookup.h"
#include "runtime/Sampler.h"
#include "runtime/tokenizer/ChatFormat.h"
#include "tools/llamac-run/CommandLine.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// The usage lines of these options.
extern const char *const kGenerationUsage;
/// The usage lines of --prompt-lookup and --lookup-ngram.
extern const char *const kPromptLookupUsage;

struct GenerationArguments {
  std::optional<float> temperature;
  std::optional<int64_t> topK;
  std::optional<float> topP;
  std::optional<float> minP;
  std::optional<float> repetitionPenalty;
  std::optional<float> presencePenalty;
  std::optional<float> frequencyPenalty;
  std::optional<int64_t> noRepeatNgramSize;
  std::optional<int64_t> minNewTokens;
  std::vector<std::pair<int32_t, float>> logitBias;
  std::optional<uint64_t> seed;
  std::optional<int64_t> maxNewTokens;
  std::vector<std::string> stopStrings;
  /// --json-object's or --json-schema's; null for text.
  std::shared_ptr<const JsonSchema> jsonSchema;
  PromptLookupOptions promptLookup;

  /// The artifact's defaults with the flags given applied.
  SamplingOptions sampling(const Manifest &manifest) const;
};

/// The option specs, to extend a command's own with.
std::vector<OptionSpec> generationOptionSpecs();

/// False (and `error` set, a usage error) for a malformed or out-of-range
/// value.
bool readGenerationArguments(const ParsedArguments &args,
                             GenerationArguments &generation,
                             std::string &error);

/// --prompt-lookup N and --lookup-ngram M, which generationOptionSpecs()
/// includes.
std::vector<OptionSpec> promptLookupOptionSpecs();

/// False (and `error` set, a usage error) for a value out of range, or
/// --lookup-ngram without --prompt-lookup.
bool readPromptLookupArguments(const ParsedArguments &args,
                               PromptLookupOptions &options,
                               std::string &error);

/// --template meta|hf (default meta) into `style`; false (and `error` set)
/// for another value.
bool readChatTemplate(const ParsedArguments &args, ChatTemplate &style,
                      std::string &error);

/// The settings a generation used, for --json.
OutputJson samplingToJson(const SamplingOptions &sampling);

} // namespace llamac

#endif // LLAMAC_TOOLS_LLAMAC_RUN_GENERATIONARGUMENTS_H
