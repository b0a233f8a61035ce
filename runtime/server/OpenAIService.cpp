//===- OpenAIService.cpp - An OpenAI-compatible API over one model --------===//

#include "runtime/server/OpenAIService.h"

#include "runtime/Classifier.h"
#include "runtime/Stopwatch.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

namespace llamac {

namespace {

using nlohmann::json;

constexpr const char *kJsonType = "application/json";

/// The log's status for a request whose client left before an answer was
/// sent (nginx's).
constexpr int kClientClosedRequest = 499;

/// Generated text is valid UTF-8 (the decoder replaces what is not), but a
/// reply must never fail to serialize.
std::string serialize(const json &value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string event(const json &value) {
  return "data: " + serialize(value) + "\n\n";
}

/// OpenAI's error object; its code names a missing or wrong API key.
json errorBody(int status, const std::string &message) {
  return {{"error",
           {{"message", message},
            {"type", status >= 500 ? "server_error" : "invalid_request_error"},
            {"code", status == 401 ? json("invalid_api_key") : json()}}}};
}

/// Whether `given` is `key`, in a time that does not tell how much of a
/// wrong key was right.
bool isSameKey(std::string_view given, const std::string &key) {
  unsigned char differs = given.size() != key.size();
  for (size_t i = 0; i < key.size(); ++i)
    differs |= uint8_t(key[i]) ^ uint8_t(i < given.size() ? given[i] : 0);
  return differs == 0;
}

/// The credentials of "Authorization: Bearer TOKEN" (the scheme in any
/// case); none for another scheme.
std::optional<std::string_view> bearerToken(const std::string &authorization) {
  constexpr std::string_view kScheme = "bearer ";
  std::string_view value = authorization;
  if (value.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), value.begin(),
                  [](char expected, char actual) {
                    return expected == std::tolower(uint8_t(actual));
                  }))
    return std::nullopt;
  value.remove_prefix(kScheme.size());
  return value.substr(std::min(value.find_first_not_of(' '), value.size()));
}

const char *finishReasonField(FinishReason reason) {
  return reason == FinishReason::Length ? "length" : "stop";
}

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// How many of `prompt`'s first ids the cache may keep from `cached`: their
/// common prefix, short of the whole prompt (a step computes one token at
/// least).
size_t reusablePrefix(const std::vector<TokenId> &cached,
                      const std::vector<TokenId> &prompt) {
  size_t common = 0;
  while (common < cached.size() && common + 1 < prompt.size() &&
         cached[common] == prompt[common])
    ++common;
  return common;
}

/// ", " + `clause`, or "" for no clause.
std::string withComma(const std::string &clause) {
  return clause.empty() ? "" : ", " + clause;
}

/// A log line's closing ", 1.23 s".
std::string secondsClause(double seconds) {
  char clause[32];
  std::snprintf(clause, sizeof(clause), ", %.2f s", seconds);
  return clause;
}

std::string_view pathOf(const std::string &target) {
  return std::string_view(target).substr(0, target.find('?'));
}

/// Choice `index` of a reply or of a stream chunk: `content` is the whole
/// text, or a piece of it when streaming (`delta`).
json choice(CompletionKind kind, size_t index, const std::string &content,
            bool delta, json finishReason) {
  json result = {{"index", index},
                 {"logprobs", nullptr},
                 {"finish_reason", std::move(finishReason)}};
  if (kind == CompletionKind::Text)
    result["text"] = content;
  else if (!delta)
    result["message"] = {{"role", "assistant"}, {"content", content}};
  else
    result["delta"] =
        content.empty() ? json::object() : json{{"content", content}};
  return result;
}

/// A token as a chat's logprobs list it: its text, and its bytes (a byte
/// piece is part of a character, so its text alone may not be valid UTF-8).
json chatToken(const Tokenizer &tokenizer, TokenId id, float logprob) {
  const std::string text = tokenizer.pieceBytes(id);
  std::vector<int> bytes(text.begin(), text.end());
  for (int &byte : bytes)
    byte &= 0xFF;
  return {{"token", text}, {"logprob", logprob}, {"bytes", bytes}};
}

/// The chat completion's "logprobs": {"content": [token, ...]}.
json chatLogprobs(const Tokenizer &tokenizer, const std::vector<int32_t> &ids,
                  const std::vector<GeneratedTokenLogprobs> &steps) {
  json content = json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    json token = chatToken(tokenizer, ids[i], steps[i].logprob);
    token["top_logprobs"] = json::array();
    for (const TokenLogprob &likely : steps[i].top)
      token["top_logprobs"].push_back(
          chatToken(tokenizer, likely.token, likely.logprob));
    content.push_back(std::move(token));
  }
  return {{"content", std::move(content)}};
}

