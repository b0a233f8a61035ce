//===- OpenAIService.h - An OpenAI-compatible API, one model ----*- C++ -*-===//
//
// The routes `llamac-run serve` answers:
//
//   GET  /health                 {"status": "ok"}
//   GET  /v1/models              the one model
//   GET  /v1/models/NAME         it, by its name
//   GET  /metrics                counters in Prometheus's format
//   POST /tokenize, /detokenize  text (or chat messages) to ids and back
//   POST /v1/completions         text completion (CompletionRequest.h)
//   POST /v1/chat/completions    Llama-2-chat completion
//   POST /classify               a sequence classifier's classes, as vLLM's
//
// Health checks, the model list and refusals are answered at once, also
// while a completion runs; completions wait their turn (HttpServer.h), and
// those waiting together run as rows of one batch as far as the artifact's
// max_batch and max_seq allow (their longest prompt plus their largest
// max_tokens): each is answered as it would be alone, as soon as its rows
// end.
// Answers have OpenAI's shapes (choices, finish_reason "stop" or "length",
// usage in tokens); with "stream": true they arrive as server-sent events,
// a chunk per piece of text as the generator makes it final, then
// "data: [DONE]". Errors are {"error": {"message", "type"}} with a 4xx
// status. A client that goes away (closes its side), streamed or not, is
// not answered: its generation does not start, or ends. A prompt
// that starts as the last request's sequence did prefills only the rest
// (usage.prompt_tokens_details.cached_tokens), when both ran alone. Prompt
// lookup, when set, drafts the tokens of single-prompt requests that run
// alone. With "response_format": {"type": "json_object"} the answer is a
// JSON object (JsonConstraint.h). With an API key, every route
// but /health and /metrics (what probes and scrapers call) needs
// "Authorization: Bearer KEY", as OpenAI's and vLLM's do; others get 401.
// Browser pages of the allowed origins may call it (CORS: a preflight
// OPTIONS is answered, and responses name the origin).
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_SERVER_OPENAISERVICE_H
#define LLAMAC_RUNTIME_SERVER_OPENAISERVICE_H

#include "runtime/CompiledModel.h"
#include "runtime/PromptLookup.h"
#include "runtime/server/CompletionRequest.h"
#include "runtime/server/HttpServer.h"
#include "runtime/server/ServiceMetrics.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace llamac {

struct ServiceOptions {
  ChatTemplate style = ChatTemplate::MetaReference;
  /// The id /v1/models reports, and completions name.
  std::string modelName;
  PromptLookupOptions promptLookup;
  /// Empty: no key is asked for.
  std::string apiKey;
  /// The origins (scheme://host[:port], or "*" for any) whose web pages may
  /// call the API from a browser (CORS); none by default.
  std::vector<std::string> allowedOrigins;
  /// The most completions run as one batch (0: as many as fit).
  int64_t maxBatchRequests = 0;
};

class OpenAIService {
public:
  /// `log` receives a line per request.
  OpenAIService(CompiledModel &model, const Tokenizer &tokenizer,
                ServiceOptions options,
                std::function<void(const std::string &)> log)
      : model(model), tokenizer(tokenizer), options(std::move(options)),
        log(std::move(log)) {}

  /// The handlers to serve with.
  HttpHandlers handlers();
  /// The most completions one batch can take: one row each, up to
  /// max_batch and options.maxBatchRequests.
  size_t mostBatchedRequests() const;

private:
  /// Answers what needs no model (GET routes, unknown ones) from any
  /// connection's thread; false for a completion.
  bool answerAtOnce(const HttpRequest &request, HttpResponder &responder);
  /// Whether `request` may use `path`: it is public, no key is set, or the
  /// request names the key.
  bool isAuthorized(const HttpRequest &request, std::string_view path) const;
  /// Lets the browser page of an allowed origin read the response, and
  /// answers a CORS preflight (true then).
  bool shareAcrossOrigins(const HttpRequest &request, HttpResponder &responder);
  /// POST /tokenize (`tokenize`) or /detokenize: the tokenizer's work, at
  /// once (SentencePiece encodes from several threads at once).
  void convertTokens(const HttpRequest &request, bool tokenize,
                     HttpResponder &responder);
  /// POST /classify, in turn: the classes of its rows.
  void classifyInTurn(const WaitingRequest &waiting);
  /// A completion through its turn, from its start to its answer.
  class Completion;
  /// HttpHandlers::inTurn: answers the first of the waiting completions,
  /// as one batch those that fit in one, and returns how many it answered.
  size_t completeWaiting(const std::vector<WaitingRequest> &waiting);
  /// Whether a batch of `batch` can take `next` too.
  bool fitsInBatch(const std::vector<std::unique_ptr<Completion>> &batch,
                   const CompletionRequest &next) const;
  /// Runs the batch's completions together and answers them.
  void runBatch(const std::vector<std::unique_ptr<Completion>> &batch);
  /// Runs one completion's prompts: one continuing what the cache shares
  /// with it (their count in `reused`), several as one batch.
  std::optional<TextGenerationResult>
  runAlone(const TextGenerationJob &job, size_t &reused, std::string &error);
  void sendError(HttpResponder &responder, int status,
                 const std::string &message, const HttpRequest *request);
  /// `log`, one line at a time from any thread.
  void writeLog(const std::string &line);

  CompiledModel &model;
  const Tokenizer &tokenizer;
  const ServiceOptions options;
  std::function<void(const std::string &)> log;
  std::mutex logMutex;
  ServiceMetrics metrics;
  int64_t requestCount = 0;
  /// What row 0 of the KV cache holds after the last request: its prompt
  /// and every generated token but the last. A prompt that starts the same
  /// (the next turn of a chat, a longer document) prefills only the rest.
  std::vector<TokenId> cachedIds;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_SERVER_OPENAISERVICE_H
