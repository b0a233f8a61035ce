//===- ServiceMetrics.cpp - What the server has done, for Prometheus ------===//

#include "runtime/server/ServiceMetrics.h"

#include <cstdio>

namespace llamac {

namespace {

/// A metric's HELP and TYPE lines and its samples (`samples`: "NAME VALUE"
/// lines, labels included).
std::string family(const char *name, const char *type, const char *help,
                   const std::string &samples) {
  return std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " +
         type + "\n" + samples;
}

std::string sample(const std::string &name, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), " %.17g\n", value);
  return name + text;
}

std::string counter(const char *name, const char *help, double value) {
  return family(name, "counter", help, sample(name, value));
}

std::string gauge(const char *name, const char *help, double value) {
  return family(name, "gauge", help, sample(name, value));
}

/// A summary without quantiles: the sum and count of what it observed.
std::string summary(const std::string &name, const char *help, double sum,
                    int64_t count) {
  return family(name.c_str(), "summary", help,
                sample(name + "_sum", sum) +
                    sample(name + "_count", double(count)));
}

} // namespace

void ServiceMetrics::requestWaiting() {
  std::lock_guard<std::mutex> lock(mutex);
  ++waiting;
}

void ServiceMetrics::requestStarted(double queueSeconds) {
  std::lock_guard<std::mutex> lock(mutex);
  --waiting;
  ++running;
  ++started;
  this->queueSeconds += queueSeconds;
}

void ServiceMetrics::requestFinished(
    int status, double seconds, const CompletionWork &work,
    std::optional<double> secondsToFirstToken) {
  std::lock_guard<std::mutex> lock(mutex);
  --running;
  if (secondsToFirstToken) {
    ++firstTokens;
    firstTokenSeconds += *secondsToFirstToken;
  }
  ++requestsByStatus[status];
  requestSeconds += seconds;
  total.promptTokens += work.promptTokens;
  total.cachedTokens += work.cachedTokens;
  total.generatedTokens += work.generatedTokens;
  total.draftTokens += work.draftTokens;
  total.acceptedDraftTokens += work.acceptedDraftTokens;
}

void ServiceMetrics::batchRan(int64_t requests, double prefillSeconds,
                              double decodeSeconds) {
  std::lock_guard<std::mutex> lock(mutex);
  ++batches;
  batchedRequests += requests;
  this->prefillSeconds += prefillSeconds;
  this->decodeSeconds += decodeSeconds;
}

std::string ServiceMetrics::exposition() const {
  std::lock_guard<std::mutex> lock(mutex);
  std::string byStatus;
  int64_t answered = 0;
  for (const auto &[status, count] : requestsByStatus) {
    byStatus += sample("llamac_requests_total{status=\"" +
                           std::to_string(status) + "\"}",
                       double(count));
    answered += count;
  }
  return family("llamac_requests_total", "counter",
                "Completion requests answered, by HTTP status (499: the "
                "client left first).",
                byStatus) +
         gauge("llamac_requests_running", "Completions running now.",
               double(running)) +
         gauge("llamac_requests_waiting",
               "Completions read and waiting their turn now.",
               double(waiting)) +
         summary("llamac_request_duration_seconds",
                 "Time from a completion's turn to its answer.", requestSeconds,
                 answered) +
         summary("llamac_request_queue_seconds",
                 "Time from a completion's arrival to its turn.", queueSeconds,
                 started) +
         summary("llamac_time_to_first_token_seconds",
                 "Time from a completion's arrival to its first token.",
                 firstTokenSeconds, firstTokens) +
         counter("llamac_prompt_tokens_total",
                 "Prompt tokens of completions, each prompt once.",
                 double(total.promptTokens)) +
         counter("llamac_prompt_tokens_cached_total",
                 "Prompt tokens the KV cache kept from the request before.",
                 double(total.cachedTokens)) +
         counter("llamac_generation_tokens_total",
                 "Tokens generated, every choice and candidate.",
                 double(total.generatedTokens)) +
         counter("llamac_draft_tokens_total",
                 "Prompt lookup: draft tokens scored.",
                 double(total.draftTokens)) +
         counter("llamac_draft_tokens_accepted_total",
                 "Prompt lookup: draft tokens kept.",
                 double(total.acceptedDraftTokens)) +
         summary("llamac_batch_requests",
                 "Completions the model ran together, per batch.",
                 double(batchedRequests), batches) +
         counter("llamac_prefill_seconds_total", "Time spent in prefill.",
                 prefillSeconds) +
         counter("llamac_decode_seconds_total", "Time spent decoding.",
                 decodeSeconds);
}

} // namespace llamac