/// The log-probabilities of an echoed prompt's tokens, from the prefill's
/// logits of its positions ([prompt length, vocab] from `logits`): position
/// i predicts token i + 1, and the first token, which nothing predicts, has
/// none.
std::vector<std::optional<GeneratedTokenLogprobs>>
promptLogprobs(const float *logits, const std::vector<TokenId> &prompt,
               int64_t vocab, int64_t top) {
  std::vector<std::optional<GeneratedTokenLogprobs>> steps(1);
  for (size_t i = 1; i < prompt.size(); ++i) {
    const float *row = logits + (i - 1) * vocab;
    const double normalizer = logSumExp(row, vocab);
    steps.push_back(
        GeneratedTokenLogprobs{float(row[prompt[i]] - normalizer),
                               mostLikelyTokens(row, vocab, top, normalizer)});
  }
  return steps;
}

/// The completion's "logprobs" in OpenAI's legacy shape: parallel lists of
/// the tokens' texts and log-probabilities, and per token an object from
/// the likeliest tokens' texts to theirs (null where a token has none).
json completionLogprobs(
    const Tokenizer &tokenizer, const std::vector<TokenId> &ids,
    const std::vector<std::optional<GeneratedTokenLogprobs>> &steps) {
  json tokens = json::array(), logprobs = json::array(), top = json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    tokens.push_back(tokenizer.pieceBytes(ids[i]));
    if (!steps[i]) {
      logprobs.push_back(nullptr);
      top.push_back(nullptr);
      continue;
    }
    logprobs.push_back(steps[i]->logprob);
    json likeliest = json::object();
    for (const TokenLogprob &likely : steps[i]->top)
      likeliest.emplace(tokenizer.pieceBytes(likely.token), likely.logprob);
    top.push_back(std::move(likeliest));
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(logprobs)},
          {"top_logprobs", std::move(top)}};
}

/// The "logprobs" of generated tokens `ids` in the shape of `kind`'s.
json generatedLogprobs(CompletionKind kind, const Tokenizer &tokenizer,
                       const std::vector<int32_t> &ids,
                       const std::vector<GeneratedTokenLogprobs> &steps) {
  if (kind == CompletionKind::Chat)
    return chatLogprobs(tokenizer, ids, steps);
  return completionLogprobs(tokenizer, ids, {steps.begin(), steps.end()});
}

/// The text an echo repeats: prompt `row` as sent, or its ids decoded.
std::string echoedPrompt(const CompletionRequest &request, size_t row,
                         const Tokenizer &tokenizer) {
  if (!request.promptTexts[row].empty())
    return request.promptTexts[row];
  std::string error;
  return tokenizer
      .decode(request.prompts[row], DecodeOptions{/*skipSpecialTokens=*/true},
              error)
      .value_or("");
}

/// Row `row`'s "logprobs": its generated tokens', after its prompt's when
/// echoed (promptLogits: [rows, prompt length, vocab], left-padded rows).
json rowLogprobs(const CompletionRequest &request, size_t row,
                 const GenerationResult &ids, const Tokenizer &tokenizer,
                 int64_t vocab) {
  const std::vector<int32_t> &generated = ids.generated[row];
  const std::vector<GeneratedTokenLogprobs> &steps = ids.logprobs[row];
  if (!request.echo)
    return generatedLogprobs(request.kind, tokenizer, generated, steps);
  std::vector<TokenId> tokens = request.prompts[row];
  const int64_t length =
      int64_t(ids.promptLogits.size()) / int64_t(ids.generated.size()) / vocab;
  const float *rowLogits =
      ids.promptLogits.data() +
      (int64_t(row) * length + length - int64_t(tokens.size())) * vocab;
  std::vector<std::optional<GeneratedTokenLogprobs>> all = promptLogprobs(
      rowLogits, tokens, vocab, *request.options.generation.topLogprobs);
  tokens.insert(tokens.end(), generated.begin(), generated.end());
  all.insert(all.end(), steps.begin(), steps.end());
  return completionLogprobs(tokenizer, tokens, all);
}

