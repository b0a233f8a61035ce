//===- CompletionRequest.cpp - OpenAI-style requests for one model --------===//

#include "runtime/server/CompletionRequest.h"

#include "frontends/Errors.h"
#include "frontends/Json.h"
#include "runtime/GenerationConfig.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

namespace llamac {

namespace {

using nlohmann::json;

/// Thrown while reading a request; the message names the field.
struct RequestError {
  std::string message;
};

[[noreturn]] void refuse(const std::string &field, const std::string &problem) {
  throw RequestError{field + " " + problem};
}

/// Typed access to a request object's fields; null counts as absent.
class Fields {
public:
  explicit Fields(const json &object) : object(object) {}

  const json *get(const char *name) const {
    auto it = object.find(name);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<double> number(const char *name) const {
    const json *value = get(name);
    if (value && !value->is_number())
      refuse(name, "must be a number");
    return value ? std::optional<double>(value->get<double>()) : std::nullopt;
  }
  std::optional<int64_t> integer(const char *name) const {
    const json *value = get(name);
    if (!value)
      return std::nullopt;
    if (!value->is_number_integer() ||
        (value->is_number_unsigned() &&
         value->get<uint64_t>() >
             uint64_t(std::numeric_limits<int64_t>::max())))
      refuse(name, "must be an integer");
    return value->get<int64_t>();
  }
  std::optional<bool> boolean(const char *name) const {
    const json *value = get(name);
    if (value && !value->is_boolean())
      refuse(name, "must be true or false");
    return value ? std::optional<bool>(value->get<bool>()) : std::nullopt;
  }

private:
  const json &object;
};

void refuseUnsupported(const Fields &fields) {
  auto require = [](const char *field, bool supported, const char *problem) {
    if (!supported)
      refuse(field, problem);
  };
  require("suffix", !fields.get("suffix"), "is not supported");
  for (const char *tools : {"tools", "functions"}) {
    const json *value = fields.get(tools);
    require(tools, !value || (value->is_array() && value->empty()),
            "are not supported");
  }
}

/// "response_format": {"type": "text"} (the default), {"type":
/// "json_object"} (JSON mode; llama.cpp's "schema" beside it), or {"type":
/// "json_schema", "json_schema": {"schema": ...}} (structured outputs); the
/// schema the answer follows, null for text.
std::shared_ptr<const JsonSchema> readResponseFormat(const Fields &fields) {
  const json *format = fields.get("response_format");
  if (!format)
    return nullptr;
  const json *type = format->is_object() && format->contains("type")
                         ? &(*format)["type"]
                         : nullptr;
  if (!type ||
      (*type != "text" && *type != "json_object" && *type != "json_schema"))
    refuse("response_format",
           "must be {\"type\": \"text\"}, {\"type\": \"json_object\"} "
           "or {\"type\": \"json_schema\", \"json_schema\": {\"schema\": "
           "...}}");
  if (*type == "text")
    return nullptr;
  const json *schema = nullptr;
  if (*type == "json_schema") {
    const auto wrapper = format->find("json_schema");
    if (wrapper == format->end() || !wrapper->is_object() ||
        !wrapper->contains("schema"))
      refuse("response_format.json_schema", "must be an object with a schema");
    schema = &(*wrapper)["schema"];
  } else if (format->contains("schema")) {
    schema = &(*format)["schema"];
  }
  if (!schema)
    return JsonSchema::anyObject();
  std::string error;
  std::shared_ptr<const JsonSchema> compiled =
      JsonSchema::compile(*schema, error);
  if (!compiled)
    refuse("response_format's schema", "is not supported: " + error);
  return compiled;
}

/// OpenAI's bound on the likeliest tokens listed beside each token.
constexpr int64_t kMaxTopLogprobs = 20;

/// How many likeliest tokens to list beside each generated token's
/// log-probability; nullopt for none. Completions ask with "logprobs": N,
/// chat completions with "logprobs": true and "top_logprobs": N.
std::optional<int64_t> readLogprobs(const Fields &fields, CompletionKind kind) {
  const char *field = "logprobs";
  std::optional<int64_t> top;
  if (kind == CompletionKind::Text) {
    top = fields.integer(field);
  } else {
    std::optional<bool> wanted = fields.boolean("logprobs");
    std::optional<int64_t> count = fields.integer("top_logprobs");
    if (count && !wanted.value_or(false))
      refuse("top_logprobs", "needs \"logprobs\": true");
    if (wanted.value_or(false))
      top = count.value_or(0);
    field = "top_logprobs";
  }
  if (top && (*top < 0 || *top > kMaxTopLogprobs))
    refuse(field, "must be between 0 and " + std::to_string(kMaxTopLogprobs));
  return top;
}

/// Completions only: whether the answer repeats the prompt before the text
/// (and, with logprobs, lists the prompt's tokens first: how evaluation
/// harnesses score a text). A stream sends the prompt first, before the
/// prefill that would score it: the scores are not streamed.
bool readEcho(const Fields &fields, CompletionKind kind, bool stream,
              bool logprobs) {
  std::optional<bool> echo = fields.boolean("echo");
  if (echo && *echo && kind == CompletionKind::Chat)
    refuse("echo", "is for completions, not chat completions");
  if (echo && *echo && stream && logprobs)
    refuse("echo", "with logprobs is served with \"stream\": false");
  return echo.value_or(false);
}

/// "logit_bias": {"TOKEN_ID": BIAS, ...}, the ids as decimal strings.
std::vector<std::pair<int32_t, float>> readLogitBias(const Fields &fields) {
  const json *bias = fields.get("logit_bias");
  if (!bias)
    return {};
  if (!bias->is_object())
    refuse("logit_bias", "must be an object from token ids to numbers");
  std::vector<std::pair<int32_t, float>> entries;
  for (const auto &[key, value] : bias->items()) {
    const bool decimal =
        !key.empty() && key.size() <= 9 &&
        key.find_first_not_of("0123456789") == std::string::npos;
    if (!decimal || !value.is_number())
      refuse("logit_bias", "must be an object from token ids to numbers");
    entries.push_back({int32_t(std::stol(key)), value.get<float>()});
  }
  return entries;
}

SamplingOptions readSampling(const Fields &fields, const Manifest &manifest) {
  SamplingOptions options = defaultSampling(manifest.generationConfig);
  if (std::optional<double> value = fields.number("temperature"))
    options.temperature = float(*value);
  if (std::optional<double> value = fields.number("top_p"))
    options.topP = float(*value);
  if (std::optional<double> value = fields.number("min_p"))
    options.minP = float(*value);
  if (std::optional<double> value = fields.number("repetition_penalty"))
    options.repetitionPenalty = float(*value);
  if (std::optional<double> value = fields.number("presence_penalty"))
    options.presencePenalty = float(*value);
  if (std::optional<double> value = fields.number("frequency_penalty"))
    options.frequencyPenalty = float(*value);
  options.logitBias = readLogitBias(fields);
  if (std::optional<int64_t> value = fields.integer("top_k"))
    options.topK = *value;
  if (std::optional<int64_t> value = fields.integer("no_repeat_ngram_size"))
    options.noRepeatNgramSize = *value;
  if (std::optional<int64_t> value = fields.integer("min_tokens"))
    options.minNewTokens = *value;
  if (std::optional<int64_t> value = fields.integer("seed")) {
    if (*value < 0)
      refuse("seed", "must be >= 0");
    options.seed = uint64_t(*value);
  }
  std::string problem =
      validateSamplingOptions(options, manifest.outputSize, SettingNames::Json);
  if (!problem.empty())
    throw RequestError{problem};
  return options;
}

std::vector<std::string> readStopStrings(const Fields &fields) {
  const json *stop = fields.get("stop");
  if (!stop)
    return {};
  std::vector<std::string> strings;
  if (stop->is_string())
    strings.push_back(stop->get<std::string>());
  else if (stop->is_array())
    for (const json &entry : *stop) {
      if (!entry.is_string())
        refuse("stop", "must be a string or a list of strings");
      strings.push_back(entry.get<std::string>());
    }
  else
    refuse("stop", "must be a string or a list of strings");
  for (const std::string &string : strings)
    if (string.empty())
      refuse("stop", "strings must not be empty");
  return strings;
}

std::vector<TokenId> encodeText(const Tokenizer &tokenizer,
                                const std::string &text, const char *field) {
  std::string error;
  std::optional<std::vector<TokenId>> ids =
      tokenizer.encode(text, EncodeOptions(), error);
  if (!ids)
    refuse(field, error);
  return *ids;
}

/// Reads one prompt, a string or a list of ids, into the request's rows;
/// false when `value` is neither. `field` names it in refusals.
bool readOnePrompt(const json &value, const char *field,
                   const Tokenizer &tokenizer, CompletionRequest &request) {
  if (value.is_string()) {
    request.promptTexts.push_back(value.get<std::string>());
    request.prompts.push_back(
        encodeText(tokenizer, request.promptTexts.back(), field));
    return true;
  }
  if (!value.is_array() || value.empty() ||
      !std::all_of(value.begin(), value.end(),
                   [](const json &id) { return id.is_number_integer(); }))
    return false;
  std::vector<TokenId> ids;
  for (const json &id : value) {
    if (id.get<int64_t>() < 0 ||
        id.get<int64_t>() > std::numeric_limits<TokenId>::max())
      refuse(field, "has a token id out of range: " + id.dump());
    ids.push_back(TokenId(id.get<int64_t>()));
  }
  request.promptTexts.emplace_back();
  request.prompts.push_back(std::move(ids));
  return true;
}

/// Reads `field` (a completion's "prompt", a classification's "input"): a
/// string or a list of ids, or a list of either, one row each.
void readTextPrompts(const Fields &fields, const char *field,
                     const Tokenizer &tokenizer, CompletionRequest &request) {
  const json *prompt = fields.get(field);
  if (!prompt)
    refuse(field, "is required");
  if (readOnePrompt(*prompt, field, tokenizer, request))
    return;
  if (prompt->is_array() && !prompt->empty() &&
      std::all_of(prompt->begin(), prompt->end(), [&](const json &one) {
        return readOnePrompt(one, field, tokenizer, request);
      }))
    return;
  refuse(field, "must be a non-empty string or list of token ids, or a "
                "list of them");
}

/// A message's content: a string, or a list of {"type": "text", "text": ...}
/// parts, joined.
std::string readContent(const json &message, const std::string &where) {
  auto content = message.find("content");
  if (content != message.end() && content->is_string())
    return content->get<std::string>();
  std::string text;
  if (content != message.end() && content->is_array()) {
    for (const json &part : *content) {
      if (!part.is_object() || !part.contains("type") ||
          part["type"] != "text" || !part.contains("text") ||
          !part["text"].is_string())
        refuse(where + ".content", "parts must be {\"type\": \"text\", "
                                   "\"text\": STRING}");
      text += part["text"].get<std::string>();
    }
    return text;
  }
  refuse(where + ".content", "must be a string or a list of text parts");
}

std::vector<TokenId> readChatPrompt(const Fields &fields,
                                    const Tokenizer &tokenizer,
                                    ChatTemplate style) {
  const json *messages = fields.get("messages");
  if (!messages || !messages->is_array() || messages->empty())
    refuse("messages", "must be a non-empty list");
  std::vector<ChatMessage> dialog;
  for (size_t i = 0; i < messages->size(); ++i) {
    const json &message = (*messages)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!message.is_object())
      refuse(where, "must be an object");
    auto role = message.find("role");
    if (role == message.end() || !role->is_string() ||
        (*role != "system" && *role != "user" && *role != "assistant"))
      refuse(where + ".role", "must be system, user or assistant");
    dialog.push_back({*role == "system" ? ChatRole::System
                      : *role == "user" ? ChatRole::User
                                        : ChatRole::Assistant,
                      readContent(message, where)});
  }
  if (dialog.back().role != ChatRole::User)
    refuse("messages", "must end with a user message");
  std::string error;
  std::optional<std::vector<TokenId>> ids =
      encodeChat(tokenizer, style, dialog, error);
  if (!ids)
    refuse("messages", error);
  return *ids;
}

/// "n": how many choices each prompt gets, and "best_of" (completions):
/// how many candidates to choose them from, as rows of one batch: refused
/// beyond what max_batch holds. Repeats each row of `request` once per
/// candidate, each copy with its own seed.
void readChoices(const Fields &fields, const Manifest &manifest,
                 CompletionRequest &request) {
  const int64_t n = fields.integer("n").value_or(1);
  const std::optional<int64_t> bestOf = fields.integer("best_of");
  const int64_t candidates = bestOf.value_or(n);
  const int64_t prompts = int64_t(request.prompts.size());
  if (n < 1)
    refuse("n", "must be >= 1");
  if (candidates < n)
    refuse("best_of", "must be >= n");
  if (candidates > 1 && bestOf && request.kind == CompletionKind::Chat)
    refuse("best_of", "is for completions, not chat completions");
  if (candidates > n && request.stream)
    refuse("best_of", "greater than n cannot be streamed: the choices are "
                      "known at the end");
  request.choicesPerPrompt = n;
  request.candidatesPerPrompt = candidates;
  if (candidates == 1)
    return; // The generator checks the prompts against max_batch.
  if (candidates > manifest.maxBatch / prompts)
    refuse(candidates > n ? "best_of" : "n",
           "times the " + std::to_string(prompts) +
               " prompt(s) must be at most the artifact's max_batch of " +
               std::to_string(manifest.maxBatch));
  std::vector<std::vector<TokenId>> rows;
  std::vector<std::string> texts;
  GenerationOptions &generation = request.options.generation;
  for (int64_t p = 0; p < prompts; ++p)
    for (int64_t i = 0; i < candidates; ++i) {
      rows.push_back(request.prompts[p]);
      texts.push_back(request.promptTexts[p]);
      generation.rowSampling.push_back(generation.sampling);
      generation.rowSampling.back().seed += uint64_t(i);
    }
  request.prompts = std::move(rows);
  request.promptTexts = std::move(texts);
}

/// "stream_options": {"include_usage": BOOL}, for streams only.
bool readStreamUsage(const Fields &fields, bool stream) {
  const json *options = fields.get("stream_options");
  if (!options)
    return false;
  if (!stream)
    refuse("stream_options", "needs \"stream\": true");
  if (!options->is_object())
    refuse("stream_options", "must be an object");
  for (const auto &[key, value] : options->items())
    if (key != "include_usage")
      refuse("stream_options." + key, "is not supported");
  return Fields(*options).boolean("include_usage").value_or(false);
}

int64_t readMaxTokens(const Fields &fields, CompletionKind kind,
                      const Manifest &manifest, size_t promptLength) {
  const char *field = "max_tokens";
  std::optional<int64_t> given = fields.integer(field);
  if (kind == CompletionKind::Chat && fields.get("max_completion_tokens")) {
    field = "max_completion_tokens";
    given = fields.integer(field);
  }
  if (given && *given < 0)
    refuse(field, "must be >= 0");
  return given.value_or(
      std::max<int64_t>(0, manifest.maxSeq - int64_t(promptLength)));
}

/// Parses `body`, a JSON object, and returns what `read` makes of its
/// fields; on a refusal nullopt, with `error` naming the field.
template <typename Read>
auto readBody(std::string_view body, std::string &error, Read &&read)
    -> std::optional<decltype(read(std::declval<const Fields &>()))> {
  try {
    const auto *bytes = reinterpret_cast<const uint8_t *>(body.data());
    json document = parseJson(bytes, bytes + body.size(),
                              /*rejectDuplicateKeys=*/true);
    if (!document.is_object()) {
      error = "the body must be a JSON object";
      return std::nullopt;
    }
    return read(Fields(document));
  } catch (const RequestError &refusal) {
    error = refusal.message;
  } catch (const FormatError &malformed) {
    error = std::string("the body is not JSON: ") + malformed.what();
  }
  return std::nullopt;
}

} // namespace

std::optional<CompletionRequest>
parseCompletionRequest(std::string_view body, CompletionKind kind,
                       const Manifest &manifest, const Tokenizer &tokenizer,
                       ChatTemplate style, std::string &error) {
  return readBody(body, error, [&](const Fields &fields) {
    refuseUnsupported(fields);
    CompletionRequest request;
    request.kind = kind;
    if (kind == CompletionKind::Text) {
      readTextPrompts(fields, "prompt", tokenizer, request);
    } else {
      request.prompts = {readChatPrompt(fields, tokenizer, style)};
      request.promptTexts = {""};
    }
    request.options.stopStrings = readStopStrings(fields);
    GenerationOptions &generation = request.options.generation;
    generation.sampling = readSampling(fields, manifest);
    size_t longest = 0;
    for (const std::vector<TokenId> &prompt : request.prompts)
      longest = std::max(longest, prompt.size());
    generation.maxNewTokens = readMaxTokens(fields, kind, manifest, longest);
    generation.ignoreEos = fields.boolean("ignore_eos").value_or(false);
    request.options.jsonSchema = readResponseFormat(fields);
    if (request.options.jsonSchema && generation.ignoreEos)
      refuse("ignore_eos",
             "cannot go with a JSON response_format, which ends with EOS");
    if (std::string problem = checkTextOptions(request.options);
        !problem.empty())
      throw RequestError{problem};
    request.stream = fields.boolean("stream").value_or(false);
    request.streamUsage = readStreamUsage(fields, request.stream);
    generation.topLogprobs = readLogprobs(fields, kind);
    request.echo = readEcho(fields, kind, request.stream,
                            generation.topLogprobs.has_value());
    readChoices(fields, manifest, request);
    return request;
  });
}

std::optional<std::vector<TokenId>>
parseTokenizeRequest(std::string_view body, const Tokenizer &tokenizer,
                     ChatTemplate style, std::string &error) {
  return readBody(body, error, [&](const Fields &fields) {
    if (fields.get("messages")) {
      if (fields.get("prompt"))
        refuse("prompt", "and messages do not go together");
      return readChatPrompt(fields, tokenizer, style);
    }
    const json *prompt = fields.get("prompt");
    if (!prompt || !prompt->is_string())
      refuse("prompt", "must be a string (or give messages)");
    EncodeOptions options;
    options.addSpecialTokens =
        fields.boolean("add_special_tokens").value_or(true);
    std::string problem;
    std::optional<std::vector<TokenId>> ids =
        tokenizer.encode(prompt->get<std::string>(), options, problem);
    if (!ids)
      refuse("prompt", problem);
    return *ids;
  });
}

std::optional<std::vector<TokenId>>
parseDetokenizeRequest(std::string_view body, const Tokenizer &tokenizer,
                       std::string &error) {
  return readBody(body, error, [&](const Fields &fields) {
    const json *tokens = fields.get("tokens");
    if (!tokens || !tokens->is_array())
      refuse("tokens", "must be a list of token ids");
    std::vector<TokenId> ids;
    for (const json &id : *tokens) {
      // A huge unsigned id reads as a negative one.
      if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
          id.get<int64_t>() >= tokenizer.vocabSize())
        refuse("tokens", "has an id outside the vocabulary of " +
                             std::to_string(tokenizer.vocabSize()) + ": " +
                             id.dump());
      ids.push_back(TokenId(id.get<int64_t>()));
    }
    return ids;
  });
}

std::optional<std::vector<std::vector<TokenId>>>
parseClassifyRequest(std::string_view body, const Tokenizer &tokenizer,
                     std::string &error) {
  return readBody(body, error, [&](const Fields &fields) {
    CompletionRequest request;
    readTextPrompts(fields, "input", tokenizer, request);
    return request.prompts;
  });
}

} // namespace llamac
