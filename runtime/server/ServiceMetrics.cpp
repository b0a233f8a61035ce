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

} // namespace

void ServiceMetrics::requestWaiting() {
  std::lock_guard<std::mutex> lock(mutex);
  ++waiting;
}

void ServiceMetrics::requestStarted() {
  std::lock_guard<std::mutex> lock(mutex);
  --waiting;
  ++running;
}

void ServiceMetrics::requestFinished(int status, double seconds,
                                     const CompletionWork &work) {
  std::lock_guard<std::mutex> lock(mutex);
  --running;
  ++requestsByStatus[status];
  requestSeconds += seconds;
  total.promptTokens += work.promptTokens;
  total.cachedTokens += work.cachedTokens;
  total.generatedTokens += work.generatedTokens;
  total.draftTokens += work.draftTokens;
  total.acceptedDraftTokens += work.acceptedDraftTokens;
  total.prefillSeconds += work.prefillSeconds;
  total.decodeSeconds += work.decodeSeconds;
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
         family("llamac_request_duration_seconds", "summary",
                "Time from a completion's turn to its answer.",
                sample("llamac_request_duration_seconds_sum", requestSeconds) +
                    sample("llamac_request_duration_seconds_count",
                           double(answered))) +
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
         counter("llamac_prefill_seconds_total", "Time spent in prefill.",
                 total.prefillSeconds) +
         counter("llamac_decode_seconds_total", "Time spent decoding.",
                 total.decodeSeconds);
}

} // namespace llamac