/// The prompts' tokens, each prompt counted once however many choices it has
/// (as OpenAI's usage counts them).
int64_t promptTokenCount(const CompletionRequest &request) {
  int64_t tokens = 0;
  for (size_t row = 0; row < request.prompts.size();
       row += size_t(request.candidatesPerPrompt))
    tokens += int64_t(request.prompts[row].size());
  return tokens;
}

/// The mean log-probability of a row's generated tokens (0 for none).
double meanLogprob(const std::vector<GeneratedTokenLogprobs> &steps) {
  double sum = 0;
  for (const GeneratedTokenLogprobs &step : steps)
    sum += step.logprob;
  return steps.empty() ? 0 : sum / double(steps.size());
}

/// The rows the choices come from, choice i from row i of the result: each
/// prompt's candidates in order, or, with more candidates than choices
/// (best_of), those of the highest log-probability per token, best first.
std::vector<size_t> choiceRows(const CompletionRequest &request,
                               const GenerationResult &ids) {
  const size_t candidates = size_t(request.candidatesPerPrompt);
  std::vector<size_t> rows;
  for (size_t first = 0; first < request.prompts.size(); first += candidates) {
    std::vector<size_t> order(candidates);
    std::iota(order.begin(), order.end(), first);
    if (candidates > size_t(request.choicesPerPrompt))
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return meanLogprob(ids.logprobs[a]) > meanLogprob(ids.logprobs[b]);
      });
    rows.insert(rows.end(), order.begin(),
                order.begin() + request.choicesPerPrompt);
  }
  return rows;
}

/// The request's "usage": each prompt once, and every candidate's tokens,
/// since each was computed.
json usage(const CompletionRequest &request, const GenerationResult &ids,
           size_t reused) {
  const int64_t promptTokens = promptTokenCount(request);
  int64_t completionTokens = 0;
  for (const std::vector<int32_t> &generated : ids.generated)
    completionTokens += int64_t(generated.size());
  return {{"prompt_tokens", promptTokens},
          {"completion_tokens", completionTokens},
          {"total_tokens", promptTokens + completionTokens},
          {"prompt_tokens_details", {{"cached_tokens", int64_t(reused)}}}};
}

/// The answer to a request that is not streamed.
json wholeReply(const CompletionRequest &request, json reply,
                const TextGenerationResult &result, const Tokenizer &tokenizer,
                int64_t vocab, size_t reused) {
  json choices = json::array();
  for (size_t row : choiceRows(request, result.ids)) {
    json answer =
        choice(request.kind, choices.size(),
               (request.echo ? echoedPrompt(request, row, tokenizer) : "") +
                   result.texts[row],
               false, finishReasonField(result.finishReasons[row]));
    if (request.options.generation.topLogprobs)
      answer["logprobs"] =
          rowLogprobs(request, row, result.ids, tokenizer, vocab);
    choices.push_back(std::move(answer));
  }
  reply["choices"] = std::move(choices);
  reply["usage"] = usage(request, result.ids, reused);
  return reply;
}

/// What a stream sends: its events, and whether the client still reads.
class EventStream {
public:
  /// With stream_options.include_usage every chunk has "usage": null but
  /// the last, whose choices are none.
  EventStream(HttpResponder &responder, json envelope,
              const CompletionRequest &request, const Tokenizer &tokenizer)
      : responder(responder), envelope(std::move(envelope)), request(request),
        kind(request.kind), tokenizer(tokenizer) {
    if (request.streamUsage)
      this->envelope["usage"] = nullptr;
  }

