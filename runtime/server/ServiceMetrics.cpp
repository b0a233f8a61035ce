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

/// A bucket bound as Prometheus writes it ("0.005", "300").
std::string bound(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

} // namespace

void SecondsHistogram::observe(double seconds) {
  size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket])
    ++bucket;
  ++buckets[bucket];
  sum += seconds;
  ++observations;
}

std::string SecondsHistogram::exposition(const char *name,
                                         const char *help) const {
  const std::string base = name;
  std::string samples;
  int64_t atMost = 0;
  for (size_t bucket = 0; bucket <= kBounds.size(); ++bucket) {
    atMost += buckets[bucket];
    const std::string le =
        bucket < kBounds.size() ? bound(kBounds[bucket]) : "+Inf";
    samples += sample(base + "_bucket{le=\"" + le + "\"}", double(atMost));
  }
  samples += sample(base + "_sum", sum) +
             sample(base + "_count", double(observations));
  return family(name, "histogram", help, samples);
}

void ServiceMetrics::requestWaiting() {
  std::lock_guard<std::mutex> lock(mutex);
  ++waiting;
}

void ServiceMetrics::requestStarted(double queueSeconds) {
  std::lock_guard<std::mutex> lock(mutex);
  --waiting;
  ++running;
  this->queueSeconds.observe(queueSeconds);
}

void ServiceMetrics::requestFinished(
    int status, double seconds, const CompletionWork &work,
    std::optional<double> secondsToFirstToken) {
  std::lock_guard<std::mutex> lock(mutex);
  --running;
  if (secondsToFirstToken)
    firstTokenSeconds.observe(*secondsToFirstToken);
  ++requestsByStatus[status];
  requestSeconds.observe(seconds);
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
  for (const auto &[status, count] : requestsByStatus)
    byStatus += sample("llamac_requests_total{status=\"" +
                           std::to_string(status) + "\"}",
                       double(count));
  return family("llamac_requests_total", "counter",
                "Completion requests answered, by HTTP status (499: the "
                "client left first).",
                byStatus) +
         gauge("llamac_requests_running", "Completions running now.",
               double(running)) +
         gauge("llamac_requests_waiting",
               "Completions read and waiting their turn now.",
               double(waiting)) +
         requestSeconds.exposition(
             "llamac_request_duration_seconds",
             "Time from a completion's turn to its answer.") +
         queueSeconds.exposition(
             "llamac_request_queue_seconds",
             "Time from a completion's arrival to its turn.") +
         firstTokenSeconds.exposition(
             "llamac_time_to_first_token_seconds",
             "Time from a completion's arrival to its first token.") +
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