  /// Starts the stream of the request's choices: a chat's name their role
  /// first, an echoed completion's repeat their prompt.
  bool start() {
    if (!responder.startStream(200, "text/event-stream"))
      return false;
    for (size_t row = 0; row < request.prompts.size(); ++row) {
      json first = choice(kind, row, "", true, nullptr);
      if (kind == CompletionKind::Chat)
        first["delta"] = {{"role", "assistant"}, {"content", ""}};
      else if (request.echo)
        first["text"] = echoedPrompt(request, row, tokenizer);
      else
        continue;
      if (!send(first))
        return false;
    }
    return true;
  }
  /// A chunk of the piece's text, with its tokens' log-probabilities when
  /// asked for; nothing for a piece with neither.
  void piece(size_t row, const TextPiece &piece) {
    const bool logprobs = request.options.generation.topLogprobs.has_value();
    if (piece.text.empty() && !logprobs)
      return;
    json chunk = choice(kind, row, std::string(piece.text), true, nullptr);
    if (logprobs)
      chunk["logprobs"] =
          generatedLogprobs(kind, tokenizer, piece.tokens, piece.logprobs);
    send(std::move(chunk));
  }
  /// A chunk with each row's finish_reason, the usage when asked for, then
  /// [DONE].
  void finish(const std::vector<FinishReason> &reasons, json usage) {
    for (size_t row = 0; row < reasons.size(); ++row)
      send(choice(kind, row, "", true, finishReasonField(reasons[row])));
    if (request.streamUsage) {
      json chunk = envelope;
      chunk["choices"] = json::array();
      chunk["usage"] = std::move(usage);
      responder.sendPiece(event(chunk));
    }
    responder.sendPiece("data: [DONE]\n\n");
  }
  void fail(const std::string &message) {
    responder.sendPiece(event(errorBody(500, message)));
  }

private:
  bool send(json chunkChoice) {
    json chunk = envelope;
    chunk["choices"] = json::array({std::move(chunkChoice)});
    return responder.sendPiece(event(chunk));
  }

  HttpResponder &responder;
  json envelope;
  const CompletionRequest &request;
  CompletionKind kind;
  const Tokenizer &tokenizer;
};

} // namespace

HttpHandlers OpenAIService::handlers() {
  return {
      [this](const HttpRequest &request, HttpResponder &responder) {
        return answerAtOnce(request, responder);
      },
      [this](const std::vector<WaitingRequest> &waiting) {
        return completeWaiting(waiting);
      },
      [this](int status, const std::string &problem, HttpResponder &responder) {
        sendError(responder, status, problem, nullptr);
      }};
}

size_t OpenAIService::mostBatchedRequests() const {
  const int64_t rows = model.manifest().maxBatch;
  return size_t(options.maxBatchRequests > 0
                    ? std::min(rows, options.maxBatchRequests)
                    : rows);
}

bool OpenAIService::isAuthorized(const HttpRequest &request,
                                 std::string_view path) const {
  if (options.apiKey.empty() || path == "/health" || path == "/metrics")
    return true;
  const std::string *authorization = request.header("authorization");
  std::optional<std::string_view> token =
      authorization ? bearerToken(*authorization) : std::nullopt;
  return token && isSameKey(*token, options.apiKey);
}

bool OpenAIService::shareAcrossOrigins(const HttpRequest &request,
                                       HttpResponder &responder) {
  const std::string *origin = request.header("origin");
  if (!origin)
    return false;
  const std::vector<std::string> &allowed = options.allowedOrigins;
  const bool any = std::count(allowed.begin(), allowed.end(), "*") > 0;
  const bool listed = std::count(allowed.begin(), allowed.end(), *origin) > 0;
  if (any || listed)
    responder.addHeaders(
        "Access-Control-Allow-Origin: " +
        (any ? std::string("*") : *origin + "\r\nVary: Origin") + "\r\n");
  // A browser asks before it sends a request a page may not send unasked
  // (a JSON body, an Authorization header), without the page's headers.
  if (request.method != "OPTIONS" ||
      !request.header("access-control-request-method"))
    return false;
  if (!any && !listed) {
    sendError(responder, 403,
              "the origin " + *origin +
                  " may not call this server (see --allowed-origins)",
              &request);
    return true;
  }
  responder.send(200, "text/plain", "",
                 "Access-Control-Allow-Methods: GET, POST\r\n"
                 "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
                 "Access-Control-Max-Age: 600\r\n");
  writeLog(request.method + " " + request.target + " 200");
  return true;
}

bool OpenAIService::answerAtOnce(const HttpRequest &request,
                                 HttpResponder &responder) {
  const std::string_view path = pathOf(request.target);
  if (shareAcrossOrigins(request, responder))
    return true;
  if (!isAuthorized(request, path)) {
    sendError(responder, 401,
              request.header("authorization")
                  ? "the API key is not the server's"
                  : "an API key is needed: send \"Authorization: Bearer KEY\"",
              &request);
    return true;
  }
  const bool get = request.method == "GET", post = request.method == "POST";
  auto answerWith = [&](std::string_view type, const std::string &body) {
    responder.send(200, type, body);
    writeLog(request.method + " " + request.target + " 200");
    return true;
  };
  const json model = {{"id", options.modelName},
                      {"object", "model"},
                      {"created", 0},
                      {"owned_by", "llamac"}};
  constexpr std::string_view kModelsPath = "/v1/models/";
  if (path == "/health" && get)
    return answerWith(kJsonType, serialize({{"status", "ok"}}));
  if (path == "/metrics" && get)
    return answerWith("text/plain; version=0.0.4", metrics.exposition());
  if (path == "/v1/models" && get)
    return answerWith(kJsonType,
                      serialize({{"object", "list"}, {"data", {model}}}));
  if (path.substr(0, kModelsPath.size()) == kModelsPath && get) {
    if (path.substr(kModelsPath.size()) == options.modelName)
      return answerWith(kJsonType, serialize(model));
    sendError(responder, 404,
              "no such model: " + std::string(path.substr(kModelsPath.size())),
              &request);
    return true;
  }
  if ((path == "/tokenize" || path == "/detokenize") && post) {
    convertTokens(request, path == "/tokenize", responder);
    return true;
  }
  const bool completion =
      path == "/v1/completions" || path == "/v1/chat/completions";
  const bool classifier =
      this->model.manifest().outputKind == OutputKind::Scores;
  if (path == "/classify" && post && !classifier) {
    sendError(responder, 400,
              "the model generates text: /classify needs a sequence "
              "classification artifact",
              &request);
    return true;
  }
  if ((completion || path == "/classify") && post) {
    metrics.requestWaiting();
    return false; // The model's work, in turn.
  }
  const bool known = completion || path == "/health" || path == "/v1/models" ||
                     path == "/metrics" || path == "/tokenize" ||
                     path == "/detokenize" || path == "/classify";
  sendError(responder, known ? 405 : 404,
            known ? request.method + " is not allowed on " + std::string(path)
                  : "no such route: " + std::string(path),
            &request);
  return true;
}

void OpenAIService::convertTokens(const HttpRequest &request, bool tokenize,
                                  HttpResponder &responder) {
  std::string error;
  std::optional<std::vector<TokenId>> ids =
      tokenize
          ? parseTokenizeRequest(request.body, tokenizer, options.style, error)
          : parseDetokenizeRequest(request.body, tokenizer, error);
  std::optional<std::string> text;
  if (ids && !tokenize)
    text = tokenizer.decode(*ids, DecodeOptions{/*skipSpecialTokens=*/true},
                            error);
  if (!ids || (!tokenize && !text))
    return sendError(responder, 400, error, &request);
  json reply = tokenize ? json{{"tokens", *ids},
                               {"count", ids->size()},
                               {"max_model_len", model.manifest().maxSeq}}
                        : json{{"prompt", *text}};
  responder.send(200, kJsonType, serialize(reply));
  writeLog(request.method + " " + request.target + " 200");
}

/// One completion request through its turn: from its start to its
/// answer, which comes as soon as its rows end.
class OpenAIService::Completion {
public:
  Completion(OpenAIService &service, CompletionRequest parsed,
             const WaitingRequest &waiting)
      : service(service), request(std::move(parsed)), received(waiting.request),
        responder(waiting.responder),
        id((request.kind == CompletionKind::Text ? "cmpl-" : "chatcmpl-") +
           std::to_string(++service.requestCount)),
        envelope(
            {{"id", id},
             {"object", request.kind == CompletionKind::Text ? "text_completion"
                        : request.stream ? "chat.completion.chunk"
                                         : "chat.completion"},
             {"created", unixSeconds()},
             {"model", service.options.modelName}}),
        stream(responder, envelope, request, service.tokenizer) {}

  const CompletionRequest &parsed() const { return request; }

  /// Starts its turn; false if it is over already: a client that closed its
  /// connection (one that gave up waiting) is not answered.
  bool start() {
    turnStart = std::chrono::steady_clock::now();
    service.metrics.requestStarted(secondsSince(received.received));
    if (responder.clientGone()) {
      finish({kClientClosedRequest, "the client went away before its turn"});
      return false;
    }
    if (request.stream && !stream.start()) {
      finish({200, "the client went away"});
      return false;
    }
    return true;
  }

  /// Its part of the batch. `answerEarly`: answered as soon as its rows end,
  /// unless it needs the prompt's logits, which come with the batch's end.
  TextGenerationJob job(bool answerEarly) {
    TextGenerationJob job{request.prompts, request.options, {}, {}};
    TextGenerationOptions &options = job.options;
    // Asked after every token: the first call times the first token. A
    // client that goes away ends its rows at their next token.
    options.keepGoing = [this](size_t) {
      if (!secondsToFirstToken)
        secondsToFirstToken = secondsSince(received.received);
      return !responder.clientGone();
    };
    if (request.stream)
      job.sink = [this](size_t row, const TextPiece &piece) {
        stream.piece(row, piece);
      };
    // A chat answer's text is its ids decoded on their own, as chat
    // pipelines and `llamac-run chat` decode it; a completion continues its
    // prompt's.
    options.context = request.kind == CompletionKind::Chat
                          ? TextContext::None
                          : TextContext::Sequence;
    // An echoed prompt's log-probabilities need the logits of all of it.
    options.generation.keepPromptLogits =
        request.echo && request.options.generation.topLogprobs;
    options.generation.promptLookup = service.options.promptLookup;
    // best_of ranks its candidates by their tokens' log-probabilities.
    if (request.candidatesPerPrompt > request.choicesPerPrompt)
      options.generation.topLogprobs =
          request.options.generation.topLogprobs.value_or(0);
    if (answerEarly && !options.generation.keepPromptLogits)
      job.onFinished = [this](const TextGenerationResult &result) {
        answer(result);
      };
    return job;
  }

  /// After the batch: answers with its result, or its error, unless it was
  /// answered as its rows ended.
  void end(const TextGenerationResult *result, const std::string &error) {
    if (answered)
      return;
    if (result)
      return answer(*result);
    if (request.stream)
      return finish(
          {200, "failed: " + error, {}, [this, error] { stream.fail(error); }});
    finish({500,
            "failed: " + error,
            {},
            [this, body = serialize(errorBody(500, error))] {
              responder.send(500, kJsonType, body);
            }});
  }

  /// Of its prompt, the tokens the cache kept from the request before.
  size_t reused = 0;
  /// The completions it ran with, itself included.
  size_t batchSize = 1;

private:
  /// What it came to, for the log and /metrics.
  struct Outcome {
    int status;
    std::string summary;
    CompletionWork work;
    /// The answer's last write (its body, or its stream's end), made once
    /// the request is counted: a client that has its answer finds it in
    /// /metrics. None for a client that went away.
    std::function<void()> finishReply;
  };

  void answer(const TextGenerationResult &result) {
    const GenerationResult &ids = result.ids;
    int64_t generated = 0;
    for (const std::vector<int32_t> &row : ids.generated)
      generated += int64_t(row.size());
    const CompletionWork work = {promptTokenCount(request), int64_t(reused),
                                 generated, ids.draftTokens,
                                 ids.acceptedDraftTokens};
    if (responder.clientGone())
      return finish({request.stream ? 200 : kClientClosedRequest,
                     "the client went away after " + std::to_string(generated) +
                         " tokens",
                     work});
    std::function<void()> finishReply;
    if (request.stream)
      finishReply = [this, reasons = result.finishReasons,
                     totals = usage(request, ids, reused)]() mutable {
        stream.finish(reasons, std::move(totals));
      };
    else
      finishReply = [this, body = serialize(wholeReply(
                               request, envelope, result, service.tokenizer,
                               service.model.manifest().outputSize, reused))] {
        responder.send(200, kJsonType, body);
      };
    const size_t rows = request.prompts.size();
    const size_t choices = rows / size_t(request.candidatesPerPrompt) *
                           size_t(request.choicesPerPrompt);
    const std::string candidates =
        choices < rows ? " of " + std::to_string(rows) + " candidates" : "";
    const std::string batch =
        batchSize > 1 ? "in a batch of " + std::to_string(batchSize) : "";
    finish({200,
            std::to_string(choices) + " choice(s)" + candidates + ": " +
                std::to_string(work.promptTokens) + " prompt tokens (" +
                std::to_string(reused) + " cached) + " +
                std::to_string(generated) + " generated" +
                withComma(describeDrafts(ids)) + withComma(batch),
            work, std::move(finishReply)});
  }

  void finish(const Outcome &outcome) {
    answered = true;
    const double seconds = secondsSince(turnStart);
    service.metrics.requestFinished(outcome.status, seconds, outcome.work,
                                    secondsToFirstToken);
    if (outcome.finishReply)
      outcome.finishReply();
    // A client that reads to the connection's end (a stream's) has its
    // answer now, not when the batch ends.
    responder.end();
    service.writeLog(received.method + " " + received.target + " " +
                     std::to_string(outcome.status) + " " + id + ": " +
                     outcome.summary + secondsClause(seconds));
  }

  OpenAIService &service;
  const CompletionRequest request;
  const HttpRequest &received;
  HttpResponder &responder;
  const std::string id;
  const json envelope;
  EventStream stream;
  std::chrono::steady_clock::time_point turnStart;
  /// From the request's arrival; none before a first token.
  std::optional<double> secondsToFirstToken;
  bool answered = false;
};

size_t
OpenAIService::completeWaiting(const std::vector<WaitingRequest> &waiting) {
  std::vector<std::unique_ptr<Completion>> batch;
  size_t taken = 0;
  for (; taken < waiting.size(); ++taken) {
    const HttpRequest &request = waiting[taken].request;
    if (pathOf(request.target) == "/classify") {
      if (!batch.empty())
        break;
      classifyInTurn(waiting[taken]);
      return taken + 1;
    }
    const CompletionKind kind = pathOf(request.target) == "/v1/completions"
                                    ? CompletionKind::Text
                                    : CompletionKind::Chat;
    std::string error;
    std::optional<CompletionRequest> parsed = parseCompletionRequest(
        request.body, kind, model.manifest(), tokenizer, options.style, error);
    if (parsed)
      error = checkGenerationRequest(model.manifest(), parsed->prompts,
                                     parsed->options.generation);
    if (!error.empty()) {
      metrics.requestStarted(secondsSince(request.received));
      metrics.requestFinished(400, 0, {}, std::nullopt);
      sendError(waiting[taken].responder, 400, error, &request);
      continue;
    }
    if (!batch.empty() && !fitsInBatch(batch, *parsed))
      break;
    batch.push_back(std::make_unique<Completion>(*this, std::move(*parsed),
                                                 waiting[taken]));
  }
  runBatch(batch);
  return taken;
}

bool OpenAIService::fitsInBatch(
    const std::vector<std::unique_ptr<Completion>> &batch,
    const CompletionRequest &next) const {
  if (options.maxBatchRequests > 0 &&
      int64_t(batch.size()) >= options.maxBatchRequests)
    return false;
  // A batch's rows share one end of sequence.
  if (next.options.generation.ignoreEos !=
      batch.front()->parsed().options.generation.ignoreEos)
    return false;
  // Left-padded rows share the cache's slots: the longest prompt and the
  // most new tokens must fit in max_seq together.
  size_t rows = 0, longest = 0;
  int64_t mostNewTokens = 0;
  auto add = [&](const CompletionRequest &request) {
    rows += request.prompts.size();
    for (const std::vector<TokenId> &prompt : request.prompts)
      longest = std::max(longest, prompt.size());
    mostNewTokens =
        std::max(mostNewTokens, request.options.generation.maxNewTokens);
  };
  for (const std::unique_ptr<Completion> &completion : batch)
    add(completion->parsed());
  add(next);
  const Manifest &manifest = model.manifest();
  return int64_t(rows) <= manifest.maxBatch &&
         int64_t(longest) + mostNewTokens <= manifest.maxSeq;
}

void OpenAIService::runBatch(
    const std::vector<std::unique_ptr<Completion>> &batch) {
  std::vector<Completion *> started;
  for (const std::unique_ptr<Completion> &completion : batch)
    if (completion->start())
      started.push_back(completion.get());
  if (started.empty())
    return;
  std::string error;
  if (started.size() == 1) {
    Completion &completion = *started.front();
    std::optional<TextGenerationResult> result = runAlone(
        completion.job(/*answerEarly=*/false), completion.reused, error);
    if (result)
      metrics.batchRan(1, result->ids.prefillSeconds,
                       result->ids.decodeSeconds);
    return completion.end(result ? &*result : nullptr, error);
  }
  std::vector<TextGenerationJob> jobs;
  for (Completion *completion : started) {
    completion->batchSize = started.size();
    jobs.push_back(completion->job(/*answerEarly=*/true));
  }
  // Left padding moves a batch's rows off the slots of their positions: the
  // cache is reusable after a single row only.
  cachedIds.clear();
  std::optional<std::vector<TextGenerationResult>> results =
      generateTextBatch(model, tokenizer, jobs, error);
  if (results) {
    double prefillSeconds = 0, decodeSeconds = 0;
    for (const TextGenerationResult &result : *results) {
      prefillSeconds += result.ids.prefillSeconds;
      decodeSeconds += result.ids.decodeSeconds;
    }
    metrics.batchRan(int64_t(started.size()), prefillSeconds, decodeSeconds);
  }
  for (size_t i = 0; i < started.size(); ++i)
    started[i]->end(results ? &(*results)[i] : nullptr, error);
}

namespace {

/// The probabilities of the classes whose scores are `logits`.
std::vector<float> softmax(const std::vector<float> &logits) {
  const double normalizer = logSumExp(logits.data(), int64_t(logits.size()));
  std::vector<float> probabilities;
  for (float logit : logits)
    probabilities.push_back(float(std::exp(logit - normalizer)));
  return probabilities;
}

} // namespace

void OpenAIService::classifyInTurn(const WaitingRequest &waiting) {
  const HttpRequest &request = waiting.request;
  metrics.requestStarted(secondsSince(request.received));
  std::string error;
  std::optional<std::vector<std::vector<TokenId>>> rows =
      parseClassifyRequest(request.body, tokenizer, error);
  std::optional<std::vector<std::vector<float>>> scores;
  const double seconds = secondsSpentIn([&] {
    if (rows)
      scores = classify(model, *rows, error);
  });
  if (!scores) {
    metrics.requestFinished(400, 0, {}, std::nullopt);
    return sendError(waiting.responder, 400, error, &request);
  }
  const std::vector<std::string> &labels = model.manifest().config.labels;
  json data = json::array();
  int64_t tokens = 0;
  for (size_t row = 0; row < scores->size(); ++row) {
    const std::vector<float> &logits = (*scores)[row];
    const size_t best = size_t(argmax(logits.data(), int64_t(logits.size())));
    data.push_back({{"index", row},
                    {"label", labels.empty() ? "LABEL_" + std::to_string(best)
                                             : labels[best]},
                    {"probs", softmax(logits)},
                    {"num_classes", logits.size()}});
    tokens += int64_t((*rows)[row].size());
  }
  const std::string id = "classify-" + std::to_string(++requestCount);
  const json reply = {{"id", id},
                      {"object", "list"},
                      {"created", unixSeconds()},
                      {"model", options.modelName},
                      {"data", std::move(data)},
                      {"usage",
                       {{"prompt_tokens", tokens},
                        {"total_tokens", tokens},
                        {"completion_tokens", 0}}}};
  metrics.batchRan(1, seconds, 0);
  metrics.requestFinished(200, seconds, {tokens, 0, 0, 0, 0}, std::nullopt);
  waiting.responder.send(200, kJsonType, serialize(reply));
  writeLog(request.method + " " + request.target + " 200 " + id + ": " +
           std::to_string(scores->size()) + " row(s), " +
           std::to_string(tokens) + " tokens" + secondsClause(seconds));
}

std::optional<TextGenerationResult>
OpenAIService::runAlone(const TextGenerationJob &job, size_t &reused,
                        std::string &error) {
  const bool single = job.prompts.size() == 1;
  const std::vector<TokenId> &prompt = job.prompts[0];
  reused = single && !job.options.generation.keepPromptLogits
               ? reusablePrefix(cachedIds, prompt)
               : 0;
  cachedIds.clear();
  std::optional<TextGenerationResult> result =
      single ? generateTextContinuing(model, tokenizer,
                                      {prompt.begin(), prompt.begin() + reused},
                                      {prompt.begin() + reused, prompt.end()},
                                      job.options, job.sink, error)
             : generateText(model, tokenizer, job.prompts, job.options,
                            job.sink, error);
  if (result && single) {
    const std::vector<int32_t> &ids = result->ids.generated[0];
    cachedIds = prompt;
    if (!ids.empty())
      cachedIds.insert(cachedIds.end(), ids.begin(), ids.end() - 1);
  }
  return result;
}

void OpenAIService::sendError(HttpResponder &responder, int status,
                              const std::string &message,
                              const HttpRequest *request) {
  // RFC 9110 has a 401 name the scheme it asks for.
  responder.send(status, kJsonType, serialize(errorBody(status, message)),
                 status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
  writeLog((request ? request->method + " " + request->target + " " : "") +
           std::to_string(status) + ": " + message);
}

void OpenAIService::writeLog(const std::string &line) {
  std::lock_guard<std::mutex> lock(logMutex);
  log(line);
}

} // namespace llamac
